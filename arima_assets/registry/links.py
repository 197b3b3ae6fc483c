"""Links to the MLflow UI for a run and a registered model version (no MLflow import: plain URLs)."""

from __future__ import annotations

from urllib.parse import quote, urlsplit, urlunsplit

__all__ = ["MLFLOW_UI_DEFAULT", "model_version_url", "run_url", "ui_base_url"]

#: Where `mlflow ui` serves a local (sqlite) store by default.
MLFLOW_UI_DEFAULT = "http://127.0.0.1:5000"


def ui_base_url(tracking_uri: str, ui_url: str = "") -> str:
    """The MLflow UI's base URL: `ui_url` when set, else an http(s) tracking server itself, else `mlflow ui`'s
    default address (a sqlite or file store has no UI of its own). Credentials in the URL are dropped."""
    base = ui_url or (tracking_uri if tracking_uri.startswith(("http://", "https://")) else MLFLOW_UI_DEFAULT)
    parts = urlsplit(base)
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))


def run_url(base: str, run_id: str) -> str:
    """The UI page of run `run_id`."""
    return f"{base}/#/runs/{quote(run_id)}"


def model_version_url(base: str, model: str, version: str | int) -> str:
    """The UI page of version `version` of registered model `model`."""
    return f"{base}/#/models/{quote(model)}/versions/{quote(str(version))}"
