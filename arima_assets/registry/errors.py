"""Errors raised by the MLflow registry layer, and the translation of MLflow's own exceptions into them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import requests
import sqlalchemy.exc
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import TEMPORARILY_UNAVAILABLE, ErrorCode

from arima_assets.environment import redact_uri

__all__ = ["RegistryError", "RegistryUnavailableError", "mlflow_errors"]

_TRANSPORT_ERRORS = (
    requests.exceptions.ConnectionError,
    requests.exceptions.Timeout,
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
)
_TEMPORARILY_UNAVAILABLE = ErrorCode.Name(TEMPORARILY_UNAVAILABLE)


class RegistryError(RuntimeError):
    """An MLflow tracking or model-registry operation failed; nothing after the failing step was done."""

    def __init__(self, message: object = "") -> None:
        super().__init__(redact_uri(str(message)))  # messages name URIs: never with their credentials


class RegistryUnavailableError(RegistryError):
    """MLflow cannot be reached at the configured URI (bad scheme, server down, unusable sqlite file)."""


def without_secrets(exc: BaseException) -> BaseException | None:
    """`exc` as the cause to chain, or None when its chain's text holds credentials (MLflow puts the whole URI,
    password included, in its messages; Dagster writes the cause chain to its event log)."""
    current: BaseException | None = exc
    while current is not None:
        if redact_uri(str(current)) != str(current):
            return None
        current = current.__cause__ or current.__context__
    return exc


def _is_transport_failure(exc: BaseException) -> bool:
    """Whether ``exc`` or anything in its cause/context chain means the store could not be reached."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, _TRANSPORT_ERRORS):
            return True
        if isinstance(current, MlflowException) and current.error_code == _TEMPORARILY_UNAVAILABLE:
            return True
        current = current.__cause__ or current.__context__
    return False


@contextmanager
def mlflow_errors(action: str, uri: str) -> Iterator[None]:
    """Re-raise MLflow, database, HTTP and file errors as registry errors that name ``action`` and ``uri``.

    Args:
        action: What was being done, e.g. ``"register model arima-978..."``.
        uri: The tracking (or registry) URI the action talked to.

    Raises:
        RegistryUnavailableError: The store could not be reached (connection, timeout, locked database).
        RegistryError: Any other MLflow, database, HTTP or file-system failure.
    """
    try:
        yield
    except RegistryError:
        raise
    except (
        MlflowException,
        OSError,
        requests.exceptions.RequestException,
        sqlalchemy.exc.SQLAlchemyError,
    ) as exc:
        detail = f"{type(exc).__name__}: {exc}"
        if _is_transport_failure(exc):
            error: RegistryError = RegistryUnavailableError(
                f"MLflow unavailable at {uri!r} while trying to {action}: {detail}"
            )
        else:
            error = RegistryError(f"MLflow failed at {uri!r} while trying to {action}: {detail}")
        raise error from without_secrets(exc)
