"""The one retraining decision engine: keep the champion or train, with the reasons.

Every place that decides calls this module: the age automation condition, the asset checks, the model asset body
and the retraining report, so they always agree. Pure Python over the forecasting core: no Dagster, no MLflow.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol

import numpy as np
import pandas as pd

from arima_assets.forecasting import (
    ArimaModel,
    Checkpoint,
    FitError,
    assess_drift,
    assess_performance,
    challenger_is_better,
    drift_from_errors,
    insufficient_drift_data,
    insufficient_performance_data,
    performance_from_errors,
    track_new_weeks,
)
from arima_assets.forecasting.drift import ErrorBaseline
from arima_assets.forecasting.intermittent import IntermittentModel, model_from_dict
from arima_assets.forecasting.monitor import NewWeeks
from arima_assets.forecasting.sequential import (
    ADOPTION_SD_FACTOR,
    LEVEL_THRESHOLD,
    BreakResult,
    break_from_errors,
)
from arima_assets.triggers import PluginFailure, TriggerContext, evaluate_trigger, load_trigger_set

__all__ = [
    "Action",
    "StepStatus",
    "Trigger",
    "TriggerResult",
    "Decision",
    "ModelRecord",
    "DecisionSettings",
    "age_trigger",
    "age_verdict",
    "forced_verdict",
    "challenger_trigger",
    "challenger_evidence_weeks",
    "CHANGE_TRIGGERS",
    "MIN_BASELINE_MASE",
    "PERFORMANCE_ALPHA",
    "evidence_weeks",
    "required_evidence_weeks",
    "custom_trigger_results",
    "evaluate_triggers",
    "break_trigger",
    "performance_baseline",
    "decide",
]


class Trigger(StrEnum):
    """Why a model may need training."""

    MISSING = "missing"
    INVALID = "invalid_model"
    FORCED = "forced"
    AGE = "age"
    DRIFT = "drift"
    PERFORMANCE = "performance"
    BREAK = "break"
    CHALLENGER = "challenger"


class Action(StrEnum):
    """What the engine decides for an ISBN."""

    TRAIN = "train"
    PROMOTE = "promote"
    REUSE = "reuse"


class StepStatus(StrEnum):
    """What an ISBN's model step did (and "failed" when it raised): the vocabulary of outcomes and reports."""

    TRAINED = "trained"
    KEPT = "kept"
    PROMOTED = "promoted"
    REUSED = "reused"
    FAILED = "failed"


#: Triggers that are evidence that the series changed: after them the champion cannot defend its place with
#: evidence from before the change (see training.run_model_step).
CHANGE_TRIGGERS = frozenset({Trigger.DRIFT, Trigger.PERFORMANCE, Trigger.BREAK})


class DecisionSettings(Protocol):
    """The settings the engine reads (ArimaConfig satisfies it)."""

    max_model_age_days: float
    drift_threshold: float
    performance_threshold: float
    min_evidence_weeks: int
    cooldown_weeks: int
    forecast_horizon: int
    force_retrain: bool
    dm_alpha: float
    custom_triggers: str
    trigger_calendar: str
    trigger_timeout_seconds: float


_FLOAT_FIELDS = ("cv_mase", "holdout_mase", "fit_seconds")


@dataclass(frozen=True)
class ModelRecord:
    """What the model store keeps about an ISBN's champion (JSON-serialisable through to_dict/from_dict).

    `age_clock_start` is when the champion was trained, or last confirmed by a retraining attempt that kept it.
    `checkpoint` is the filter state at the end of its training data (forecasting.Checkpoint.to_dict; empty for
    records written before it existed: then the checks re-filter the whole series). `regime_start` is the first
    week of the last change acted on (ISO date), and `adopted_on_change` says that this record came out of a
    change-driven step: drift and performance then wait `cooldown_weeks` weeks. `demand_class` is the
    Syntetos-Boylan class of the training data (forecasting.DemandClass.to_dict; empty for older records).
    """

    isbn: str
    model: dict[str, Any]
    spec_label: str
    trained_at: datetime
    age_clock_start: datetime
    data_start: str
    data_end: str
    data_version: str
    cv_mase: float
    holdout_mase: float
    holdout_errors: list[float] = field(default_factory=list)
    trials_run: int = 0
    fit_seconds: float = 0.0
    used_fallback: bool = False
    mlflow: dict[str, str] = field(default_factory=dict)
    checkpoint: dict[str, Any] = field(default_factory=dict)
    regime_start: str | None = None
    adopted_on_change: bool = False
    demand_class: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (datetimes as ISO strings)."""
        out = asdict(self)
        out["trained_at"] = self.trained_at.isoformat()
        out["age_clock_start"] = self.age_clock_start.isoformat()
        for name in _FLOAT_FIELDS:  # strict JSON: an undefined error (NaN) is null
            out[name] = _finite_or_none(out[name])
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelRecord:
        """Inverse of to_dict."""
        values = dict(data)
        for name in _FLOAT_FIELDS:
            if name in values and values[name] is None:
                values[name] = float("nan")
        values["trained_at"] = datetime.fromisoformat(values["trained_at"])
        values["age_clock_start"] = datetime.fromisoformat(values["age_clock_start"])
        return cls(**values)

    def load_model(self, refilter: bool = True) -> ArimaModel | IntermittentModel:
        """Rebuild the champion from its parameters (filtering, no fit; ``refilter=False``: parameters only): an
        ArimaModel, or an IntermittentModel (Croston-SBA/TSB) for a model stored with ``"kind": "intermittent"``."""
        return model_from_dict(self.model, refilter=refilter)

    @property
    def trained_until(self) -> pd.Timestamp:
        """The last week of the champion's training data (or of the data it was last re-anchored on)."""
        return pd.Timestamp(self.model["trained_until"])


@dataclass(frozen=True)
class TriggerResult:
    """One trigger's verdict with the observed value and its threshold side by side (`trigger` is a built-in
    Trigger, or a custom trigger's name). `failed` marks a custom trigger that could not be loaded or evaluated:
    it never fires, and its reason is always among the decision's reasons."""

    trigger: Trigger | str
    fired: bool
    reason: str
    observed: float | None = None
    threshold: float | None = None
    failed: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return {
            "trigger": str(self.trigger),
            "fired": self.fired,
            "reason": self.reason,
            "observed": _finite_or_none(self.observed),
            "threshold": _finite_or_none(self.threshold),
            "failed": self.failed,
        }


@dataclass(frozen=True)
class Decision:
    """Train or reuse, and every trigger's verdict that led there."""

    action: Action
    triggers: tuple[TriggerResult, ...]

    @property
    def retrain(self) -> bool:
        """True when a new model must be trained."""
        return self.action == Action.TRAIN

    @property
    def stale(self) -> bool:
        """True when the champion must change (train or promote): what the automation acts on."""
        return self.action != Action.REUSE

    @property
    def fired(self) -> list[Trigger | str]:
        """The triggers that fired, in evaluation order."""
        return [t.trigger for t in self.triggers if t.fired]

    @property
    def reasons(self) -> list[str]:
        """Human-readable reasons, each led by its trigger: the fired triggers' (and any failed plug-in's), or why
        the champion is still valid."""
        fired = [f"[{t.trigger}] {t.reason}" for t in self.triggers if t.fired]
        failed = [f"[{t.trigger}] {t.reason}" for t in self.triggers if t.failed]
        return fired + failed if fired else [f"[{t.trigger}] {t.reason}" for t in self.triggers]

    @property
    def failed_triggers(self) -> list[str]:
        """The custom triggers that could not be loaded or evaluated (they did not fire)."""
        return [str(t.trigger) for t in self.triggers if t.failed]

    def get(self, trigger: Trigger | str) -> TriggerResult | None:
        """The result of one trigger, if it was evaluated."""
        return next((t for t in self.triggers if t.trigger == trigger), None)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return {
            "action": str(self.action),
            "fired": [str(t) for t in self.fired],
            "reasons": self.reasons,
            "failed_triggers": self.failed_triggers,
            "triggers": [t.to_dict() for t in self.triggers],
        }


def age_trigger(record: ModelRecord, settings: DecisionSettings, now: datetime) -> TriggerResult:
    """Fires when the champion's age clock is past `max_model_age_days`."""
    return age_verdict(record.age_clock_start, settings, now)


def age_verdict(age_clock_start: datetime, settings: DecisionSettings, now: datetime) -> TriggerResult:
    """The age trigger from the clock start alone (what the automation condition reads from metadata)."""
    age = (_utc(now) - _utc(age_clock_start)).total_seconds() / 86400.0
    limit = settings.max_model_age_days
    fired = age > limit
    verb = "exceeds" if fired else "within"
    return TriggerResult(Trigger.AGE, fired, f"model age {age:.1f} d {verb} limit {limit:g} d", age, limit)


def forced_verdict(
    age_clock_start: datetime | None, settings: DecisionSettings, forced_since: datetime
) -> TriggerResult:
    """Under force_retrain, automation retrains each model once: those whose clock started before `forced_since`
    (the time the definitions were loaded with force on). The model asset itself always trains when forced."""
    fired = settings.force_retrain and (age_clock_start is None or _utc(age_clock_start) < _utc(forced_since))
    reason = "force_retrain is on" if fired else "not forced"
    return TriggerResult(Trigger.FORCED, fired, reason)


def evidence_weeks(record: ModelRecord, series: pd.Series) -> int:
    """Weeks of `series` after the champion's training data: the evidence drift and performance judge."""
    return int((series.index > record.trained_until).sum())


def required_evidence_weeks(record: ModelRecord, settings: DecisionSettings) -> int:
    """New weeks drift and performance need: `min_evidence_weeks`, or `cooldown_weeks` if longer after a
    change-driven step (so one change never triggers two retrains)."""
    if record.adopted_on_change:
        return max(settings.min_evidence_weeks, settings.cooldown_weeks)
    return settings.min_evidence_weeks


def _regime_location(record: ModelRecord, series: pd.Series) -> int | None:
    if record.regime_start is None:
        return None
    return int((series.index < pd.Timestamp(record.regime_start)).sum())


def _holdout_scaled(record: ModelRecord) -> np.ndarray | None:
    """The holdout's absolute errors scaled like its MASE (their mean is the holdout MASE), if recorded."""
    errors = np.abs(np.asarray(record.holdout_errors, dtype=float))
    if errors.size < 2 or not math.isfinite(record.holdout_mase) or not np.all(np.isfinite(errors)):
        return None
    mean = float(errors.mean())
    return errors * (record.holdout_mase / mean) if mean > 0 else None


def _baseline_mase(record: ModelRecord) -> float | None:
    baseline = next((v for v in (record.holdout_mase, record.cv_mase) if math.isfinite(v)), None)
    return None if baseline is None else max(baseline, MIN_BASELINE_MASE)


def _honest_baseline_weeks(record: ModelRecord, checkpoint: Checkpoint | None, settings: DecisionSettings) -> int:
    """Weeks after training whose errors form the performance baseline instead of the recorded one: the first
    `cooldown_weeks` after a model adopted on a change (its recorded baseline is the CV MASE of a search without a
    holdout, optimistic by construction); 0 otherwise, and without a checkpoint (old records)."""
    if not record.adopted_on_change or checkpoint is None or not math.isfinite(record.cv_mase):
        return 0
    if math.isfinite(record.holdout_mase):
        return 0
    return max(settings.cooldown_weeks, 1)


def performance_baseline(
    record: ModelRecord, checkpoint: Checkpoint | None, new: NewWeeks | None, settings: DecisionSettings
) -> float | None:
    """The MASE later weeks are judged against: the holdout MASE (the CV MASE without a holdout), floored at
    MIN_BASELINE_MASE; for a model adopted on a change, the MASE of its first `cooldown_weeks` out-of-sample weeks
    once they exist (its CV MASE until then: nothing is judged during the cool-down anyway)."""
    weeks = _honest_baseline_weeks(record, checkpoint, settings)
    if weeks and new is not None and checkpoint is not None and math.isfinite(checkpoint.scale):
        first = np.abs(new.block_errors[:weeks])
        first = first[np.isfinite(first)]
        if first.size >= weeks:
            return max(float(first.mean()) / checkpoint.scale, MIN_BASELINE_MASE)
    return _baseline_mase(record)


def _judged_block_errors(record: ModelRecord, new: NewWeeks, settings: DecisionSettings) -> np.ndarray:
    """The block errors performance judges: all new weeks, or those after the honest baseline's weeks."""
    weeks = _honest_baseline_weeks(record, Checkpoint.from_dict(record.checkpoint), settings)
    return new.block_errors[weeks:]


def _honest_baseline_wait(
    record: ModelRecord, checkpoint: Checkpoint, new: NewWeeks, settings: DecisionSettings
) -> str | None:
    """Why performance is not judged yet after an adoption (too few weeks after the baseline's), or None."""
    weeks = _honest_baseline_weeks(record, checkpoint, settings)
    if not weeks:
        return None
    judged = int(np.isfinite(new.block_errors[weeks:]).sum())
    if judged >= settings.min_evidence_weeks:
        return None
    baseline = performance_baseline(record, checkpoint, new, settings)
    return (
        f"baseline re-estimated on the first {weeks} weeks after the adopted change (MASE {baseline:.3f}, CV MASE "
        f"{record.cv_mase:.3f}); {judged} of {settings.min_evidence_weeks} weeks after them so far"
    )


def _baseline_scaled(
    record: ModelRecord, checkpoint: Checkpoint, new: NewWeeks, settings: DecisionSettings
) -> np.ndarray | None:
    """The scaled absolute errors behind the performance baseline: the honest baseline's weeks, or the holdout's."""
    weeks = _honest_baseline_weeks(record, checkpoint, settings)
    if weeks and new.block_errors.size >= weeks and math.isfinite(checkpoint.scale):
        return np.abs(new.block_errors[:weeks]) / checkpoint.scale
    return _holdout_scaled(record)


def _result_of(trigger: Trigger, result: Any, cooldown: bool) -> TriggerResult:
    reason = result.reason
    if cooldown and reason.startswith("insufficient new data"):
        reason += " (cool-down after an adopted change)"
    if trigger == Trigger.DRIFT:
        return TriggerResult(Trigger.DRIFT, result.drifted, reason, result.score, result.threshold)
    return TriggerResult(Trigger.PERFORMANCE, result.degraded, reason, result.ratio, 1 + result.threshold)


#: Significance level of the performance test. The test is repeated every week on a growing window, so a
#: per-look level of 0.05 piles up false alarms over a model's life (see benchmarks/RESULTS.md, History); 0.01
#: keeps the family-wise rate near that of one 0.05 test over a half-year of looks.
PERFORMANCE_ALPHA = 0.01

#: Floor for the holdout baseline: a perfect holdout (e.g. a title selling nothing, forecast as 0) would
#: otherwise make any later error an infinite ratio.
MIN_BASELINE_MASE = 0.05

_NO_BASELINE = "no baseline error recorded for this model"
_CONSTANT_WINDOW = "constant training window: MASE is undefined, performance cannot be judged"


def _data_triggers(record: ModelRecord, series: pd.Series, settings: DecisionSettings) -> list[TriggerResult]:
    """Drift (see forecasting.drift), performance (out-of-sample error since training against the performance
    baseline, see `performance_baseline`, tested at PERFORMANCE_ALPHA) and the break test
    (forecasting.sequential) on every new week.

    From the record's filter checkpoint and the new weeks only when it has one (about a millisecond), else by
    re-filtering the whole series. Drift and performance wait for enough new weeks; the break test judges the
    weeks since training from the first one on.
    """
    required = required_evidence_weeks(record, settings)
    n_new = evidence_weeks(record, series)
    regime = _regime_location(record, series)
    checkpoint = Checkpoint.from_dict(record.checkpoint) if record.checkpoint else None
    new = None
    if checkpoint is not None and n_new > 0:
        new = track_new_weeks(record.load_model(refilter=False), checkpoint, series, settings.forecast_horizon)
    baseline = performance_baseline(record, checkpoint, new, settings)
    performance: Any = _NO_BASELINE
    if n_new < required:
        drift = insufficient_drift_data(n_new, required, settings.drift_threshold)
        if baseline is not None:
            performance = insufficient_performance_data(n_new, required, baseline, settings.performance_threshold)
    elif checkpoint is not None and new is not None:
        drift = drift_from_errors(checkpoint.baseline, new.errors, new.values, settings.drift_threshold, regime)
        if baseline is not None and not math.isfinite(checkpoint.scale):
            performance = _CONSTANT_WINDOW
        elif baseline is not None and (wait := _honest_baseline_wait(record, checkpoint, new, settings)):
            performance = wait
        elif baseline is not None:
            performance = performance_from_errors(
                _judged_block_errors(record, new, settings),
                checkpoint.scale,
                baseline,
                settings.performance_threshold,
                alpha=PERFORMANCE_ALPHA,
                baseline_scaled=_baseline_scaled(record, checkpoint, new, settings),
            )
    else:
        model = record.load_model()
        drift = assess_drift(model, series, settings.drift_threshold, required, regime_start=regime)
        if baseline is not None:
            performance = assess_performance(
                model,
                series,
                baseline_mase=baseline,
                threshold=settings.performance_threshold,
                horizon=settings.forecast_horizon,
                min_recent_weeks=required,
                alpha=PERFORMANCE_ALPHA,
                baseline_scaled=_holdout_scaled(record),
            )
    cooldown = required > settings.min_evidence_weeks
    if isinstance(performance, str):
        performance_result = TriggerResult(Trigger.PERFORMANCE, False, performance)
    else:
        performance_result = _result_of(Trigger.PERFORMANCE, performance, cooldown)
    drift_result = _result_of(Trigger.DRIFT, drift, cooldown)
    return [drift_result, performance_result, break_trigger(record, series, settings, new)]


def break_trigger(
    record: ModelRecord, series: pd.Series, settings: DecisionSettings, new: NewWeeks | None = None
) -> TriggerResult:
    """The sequential break test (forecasting.sequential) on the one-step errors of every week after the
    champion's training data, from the first one on, cool-down or not: a large level or scale change fires it
    after one or two weeks. During the cool-down after an adopted change the errors are measured in
    ADOPTION_SD_FACTOR training sds (the new model's mistracking of the change it was adopted on is expected;
    only a new large break fires). `new`: the weeks tracked from the record's checkpoint, if already filtered.

    Not judged for intermittent-demand models (their one-step errors are not near-Gaussian) nor when the training
    errors were all 0."""
    n_new = evidence_weeks(record, series)
    if n_new == 0:
        return TriggerResult(Trigger.BREAK, False, "no new week after training yet", 0.0, LEVEL_THRESHOLD)
    if record.model.get("kind") == "intermittent":
        return TriggerResult(Trigger.BREAK, False, "not judged for an intermittent-demand model")
    if new is not None and record.checkpoint:
        errors, baseline = new.errors, Checkpoint.from_dict(record.checkpoint).baseline
    else:
        all_errors = np.asarray(record.load_model().one_step_errors(series), dtype=float)
        try:
            baseline = ErrorBaseline.from_errors(all_errors[:-n_new], f" up to {record.trained_until.date()}")
        except ValueError as exc:
            return TriggerResult(Trigger.BREAK, False, f"not judged: {exc}")
        errors = all_errors[-n_new:]
    if baseline.sigma == 0.0:
        return TriggerResult(Trigger.BREAK, False, "not judged: the training one-step errors were all 0")
    cooling = record.adopted_on_change and n_new < settings.cooldown_weeks
    result: BreakResult = break_from_errors(errors, baseline, ADOPTION_SD_FACTOR if cooling else 1.0)
    reason = result.reason + (f" (in {ADOPTION_SD_FACTOR:g}x sd: cool-down after an adopted change)" if cooling else "")
    return TriggerResult(Trigger.BREAK, result.fired, reason, result.statistic, result.threshold)


def challenger_evidence_weeks(candidate: ModelRecord, series: pd.Series) -> int:
    """Weeks of `series` after the pending challenger's training data: its out-of-sample evidence."""
    trained_until = pd.Timestamp(candidate.model["trained_until"])
    return int((series.index > trained_until).sum())


def challenger_trigger(
    record: ModelRecord, model: ArimaModel, candidate: ModelRecord, series: pd.Series, settings: DecisionSettings
) -> TriggerResult:
    """Fires when a pending challenger (trained earlier, not promoted then) beats the champion out of sample.

    Both are scored on the weeks after the challenger's training data, which neither was fitted on: one-step
    errors of the kept parameters, compared with the one-sided Diebold-Mariano test at `dm_alpha`. Needs at
    least `min_evidence_weeks` such weeks.
    """
    weeks = challenger_evidence_weeks(candidate, series)
    if weeks < settings.min_evidence_weeks:
        reason = (
            f"pending challenger {candidate.spec_label}: {weeks} of {settings.min_evidence_weeks} weeks of evidence"
        )
        return TriggerResult(Trigger.CHALLENGER, False, reason, float(weeks), float(settings.min_evidence_weeks))
    champion_errors = np.asarray(model.one_step_errors(series), dtype=float)[-weeks:]
    challenger_errors = np.asarray(candidate.load_model().one_step_errors(series), dtype=float)[-weeks:]
    better, reason = challenger_is_better(champion_errors, challenger_errors, alpha=settings.dm_alpha)
    label = f"pending challenger {candidate.spec_label} on {weeks} new weeks: {reason}"
    return TriggerResult(Trigger.CHALLENGER, better, label, float(weeks), float(settings.min_evidence_weeks))


def custom_trigger_results(
    isbn: str,
    age_clock_start: datetime | None,
    settings: DecisionSettings,
    now: datetime,
    record: ModelRecord | None = None,
    series: pd.Series | None = None,
) -> list[TriggerResult]:
    """The verdicts of the configured custom triggers (see arima_assets.triggers), each plug-in isolated: one that
    fails to load or to answer (an exception of any kind, SystemExit included; no answer within
    `trigger_timeout_seconds`; an invalid verdict) does not fire and its result says why (`failed`), so one broken
    plug-in never stops, stalls beyond its limit or changes the other decisions."""
    if not (settings.custom_triggers or settings.trigger_calendar):
        return []
    timeout = settings.trigger_timeout_seconds
    loaded = load_trigger_set(settings.custom_triggers, settings.trigger_calendar, timeout)
    results = [TriggerResult(entry, False, reason, failed=True) for entry, reason in loaded.failures]
    context = TriggerContext(isbn=isbn, now=now, age_clock_start=age_clock_start, record=record, series=series)
    for plugin in loaded.plugins:
        try:
            verdict = evaluate_trigger(plugin, context, timeout)
        except PluginFailure as exc:  # a plug-in's failure is reported as its verdict, never raised
            results.append(TriggerResult(plugin.name, False, f"could not be evaluated: {exc}", failed=True))
            continue
        results.append(TriggerResult(plugin.name, verdict.fired, verdict.reason, verdict.observed, verdict.threshold))
    return results


def evaluate_triggers(
    record: ModelRecord | None,
    series: pd.Series | None,
    settings: DecisionSettings,
    now: datetime,
    candidate: ModelRecord | None = None,
) -> tuple[TriggerResult, ...]:
    """Evaluate every trigger the evidence allows.

    Without a record only MISSING (and FORCED) can be judged; without a series, the data triggers (drift,
    performance, a pending challenger) are skipped: the age condition uses that form.
    """
    results: list[TriggerResult] = []
    if settings.force_retrain:
        results.append(TriggerResult(Trigger.FORCED, True, "force_retrain is on"))
    if record is None:
        results.append(TriggerResult(Trigger.MISSING, True, "no champion model yet"))
        return tuple(results)
    results.append(age_trigger(record, settings, now))
    results.extend(custom_trigger_results(record.isbn, record.age_clock_start, settings, now, record, series))
    if series is None:
        return tuple(results)
    try:
        results.extend(_data_triggers(record, series, settings))
    except (ValueError, FitError, KeyError, TypeError) as exc:  # a stored model that cannot be used: train
        results.append(TriggerResult(Trigger.INVALID, True, f"stored model cannot be rebuilt: {exc}"))
        return tuple(results)
    if candidate is not None:
        try:
            results.append(challenger_trigger(record, record.load_model(), candidate, series, settings))
        except (ValueError, FitError, KeyError, TypeError) as exc:
            reason = f"pending challenger {candidate.spec_label} cannot be evaluated: {exc}"
            results.append(TriggerResult(Trigger.CHALLENGER, False, reason))
    return tuple(results)


def decide(
    record: ModelRecord | None,
    series: pd.Series | None,
    settings: DecisionSettings,
    now: datetime | None = None,
    candidate: ModelRecord | None = None,
) -> Decision:
    """Decide for one ISBN: keep the champion, promote the pending challenger, or train.

    Args:
        record: the current champion, or None when there is none.
        series: the latest weekly series, or None to judge only missing/forced/age.
        settings: thresholds (an ArimaConfig).
        now: the evaluation time (default: now, UTC).
        candidate: a challenger trained earlier that did not beat the champion then, if any.

    Returns:
        Decision with action "promote" when the pending challenger won out of sample (no fit needed, even
        after a change: it won on the weeks since), else "train" when any other trigger fired, else "reuse".
    """
    triggers = evaluate_triggers(record, series, settings, now or datetime.now(UTC), candidate)
    fired = {t.trigger for t in triggers if t.fired}
    if Trigger.CHALLENGER in fired:
        action = Action.PROMOTE
    elif fired:
        action = Action.TRAIN
    else:
        action = Action.REUSE
    return Decision(action, triggers)


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _finite_or_none(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)
