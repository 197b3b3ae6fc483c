"""Entry point: `defs`, loaded by workspace.yaml and `dagster dev`.

Resources and automation thresholds come from one settings object, `get_arima_config()`: the `DEPLOYMENT_ENV`
preset with `ARIMA_*` environment overrides. A run may override the other settings, not those the automation reads
(see `arima_assets.defs.resources.DEPLOYMENT_SETTINGS`).
"""

from __future__ import annotations

import warnings

import dagster as dg

# Dagster's beta and preview notices about the APIs this project chose (dagster-mlflow, partitioned checks, data
# versions, automation-sensor options) are not for the user: hidden in the processes that load these definitions
# (code server, every run), which import this module first. Supersession, deprecation and all other warnings stay.
for _notice in (dg.BetaWarning, dg.PreviewWarning):
    warnings.filterwarnings("ignore", category=_notice)

from arima_assets.config import ArimaConfig, get_arima_config  # noqa: E402 - after the filters
from arima_assets.defs.alerts import build_drift_alert_sensor  # noqa: E402
from arima_assets.defs.data_assets import book_sales, build_weekly_sales  # noqa: E402
from arima_assets.defs.deployment import build_executor  # noqa: E402
from arima_assets.defs.forecast_assets import build_forecast_asset  # noqa: E402
from arima_assets.defs.model_assets import build_model_asset  # noqa: E402
from arima_assets.defs.report_assets import retraining_report  # noqa: E402
from arima_assets.defs.resources import build_resources  # noqa: E402
from arima_assets.defs.sensors import build_automation_sensors, build_sales_files_sensor  # noqa: E402
from arima_assets.defs.sqlite_commits import install_sqlite_commit_tuning  # noqa: E402

install_sqlite_commit_tuning()  # dagster dev's and the Python API's sqlite event log: see the module

__all__ = ["build_definitions", "defs"]


def build_definitions(config: ArimaConfig | None = None) -> dg.Definitions:
    """The asset graph, checks, sensors and resources for one configuration: the automation conditions, the sensors
    and the `arima_config` resource all derive from `config`."""
    config = config or get_arima_config()
    return dg.Definitions(
        assets=[
            book_sales,
            build_weekly_sales(config),
            build_model_asset(config),
            build_forecast_asset(config),
            retraining_report,
        ],
        sensors=[build_sales_files_sensor(config), *build_automation_sensors(config), build_drift_alert_sensor()],
        resources=build_resources(config),
        executor=build_executor(config.environment),
    )


defs = build_definitions()
