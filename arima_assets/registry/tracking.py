"""Where MLflow lives: local sqlite store URIs, a fail-fast availability check, the project experiment."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

import mlflow
from mlflow import MlflowClient
from mlflow.entities import LifecycleStage

from arima_assets.environment import redact_uri, state_dir
from arima_assets.registry.errors import RegistryError, RegistryUnavailableError, mlflow_errors, without_secrets

__all__ = [
    "DEFAULT_EXPERIMENT",
    "check_available",
    "configure_mlflow",
    "default_artifact_location",
    "ensure_experiment",
    "ensure_sqlite_folder",
    "scoped_env",
    "scoped_mlflow_uris",
    "sqlite_uri",
]

DEFAULT_EXPERIMENT = "arima_assets"
DB_FILE_NAME = "mlflow.db"
ARTIFACTS_DIR_NAME = "mlartifacts"
_HTTP_SCHEMES = ("http", "https")
_DATABASE_SCHEMES = ("postgresql", "mysql", "mssql")
_SQLITE_PREFIX = "sqlite:///"


def sqlite_uri(folder: Path | str) -> str:
    """URI of a local sqlite MLflow store ``<folder>/mlflow.db`` (absolute path; folder created on first use).

    Artifacts of experiments created by this package go to ``<folder>/mlartifacts``
    (see :func:`default_artifact_location`).
    """
    path = Path(folder).expanduser().resolve() / DB_FILE_NAME
    return f"{_SQLITE_PREFIX}{path}"


def _sqlite_path(uri: str) -> Path | None:
    """The database file of a ``sqlite:///`` URI, or None for other URIs and in-memory databases."""
    if not uri.startswith(_SQLITE_PREFIX):
        return None
    raw = uri.removeprefix(_SQLITE_PREFIX).split("?", 1)[0]
    if not raw or raw == ":memory:":
        return None
    return Path(raw)


def ensure_sqlite_folder(uri: str) -> Path | None:
    """The folder of a ``sqlite:///`` store, created if missing; None for other URIs.

    Raises:
        RegistryUnavailableError: the folder cannot be used, naming the path and why (a part of it is a file,
            it cannot be created, it is not writable).
    """
    db_path = _sqlite_path(uri)
    if db_path is None:
        return None
    folder = db_path.parent
    where = f"MLflow unavailable at {uri!r}: the sqlite store's folder {str(folder)!r}"
    existing = next((p for p in (folder, *folder.parents) if p.exists()), None)
    if existing is not None and not existing.is_dir():
        raise RegistryUnavailableError(f"{where} cannot be used: {str(existing)!r} is a file, not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        # not chained: callers that show the innermost cause would show the bare OSError without the URI
        raise RegistryUnavailableError(f"{where} cannot be created: {exc.strerror or exc}") from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise RegistryUnavailableError(f"{where} is not writable by this user")
    if db_path.is_dir():
        raise RegistryUnavailableError(f"MLflow unavailable at {uri!r}: {str(db_path)!r} is a folder, not a database")
    return folder


def default_artifact_location(tracking_uri: str) -> str | None:
    """Where a new experiment keeps its artifacts.

    A sqlite store: ``<db folder>/mlartifacts``. Another database store (``postgresql://``, ``mysql://``,
    ...), used directly by several workers: ``<state folder>/mlartifacts`` (``ARIMA_STATE_DIR``, the folder
    every worker reaches). A tracking server or an in-memory database: None (the server's default).
    """
    db_path = _sqlite_path(tracking_uri)
    if db_path is not None:
        return (db_path.resolve().parent / ARTIFACTS_DIR_NAME).as_uri()
    scheme = urlparse(tracking_uri).scheme.split("+", 1)[0]
    if scheme in _DATABASE_SCHEMES:
        return (state_dir() / ARTIFACTS_DIR_NAME).as_uri()
    return None


def _validate_uri(uri: str, name: str) -> None:
    if not isinstance(uri, str) or not uri.strip():
        shown = redact_uri(uri) if isinstance(uri, str) else uri
        raise ValueError(f"{name} must be a non-empty URI string such as 'sqlite:///<folder>/mlflow.db', got {shown!r}")


def configure_mlflow(tracking_uri: str, registry_uri: str | None = None) -> None:
    """Point MLflow's process-wide tracking and registry URIs at our store.

    MLflow 3 otherwise defaults to ``sqlite:///mlflow.db`` in the working directory, so always call this.

    Args:
        tracking_uri: e.g. :func:`sqlite_uri` of a folder, or ``http://host:5000``.
        registry_uri: Model-registry URI; defaults to ``tracking_uri``.

    Raises:
        ValueError: A URI is empty or not a string.
    """
    _validate_uri(tracking_uri, "tracking_uri")
    if registry_uri is not None:
        _validate_uri(registry_uri, "registry_uri")
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(registry_uri or tracking_uri)


@contextmanager
def scoped_mlflow_uris(tracking_uri: str, registry_uri: str | None = None) -> Iterator[None]:
    """Point MLflow's process-wide URIs at our store inside the block, then restore the previous ones.

    For MLflow's fluent calls (``start_run``, ``log_model``, ``pyfunc.load_model("models:/...")``) that
    have no URI argument, so that they cannot redirect e.g. a dagster-mlflow run to another store.
    """
    previous = mlflow.get_tracking_uri(), mlflow.get_registry_uri()
    configure_mlflow(tracking_uri, registry_uri)
    try:
        yield
    finally:
        mlflow.set_tracking_uri(previous[0])
        mlflow.set_registry_uri(previous[1])


@contextmanager
def scoped_env(overrides: dict[str, str]) -> Iterator[None]:
    """Set environment variables for the duration of the block, then restore the previous values.

    MLflow reads its ``MLFLOW_*`` settings at call time, so this scopes e.g. HTTP retries to one call.
    """
    previous = {key: os.environ.get(key) for key in overrides}
    os.environ.update(overrides)
    try:
        yield
    finally:
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _fail_fast_http(timeout_seconds: float) -> contextlib.AbstractContextManager[None]:
    """No retries and a short timeout for MLflow HTTP calls inside the block."""
    return scoped_env(
        {
            "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
            "MLFLOW_HTTP_REQUEST_TIMEOUT": str(max(1, round(timeout_seconds))),
        }
    )


def _check_sqlite_usable(uri: str, timeout_seconds: float) -> None:
    """Folder and file writable, and the write lock obtainable within ``timeout_seconds``.

    MLflow itself waits up to 20 s (``PRAGMA busy_timeout``) on a locked database; this probe does not.
    """
    db_path = _sqlite_path(uri)
    if db_path is None:
        return
    folder = db_path.parent
    if db_path.exists() and not os.access(db_path, os.W_OK):
        raise RegistryUnavailableError(f"MLflow unavailable at {uri!r}: database file {db_path} is not writable")
    if folder.exists() and not (folder.is_dir() and os.access(folder, os.W_OK)):
        raise RegistryUnavailableError(f"MLflow unavailable at {uri!r}: {folder} is not a writable directory")
    if not db_path.is_file():
        return  # MLflow creates it
    try:
        with contextlib.closing(sqlite3.connect(db_path, timeout=timeout_seconds, isolation_level=None)) as probe:
            probe.execute("BEGIN IMMEDIATE")
            probe.execute("ROLLBACK")
    except sqlite3.Error as exc:
        if "not a database" in str(exc):
            raise RegistryUnavailableError(
                f"MLflow unavailable at {uri!r}: {str(db_path)!r} is not an sqlite database ({exc}); point the URI "
                "at a new or an MLflow sqlite file"
            ) from None
        raise RegistryUnavailableError(
            f"MLflow unavailable at {uri!r}: cannot take the write lock of {db_path} within "
            f"{timeout_seconds:g} s ({type(exc).__name__}: {exc}); is another process holding it?"
        ) from None


def check_available(tracking_uri: str, registry_uri: str | None = None, *, timeout_seconds: float = 5.0) -> None:
    """Fail fast when MLflow cannot be used at ``tracking_uri`` (and ``registry_uri``).

    Runs one cheap read against the tracking store and one against the model registry, with HTTP
    retries off and a short timeout; for sqlite, first checks that the write lock can be taken within the
    timeout. A missing sqlite store is created (with its tables).

    Args:
        tracking_uri: Tracking URI to probe.
        registry_uri: Registry URI to probe; defaults to ``tracking_uri``.
        timeout_seconds: HTTP timeout, and the wait for a locked sqlite database.

    Raises:
        ValueError: A URI is empty or not a string.
        RegistryUnavailableError: The store cannot be reached or used; the message names the URI and the
            underlying error.
    """
    _validate_uri(tracking_uri, "tracking_uri")
    registry_uri = registry_uri or tracking_uri
    _validate_uri(registry_uri, "registry_uri")
    for uri in dict.fromkeys((tracking_uri, registry_uri)):
        _check_sqlite_usable(uri, timeout_seconds)
    scheme = urlparse(tracking_uri).scheme
    try:
        with _fail_fast_http(timeout_seconds):
            client = MlflowClient(tracking_uri=tracking_uri, registry_uri=registry_uri)
            client.search_experiments(max_results=1)
            client.search_registered_models(max_results=1)
    except Exception as exc:  # any failure of the probe means the store is unusable
        hint = " (is the MLflow server running?)" if scheme in _HTTP_SCHEMES else ""
        raise RegistryUnavailableError(
            f"MLflow unavailable at tracking URI {tracking_uri!r} / registry URI {registry_uri!r}{hint}: "
            f"{type(exc).__name__}: {exc}"
        ) from without_secrets(exc)


def ensure_experiment(
    client: MlflowClient, name: str = DEFAULT_EXPERIMENT, artifact_location: str | None = None
) -> str:
    """Id of the active experiment ``name``, created (with ``artifact_location``) when missing.

    Raises:
        ValueError: ``name`` is empty.
        RegistryError: The experiment exists but is deleted, or MLflow failed.
    """
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"experiment name must be a non-empty string, got {name!r}")
    uri = client.tracking_uri
    with mlflow_errors(f"get or create experiment {name!r}", uri):
        experiment = client.get_experiment_by_name(name)
        if experiment is None:
            try:
                return client.create_experiment(name, artifact_location=artifact_location)
            except mlflow.exceptions.MlflowException:
                experiment = client.get_experiment_by_name(name)  # created concurrently by another process
                if experiment is None:
                    raise
    if experiment.lifecycle_stage == LifecycleStage.DELETED:
        raise RegistryError(
            f"MLflow experiment {name!r} at {uri!r} is deleted; restore it in the MLflow UI "
            "(or `mlflow experiments restore`) or choose another experiment name"
        )
    return experiment.experiment_id
