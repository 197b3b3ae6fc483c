"""Sensors: ingest when the sales files change; evaluate the automation conditions."""

import hashlib
from pathlib import Path

import dagster as dg

from arima_assets.config import ArimaConfig

__all__ = ["sales_files_fingerprint", "build_sales_files_sensor", "build_automation_sensors"]


def sales_files_fingerprint(sales_path: str) -> str:
    """Hash of the names, sizes and modification times of the sales files under `sales_path`."""
    root = Path(sales_path)
    files = sorted(root.rglob("*")) if root.is_dir() else [root]
    digest = hashlib.sha256()
    for file in files:
        if file.is_file() and file.suffix.lower() in {".csv", ".xlsx"}:
            stat = file.stat()
            digest.update(f"{file}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def build_sales_files_sensor(config: ArimaConfig) -> dg.SensorDefinition:
    """Requests `book_sales` when the sales files are new or changed (and once at first start)."""

    @dg.sensor(
        name="sales_files_sensor",
        asset_selection=["book_sales"],
        minimum_interval_seconds=config.automation_interval_seconds,
        default_status=dg.DefaultSensorStatus.RUNNING,
    )
    def sales_files_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
        """Ingests the sales files when their fingerprint changes."""
        fingerprint = sales_files_fingerprint(config.sales_path)
        if fingerprint == context.cursor:
            return dg.SkipReason(f"sales files unchanged ({config.sales_path})")
        return dg.SensorResult(run_requests=[dg.RunRequest(run_key=fingerprint)], cursor=fingerprint)

    return sales_files_sensor


def build_automation_sensors(config: ArimaConfig) -> list[dg.AutomationConditionSensorDefinition]:
    """Two sensors evaluate the automation conditions every `automation_interval_seconds`: one for the assets,
    one for the checks.

    The assets' conditions include a custom (non-serializable) one, so they run in the user code server.
    The checks get their own sensor because Dagster 1.13, when a check's asset is requested in the same tick,
    narrows the check's request to that asset's partitions: a drift check for one ISBN would be dropped
    whenever another ISBN's model is requested at the same time.
    """
    checks = dg.AssetSelection.all_asset_checks()
    return [
        dg.AutomationConditionSensorDefinition(
            name="arima_automation_sensor",
            target=dg.AssetSelection.all(include_sources=False) - checks,
            default_status=dg.DefaultSensorStatus.RUNNING,
            use_user_code_server=True,
            minimum_interval_seconds=config.automation_interval_seconds,
            emit_backfills=False,
        ),
        dg.AutomationConditionSensorDefinition(
            name="arima_checks_sensor",
            target=checks,
            default_status=dg.DefaultSensorStatus.RUNNING,
            use_user_code_server=True,
            minimum_interval_seconds=config.automation_interval_seconds,
            emit_backfills=False,
        ),
    ]
