"""Partitioned checks on arima_model: drift, forecast performance and age, each from the decision engine.

A failed check marks only its ISBN stale (see automation.model_condition); each result carries the observed
value and the threshold side by side.
"""

from datetime import UTC, datetime

import dagster as dg
import pandas as pd

from arima_assets.config import ArimaConfig
from arima_assets.decision import TriggerResult, age_trigger, drift_trigger, performance_trigger
from arima_assets.defs.automation import check_condition
from arima_assets.defs.data_assets import series_from_frame
from arima_assets.defs.partitions import isbn_partitions
from arima_assets.defs.resources import ModelStoreResource

__all__ = ["model_drift", "forecast_performance", "model_age", "model_checks"]


def _result(trigger: TriggerResult, **extra: object) -> dg.AssetCheckResult:
    metadata: dict[str, object] = {"reason": trigger.reason, **extra}
    if trigger.observed is not None:
        metadata["observed"] = float(trigger.observed)
    if trigger.threshold is not None:
        metadata["threshold"] = float(trigger.threshold)
    return dg.AssetCheckResult(
        passed=not trigger.fired,
        severity=dg.AssetCheckSeverity.WARN,
        description=trigger.reason,
        metadata=metadata,
    )


def _no_champion(isbn: str) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        passed=False,
        severity=dg.AssetCheckSeverity.WARN,
        description=f"ISBN {isbn} has no champion model",
    )


_CHECK_KWARGS = dict(
    asset="arima_model",
    partitions_def=isbn_partitions,
    additional_ins={"weekly_sales": dg.AssetIn()},
    automation_condition=check_condition(),
)


@dg.asset_check(**_CHECK_KWARGS)
def model_drift(
    context: dg.AssetCheckExecutionContext,
    arima_config: ArimaConfig,
    model_store: ModelStoreResource,
    weekly_sales: pd.DataFrame,
) -> dg.AssetCheckResult:
    """Fails when the weeks since training drifted from the training window (score above drift_threshold)."""
    isbn = context.partition_key
    champion = model_store.get_store().get_champion(isbn)
    if champion is None:
        return _no_champion(isbn)
    series = series_from_frame(weekly_sales)
    return _result(drift_trigger(champion, champion.load_model(), series, arima_config))


@dg.asset_check(**_CHECK_KWARGS)
def forecast_performance(
    context: dg.AssetCheckExecutionContext,
    arima_config: ArimaConfig,
    model_store: ModelStoreResource,
    weekly_sales: pd.DataFrame,
) -> dg.AssetCheckResult:
    """Fails when the out-of-sample error since training is worse than the holdout baseline by more than
    performance_threshold (relative)."""
    isbn = context.partition_key
    champion = model_store.get_store().get_champion(isbn)
    if champion is None:
        return _no_champion(isbn)
    series = series_from_frame(weekly_sales)
    return _result(
        performance_trigger(champion, champion.load_model(), series, arima_config),
        baseline_mase=champion.holdout_mase,
    )


@dg.asset_check(**_CHECK_KWARGS)
def model_age(
    context: dg.AssetCheckExecutionContext,
    arima_config: ArimaConfig,
    model_store: ModelStoreResource,
    weekly_sales: pd.DataFrame,
) -> dg.AssetCheckResult:
    """Fails when the champion is older than max_model_age_days (the automation retrains it regardless)."""
    isbn = context.partition_key
    champion = model_store.get_store().get_champion(isbn)
    if champion is None:
        return _no_champion(isbn)
    return _result(age_trigger(champion, arima_config, datetime.now(UTC)), trained_at=champion.trained_at.isoformat())


model_checks = [model_drift, forecast_performance, model_age]
