"""Per-ISBN checks on arima_model (drift, forecast performance, age, pending challenger, custom triggers): the
verdicts the decision engine reached in the model step, one evaluation per ISBN partition.

The checks are `check_specs` of the model asset and are evaluated by the model step itself, for every ISBN of its
batch: the decision engine judges each trigger anyway, so the verdicts cost nothing more, always agree with the
decision, and need no run of their own (a partitioned check can only be run one ISBN at a time in Dagster 1.13,
which cost one run per ISBN). Each evaluation names its partition and carries the observed value beside the
threshold; a failed check is the evidence that drove that ISBN's retrain (or, for an ISBN whose step failed, the
error), and it feeds the drift alerts.
"""

import dagster as dg

from arima_assets.decision import Trigger, TriggerResult
from arima_assets.defs.partitions import isbn_partitions
from arima_assets.lifecycle import IsbnResult

__all__ = ["CHECKS", "check_evaluations", "model_check_specs"]

_MODEL = dg.AssetKey("arima_model")

#: Check name -> description, in the order the UI lists them.
CHECKS: dict[str, str] = {
    "model_drift": "Fails when the weeks since training drifted from the training window (score above "
    "drift_threshold, after min_evidence_weeks), or broke: a CUSUM on the one-step errors catches a large level or "
    "scale change from the first week on. The model is retrained in the same step.",
    "forecast_performance": "Fails when the out-of-sample error since training is worse than the holdout baseline "
    "by more than performance_threshold (relative): the model is retrained in the same step.",
    "model_age": "Fails when the champion is older than max_model_age_days (it is retrained regardless).",
    "challenger_comparison": "Fails when a pending challenger (trained earlier, not better then) now beats the "
    "champion on the weeks since it was trained (Diebold-Mariano at dm_alpha): it is promoted without a fit.",
    "custom_triggers": "Fails when a configured custom trigger (custom_triggers, trigger_calendar) fires for the ISBN: "
    "the model is retrained, and the challenger must still beat the champion.",
}

_BUILT_IN = {
    "model_drift": (Trigger.DRIFT, Trigger.BREAK),
    "forecast_performance": (Trigger.PERFORMANCE,),
    "model_age": (Trigger.AGE,),
    "challenger_comparison": (Trigger.CHALLENGER,),
}
_KNOWN = {str(t) for t in Trigger}


def model_check_specs() -> list[dg.AssetCheckSpec]:
    """The five partitioned checks of arima_model."""
    return [
        dg.AssetCheckSpec(name, asset=_MODEL, partitions_def=isbn_partitions, description=doc)
        for name, doc in CHECKS.items()
    ]


def _verdict(name: str, triggers: list[TriggerResult]) -> TriggerResult:
    """The verdict of one check from the decision's triggers (a stored model that cannot be used fails drift and
    performance with that reason)."""
    by_trigger = {str(t.trigger): t for t in triggers}
    if name == "custom_triggers":
        custom = [t for t in triggers if str(t.trigger) not in _KNOWN]
        if not custom:
            return TriggerResult("custom_triggers", False, "no custom triggers configured")
        fired = [t for t in custom if t.fired]
        reason = "; ".join(f"[{t.trigger}] {t.reason}" for t in (fired or custom))
        return TriggerResult("custom_triggers", bool(fired), reason, float(len(fired)), 0.0)
    judged = [by_trigger[str(t)] for t in _BUILT_IN[name] if str(t) in by_trigger]
    if judged:  # a fired verdict first (a break seen before drift has its evidence)
        return next((verdict for verdict in judged if verdict.fired), judged[0])
    if name in ("model_drift", "forecast_performance") and str(Trigger.INVALID) in by_trigger:
        return by_trigger[str(Trigger.INVALID)]
    if name == "challenger_comparison":
        return TriggerResult(Trigger.CHALLENGER, False, "no pending challenger")
    return TriggerResult(name, False, "not judged: no series or no champion")


def check_evaluations(result: IsbnResult, selected: set[str]) -> list[dg.AssetCheckEvaluation]:
    """The evaluations of the selected checks for one ISBN of a model step, each naming its partition (an
    `AssetCheckResult` takes its partition only from a single-partition step)."""
    evaluations = []
    for name in (n for n in CHECKS if n in selected):
        metadata: dict[str, object] = {}
        if result.failed:
            passed, reason = False, f"model step failed, nothing could be judged: {result.outcome.error}"
        elif result.judged is None:
            passed, reason = True, "no champion before this step: the first model was trained"
        else:
            assert result.step is not None
            verdict = _verdict(name, list(result.step.decision.triggers))
            passed, reason = not verdict.fired, verdict.reason
            if verdict.observed is not None:
                metadata["observed"] = float(verdict.observed)
            if verdict.threshold is not None:
                metadata["threshold"] = float(verdict.threshold)
            metadata["decision"] = str(result.step.decision.action)
        metadata["reason"] = reason
        evaluations.append(
            dg.AssetCheckEvaluation(
                asset_key=_MODEL,
                check_name=name,
                passed=passed,
                metadata=metadata,
                severity=dg.AssetCheckSeverity.WARN,
                description=reason,
                partition=result.isbn,
            )
        )
    return evaluations
