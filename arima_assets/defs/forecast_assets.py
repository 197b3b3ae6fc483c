"""The per-ISBN forecast: the champion's kept parameters re-filtered on the latest weeks (no refit)."""

import time

import dagster as dg
import pandas as pd

from arima_assets.config import ArimaConfig
from arima_assets.defs.automation import forecast_condition
from arima_assets.defs.data_assets import series_from_frame
from arima_assets.defs.partitions import isbn_partitions
from arima_assets.defs.resources import ModelStoreResource
from arima_assets.defs.tracking import end_mlflow_on_run_finished
from arima_assets.plots import forecast_markdown

__all__ = ["sales_forecast"]


@dg.asset(
    group_name="arima_assets",
    partitions_def=isbn_partitions,
    kinds={"pandas"},
    deps=["arima_model"],
    automation_condition=forecast_condition(),
    hooks={end_mlflow_on_run_finished},
)
def sales_forecast(
    context: dg.AssetExecutionContext,
    arima_config: dg.ResourceParam[ArimaConfig],
    model_store: ModelStoreResource,
    weekly_sales: pd.DataFrame,
) -> dg.Output[pd.DataFrame]:
    """`forecast_horizon`-week forecast with 80/95 % intervals (never negative) from the ISBN's champion,
    re-filtered on the latest weekly sales: refreshed whenever the series or the model changes."""
    isbn = context.partition_key
    champion = model_store.get_store().get_champion(isbn)
    if champion is None:
        raise dg.Failure(f"ISBN {isbn} has no champion model yet: materialize arima_model[{isbn}] first")
    series = series_from_frame(weekly_sales)
    started = time.perf_counter()
    model = champion.load_model(refilter=False).refresh(series)  # parameters only: one filter
    forecast = model.forecast(arima_config.forecast_horizon)
    refresh_seconds = time.perf_counter() - started
    forecast.index.name = "week_end"
    table = forecast.round(1)
    table.index = table.index.strftime("%Y-%m-%d")
    return dg.Output(
        forecast,
        metadata={
            "spec": champion.spec_label,
            "model_trained_at": champion.trained_at.isoformat(),
            "mlflow_model_version": champion.mlflow.get("version", ""),
            "first_week": str(forecast.index[0].date()),
            "horizon_weeks": len(forecast),
            "total_forecast_units": round(float(forecast["mean"].sum()), 1),  # as the table
            "refresh_seconds": round(refresh_seconds, 3),
            "forecast": dg.MetadataValue.md(table.to_markdown()),
            "plot": dg.MetadataValue.md(forecast_markdown(series, forecast, f"ISBN {isbn} — {champion.spec_label}")),
        },
    )
