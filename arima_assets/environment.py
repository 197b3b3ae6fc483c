"""Names the deployment environment and the project-local state folder (plain Python, no Dagster)."""

from __future__ import annotations

import os
import re
from pathlib import Path

__all__ = ["ENVIRONMENTS", "DEFAULT_ENVIRONMENT", "env_text", "get_environment", "redact_uri", "state_dir"]

ENVIRONMENTS: tuple[str, ...] = ("development", "testing", "production")
DEFAULT_ENVIRONMENT = "development"


def get_environment(explicit: str | None = None) -> str:
    """Return the deployment environment: `explicit`, else `DEPLOYMENT_ENV`, else development.

    Raises:
        ValueError: the name is not one of ENVIRONMENTS (the message names the source).
    """
    source = "environment argument" if explicit is not None else "DEPLOYMENT_ENV"
    name = explicit if explicit is not None else os.environ.get("DEPLOYMENT_ENV", DEFAULT_ENVIRONMENT)
    name = name.strip().lower()
    if name not in ENVIRONMENTS:
        raise ValueError(f"{source}={name!r} is not a known environment; allowed: {', '.join(ENVIRONMENTS)}")
    return name


def env_text(name: str, default: str) -> str:
    """The stripped value of environment variable `name`, or `default` when it is unset or blank."""
    return os.environ.get(name, "").strip() or default


def state_dir() -> Path:
    """Folder for local state (Dagster home, model store, MLflow store): `ARIMA_STATE_DIR` or `./.state`."""
    return Path(os.environ.get("ARIMA_STATE_DIR", Path.cwd() / ".state")).resolve()


_CREDENTIALS = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^/@\s]+)@")
_SECRET_PARAMS = re.compile(r"(?i)([?&](?:password|passwd|pwd|token|secret|access_key|api_key)=)[^&#\s]+")


def redact_uri(text: str) -> str:
    """`text` with credentials in URIs replaced by ``***``: ``scheme://user:pass@host`` -> ``scheme://***@host``,
    and password/token query parameters. Text without credentials is returned unchanged."""
    return _SECRET_PARAMS.sub(r"\1***", _CREDENTIALS.sub(r"\g<scheme>***@", text))
