"""Partitioned checks on arima_model (drift, forecast performance, age, pending challenger, custom triggers),
each judged by the decision engine.

The five checks are one op (a subsettable multi-asset check): the ISBN's champion and series are loaded once,
and on Celery workers the checks of an ISBN are one task instead of five. A failed check marks only its ISBN
stale (see automation.model_condition); each result carries the observed value and the threshold side by side.
"""

from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import dagster as dg
import pandas as pd

from arima_assets.config import ArimaConfig
from arima_assets.decision import (
    ModelRecord,
    Trigger,
    TriggerResult,
    age_trigger,
    challenger_trigger,
    custom_trigger_results,
    evaluate_triggers,
)
from arima_assets.defs.automation import check_condition
from arima_assets.defs.data_assets import series_from_frame
from arima_assets.defs.partitions import isbn_partitions
from arima_assets.defs.resources import ModelStoreResource
from arima_assets.store import ModelStore

__all__ = ["CHECKS", "arima_model_checks", "model_checks"]


def _result(key: dg.AssetCheckKey, trigger: TriggerResult) -> dg.AssetCheckResult:
    metadata: dict[str, object] = {"reason": trigger.reason}
    if trigger.observed is not None:
        metadata["observed"] = float(trigger.observed)
    if trigger.threshold is not None:
        metadata["threshold"] = float(trigger.threshold)
    return dg.AssetCheckResult(
        check_name=key.name,
        asset_key=key.asset_key,
        passed=not trigger.fired,
        severity=dg.AssetCheckSeverity.WARN,
        description=trigger.reason,
        metadata=metadata,
    )


Judge = Callable[[ModelRecord, pd.Series, ArimaConfig, ModelStore], TriggerResult]


def _data_trigger(trigger: Trigger) -> Judge:
    """Judge one data trigger the way the decision engine does (filter checkpoint, cool-down, regime); a
    champion whose stored model cannot be used fails the check with that reason."""

    def judge(champion: ModelRecord, series: pd.Series, config: ArimaConfig, store: ModelStore) -> TriggerResult:
        results = {t.trigger: t for t in evaluate_triggers(champion, series, config, datetime.now(UTC))}
        return results.get(trigger) or results[Trigger.INVALID]

    return judge


_DRIFT = (
    _data_trigger(Trigger.DRIFT),
    "Fails when the weeks since training drifted from the training window (score above drift_threshold).",
)
_PERFORMANCE = (
    _data_trigger(Trigger.PERFORMANCE),
    "Fails when the out-of-sample error since training is worse than the holdout baseline by more than "
    "performance_threshold (relative).",
)
_AGE = (
    lambda champion, series, config, store: age_trigger(champion, config, datetime.now(UTC)),
    "Fails when the champion is older than max_model_age_days (the automation retrains it regardless).",
)


def _judge_pending_challenger(
    champion: ModelRecord, series: pd.Series, config: ArimaConfig, store: ModelStore
) -> TriggerResult:
    candidate = store.get_candidate(champion.isbn)
    if candidate is None:
        return TriggerResult(Trigger.CHALLENGER, False, "no pending challenger")
    return challenger_trigger(champion, champion.load_model(), candidate, series, config)


_CHALLENGER = (
    _judge_pending_challenger,
    "Fails when a pending challenger (trained earlier, not better then) now beats the champion on the weeks "
    "since it was trained (Diebold-Mariano at dm_alpha): the model is then promoted without a fit.",
)


def _judge_custom_triggers(
    champion: ModelRecord, series: pd.Series, config: ArimaConfig, store: ModelStore
) -> TriggerResult:
    results = custom_trigger_results(
        champion.isbn, champion.age_clock_start, config, datetime.now(UTC), champion, series
    )
    if not results:
        return TriggerResult("custom_triggers", False, "no custom triggers configured")
    fired = [r for r in results if r.fired]
    reason = "; ".join(f"[{r.trigger}] {r.reason}" for r in (fired or results))
    return TriggerResult("custom_triggers", bool(fired), reason, float(len(fired)), 0.0)


_CUSTOM = (
    _judge_custom_triggers,
    "Fails when a configured custom trigger (custom_triggers, trigger_calendar) fires for the ISBN: the model is "
    "then retrained, and the challenger must still beat the champion.",
)

#: Check name -> (judge, description), in the order the UI lists them.
CHECKS: dict[str, tuple[Judge, str]] = {
    "model_drift": _DRIFT,
    "forecast_performance": _PERFORMANCE,
    "model_age": _AGE,
    "challenger_comparison": _CHALLENGER,
    "custom_triggers": _CUSTOM,
}


@dg.multi_asset_check(
    name="arima_model_checks",
    specs=[
        dg.AssetCheckSpec(
            name,
            asset="arima_model",
            additional_deps=["weekly_sales"],
            partitions_def=isbn_partitions,
            automation_condition=check_condition(),
            description=doc,
        )
        for name, (_, doc) in CHECKS.items()
    ],
    can_subset=True,
    ins={"weekly_sales": dg.AssetIn()},
)
def arima_model_checks(
    context: dg.AssetCheckExecutionContext,
    arima_config: dg.ResourceParam[ArimaConfig],
    model_store: ModelStoreResource,
    weekly_sales: pd.DataFrame,
) -> Iterator[dg.AssetCheckResult]:
    """The selected checks of one ISBN's champion (all five unless the run asks for fewer)."""
    isbn = context.partition_key
    store = model_store.get_store()
    champion = store.get_champion(isbn)
    series = series_from_frame(weekly_sales)
    for key in sorted(context.selected_asset_check_keys, key=lambda k: list(CHECKS).index(k.name)):
        if champion is None:
            yield dg.AssetCheckResult(
                check_name=key.name,
                asset_key=key.asset_key,
                passed=False,
                severity=dg.AssetCheckSeverity.WARN,
                description=f"ISBN {isbn} has no champion model",
            )
            continue
        judge, _ = CHECKS[key.name]
        yield _result(key, judge(champion, series, arima_config, store))


model_checks = [arima_model_checks]
