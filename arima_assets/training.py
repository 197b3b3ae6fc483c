"""One ISBN's model step: decide, train a challenger if needed, promote it only if it beats the champion.

Plain Python over the forecasting core and the decision engine (no Dagster, no MLflow): the model asset calls it,
tracks the result, and only then commits the new champion to the model store.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from arima_assets.config import ArimaConfig
from arima_assets.decision import (
    CHANGE_TRIGGERS,
    Action,
    Decision,
    ModelRecord,
    StepStatus,
    Trigger,
    challenger_evidence_weeks,
    decide,
    evidence_weeks,
)
from arima_assets.forecasting import (
    ArimaModel,
    TuningResult,
    TuningSettings,
    challenger_is_better,
    make_checkpoint,
    tune_model,
)

__all__ = [
    "ModelStepResult",
    "change_tuning_settings",
    "comparison_errors",
    "reused_step",
    "run_model_step",
    "series_version",
    "tuning_settings",
]


@dataclass(frozen=True)
class ModelStepResult:
    """What one execution of the model step did.

    status: "trained" (a new challenger replaced the champion, or first model), "kept" (the new challenger was
    not better on the holdout: champion kept, age clock restarted, challenger left pending), "promoted" (the
    pending challenger beat the champion on the weeks since: promoted without a fit) or "reused" (no trigger
    fired: no fit). `candidate` is the pending challenger to keep after this step (None: none pending).
    """

    status: StepStatus
    decision: Decision
    champion: ModelRecord
    challenger: ModelRecord | None
    tuning: TuningResult | None
    promotion_reason: str | None
    fit_seconds: float
    fit_seconds_saved: float
    candidate: ModelRecord | None = None


def tuning_settings(config: ArimaConfig) -> TuningSettings:
    """The core's tuning settings from the project config."""
    return TuningSettings(
        n_trials=config.n_trials,
        patience=config.patience,
        min_improvement=config.min_improvement,
        time_budget_s=config.time_budget_seconds,
        horizon=config.forecast_horizon,
        holdout_weeks=config.holdout_weeks,
        cv_folds=config.cv_folds,
        seed=config.seed,
        max_train_weeks=config.max_train_weeks,
        search_space=config.search_space,
    )


def change_tuning_settings(config: ArimaConfig) -> TuningSettings:
    """Tuning after a detected change: a short search (`change_trials`, warm-started from the champion's spec)
    with no holdout kept back, so that its CV windows reach the weeks of the change (a holdout would hide them
    from the search). Its recorded baseline is then that search's CV MASE, which the decision engine does not
    trust for performance: it judges the adopted model against its own first out-of-sample weeks
    (`decision.performance_baseline`)."""
    settings = tuning_settings(config)
    return replace(
        settings,
        holdout_weeks=0,
        n_trials=min(settings.n_trials, config.change_trials),
        patience=min(settings.patience, config.change_trials),
    )


def series_version(series: pd.Series) -> str:
    """Content hash of a weekly series (dates and values): unchanged data gives the same version."""
    digest = hashlib.sha256()
    digest.update(np.asarray(series.index.asi8 if isinstance(series.index, pd.DatetimeIndex) else series.index))
    digest.update(np.ascontiguousarray(series.to_numpy(dtype="float64")))
    return digest.hexdigest()[:16]


def comparison_errors(model: ArimaModel, series: pd.Series, weeks: int) -> np.ndarray:
    """One-step-ahead errors of `model`'s kept parameters on the last `weeks` weeks of `series`."""
    return np.asarray(model.one_step_errors(series), dtype=float)[-weeks:]


def _checkpoint(model: ArimaModel, series: pd.Series) -> dict:
    """The record's filter checkpoint, or {} when the series is too short for one (checks then re-filter)."""
    try:
        return make_checkpoint(model, series).to_dict()
    except ValueError:
        return {}


def _challenger_record(
    isbn: str,
    series: pd.Series,
    result: TuningResult,
    now: datetime,
    champion: ModelRecord | None,
    change_start: str | None,
) -> ModelRecord:
    return ModelRecord(
        isbn=isbn,
        model=result.model.to_dict(),
        spec_label=result.spec.label(),
        trained_at=now,
        age_clock_start=now,
        data_start=str(series.index[0].date()),
        data_end=str(series.index[-1].date()),
        data_version=series_version(series),
        cv_mase=float(result.cv_mase),
        holdout_mase=float(result.holdout_metrics.get("mase", float("nan"))),
        holdout_errors=[float(e) for e in result.holdout_errors],
        trials_run=int(result.trials_run),
        fit_seconds=float(result.fit_seconds),
        used_fallback=bool(result.used_fallback),
        checkpoint=_checkpoint(result.model, series),
        regime_start=change_start or (champion.regime_start if champion else None),
        adopted_on_change=change_start is not None,
        demand_class=result.demand_class.to_dict() if result.demand_class else {},
    )


def _challenger_errors(result: TuningResult, series: pd.Series, config: ArimaConfig) -> np.ndarray | None:
    """The challenger's one-step errors on the last `holdout_weeks`, from the tuning's fit without them (None when
    the series was too short to hold a holdout back)."""
    if result.holdout_model is None:
        return None
    return comparison_errors(result.holdout_model, series, config.holdout_weeks)


def _promote(
    champion: ModelRecord | None, result: TuningResult, series: pd.Series, config: ArimaConfig
) -> tuple[bool, str]:
    """Without evidence of change: the challenger must beat the champion on the holdout (Diebold-Mariano)."""
    if champion is None:
        return True, "no champion yet"
    try:
        champion_model = champion.load_model()
        champion_errors = comparison_errors(champion_model, series, config.holdout_weeks)
    except Exception as exc:  # an unusable champion cannot defend its place
        return True, f"champion cannot be evaluated: {exc}"
    challenger_errors = _challenger_errors(result, series, config)
    if challenger_errors is None:
        return True, "no holdout could be held back (series too short): the model trained on more weeks is served"
    if not np.all(np.isfinite(champion_errors)):
        return True, "champion produced non-finite errors on the comparison window"
    better, reason = challenger_is_better(champion_errors, challenger_errors, alpha=config.dm_alpha)
    return better, reason


def _adopt_after_change(
    champion: ModelRecord, result: TuningResult, series: pd.Series, config: ArimaConfig
) -> tuple[bool, str]:
    """After drift or degraded performance: the burden of proof lies on the champion.

    The challenger was trained on data that includes the change; the champion's only evidence for itself is
    from before it. So the challenger is adopted unless the champion is significantly more accurate (one-sided
    Diebold-Mariano at `dm_alpha`) on the weeks since the champion's training data, where the champion is out
    of sample and the challenger has seen them: only a champion that still tracks the series better than a
    model fitted to it keeps its place.
    """
    weeks = evidence_weeks(champion, series)
    try:
        champion_errors = comparison_errors(champion.load_model(), series, weeks)
    except Exception as exc:  # an unusable champion cannot defend its place
        return True, f"change detected; champion cannot be evaluated: {exc}"
    challenger_errors = comparison_errors(result.model, series, weeks)
    finite = np.isfinite(champion_errors) & np.isfinite(challenger_errors)
    if finite.sum() < 2:
        return True, f"change detected; {int(finite.sum())} comparable weeks since the champion's training"
    champion_wins, detail = challenger_is_better(
        challenger_errors[finite],
        champion_errors[finite],
        alpha=config.dm_alpha,
        names=("challenger", "champion"),
    )
    if champion_wins:
        return False, f"change detected, but the champion defended its place on the {weeks} weeks since: {detail}"
    return True, f"change detected: challenger trained on the change adopted ({detail})"


#: A pending challenger that has not won after this many weeks of evidence (x min_evidence_weeks) is dropped.
CANDIDATE_PATIENCE = 4


def run_model_step(
    isbn: str,
    series: pd.Series,
    champion: ModelRecord | None,
    config: ArimaConfig,
    now: datetime | None = None,
    candidate: ModelRecord | None = None,
) -> ModelStepResult:
    """Decide for one ISBN: reuse the champion, promote a pending challenger, or tune a new challenger.

    When drift or performance fired (evidence of a change), the challenger, trained on data that includes
    the change, is adopted unless the champion is significantly better on the weeks since its own training
    (`_adopt_after_change`). Otherwise (missing, forced, age, invalid) a new challenger replaces the champion
    only if it is better on the holdout (Diebold-Mariano); else the champion is kept and the challenger stays
    pending: it is promoted later if it beats the champion on the weeks that arrive after it (both out of
    sample), without another fit.

    Nothing is written: the caller commits `champion` (and `candidate`) to the store after tracking them, so a
    failure anywhere before that leaves the stored state as it was.
    """
    now = now or datetime.now(UTC)
    decision = decide(champion, series, config, now, candidate)
    if decision.action == Action.PROMOTE:
        assert candidate is not None
        reason = decision.get(Trigger.CHALLENGER).reason
        promoted = replace(candidate, age_clock_start=now)
        return ModelStepResult(StepStatus.PROMOTED, decision, promoted, None, None, reason, 0.0, promoted.fit_seconds)
    if decision.action == Action.REUSE:
        assert champion is not None
        return reused_step(decision, champion, series, config, candidate)

    warm = None
    if champion is not None:
        try:
            warm = champion.load_model().spec
        except Exception:  # the decision already reports an invalid champion; tune from scratch
            warm = None
    changed = champion is not None and bool(set(decision.fired) & CHANGE_TRIGGERS)
    settings = change_tuning_settings(config) if changed else tuning_settings(config)
    started = time.perf_counter()
    result = tune_model(series, settings, warm_start=warm)
    fit_seconds = time.perf_counter() - started
    change_start = _first_week_after(champion, series) if changed else None
    challenger = _challenger_record(isbn, series, result, now, champion, change_start)
    if champion is None:
        promote, reason = True, "no champion yet"
    elif changed:
        promote, reason = _adopt_after_change(champion, result, series, config)
    else:
        promote, reason = _promote(champion, result, series, config)
    if promote:
        return ModelStepResult(StepStatus.TRAINED, decision, challenger, challenger, result, reason, fit_seconds, 0.0)
    kept = _confirm_champion(champion, series, now, change_start)
    pending = None if changed else challenger  # after a change the champion won on post-change weeks: final
    return ModelStepResult(StepStatus.KEPT, decision, kept, challenger, result, reason, fit_seconds, 0.0, pending)


def reused_step(
    decision: Decision,
    champion: ModelRecord,
    series: pd.Series,
    config: ArimaConfig,
    candidate: ModelRecord | None = None,
) -> ModelStepResult:
    """The step when the decision is to reuse the champion: no fit, nothing to track but the decision. A pending
    challenger that has not won within CANDIDATE_PATIENCE x `min_evidence_weeks` weeks is dropped."""
    if candidate is not None and _candidate_expired(candidate, series, config):
        candidate = None
    return ModelStepResult(
        StepStatus.REUSED, decision, champion, None, None, None, 0.0, champion.fit_seconds, candidate=candidate
    )


def _first_week_after(champion: ModelRecord, series: pd.Series) -> str | None:
    """The first week after the champion's training data: where the evidence of a change starts."""
    after = series.index[series.index > champion.trained_until]
    return str(after[0].date()) if len(after) else None


def _candidate_expired(candidate: ModelRecord, series: pd.Series, config: ArimaConfig) -> bool:
    return challenger_evidence_weeks(candidate, series) >= CANDIDATE_PATIENCE * config.min_evidence_weeks


def _confirm_champion(
    champion: ModelRecord, series: pd.Series, now: datetime, change_start: str | None = None
) -> ModelRecord:
    """The champion after a retraining attempt that it won: re-anchored on the data it was judged on.

    Its parameters are unchanged; it is re-filtered on the latest series so that drift and performance are next
    measured on weeks after this attempt, and its age clock restarts: the same evidence does not fire again.
    After a change-driven attempt it also records where the change started and waits out the cool-down.
    """
    refreshed = champion.load_model().refresh(series)
    added = int((series.index > pd.Timestamp(refreshed.trained_until)).sum())
    refreshed.trained_until = series.index[-1]
    refreshed.n_obs += added
    return replace(
        champion,
        model=refreshed.to_dict(),
        age_clock_start=now,
        data_end=str(series.index[-1].date()),
        data_version=series_version(series),
        checkpoint=_checkpoint(refreshed, series),
        regime_start=change_start or champion.regime_start,
        adopted_on_change=change_start is not None,
    )


def record_digest(record: ModelRecord) -> str:
    """Stable hash of a champion record's content (its Dagster data version). The MLflow links are left out:
    they name the run that last looked at the record, so a reuse would otherwise look like a new model."""
    payload = json.dumps(replace(record, mlflow={}).to_dict(), sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]
