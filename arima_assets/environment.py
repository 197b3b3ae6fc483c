"""Names the deployment environment and the project-local state folder (plain Python, no Dagster)."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["ENVIRONMENTS", "DEFAULT_ENVIRONMENT", "get_environment", "state_dir"]

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


def state_dir() -> Path:
    """Folder for local state (Dagster home, model store, MLflow store): `ARIMA_STATE_DIR` or `./.state`."""
    return Path(os.environ.get("ARIMA_STATE_DIR", Path.cwd() / ".state")).resolve()
