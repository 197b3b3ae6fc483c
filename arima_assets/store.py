"""The model store: each ISBN's champion record and the outcome of its last training attempt, as JSON files.

The files live in a local folder or in object storage (`arima_assets.store_backends`, chosen from the location:
``s3://bucket/prefix/models`` is object storage, never a local folder named ``s3:``). Writes are atomic (temporary
file + rename locally, one whole-object PUT on object storage), so a half-finished training never replaces a good
champion and a reader never sees a partial file; a record's content digest is checked on every read. Leases on an
ISBN follow the store, and the MLflow registry when it is shared (`open_model_store`). Plain Python: the Dagster
layer wraps it as a resource.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from arima_assets.decision import ModelRecord
from arima_assets.environment import redact_uri
from arima_assets.store_backends import BothLeases, Leases, StoreBackend, backend_for, join_location, registry_leases

__all__ = ["DIGEST_KEY", "ModelStore", "Outcome", "StoreError", "content_digest", "open_model_store"]

logger = logging.getLogger(__name__)

#: Tracking URIs already warned about (no shared lease): once per process.
_WARNED_UNSHARED: set[str] = set()

#: Key of a record file's content digest (sha-256 of the rest of the file's JSON, keys sorted).
DIGEST_KEY = "content_digest"


def content_digest(data: dict[str, Any]) -> str:
    """The digest that a record file carries of its own content: a damaged file no longer matches it."""
    return hashlib.sha256(json.dumps(data, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _with_digest(data: dict[str, Any]) -> dict[str, Any]:
    return {**data, DIGEST_KEY: content_digest(data)}


class StoreError(RuntimeError):
    """A stored file exists but cannot be read."""


@dataclass(frozen=True)
class Outcome:
    """What the last execution of an ISBN's model asset did.

    status: "trained" (a new challenger won, or first model), "kept" (challenger lost, champion kept),
    "promoted" (a pending challenger won later, no fit), "reused" (no trigger fired, no fit) or "failed".
    """

    isbn: str
    status: str
    decision: dict[str, Any]
    run_id: str = ""
    finished_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    fit_seconds: float = 0.0
    fit_seconds_saved: float = 0.0
    error: str | None = None
    promotion: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return asdict(self)


class ModelStore:
    """Champions, pending challengers and outcomes under one location: `champions/<isbn>.json`,
    `candidates/<isbn>.json`, `outcomes/<isbn>.json`, `runs/<run id>/<isbn>.json`.

    Args:
        folder: a local folder, or an fsspec URI (``s3://bucket/prefix/models``; a URI that went through
            `pathlib`, ``s3:/bucket/prefix/models``, is read as the URI it was).
        leases: the leases `isbn_lock` takes (default: the store's own: file locks in a folder, expiring lease
            objects in object storage). `open_model_store` adds the shared registry's.
    """

    def __init__(self, folder: str | os.PathLike[str], leases: Leases | None = None):
        self.backend: StoreBackend = backend_for(folder)
        self.folder = self.backend.root
        self.leases: Leases = leases if leases is not None else self.backend.leases()

    def __repr__(self) -> str:
        return f"ModelStore({redact_uri(str(self.folder))!r}, leases={self.leases!r})"

    def get_champion(self, isbn: str) -> ModelRecord | None:
        """The ISBN's champion record, or None when it has none (StoreError when the file is unreadable)."""
        return self._read_record(f"champions/{isbn}.json")

    def put_champion(self, record: ModelRecord) -> None:
        """Replace the ISBN's champion atomically, with the digest of its content (checked on every read)."""
        self._write(f"champions/{record.isbn}.json", _with_digest(record.to_dict()))

    def get_candidate(self, isbn: str) -> ModelRecord | None:
        """The ISBN's pending challenger (trained, not promoted yet), or None (StoreError when unreadable)."""
        return self._read_record(f"candidates/{isbn}.json")

    def put_candidate(self, isbn: str, record: ModelRecord | None) -> None:
        """Set (atomically) or clear the ISBN's pending challenger."""
        key = f"candidates/{isbn}.json"
        if record is None:
            self.backend.delete(key)
        else:
            self._write(key, _with_digest(record.to_dict()))

    def get_outcome(self, isbn: str) -> Outcome | None:
        """The last recorded outcome for the ISBN, or None."""
        data = self._read(f"outcomes/{isbn}.json")
        return None if data is None else Outcome(**data)

    def put_outcome(self, outcome: Outcome) -> None:
        """Record the outcome of an execution atomically: as the ISBN's latest, and under its run (concurrent runs
        never overwrite each other's per-run outcome)."""
        if outcome.run_id:
            self._write(self._run_outcome_key(outcome.run_id, outcome.isbn), outcome.to_dict())
        self._write(f"outcomes/{outcome.isbn}.json", outcome.to_dict())

    def get_run_outcome(self, run_id: str, isbn: str) -> Outcome | None:
        """The outcome that run `run_id` recorded for the ISBN, or None."""
        data = self._read(self._run_outcome_key(run_id, isbn))
        return None if data is None else Outcome(**data)

    @staticmethod
    def _run_outcome_key(run_id: str, isbn: str) -> str:
        if not run_id.replace("-", "").isalnum():
            raise ValueError(f"run id {run_id!r} is not a Dagster run id")
        return f"runs/{run_id}/{isbn}.json"

    def force_episode(self, on: bool, now: datetime) -> datetime | None:
        """When the current `force_retrain` episode started (None when force is off), kept in the store so that
        "each model once" survives process and code-server restarts: a champion whose age clock started after it
        was already retrained in this episode. The first caller that sees force on starts the episode (a
        create-only write: of concurrent starters one wins, the others read its time); a caller that sees it off
        ends it."""
        key = "force_episode.json"
        if not on:
            self.backend.delete(key)
            return None
        try:
            data = self._read(key)
        except StoreError:
            data = None
        if data is not None and "started_at" in data:
            return datetime.fromisoformat(data["started_at"])
        if not self.backend.create(key, json.dumps({"started_at": now.isoformat()}).encode()):
            return self.force_episode(on, now)
        return now

    def isbn_lock(self, isbn: str, timeout: float = -1) -> contextlib.AbstractContextManager[object]:
        """A lease on one ISBN's model step across processes (and machines, on a shared store or registry): two
        runs deciding the same ISBN at once train it at most once, the second deciding on the record the first
        committed. A context manager; `filelock.Timeout` when the lease is still busy after `timeout` seconds
        (0: do not wait; -1: wait as long as it takes). A holder that dies frees it (at once for file locks and
        Postgres locks, after the lease TTL on object storage)."""
        return self.leases.lease(isbn, timeout)

    def outcomes(self, isbns: list[str] | None = None) -> dict[str, Outcome]:
        """Outcomes by ISBN (all stored ones, or those of `isbns` that exist)."""
        if isbns is None:
            isbns = self.backend.names("outcomes", ".json")
        found = {isbn: self.get_outcome(isbn) for isbn in isbns}
        return {isbn: outcome for isbn, outcome in found.items() if outcome is not None}

    def _read_record(self, key: str) -> ModelRecord | None:
        data = self._read(key)
        if data is None:
            return None
        where = self.backend.location(key)
        stored = data.pop(DIGEST_KEY, None)
        if stored != content_digest(data):
            why = "has no content digest" if stored is None else "does not match its content digest"
            raise StoreError(f"model store file {where} {why}: damaged or written by another tool")
        try:
            return ModelRecord.from_dict(data)
        except (KeyError, TypeError, ValueError) as exc:
            raise StoreError(f"model store file {where} is not a model record: {type(exc).__name__}: {exc}") from exc

    def _read(self, key: str) -> dict[str, Any] | None:
        try:
            raw = self.backend.read(key)
            return None if raw is None else json.loads(raw)
        except (OSError, ValueError) as exc:
            raise StoreError(f"cannot read model store file {self.backend.location(key)}: {exc}") from exc

    def _write(self, key: str, data: dict[str, Any]) -> None:
        self.backend.write(key, json.dumps(data, separators=(",", ":")).encode())


def open_model_store(state_dir: str | os.PathLike[str], tracking_uri: str | None = None) -> ModelStore:
    """The model store of a deployment: `<state_dir>/models` (a local folder, or objects under an ``s3://`` state
    dir), leased together with the MLflow registry at `tracking_uri` when that registry is shared.

    Two output folders registering into one MLflow store must not fit one ISBN at once, so an ISBN's lease is
    the registry's (`store_backends.registry_leases`: a lock folder beside a sqlite store, a Postgres advisory
    lock) and then the store's own (other processes may share the store, not the registry). An MLflow server
    offers no lock: the store's own leases only, with a warning.
    """
    location = join_location(state_dir, "models")
    store = ModelStore(location)
    shared = registry_leases(tracking_uri)
    if shared is not None:
        store.leases = BothLeases(shared, store.leases)
    elif tracking_uri and tracking_uri not in _WARNED_UNSHARED:
        _WARNED_UNSHARED.add(tracking_uri)
        logger.warning(
            "MLflow at %s gives no shared lease: ISBNs are leased per model store (%s) only, so processes with "
            "another model store on this registry may fit the same ISBN at once",
            redact_uri(tracking_uri),
            redact_uri(str(store.folder)),
        )
    return store
