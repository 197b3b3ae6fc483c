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
    """One sensor evaluates the assets' automation conditions every `automation_interval_seconds`.

    The conditions include custom (non-serializable) ones, so they run in the user code server. A tick that
    requests several ISBN partitions emits a backfill (`emit_backfills`), which honours the assets' backfill policy:
    runs of at most `batch_size` ISBNs, each carrying the series, model (with its checks) and forecast of its ISBNs.
    """
    return [
        dg.AutomationConditionSensorDefinition(
            name="arima_automation_sensor",
            target=dg.AssetSelection.groups("arima_assets"),  # shown as group:"arima_assets" in the UI
            default_status=dg.DefaultSensorStatus.RUNNING,
            use_user_code_server=True,
            minimum_interval_seconds=config.automation_interval_seconds,
            emit_backfills=True,
        ),
    ]
