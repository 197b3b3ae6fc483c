"""Python API: run the asset graph in-process and return the retraining report."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import dagster as dg

from arima_assets.config import ArimaConfig, default_tracking_uri, get_arima_config
from arima_assets.defs.partitions import ISBN_PARTITIONS_NAME
from arima_assets.report import build_report
from arima_assets.store import ModelStore, Outcome

__all__ = ["book_sales_arima_modeling_pipeline", "config_for_output_dir"]

logger = logging.getLogger(__name__)

_PER_ISBN = ["weekly_sales", "arima_model", "sales_forecast"]
_QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def config_for_output_dir(config: ArimaConfig | None, output_dir: Path) -> ArimaConfig:
    """The configuration with its state (Dagster instance, model store, MLflow store) kept under `output_dir`.

    An explicitly set MLflow tracking URI is kept; a derived local one moves under `output_dir`.
    """
    base = config or get_arima_config()
    values = base.as_dict()
    values["state_dir"] = str(output_dir)
    if values["mlflow_tracking_uri"] == default_tracking_uri(base.environment, Path(base.state_dir)):
        values["mlflow_tracking_uri"] = ""
    environment = values.pop("environment")
    return get_arima_config(environment, **values)


def book_sales_arima_modeling_pipeline(
    output_dir: str | Path | None = None,
    selected_isbns: list[str] | None = None,
    config: ArimaConfig | None = None,
) -> dict[str, Any]:
    """Ingest the sales files, then for each ISBN refresh its series, decide, train only if stale, and forecast.

    Runs the Dagster assets in-process on an instance kept under `output_dir`, one run per ISBN, so one
    ISBN's failure does not stop the others. Calling it again with the same `output_dir` and unchanged data
    reuses every model.

    Args:
        output_dir: folder for the Dagster instance, model store, tables and MLflow store
            (default: `<state_dir>/pipeline`).
        selected_isbns: ISBNs to model (default: every valid ISBN in the sales files).
        config: settings (default: `get_arima_config()`).

    Returns:
        The retraining report: total_books, successful_models, reused_models, newly_trained_models,
        failed_models, reuse_rate, configuration, retraining_stats, decisions.

    Raises:
        ValueError: a selected ISBN is not in the sales data.
        dagster.DagsterExecutionError: the sales files cannot be ingested.
    """
    from arima_assets.definitions import build_definitions  # heavy import, only when called

    base = config or get_arima_config()
    folder = Path(output_dir) if output_dir is not None else Path(base.state_dir) / "pipeline"
    folder.mkdir(parents=True, exist_ok=True)
    config = config_for_output_dir(base, folder.resolve())
    defs = build_definitions(config)
    assets = list(defs.assets or [])
    resources = dict(defs.resources or {})
    (folder / "dagster").mkdir(exist_ok=True)
    instance = dg.DagsterInstance.local_temp(tempdir=str(folder / "dagster"))
    try:
        dg.materialize(assets, _QUIET, instance=instance, resources=resources, selection=["book_sales"])
        known = sorted(instance.get_dynamic_partitions(ISBN_PARTITIONS_NAME))
        isbns = _select(known, selected_isbns)
        store = ModelStore(Path(config.state_dir) / "models")
        outcomes: dict[str, Outcome] = {}
        for isbn in isbns:
            result = dg.materialize(
                assets,
                _QUIET,
                instance=instance,
                resources=resources,
                selection=_PER_ISBN,
                partition_key=isbn,
                raise_on_error=False,
                tags={"arima_assets/source": "python_api"},
            )
            outcomes[isbn] = _outcome_of(isbn, result, store)
            logger.info("ISBN %s: %s", isbn, outcomes[isbn].status)
        dg.materialize(assets, _QUIET, instance=instance, resources=resources, selection=["retraining_report"])
    finally:
        instance.dispose()
    return build_report(outcomes, isbns, config.as_dict())


def _select(known: list[str], selected: list[str] | None) -> list[str]:
    if selected is None:
        return known
    from arima_assets.data.isbn import normalize_isbn

    wanted = [normalize_isbn(isbn) for isbn in selected]
    unknown = [isbn for isbn in wanted if isbn not in known]
    if unknown:
        raise ValueError(f"selected ISBNs not in the sales data: {unknown} ({len(known)} ISBNs loaded)")
    return list(dict.fromkeys(wanted))


def _outcome_of(isbn: str, result: dg.ExecuteInProcessResult, store: ModelStore) -> Outcome:
    """The ISBN's outcome in this run; a run that failed before the model step still counts as failed."""
    outcome = store.get_outcome(isbn)
    if outcome is not None and outcome.run_id == result.run_id:
        return outcome
    if result.success:
        raise RuntimeError(f"run {result.run_id} for ISBN {isbn} succeeded but recorded no model outcome")
    errors = [
        data.error.message.strip()
        for data in (event.event_specific_data for event in result.all_events)
        if getattr(data, "error", None) is not None
    ]
    error = errors[0] if errors else f"run {result.run_id} failed"
    failed = Outcome(isbn=isbn, status="failed", decision={}, run_id=result.run_id, error=error)
    store.put_outcome(failed)
    return failed
