"""Where the model store keeps its files, and how an ISBN is leased.

Two backends behind one small interface (`StoreBackend`), chosen from the store's location:

- `LocalBackend`, a folder: a write goes to a temporary file renamed over the old one (atomic), a lease is an OS
  file lock (`FileLeases`), released by the OS when its holder ends or dies.
- `ObjectBackend`, object storage through fsspec (``s3://bucket/prefix`` with s3fs, ``memory://`` in tests): a
  write is one whole-object PUT (atomic by nature: a reader sees the old object or the new one), and a lease is an
  object written create-only with an expiry renewed while held (`ObjectLeases`), because machines sharing a bucket
  share no OS lock.

And the leases a shared MLflow registry needs (`registry_leases`): processes with different model stores that
register into one registry must not fit one ISBN at once, so the lease follows the registry: a lock folder beside a
sqlite (or file) store, a Postgres advisory lock for a Postgres store, and no shared lease (the store's own, with a
warning by the caller) for an MLflow server, whose clients share nothing else.

Plain Python (no Dagster, no MLflow).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import socket
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlparse

from filelock import FileLock, Timeout

from arima_assets.environment import redact_uri

__all__ = [
    "LEASE_TTL_SECONDS",
    "BothLeases",
    "FileLeases",
    "LeaseError",
    "Leases",
    "LocalBackend",
    "ObjectBackend",
    "ObjectLeases",
    "PostgresLeases",
    "StoreBackend",
    "advisory_key",
    "backend_for",
    "join_location",
    "registry_leases",
]

logger = logging.getLogger(__name__)

#: Seconds an object-storage lease stays valid without renewal: a holder that died frees its ISBN after this long.
#: The holder renews it every third of it, so two missed renewals (a pause, a slow request) do not lose it.
LEASE_TTL_SECONDS = 60.0

#: Protocols whose create-only write (fsspec ``pipe_file(mode="create")``) is atomic: S3 (``If-None-Match: *``,
#: honoured by AWS S3 and by S3-compatible stores that support conditional writes) and the in-process memory store
#: (made atomic by a lock, `_IN_PROCESS_CREATE`).
_ATOMIC_CREATE = frozenset({"s3", "s3a", "memory"})
_LOCAL_PROTOCOLS = frozenset({"file", "local"})
#: fsspec's memory store checks and creates in two steps: its create-only writes are made atomic within the process
#: (the only place a memory store is shared) by this lock.
_IN_PROCESS_CREATE = threading.Lock()
_URI = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]+)://")
#: A URI that went through `pathlib` (``s3://b/s`` -> ``s3:/b/s``).
_MANGLED_URI = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]+):/(?!/)")


class LeaseError(RuntimeError):
    """The lease service itself failed (unreachable database or bucket), not a busy lease (that is `Timeout`)."""


class LeaseLostError(LeaseError):
    """A lease ended while its holder still worked inside it (renewals failed past the TTL, or the database
    session that held it ended): another process may hold it now, so the holder must not commit."""


def ensure_held(holding: object) -> None:
    """Raise `LeaseLostError` if the lease that `with ...lease(isbn) as holding` returned is no longer held.

    Local file locks cannot be lost while their process lives; object leases and Postgres advisory locks can.
    """
    check = getattr(holding, "check_held", None)
    if check is not None:
        check()


class Leases(Protocol):
    """Leases on ISBNs: ``with leases.lease(isbn, timeout):`` holds one; a lease still busy after `timeout`
    seconds raises `filelock.Timeout` (0: do not wait; -1: wait as long as it takes)."""

    def lease(self, isbn: str, timeout: float = -1) -> contextlib.AbstractContextManager[object]: ...


class StoreBackend(Protocol):
    """Files of the model store, by key (a relative posix path such as ``champions/<isbn>.json``)."""

    root: Path | str

    def location(self, key: str) -> str:
        """Where the key lives, for error messages."""
        ...

    def read(self, key: str) -> bytes | None:
        """The content, or None when there is none (`OSError` when it cannot be read)."""
        ...

    def write(self, key: str, data: bytes) -> None:
        """Replace the content atomically: a reader sees the old content or the new one."""
        ...

    def create(self, key: str, data: bytes) -> bool:
        """Write only if the key does not exist yet, atomically; False when it existed."""
        ...

    def delete(self, key: str) -> None:
        """Remove the key (nothing when it does not exist)."""
        ...

    def names(self, prefix: str, suffix: str) -> list[str]:
        """The names (without `suffix`) of the keys directly under `prefix` that end with `suffix`, sorted."""
        ...

    def leases(self) -> Leases:
        """The store's own leases."""
        ...


# -- locations ------------------------------------------------------------------------------------------------------


def _fsspec_protocols() -> set[str]:
    import fsspec

    return set(fsspec.available_protocols())


def normalise_location(location: str | os.PathLike[str]) -> str:
    """The location as text, with a URI that went through `pathlib` (``s3:/b/s``) read as the URI it was
    (``s3://b/s``), so that a store meant for object storage never becomes a local folder named ``s3:``."""
    text = str(location)
    mangled = _MANGLED_URI.match(text)
    if mangled and not _URI.match(text) and mangled.group(1).lower() in _fsspec_protocols() - _LOCAL_PROTOCOLS:
        return f"{mangled.group(1)}://{text[mangled.end() :]}"
    return text


def join_location(base: str | os.PathLike[str], name: str) -> Path | str:
    """`base`/`name`: a `Path` for a local folder, a URI for object storage (never joined through `pathlib`)."""
    text = normalise_location(base)
    if _protocol(text) in _LOCAL_PROTOCOLS:
        return _local_path(text) / name
    return f"{text.rstrip('/')}/{name}"


def _protocol(text: str) -> str:
    match = _URI.match(text)
    return match.group(1).lower() if match else "file"


def _local_path(text: str) -> Path:
    return Path(urlparse(text).path) if _URI.match(text) else Path(text)


def backend_for(location: str | os.PathLike[str], lease_ttl: float = LEASE_TTL_SECONDS) -> StoreBackend:
    """The backend of a store location: a local folder (a path or ``file://``), or object storage (any other
    fsspec URI, e.g. ``s3://bucket/prefix/models``).

    Raises:
        ValueError: the URI's protocol is not one fsspec knows (naming the location).
    """
    text = normalise_location(location)
    protocol = _protocol(text)
    if protocol in _LOCAL_PROTOCOLS:
        return LocalBackend(_local_path(text))
    if protocol not in _fsspec_protocols():
        raise ValueError(
            f"model store location {redact_uri(text)!r}: no filesystem for protocol {protocol!r} "
            "(s3:// needs the s3 extra: pip install 'arima_assets[s3]')"
        )
    return ObjectBackend(text, lease_ttl=lease_ttl)


# -- local folder ---------------------------------------------------------------------------------------------------


class LocalBackend:
    """A local (or network-mounted) folder: atomic temporary file + rename, OS file-lock leases."""

    def __init__(self, folder: Path):
        self.root: Path = Path(folder)

    def location(self, key: str) -> str:
        """The file's path."""
        return str(self.root / key)

    def read(self, key: str) -> bytes | None:
        """The file's bytes, or None when it does not exist."""
        try:
            return (self.root / key).read_bytes()
        except FileNotFoundError:
            return None

    def write(self, key: str, data: bytes) -> None:
        """Write beside the file and rename over it (a reader never sees half a file; a failed write leaves the
        old file and no temporary one)."""
        path = self.root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def create(self, key: str, data: bytes) -> bool:
        """Create the file exclusively (``O_EXCL``); False when it exists."""
        path = self.root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with open(path, "xb") as handle:
                handle.write(data)
        except FileExistsError:
            return False
        return True

    def delete(self, key: str) -> None:
        """Remove the file if it exists."""
        (self.root / key).unlink(missing_ok=True)

    def names(self, prefix: str, suffix: str) -> list[str]:
        """Stems of the files `prefix/*<suffix>`."""
        return sorted(p.name.removesuffix(suffix) for p in (self.root / prefix).glob(f"*{suffix}"))

    def leases(self) -> FileLeases:
        """OS file locks under ``locks/``."""
        return FileLeases(self.root / "locks")


class FileLeases:
    """A lease is an OS file lock on ``<folder>/<isbn>.lock``: released by the OS when its holder ends or dies, so a
    dead holder never blocks an ISBN. Shared by every process that reaches the folder's file system."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def lease(self, isbn: str, timeout: float = -1) -> FileLock:
        """The ISBN's file lock (a context manager; `filelock.Timeout` when still busy after `timeout`)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        return FileLock(self.folder / f"{_safe_name(isbn)}.lock", timeout=timeout)

    def __repr__(self) -> str:
        return f"FileLeases({str(self.folder)!r})"


def _safe_name(isbn: str) -> str:
    if not re.fullmatch(r"[0-9A-Za-z_-]+", isbn):
        raise ValueError(f"cannot lease {isbn!r}: an ISBN is letters, digits, '-' or '_'")
    return isbn


# -- object storage -------------------------------------------------------------------------------------------------


class ObjectBackend:
    """Objects under a prefix of an fsspec filesystem. Writes are whole-object PUTs, atomic by nature; listings are
    read fresh (another machine may have written since)."""

    def __init__(self, uri: str, lease_ttl: float = LEASE_TTL_SECONDS):
        import fsspec

        self.root: str = uri.rstrip("/")
        self.protocol = _protocol(self.root)
        self.fs, self._base = fsspec.core.url_to_fs(self.root)
        self._base = self._base.rstrip("/")
        self.lease_ttl = lease_ttl

    def _path(self, key: str) -> str:
        return f"{self._base}/{key}"

    def location(self, key: str) -> str:
        """The object's URI."""
        return redact_uri(f"{self.root}/{key}")

    def read(self, key: str) -> bytes | None:
        """The object's bytes, or None when it does not exist."""
        try:
            return self.fs.cat_file(self._path(key))
        except FileNotFoundError:
            return None

    def write(self, key: str, data: bytes) -> None:
        """One PUT of the whole object."""
        self.fs.pipe_file(self._path(key), data)

    def create(self, key: str, data: bytes) -> bool:
        """A create-only PUT (S3: ``If-None-Match: *``); False when the object exists."""
        lock = _IN_PROCESS_CREATE if self.protocol == "memory" else contextlib.nullcontext()
        try:
            with lock:
                self.fs.pipe_file(self._path(key), data, mode="create")
        except FileExistsError:
            return False
        return True

    def delete(self, key: str) -> None:
        """Remove the object if it exists."""
        try:
            self.fs.rm_file(self._path(key))
        except FileNotFoundError:
            pass

    def names(self, prefix: str, suffix: str) -> list[str]:
        """Names of the objects `prefix/*<suffix>`, listed fresh."""
        try:
            found = self.fs.ls(self._path(prefix), detail=False, refresh=True)
        except FileNotFoundError:
            return []
        names = (str(path).rstrip("/").rsplit("/", 1)[-1] for path in found)
        return sorted(name.removesuffix(suffix) for name in names if name.endswith(suffix))

    def leases(self) -> ObjectLeases:
        """Expiring lease objects under ``locks/`` (a warning when this protocol's create-only write is not known to
        be atomic)."""
        if self.protocol not in _ATOMIC_CREATE:
            logger.warning(
                "model store %s: %s:// has no known atomic create-only write; leases on it may be taken twice. "
                "Use s3:// or a Postgres MLflow store (its advisory locks are used then)",
                redact_uri(self.root),
                self.protocol,
            )
        return ObjectLeases(self, ttl=self.lease_ttl)


@dataclass(frozen=True)
class _LeaseState:
    holder: str
    expires_at: float
    released: bool

    def to_bytes(self) -> bytes:
        return json.dumps({"holder": self.holder, "expires_at": self.expires_at, "released": self.released}).encode()

    def free(self, now: float) -> bool:
        return self.released or self.expires_at <= now


class ObjectLeases:
    """Leases shared by every machine that reaches the bucket, from two object operations: a create-only PUT and
    a fresh listing.

    Why this design: object storage has no lock and no compare-and-swap on an existing object that every store
    offers, but S3 (and fsspec's other conditional-write stores) can create an object only if it does not exist.
    So an ISBN's lease is a sequence of generation objects ``locks/<isbn>/<generation>.json``, each holding its
    holder, an expiry and a released flag. The lease is held by the highest generation while it is neither released
    nor expired. To take a free lease, a process creates the next generation create-only: of two takers exactly one
    succeeds, the other sees the object exists and waits. The holder renews the expiry every third of the TTL from a
    background thread; a holder that died stops renewing and its ISBN is free after `ttl` seconds (`LEASE_TTL_SECONDS`
    by default). The highest generation is never deleted (older ones are), so numbering never restarts and a late
    write by a holder that lost its lease only touches a generation no longer in force; a taker whose view was so
    stale that it re-created a deleted generation sees a higher one when it lists again, and backs off. Expiries
    compare wall clocks across machines: keep them in sync (NTP) well within the TTL.

    A Postgres advisory lock was the alternative; it is used when the MLflow store is Postgres (`PostgresLeases`),
    but a bucket-backed store must not need a database to be safe on its own.
    """

    def __init__(self, backend: ObjectBackend | StoreBackend, ttl: float = LEASE_TTL_SECONDS, poll: float = 0.2):
        if ttl <= 0:
            raise ValueError(f"lease TTL must be positive, got {ttl}")
        self.backend = backend
        self.ttl = ttl
        self.poll = poll

    def lease(self, isbn: str, timeout: float = -1) -> ObjectLease:
        """The ISBN's lease (a context manager; `filelock.Timeout` when still busy after `timeout`)."""
        return ObjectLease(self, _safe_name(isbn), timeout)

    def read_state(self, key: str) -> _LeaseState | None:
        """The lease object at `key`: None when it is gone; a damaged one counts as expired (it cannot be held)."""
        data = self.backend.read(key)
        if data is None:
            return None
        try:
            raw = json.loads(data)
            return _LeaseState(str(raw["holder"]), float(raw["expires_at"]), bool(raw["released"]))
        except (ValueError, KeyError, TypeError):
            logger.warning("lease object %s is damaged; treating it as expired", self.backend.location(key))
            return _LeaseState("?", 0.0, False)

    def __repr__(self) -> str:
        return f"ObjectLeases({self.backend.location('locks')!r}, ttl={self.ttl})"


class ObjectLease:
    """One holding of an `ObjectLeases` lease; see there for how it works."""

    def __init__(self, leases: ObjectLeases, isbn: str, timeout: float):
        self._leases = leases
        self._prefix = f"locks/{isbn}"
        self._timeout = timeout
        self._holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._generation = 0
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None
        self._renewed_at = 0.0
        self.lost = False

    def _key(self, generation: int) -> str:
        return f"{self._prefix}/{generation:012d}.json"

    def _state(self, released: bool = False) -> _LeaseState:
        return _LeaseState(self._holder, time.time() + self._leases.ttl, released)

    def _generations(self) -> list[int]:
        return sorted(int(name) for name in self._leases.backend.names(self._prefix, ".json") if name.isdigit())

    def _try_take(self) -> bool:
        """Create the next generation if the current one is free; True when this holder now has the lease."""
        backend = self._leases.backend
        generations = self._generations()
        top = generations[-1] if generations else 0
        if top:
            state = self._leases.read_state(self._key(top))
            if state is None or not state.free(time.time()):
                return False  # held, or replaced while we looked
        if not backend.create(self._key(top + 1), self._state().to_bytes()):
            return False  # another process took it first
        if self._generations()[-1:] != [top + 1]:
            return False  # our view was stale: we re-created a generation already superseded (and deleted)
        self._generation = top + 1
        for old in generations:
            backend.delete(self._key(old))
        return True

    def __enter__(self) -> ObjectLease:
        deadline = None if self._timeout < 0 else time.monotonic() + self._timeout
        try:
            while not self._try_take():
                if deadline is not None and time.monotonic() >= deadline:
                    raise Timeout(self._leases.backend.location(self._prefix))
                time.sleep(self._leases.poll)
        except Timeout:
            raise
        except OSError as exc:  # (filelock.Timeout is an OSError too: re-raised as is above)
            raise LeaseError(f"lease {self._leases.backend.location(self._prefix)} cannot be taken: {exc}") from exc
        self._renewed_at = time.monotonic()
        self._renewer = threading.Thread(target=self._renew, name=f"lease-{self._prefix}", daemon=True)
        self._renewer.start()
        return self

    def check_held(self) -> None:
        """Raise `LeaseLostError` when another process took the lease, or when no renewal succeeded for a TTL
        (then another process may take it at any moment)."""
        where = self._leases.backend.location(self._prefix)
        if self.lost:
            raise LeaseLostError(f"lease {where} lost: another process took it after it expired")
        silent = time.monotonic() - self._renewed_at
        if silent >= self._leases.ttl:
            raise LeaseLostError(f"lease {where} not renewed for {silent:.0f} s (TTL {self._leases.ttl:g} s): lost")

    def _renew(self) -> None:
        """Push the expiry forward every third of the TTL while held; stop (and say so) if the lease was lost."""
        while not self._stop.wait(self._leases.ttl / 3):
            try:
                if self._generations()[-1:] != [self._generation]:
                    self.lost = True
                    logger.error(
                        "lease %s lost: it expired and another process took it (renewals failed for over %.0f s)",
                        self._leases.backend.location(self._prefix),
                        self._leases.ttl,
                    )
                    return
                renewing = time.monotonic()
                self._leases.backend.write(self._key(self._generation), self._state().to_bytes())
                self._renewed_at = renewing
            except OSError as exc:  # a failed renewal is retried; the TTL tolerates two
                logger.warning("lease %s not renewed: %s", self._leases.backend.location(self._prefix), exc)

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        if self._renewer is not None:
            self._renewer.join()
        with contextlib.suppress(OSError):  # unreleased, it expires on its own
            self._leases.backend.write(self._key(self._generation), self._state(released=True).to_bytes())


# -- leases of a shared registry ------------------------------------------------------------------------------------


def advisory_key(isbn: str) -> int:
    """The Postgres advisory-lock key of an ISBN: a signed 64-bit hash of the project and the ISBN (advisory locks
    are per database, so the registry's database is the other half of the key)."""
    digest = hashlib.sha256(f"arima_assets/isbn-lease/{isbn}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class PostgresLeases:
    """Session-level Postgres advisory locks (``pg_try_advisory_lock``) in the MLflow registry's database: one
    connection per held lease; the server frees the lock when the session ends, so a holder that died (its
    connection closed, or found dead by TCP keepalives) frees its ISBN."""

    def __init__(self, dsn: str, poll: float = 0.2):
        self.dsn = re.sub(r"^postgres(ql)?\+[a-z0-9_]+://", "postgresql://", dsn)
        self.poll = poll

    @contextlib.contextmanager
    def lease(self, isbn: str, timeout: float = -1) -> Iterator[_PostgresHolding]:
        """Hold the ISBN's advisory lock (`filelock.Timeout` when still busy after `timeout`)."""
        import psycopg2

        where = f"Postgres advisory lock of ISBN {isbn} at {redact_uri(self.dsn)}"
        try:
            connection = psycopg2.connect(self.dsn, keepalives=1, keepalives_idle=30, keepalives_interval=10)
        except psycopg2.Error as exc:
            raise LeaseError(f"{where} cannot be taken: {str(exc).strip()}") from None
        try:
            try:
                connection.autocommit = True
                self._acquire(connection, advisory_key(isbn), timeout, where)
            except psycopg2.Error as exc:
                raise LeaseError(f"{where} cannot be taken: {str(exc).strip()}") from None
            yield _PostgresHolding(connection, where)
        finally:
            connection.close()  # ends the session: the lock is released

    def _acquire(self, connection: Any, key: int, timeout: float, where: str) -> None:
        deadline = None if timeout < 0 else time.monotonic() + timeout
        with connection.cursor() as cursor:
            while True:
                cursor.execute("SELECT pg_try_advisory_lock(%s)", (key,))
                if cursor.fetchone()[0]:
                    return
                if deadline is not None and time.monotonic() >= deadline:
                    raise Timeout(where)
                time.sleep(self.poll)

    def __repr__(self) -> str:
        return f"PostgresLeases({redact_uri(self.dsn)!r})"


class _PostgresHolding:
    """A held advisory lock: held as long as the session that took it lives."""

    def __init__(self, connection: Any, where: str):
        self._connection = connection
        self._where = where

    def check_held(self) -> None:
        """Raise `LeaseLostError` when the session ended (the server released the lock with it)."""
        import psycopg2

        try:
            with self._connection.cursor() as cursor:
                cursor.execute("SELECT 1")
        except psycopg2.Error as exc:
            raise LeaseLostError(f"{self._where} lost: its session ended ({str(exc).strip()})") from None


class BothLeases:
    """Two leases taken in a fixed order (so two holders never wait on each other crosswise), within one timeout."""

    def __init__(self, first: Leases, second: Leases):
        self.first = first
        self.second = second

    @contextlib.contextmanager
    def lease(self, isbn: str, timeout: float = -1) -> Iterator[_BothHeld]:
        """Hold both leases of the ISBN; `filelock.Timeout` when either is still busy after `timeout`."""
        deadline = None if timeout < 0 else time.monotonic() + timeout
        with self.first.lease(isbn, timeout) as first:
            remaining = -1 if deadline is None else max(0.0, deadline - time.monotonic())
            with self.second.lease(isbn, remaining) as second:
                yield _BothHeld(first, second)

    def __repr__(self) -> str:
        return f"BothLeases({self.first!r}, {self.second!r})"


class _BothHeld:
    """The two holdings of a `BothLeases` lease."""

    def __init__(self, first: object, second: object):
        self._holdings = (first, second)

    def check_held(self) -> None:
        """Raise `LeaseLostError` when either lease was lost."""
        for holding in self._holdings:
            ensure_held(holding)


def registry_leases(tracking_uri: str | None) -> Leases | None:
    """The leases every process registering into this MLflow store shares, or None when the URI gives none.

    - ``sqlite:///<db>``: file locks in ``<db>.leases/`` beside the database (every process that opens the
      database reaches its folder);
    - a file store (a path or ``file://``): file locks in ``<folder>.leases/`` beside it;
    - ``postgresql://`` (any driver): advisory locks in the registry's database (`PostgresLeases`);
    - an MLflow server (``http(s)://``, ``databricks``), another database, an in-memory sqlite: None (its clients
      share nothing but the server, which offers no lock).
    """
    uri = (tracking_uri or "").strip()
    if not uri:
        return None
    scheme = urlparse(uri).scheme.lower()
    if uri.startswith("sqlite:///"):
        raw = uri.removeprefix("sqlite:///").split("?", 1)[0]
        if not raw or raw == ":memory:":
            return None
        db = Path(raw).expanduser().resolve()
        return FileLeases(db.parent / f"{db.name}.leases")
    if scheme.split("+", 1)[0] in ("postgresql", "postgres"):
        return PostgresLeases(uri)
    if scheme in ("", "file") or (len(scheme) == 1 and os.name == "nt"):
        folder = Path(urlparse(uri).path if scheme == "file" else uri).expanduser().resolve()
        return FileLeases(folder.parent / f"{folder.name}.leases")
    return None
