"""MLflow wrapper: tracking URIs, per-ISBN runs, the ``arima-<isbn>`` registry and its champion."""

from arima_assets.registry.errors import RegistryError, RegistryUnavailableError
from arima_assets.registry.pyfunc import ArimaForecastModel, weekly_series_from_input
from arima_assets.registry.records import CHAMPION_ALIAS, ChampionRecord, ModelVersionInfo, model_name
from arima_assets.registry.registry import ModelRegistry
from arima_assets.registry.runs import SUMMARY_METRICS
from arima_assets.registry.tracking import (
    DEFAULT_EXPERIMENT,
    check_available,
    configure_mlflow,
    default_artifact_location,
    scoped_mlflow_uris,
    sqlite_uri,
)

__all__ = [
    "CHAMPION_ALIAS",
    "DEFAULT_EXPERIMENT",
    "SUMMARY_METRICS",
    "ArimaForecastModel",
    "ChampionRecord",
    "ModelRegistry",
    "ModelVersionInfo",
    "RegistryError",
    "RegistryUnavailableError",
    "check_available",
    "configure_mlflow",
    "default_artifact_location",
    "model_name",
    "scoped_mlflow_uris",
    "sqlite_uri",
    "weekly_series_from_input",
]
