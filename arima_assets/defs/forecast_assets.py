"""The per-ISBN forecast, many ISBNs per run: each champion's kept parameters re-filtered on the latest weeks."""

import time
from dataclasses import replace
from typing import Any

import dagster as dg
import pandas as pd

from arima_assets.config import ArimaConfig
from arima_assets.decision import ModelRecord, StepStatus
from arima_assets.defs._dagster_internals import partition_metadata_writer
from arima_assets.defs.automation import batch_policy, forecast_condition
from arima_assets.defs.data_assets import output_by_partition, series_by_partition, titles_of
from arima_assets.defs.partitions import isbn_partitions
from arima_assets.defs.resources import ModelStoreResource
from arima_assets.defs.tracking import EXPERIMENT_NAME, end_mlflow_on_run_finished
from arima_assets.lifecycle import ChampionLifecycle, cached_champion
from arima_assets.plots import ForecastPlotter
from arima_assets.registry import ModelRegistry, model_name
from arima_assets.registry.links import model_version_url, ui_base_url
from arima_assets.store import ModelStore

__all__ = ["build_forecast_asset", "forecast_table"]

_COLUMNS = ["mean", "lo-80", "hi-80", "lo-95", "hi-95"]


def forecast_table(champion: ModelRecord, series: pd.Series, horizon: int) -> pd.DataFrame:
    """The champion's `horizon`-week forecast with 80/95 % intervals, its parameters re-filtered on `series`."""
    forecast = champion.load_model(refilter=False).refresh(series).forecast(horizon)  # parameters only: one filter
    forecast.index.name = "week_end"
    return forecast


def _metadata(
    isbn: str,
    title: str,
    champion: ModelRecord,
    series: pd.Series,
    forecast: pd.DataFrame,
    seconds: float,
    mlflow_ui: str,
    plotter: ForecastPlotter,
) -> dict:
    table = forecast.round(1)
    table.index = table.index.strftime("%Y-%m-%d")
    heading = f"{title} — ISBN {isbn}" if title else f"ISBN {isbn}"
    version = champion.mlflow.get("version", "")
    link = model_version_url(mlflow_ui, model_name(isbn), version) if version else ""
    return {
        "title": title,
        "status": "forecast",
        "spec": champion.spec_label,
        "model_trained_at": champion.trained_at.isoformat(),
        "mlflow_model_version": version,
        **({"mlflow_model": dg.MetadataValue.url(link)} if link else {}),
        "first_week": str(forecast.index[0].date()),
        "horizon_weeks": len(forecast),
        "total_forecast_units": round(float(forecast["mean"].sum()), 1),  # as the table
        "refresh_seconds": round(seconds, 3),
        "forecast": dg.MetadataValue.md(table.to_markdown()),
        "plot": dg.MetadataValue.md(plotter.markdown(series, forecast, f"{heading} — {champion.spec_label}")),
    }


def _record_failure(store: ModelStore, isbn: str, run_id: str, error: str) -> None:
    """The ISBN's outcome becomes a failure: a call or report never counts a title whose forecast failed as served."""
    outcome = store.get_run_outcome(run_id, isbn) or store.get_outcome(isbn)
    if outcome is None or outcome.status == StepStatus.FAILED:  # a failed model step keeps its own error
        return
    store.put_outcome(replace(outcome, status=StepStatus.FAILED, run_id=run_id, error=f"forecast failed: {error}"))


def build_forecast_asset(config: ArimaConfig) -> dg.AssetsDefinition:
    """The `sales_forecast` asset, in runs of at most `batch_size` ISBNs."""

    @dg.asset(
        name="sales_forecast",
        group_name="arima_assets",
        partitions_def=isbn_partitions,
        kinds={"pandas"},
        deps=["arima_model"],
        automation_condition=forecast_condition(),
        backfill_policy=batch_policy(config),
        hooks={end_mlflow_on_run_finished},
    )
    def sales_forecast(
        context: dg.AssetExecutionContext,
        arima_config: dg.ResourceParam[ArimaConfig],
        model_store: ModelStoreResource,
        weekly_sales: Any,  # one frame, or a dict by partition for several
    ) -> dg.Output:
        """`forecast_horizon`-week forecast with 80/95 % intervals (never negative) from each ISBN's champion,
        re-filtered on the latest weekly sales: refreshed whenever the series or the model changes. An ISBN without
        a usable champion gets an empty table whose metadata says why, and its outcome is marked failed."""
        keys = list(context.partition_keys)
        store = model_store.get_store()
        series = series_by_partition(keys, weekly_sales)
        titles = titles_of(context.instance, keys)
        add_metadata = partition_metadata_writer(context)
        mlflow_ui = ui_base_url(arima_config.mlflow_tracking_uri, arima_config.mlflow_ui_url)
        lifecycle: ChampionLifecycle | None = None
        plotter = ForecastPlotter()  # one figure for the batch's plots
        outputs: dict[str, pd.DataFrame] = {}
        failed: list[str] = []
        for isbn in keys:
            started = time.perf_counter()
            try:
                champion = cached_champion(store, isbn)
                if champion is None:  # missing or damaged cache: the registry's record, cache rebuilt
                    if lifecycle is None:
                        registry = ModelRegistry(arima_config.mlflow_tracking_uri, experiment_name=EXPERIMENT_NAME)
                        lifecycle = ChampionLifecycle(store, registry, arima_config)
                    champion = lifecycle.champion(isbn)
                if champion is None:
                    raise ValueError(f"ISBN {isbn} has no champion model yet: its model step must succeed first")
                forecast = forecast_table(champion, series[isbn], arima_config.forecast_horizon)
                seconds = time.perf_counter() - started
                metadata = _metadata(
                    isbn, titles.get(isbn, ""), champion, series[isbn], forecast, seconds, mlflow_ui, plotter
                )
            except Exception as exc:  # one ISBN's failure does not stop the others
                error = f"{type(exc).__name__}: {exc}"
                context.log.error(f"ISBN {isbn}: forecast failed: {error}")
                _record_failure(store, isbn, context.run.run_id, error)
                failed.append(isbn)
                forecast = pd.DataFrame(columns=_COLUMNS, index=pd.DatetimeIndex([], name="week_end"), dtype=float)
                metadata = {"status": "failed", "error": error}
            outputs[isbn] = forecast
            add_metadata(isbn, metadata)
        if failed:
            context.log.warning(f"{len(failed)} of {len(keys)} forecasts failed: {failed[:20]}")
        return dg.Output(output_by_partition(keys, outputs))

    return sales_forecast
