"""arima_assets: weekly book-sales forecasting with one ARIMA model per ISBN, retrained only when stale.

The public names load lazily so that `arima_assets.forecasting` (the numeric core) can be imported without
Dagster or MLflow.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from arima_assets.config import ArimaConfig, get_arima_config
    from arima_assets.pipeline import book_sales_arima_modeling_pipeline

__all__ = ["ArimaConfig", "get_arima_config", "book_sales_arima_modeling_pipeline"]

_LAZY = {
    "ArimaConfig": "arima_assets.config",
    "get_arima_config": "arima_assets.config",
    "book_sales_arima_modeling_pipeline": "arima_assets.pipeline",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'arima_assets' has no attribute {name!r}")
