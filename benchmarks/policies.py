"""Retraining policies replayed week by week: fixed schedules over one tuned spec, and the project's smart step.

Every policy starts from the same model, tuned at the first origin by ``run_model_step`` (no champion yet, so
the decision engine says "missing" and the production tuning runs). That shared initial tuning is reported
separately and left out of each policy's cost: the policies differ only in what they do afterwards.

- ``always``: refit the spec chosen at the first origin on the data so far, every week (parameters
  re-estimated, spec frozen; why not re-tuned weekly: RESULTS.md, History).
- ``every 8`` / ``every 13``: refit that spec every 8th / 13th origin, re-filter the kept parameters in between
  (8 weeks: the retraining interval Zanotti 2025 recommends for weekly data).
- ``never``: re-filter the first origin's parameters on the data so far, every week.
- ``smart``: ``run_model_step`` with the preset's config each week, ``now`` one week later each time, the
  champion and any pending challenger carried from step to step as the model store would; the decision engine
  decides (age, drift, performance, a pending challenger's record); a retrain is a full tune with the
  champion's spec as warm start; the challenger replaces the champion at once if it wins on the holdout
  (Diebold-Mariano), or later ("promoted", no fit) if it wins on the weeks that follow.

Forecasts always come from a model filtered on the data so far: a refit model directly, a kept one through
``refresh`` (what the sales_forecast asset does). Seconds spent fitting or tuning count as fit seconds;
filtering, decision-engine and forecast time count as filter seconds; the decision engine's share of smart's
filter seconds is also kept apart (decision seconds). Each origin records the forecast (for stability) and the
origin whose data the served parameters were fitted on (for the detection delay after a planted change).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from arima_assets.config import ArimaConfig
from arima_assets.decision import ModelRecord
from arima_assets.forecasting import ArimaModel, FitError, mase, smape
from arima_assets.training import ModelStepResult, run_model_step

__all__ = [
    "POLICIES",
    "InitialModel",
    "OriginResult",
    "PolicyRun",
    "initial_model",
    "origin_cuts",
    "replay_schedule",
    "replay_smart",
]

POLICIES = ("always", "every 8", "every 13", "never", "smart")
HORIZON = 13


@dataclass(frozen=True)
class OriginResult:
    """One week of one policy: did it retrain, what it cost, how its 13-week forecast scored."""

    origin: int
    retrained: bool
    fit_seconds: float
    filter_seconds: float
    mase: float
    smape: float
    status: str = ""
    triggers: tuple[str, ...] = ()
    forecast: tuple[float, ...] = ()
    model_origin: int = 0
    decision_seconds: float = 0.0


@dataclass
class PolicyRun:
    """A policy replayed on one series."""

    policy: str
    series_id: str
    origins: list[OriginResult] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def retrain_origins(self) -> list[int]:
        """Origins after the first where the policy fitted (the shared initial tuning is origin 0)."""
        return [o.origin for o in self.origins if o.retrained and o.origin > 0]

    def stability(self, scale: float) -> float:
        """Mean absolute change of the forecast for the same target week between consecutive origins, divided
        by `scale` (the naive MAE of the history, as MASE scales errors)."""
        changes = [
            np.mean(np.abs(np.asarray(a.forecast[1:]) - np.asarray(b.forecast[:-1])))
            for a, b in zip(self.origins, self.origins[1:], strict=False)
        ]
        return float(np.mean(changes) / scale) if changes and scale > 0 else float("nan")

    def summary(self, scale: float = float("nan")) -> dict[str, Any]:
        """Totals and means over the origins (JSON-serialisable); `scale` for `stability`."""
        retrains = self.retrain_origins
        fitted = {0} | set(retrains)
        bursts = sum(1 for origin in retrains if origin - 1 in fitted)
        triggers: dict[str, int] = {}
        for o in self.origins:
            for name in o.triggers:
                triggers[name] = triggers.get(name, 0) + 1
        return {
            "policy": self.policy,
            "series_id": self.series_id,
            "fits": len(retrains),
            "bursts": bursts,
            "fit_seconds": float(sum(o.fit_seconds for o in self.origins if o.origin > 0)),
            "filter_seconds": float(sum(o.filter_seconds for o in self.origins if o.origin > 0)),
            "decision_seconds": float(sum(o.decision_seconds for o in self.origins if o.origin > 0)),
            "decisions": sum(1 for o in self.origins if o.origin > 0 and o.status),
            "reused_check_seconds": float(sum(o.decision_seconds for o in self.origins if o.status == "reused")),
            "reused_steps": sum(1 for o in self.origins if o.status == "reused"),
            "stability": self.stability(scale),
            "model_origins": [o.model_origin for o in self.origins],
            "mase": float(np.mean([o.mase for o in self.origins])),
            "smape": float(np.mean([o.smape for o in self.origins])),
            "retrain_origins": retrains,
            "statuses": [o.status for o in self.origins],
            "triggers": triggers,
            "errors": list(self.errors),
        }


@dataclass(frozen=True)
class InitialModel:
    """The first origin's smart step (shared by every policy) and its cost."""

    step: ModelStepResult
    model: ArimaModel
    seconds: float
    now: datetime


def origin_cuts(n: int, n_origins: int, horizon: int = HORIZON) -> list[int]:
    """Data lengths seen at each origin: the last origin's 13 weeks end at `n` (ids 0..n_origins-1).

    Raises:
        ValueError: the series is too short for the origins.
    """
    first = n - horizon - (n_origins - 1)
    if first < 1:
        raise ValueError(f"a series of {n} weeks is too short for {n_origins} origins of horizon {horizon}")
    return [first + i for i in range(n_origins)]


def _score(series: pd.Series, cut: int, forecast: np.ndarray) -> tuple[float, float]:
    history = series.to_numpy()[:cut]
    actual = series.to_numpy()[cut : cut + HORIZON]
    return mase(actual, forecast, history, m=1), smape(actual, forecast)


def _forecast(model: ArimaModel) -> np.ndarray:
    return model.forecast(HORIZON, level=())["mean"].to_numpy()


def _now(series: pd.Series, cut: int) -> datetime:
    """The evaluation time at an origin: the Monday after the last week seen (UTC)."""
    last = pd.Timestamp(series.index[cut - 1]).tz_localize("UTC") + pd.Timedelta(days=2)
    return last.to_pydatetime()


def initial_model(series_id: str, series: pd.Series, cut: int, config: ArimaConfig) -> InitialModel:
    """Tune the first model with the project's model step (no champion yet: the engine says "missing")."""
    now = _now(series, cut)
    started = time.perf_counter()
    step = run_model_step(series_id, series.iloc[:cut], None, config, now)
    seconds = time.perf_counter() - started
    if step.tuning is None:
        raise RuntimeError(f"{series_id}: the first model step did not tune (status {step.status})")
    return InitialModel(step, step.tuning.model, seconds, now)


def replay_schedule(
    policy: str,
    series_id: str,
    series: pd.Series,
    cuts: list[int],
    start: InitialModel,
    every: int | None,
    max_train_weeks: int | None,
) -> PolicyRun:
    """Refit the initial spec every `every` origins (1: always; None: never), re-filter in between."""
    run = PolicyRun(policy, series_id)
    spec = start.model.spec
    model = start.model
    model_origin = 0
    for origin, cut in enumerate(cuts):
        history = series.iloc[:cut]
        fit_s = filter_s = 0.0
        refit = origin > 0 and every is not None and origin % every == 0
        started = time.perf_counter()
        if origin == 0:
            current = model
        elif refit:
            window = history.iloc[-max_train_weeks:] if max_train_weeks else history
            try:
                model = current = ArimaModel(spec).fit(window)
            except (FitError, ValueError, np.linalg.LinAlgError) as exc:  # keep the last model, as production would
                run.errors.append(f"origin {origin}: refit failed: {exc}")
                refit = False
            fit_s = time.perf_counter() - started
            started = time.perf_counter()
            if not refit:
                current = model.refresh(history)
        else:
            current = model.refresh(history)
        if refit:
            model_origin = origin
        forecast = _forecast(current)
        filter_s += time.perf_counter() - started
        m, s = _score(series, cut, forecast)
        run.origins.append(
            OriginResult(
                origin, origin == 0 or refit, fit_s, filter_s, m, s, forecast=tuple(forecast), model_origin=model_origin
            )
        )
    return run


def replay_smart(
    series_id: str, series: pd.Series, cuts: list[int], start: InitialModel, config: ArimaConfig
) -> PolicyRun:
    """The project's model step each week: reuse (re-filter) or retrain as the decision engine says."""
    run = PolicyRun("smart", series_id)
    champion: ModelRecord = start.step.champion
    candidate: ModelRecord | None = None  # a pending challenger, carried from step to step like the model store
    champion_origin, candidate_origin = 0, 0
    for origin, cut in enumerate(cuts):
        history = series.iloc[:cut]
        decision_s = 0.0
        if origin == 0:
            step, fit_s, filter_s = start.step, 0.0, 0.0
            started = time.perf_counter()
            forecast = _forecast(start.model)
            filter_s = time.perf_counter() - started
        else:
            now = start.now + timedelta(days=7 * origin)
            started = time.perf_counter()
            try:
                step = run_model_step(series_id, history, champion, config, now, candidate=candidate)
            except Exception as exc:  # a project bug at this origin: recorded, champion kept, replay goes on
                run.errors.append(f"origin {origin}: {type(exc).__name__}: {exc}")
                step = None
            total = time.perf_counter() - started
            fit_s = step.fit_seconds if step is not None else 0.0
            filter_s = decision_s = total - fit_s
            started = time.perf_counter()
            if step is not None and step.status == "trained":
                model = step.tuning.model
            else:
                kept = step.champion if step is not None else champion
                model = kept.load_model(refilter=False).refresh(history)  # as the sales_forecast asset does
            forecast = _forecast(model)
            filter_s += time.perf_counter() - started
        m, s = _score(series, cut, forecast)
        if step is None:
            run.origins.append(
                OriginResult(
                    origin, False, fit_s, filter_s, m, s, "error", (), tuple(forecast), champion_origin, decision_s
                )
            )
            continue
        if origin > 0 and step.status == "trained":
            champion_origin = origin
        elif step.status == "promoted":
            champion_origin = candidate_origin
        if step.status == "kept" and step.candidate is not None:
            candidate_origin = origin
        champion, candidate = step.champion, step.candidate
        retrained = step.status in ("trained", "kept")
        triggers = tuple(str(t) for t in step.decision.fired) if origin > 0 else ()
        run.origins.append(
            OriginResult(
                origin,
                retrained,
                fit_s,
                filter_s,
                m,
                s,
                step.status,
                triggers,
                tuple(forecast),
                champion_origin,
                decision_s,
            )
        )
    return run
