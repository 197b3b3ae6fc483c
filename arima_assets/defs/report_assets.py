"""The retraining report over every ISBN partition."""

import json

import dagster as dg

from arima_assets.config import ArimaConfig
from arima_assets.defs.automation import report_condition
from arima_assets.defs.partitions import ISBN_PARTITIONS_NAME
from arima_assets.defs.resources import ModelStoreResource, store_locations
from arima_assets.report import build_report
from arima_assets.store_backends import backend_for, join_location

__all__ = ["retraining_report"]

REPORT_FILE = "retraining_report.json"


@dg.asset(group_name="arima_assets", deps=["arima_model"], kinds={"json"}, automation_condition=report_condition())
def retraining_report(
    context: dg.AssetExecutionContext, arima_config: dg.ResourceParam[ArimaConfig], model_store: ModelStoreResource
) -> dg.MaterializeResult:
    """Summary of the last model step of every ISBN: trained, reused, failed, reuse rate, triggers fired, fit
    seconds spent and saved, and each ISBN's decision with its reasons. Also written to
    `<state_dir>/reports/retraining_report.json`."""
    isbns = sorted(context.instance.get_dynamic_partitions(ISBN_PARTITIONS_NAME))
    report = build_report(model_store.get_store().outcomes(isbns), isbns, arima_config.public_dict())
    # beside the model store: a local folder, or object storage when state_dir is a URI (written atomically)
    reports = backend_for(join_location(arima_config.state_dir, "reports"))
    reports.write(REPORT_FILE, json.dumps(report, indent=2, default=str).encode("utf-8"))
    stats = report["retraining_stats"]
    return dg.MaterializeResult(
        metadata={
            "total_books": report["total_books"],
            "successful_models": report["successful_models"],
            "reused_models": report["reused_models"],
            "newly_trained_models": report["newly_trained_models"],
            "failed_models": report["failed_models"],
            "reuse_rate": report["reuse_rate"],
            "fit_seconds_spent": stats["fit_seconds_spent"],
            "fit_seconds_saved": stats["fit_seconds_saved"],
            "report": dg.MetadataValue.json(report),
            "path": dg.MetadataValue.path(reports.location(REPORT_FILE)),
            "environment": arima_config.environment,
            "stores": dg.MetadataValue.json(store_locations(arima_config)),
        }
    )
