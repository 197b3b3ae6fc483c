"""Entry point: `defs`, loaded by workspace.yaml and `dagster dev`.

Resources and automation thresholds come from one settings object, `get_arima_config()`: the `DEPLOYMENT_ENV`
preset with `ARIMA_*` environment overrides. A run may override the other settings, not those the automation reads
(see `arima_assets.defs.resources.DEPLOYMENT_SETTINGS`).
"""

from __future__ import annotations

import dagster as dg

from arima_assets.config import ArimaConfig, get_arima_config
from arima_assets.defs.alerts import build_drift_alert_sensor
from arima_assets.defs.checks import model_checks
from arima_assets.defs.data_assets import book_sales, weekly_sales
from arima_assets.defs.deployment import build_executor
from arima_assets.defs.forecast_assets import sales_forecast
from arima_assets.defs.model_assets import build_model_asset
from arima_assets.defs.report_assets import retraining_report
from arima_assets.defs.resources import build_resources
from arima_assets.defs.sensors import build_automation_sensors, build_sales_files_sensor

__all__ = ["build_definitions", "defs"]


def build_definitions(config: ArimaConfig | None = None) -> dg.Definitions:
    """The asset graph, checks, sensors and resources for one configuration: the automation conditions, the sensors
    and the `arima_config` resource all derive from `config`."""
    config = config or get_arima_config()
    return dg.Definitions(
        assets=[book_sales, weekly_sales, build_model_asset(config), sales_forecast, retraining_report],
        asset_checks=model_checks,
        sensors=[build_sales_files_sensor(config), *build_automation_sensors(config), build_drift_alert_sensor()],
        resources=build_resources(config),
        executor=build_executor(config.environment),
    )


defs = build_definitions()
