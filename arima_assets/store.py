"""The model store: each ISBN's champion record and the outcome of its last training attempt, as JSON files.

Writes are atomic (temporary file + rename), so a half-finished training never replaces a good champion and a
reader never sees a partial file. Plain Python: the Dagster layer wraps it as a resource.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from filelock import FileLock

from arima_assets.decision import ModelRecord

__all__ = ["DIGEST_KEY", "ModelStore", "Outcome", "StoreError", "content_digest"]

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
    """Champions, pending challengers and outcomes under one folder: `champions/<isbn>.json`,
    `candidates/<isbn>.json`, `outcomes/<isbn>.json`."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)

    def get_champion(self, isbn: str) -> ModelRecord | None:
        """The ISBN's champion record, or None when it has none (StoreError when the file is unreadable)."""
        return self._read_record(self.folder / "champions" / f"{isbn}.json")

    def put_champion(self, record: ModelRecord) -> None:
        """Replace the ISBN's champion atomically, with the digest of its content (checked on every read)."""
        self._write(self.folder / "champions" / f"{record.isbn}.json", _with_digest(record.to_dict()))

    def get_candidate(self, isbn: str) -> ModelRecord | None:
        """The ISBN's pending challenger (trained, not promoted yet), or None (StoreError when unreadable)."""
        return self._read_record(self.folder / "candidates" / f"{isbn}.json")

    def put_candidate(self, isbn: str, record: ModelRecord | None) -> None:
        """Set (atomically) or clear the ISBN's pending challenger."""
        path = self.folder / "candidates" / f"{isbn}.json"
        if record is None:
            path.unlink(missing_ok=True)
        else:
            self._write(path, _with_digest(record.to_dict()))

    def get_outcome(self, isbn: str) -> Outcome | None:
        """The last recorded outcome for the ISBN, or None."""
        data = self._read(self.folder / "outcomes" / f"{isbn}.json")
        return None if data is None else Outcome(**data)

    def put_outcome(self, outcome: Outcome) -> None:
        """Record the outcome of an execution atomically: as the ISBN's latest, and under its run (concurrent runs
        never overwrite each other's per-run outcome)."""
        if outcome.run_id:
            self._write(self._run_outcome_path(outcome.run_id, outcome.isbn), outcome.to_dict())
        self._write(self.folder / "outcomes" / f"{outcome.isbn}.json", outcome.to_dict())

    def get_run_outcome(self, run_id: str, isbn: str) -> Outcome | None:
        """The outcome that run `run_id` recorded for the ISBN, or None."""
        data = self._read(self._run_outcome_path(run_id, isbn))
        return None if data is None else Outcome(**data)

    def _run_outcome_path(self, run_id: str, isbn: str) -> Path:
        if not run_id.replace("-", "").isalnum():
            raise ValueError(f"run id {run_id!r} is not a Dagster run id")
        return self.folder / "runs" / run_id / f"{isbn}.json"

    def force_episode(self, on: bool, now: datetime) -> datetime | None:
        """When the current `force_retrain` episode started (None when force is off), kept on disk so that "each
        model once" survives process and code-server restarts: a champion whose age clock started after it was
        already retrained in this episode. The first caller that sees force on starts the episode; a caller that
        sees it off ends it."""
        path = self.folder / "force_episode.json"
        if not on:
            path.unlink(missing_ok=True)
            return None
        try:
            data = self._read(path)
        except StoreError:
            data = None
        if data is not None and "started_at" in data:
            return datetime.fromisoformat(data["started_at"])
        path.parent.mkdir(parents=True, exist_ok=True)
        try:  # the first writer wins: a concurrent starter reads its time
            with open(path, "x") as handle:
                json.dump({"started_at": now.isoformat()}, handle)
        except FileExistsError:
            return self.force_episode(on, now)
        return now

    def isbn_lock(self, isbn: str, timeout: float = -1) -> FileLock:
        """A lease on one ISBN's model step across processes (an OS file lock, released when the holder ends or
        dies): two runs deciding the same ISBN at once train it at most once, the second deciding on the record
        the first committed. `timeout` in seconds (-1: wait as long as it takes)."""
        path = self.folder / "locks" / f"{isbn}.lock"
        path.parent.mkdir(parents=True, exist_ok=True)
        return FileLock(path, timeout=timeout)

    def outcomes(self, isbns: list[str] | None = None) -> dict[str, Outcome]:
        """Outcomes by ISBN (all stored ones, or those of `isbns` that exist)."""
        if isbns is None:
            isbns = sorted(p.stem for p in (self.folder / "outcomes").glob("*.json"))
        found = {isbn: self.get_outcome(isbn) for isbn in isbns}
        return {isbn: outcome for isbn, outcome in found.items() if outcome is not None}

    @classmethod
    def _read_record(cls, path: Path) -> ModelRecord | None:
        data = cls._read(path)
        if data is None:
            return None
        stored = data.pop(DIGEST_KEY, None)
        if stored != content_digest(data):
            why = "has no content digest" if stored is None else "does not match its content digest"
            raise StoreError(f"model store file {path} {why}: damaged or written by another tool")
        try:
            return ModelRecord.from_dict(data)
        except (KeyError, TypeError, ValueError) as exc:
            raise StoreError(f"model store file {path} is not a model record: {type(exc).__name__}: {exc}") from exc

    @staticmethod
    def _read(path: Path) -> dict[str, Any] | None:
        if not path.exists():
            return None
        try:
            return json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise StoreError(f"cannot read model store file {path}: {exc}") from exc

    @staticmethod
    def _write(path: Path, data: dict[str, Any]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w") as handle:
                json.dump(data, handle, separators=(",", ":"))
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
