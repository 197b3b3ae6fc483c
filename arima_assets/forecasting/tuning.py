"""Optuna search over ModelSpecs for one series, with patience, a time budget, warm start and a fallback.

Protocol (`tune_model`):

1. The last `holdout_weeks` weeks are set aside; the search window is the `max_train_weeks` weeks before
   them. The search never sees the holdout.
2. One in-memory Optuna study (TPESampler(seed)): every trial decodes a ModelSpec and is scored by
   `cv_score` (rolling origin inside the search window; the objective is its mean scaled error). The search
   fits a spec without an optimiser where it can (``search_estimator="hannan_rissanen"``: regressors by OLS
   on the differenced data, the ARMA part by Hannan-Rissanen regressions; a non-stationary or non-invertible
   estimate falls back to a short two-stage MLE). The best `refine_top` specs are then scored again by the same
   CV with MLE fits, and the ranking uses those scores. Fold scores are reported to the trial (`trial.report`).
   Pruning is off by default (``pruning=False``): all
   folds share one fit, so stopping after fold 0 saves little, and a MedianPruner discarded specs that were
   the best on their first fold; ``pruning=True`` enables a MedianPruner on the running fold mean. A spec
   that cannot be fitted is pruned with its reason in the trial's user attrs (``fail_reason``). Repeated
   specs reuse the cached score.
   With a short search window the number of CV folds shrinks (down to 1; `TuningResult.cv_folds`) so
   the first fold still trains on >= 26 weeks.
3. The enqueued first trials are the warm-start spec (if any; evaluated as it is even outside the search
   space), then the robust anchors that lie in the space (ARIMA(0,1,1), ARIMA(1,1,1)+F2, ARIMA(0,1,0)),
   so the search always compares against simple models.
4. Stop after `n_trials`, after `patience` consecutive trials without a relative improvement of
   `min_improvement`, or at `time_budget_s` (then results depend on machine speed).
5. Benchmark guard: the benchmark of fallback.py (`BENCHMARK_SPECS`: the random walk) is
   scored by the same CV (the search's own score when it tried them). When the best of them beats every
   searched ARIMA spec by more than 10 % (`_BENCHMARK_MARGIN`), or no searched spec could be scored, it is
   served instead (``used_fallback``; ``fallback_reason`` gives both scores). A benchmark is an ordinary
   parameters-only ArimaModel (stored, refreshed, checkpointed like any other).
6. The chosen spec is fitted on the search window to forecast the holdout (holdout metrics and errors),
   then refitted on the last `max_train_weeks` weeks of all data (starting from the holdout fit's
   parameters): the returned model.
7. If the best spec fails in step 6 (e.g. an AR unit root on the longer data), the next best of up to 3
   are tried; if none completes, FALLBACK_SPEC is used. Either way ``used_fallback`` is True and
   ``fallback_reason`` says why the returned spec is not the search's best.

No search is run for a series shorter than `TuningSettings.min_weeks` (but >= 2 weeks) or whose search window is
constant (MASE undefined, e.g. all zero): a benchmark is returned instead (fallback.py: the mean model
ARIMA(0,0,0)+c when the fitted weeks are constant, else the random walk ARIMA(0,1,0)), flagged with
``used_fallback`` and a ``fallback_reason``; ``cv_mase`` is NaN and ``trials_run`` 0. Invalid input (empty, NaN,
negative, gaps) still raises. Yearly Fourier terms are only searched with >= 104 weeks (two full years) in the
search window (`SearchSpace.min_weeks_for_fourier`); a warm-start spec then loses its Fourier terms too.

Objective and candidate families (issue 19). Every candidate forecasts a mean (log1p specs with their variance
correction, model.py). The series' demand class (demand.py, on the final window) decides the objective and the
families (`TuningSettings.objective="auto"`): intermittent and lumpy series are ranked by CV RMSSE (root mean
squared error over the naive's, M5), which the mean minimises, where MASE, minimised by the median, rewarded flat
zeros (on real intermittent series the MASE search served forecasts 62 % below the sales); and Croston-SBA and TSB
(intermittent.py) are scored by the same CV and ranked with the searched ARIMA specs and the random walk. Smooth
and erratic series keep CV MASE: there median and mean forecasts nearly agree (median |bias| 3 % on M4 validation
windows either way), and RMSSE scored worse on the M4 validation windows (benchmarks/RESULTS.md, issue 19). CV MASE
is reported in any case (`TuningResult.cv_mase`). A candidate whose forecast is flat zero is not served when the
title sold in the last 13 weeks (the next one is); when the best candidates all forecast zero so, the best-ranked
intermittent model is (Croston-SBA or TSB: above zero after any sale), not FALLBACK_SPEC, which would too.

Defaults were chosen on M4 Weekly *validation* windows (each training series minus its last 13 weeks,
scored on those 13 weeks; 60 series; the competition test set was not used), mean MASE (Naive 3.262):
dense CV origins (every week) instead of one per fold (validation.py); no deterministic linear
trend without differencing 2.857 -> 2.711; the random-walk anchor -> 2.671; two-stage "ols" regressors in
the search 2.671 vs joint "mle" 2.689 at ~25 % less time; 40 trials 2.656 (+50 % time); cv_folds 2: 2.831.
Issue 11 (all 359 validation windows, production preset; CPU seconds of tuning over both processes): MLE search
with maxiter 50 2.328 in 259 s; Hannan-Rissanen search 2.359 in 111 s (paired bootstrap: significantly worse
than with refinement); refining the best 2 (or 3) by MLE 2.341 in 122 s (vs the MLE search: +0.013, 95 % CI
[-0.029, +0.055]); 35 trials with refinement 2.306 in 189 s; maxiter 25 instead of 50 for the served fits: no
change in MASE at -15 % time; serving two-stage (OLS regressor) fits instead of joint MLE: 2.229 -> 2.301 on
the every-6th 60.

The benchmark guard (issue 11) was set on the validation windows of all 359 M4 Weekly train series (production
preset; 29 of 359 forecasts worse than Naive by > 50 %, mean MASE 2.328): serving the best of naive, seasonal
naive ARIMA(0,0,0)(0,1,0)[52] and mean whenever it beat every searched spec in CV switched 78 series and
scored 2.889 (the seasonal naive and the mean won CV windows and lost the next 13 weeks badly); with a 10 %
margin 2.349, 20 % 2.340, the tail unchanged at 29. Only the random walk is safe to serve on CV evidence, and
it is already an anchor of the search, so the guard rarely changes an M4 forecast: the tail failures are
breaks after the training data that no validation window shows. The seasonal naive is therefore not a
benchmark here; the guard matters when the search space lacks the random walk or every searched spec fails.
The mean model was a guard benchmark too until the smart-retraining replay showed it served after a level change
(M4 W124, level x0.7: CV MASE 1.97 vs 2.47 of the best searched spec, then 2.4x the always-refit error): a mean
over years of data is the wrong forecast after a break. Without it the validation windows score the same (2.341).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import optuna
import pandas as pd

from arima_assets.forecasting._series import WeeklySeries, as_weekly_series
from arima_assets.forecasting.demand import DemandClass, classify_demand
from arima_assets.forecasting.fallback import (
    BENCHMARK_SPECS,
    MEAN_SPEC,
    MIN_BENCHMARK_WEEKS,
    NAIVE_SPEC,
    benchmark_spec,
    fit_benchmark,
    is_constant,
)
from arima_assets.forecasting.intermittent import INTERMITTENT_SPECS, IntermittentModel, IntermittentSpec
from arima_assets.forecasting.metrics import forecast_metrics, mae, mape, mase, rmse, rmsse, smape
from arima_assets.forecasting.model import ESTIMATORS, ArimaModel, FitError
from arima_assets.forecasting.search_space import SEARCH_SPACES, SearchSpace
from arima_assets.forecasting.spec import FALLBACK_SPEC, ModelSpec
from arima_assets.forecasting.validation import OBJECTIVES, cv_scores, rolling_origin_splits

__all__ = ["SEARCH_SPACES", "TuningResult", "TuningSettings", "holdout_errors", "tune_model"]

_MIN_FIRST_FOLD_WEEKS = 26
_MAX_CANDIDATES = 3  # best trials tried in turn for the holdout/final fits before FALLBACK_SPEC
# evaluated first when they lie in the space: simple exponential smoothing, the DESIGN.md reference model,
# and the random walk (the M4 Naive benchmark), so the search never ends worse than these on its own CV
_FIT_ERRORS = (FitError, ValueError, np.linalg.LinAlgError)
# a benchmark replaces the search's best only when its CV MASE is this much lower than every searched spec's
# (module docstring: on M4 Weekly validation windows a smaller margin served more benchmarks and scored worse)
_BENCHMARK_MARGIN = 0.1
_ANCHOR_SPECS = (ModelSpec(order=(0, 1, 1)), ModelSpec(order=(1, 1, 1), fourier_k=2), ModelSpec(order=(0, 1, 0)))
_RECENT_WEEKS = 13  # a title that sold in its last 13 weeks never gets a flat-zero forecast
_ZERO_AFTER_SALES = f"forecasts zero although the title sold in the last {_RECENT_WEEKS} weeks"


@dataclass(frozen=True)
class TuningSettings:
    """Settings of one tuning run (see the module docstring).

    Attributes:
        n_trials: maximum trials (including enqueued warm-start/anchor trials).
        patience: stop after this many consecutive trials without improvement.
        min_improvement: relative improvement of the best score that resets patience (0.005 = 0.5 %).
        time_budget_s: wall-clock limit of the search (None: no limit).
        horizon: weeks forecast from each CV origin.
        holdout_weeks: final weeks never seen by the search (0: no holdout evaluation).
        cv_folds: rolling origins inside the search window.
        seed: TPE sampler seed.
        max_train_weeks: fit on at most the last N weeks (None: all, up to MAX_FILTER_WEEKS).
        search_space: a key of SEARCH_SPACES.
        maxiter: optimiser iterations per MLE fit (served fits and the refinement).
        pruning: MedianPruner on the running fold score (see the module docstring).
        search_regression: regressor estimation inside the search, "ols" (two-stage, fast) or "mle"; the
            holdout and final fits always use "mle" (see ArimaModel.fit).
        search_estimator: how the search fits a spec, "hannan_rissanen" (no optimiser where it applies, see
            ArimaModel.fit) or "mle" (then `search_regression` applies); served fits always use joint MLE.
        refine_top: with "hannan_rissanen", the best this many specs are scored again by the same CV with MLE
            fits (`search_regression`) and ranked by that score (0: no refinement).
        objective: the CV score candidates are ranked by, "rmsse" (M5; minimised by the mean), "mase"
            (minimised by the median: it preferred flat-zero and log1p-median forecasts on intermittent series), or
            "auto": RMSSE for intermittent and lumpy series, MASE for smooth and erratic ones (demand.py).
        intermittent_models: score Croston-SBA and TSB (intermittent.py) beside the ARIMA search for intermittent
            and lumpy series (demand.py).
    """

    n_trials: int = 20
    patience: int = 8
    min_improvement: float = 0.005
    time_budget_s: float | None = None
    horizon: int = 13
    holdout_weeks: int = 13
    cv_folds: int = 3
    seed: int = 42
    max_train_weeks: int | None = 520
    search_space: str = "default"
    maxiter: int = 25
    pruning: bool = False
    search_regression: str = "ols"
    search_estimator: str = "hannan_rissanen"
    refine_top: int = 2
    objective: str = "auto"
    intermittent_models: bool = True

    def __post_init__(self) -> None:
        positive = {"n_trials": self.n_trials, "patience": self.patience, "horizon": self.horizon}
        positive["cv_folds"] = self.cv_folds
        positive["maxiter"] = self.maxiter
        for name, value in positive.items():
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"TuningSettings.{name} must be a positive int, got {value!r}")
        if not isinstance(self.holdout_weeks, int) or self.holdout_weeks < 0:
            raise ValueError(f"TuningSettings.holdout_weeks must be an int >= 0, got {self.holdout_weeks!r}")
        if not isinstance(self.refine_top, int) or isinstance(self.refine_top, bool) or self.refine_top < 0:
            raise ValueError(f"TuningSettings.refine_top must be an int >= 0, got {self.refine_top!r}")
        if not 0 <= self.min_improvement < 1:
            raise ValueError(f"TuningSettings.min_improvement must be in [0, 1), got {self.min_improvement!r}")
        if self.time_budget_s is not None and not self.time_budget_s > 0:
            raise ValueError(f"TuningSettings.time_budget_s must be > 0 or None, got {self.time_budget_s!r}")
        if self.max_train_weeks is not None and (not isinstance(self.max_train_weeks, int) or self.max_train_weeks < 1):
            raise ValueError(
                f"TuningSettings.max_train_weeks must be a positive int or None, got {self.max_train_weeks!r}"
            )
        if self.search_estimator not in ESTIMATORS:
            raise ValueError(
                f"TuningSettings.search_estimator must be one of {', '.join(ESTIMATORS)}, got {self.search_estimator!r}"
            )
        if self.search_regression not in ("ols", "mle"):
            raise ValueError(f"TuningSettings.search_regression must be 'ols' or 'mle', got {self.search_regression!r}")
        if self.objective not in (*OBJECTIVES, "auto"):
            raise ValueError(
                f"TuningSettings.objective must be one of {', '.join(OBJECTIVES)}, auto; got {self.objective!r}"
            )
        if self.search_space not in SEARCH_SPACES:
            raise ValueError(
                f"TuningSettings.search_space must be one of {', '.join(SEARCH_SPACES)}; got {self.search_space!r}"
            )

    @property
    def min_weeks(self) -> int:
        """Shortest series tune_model accepts (with a single CV fold)."""
        return self.holdout_weeks + self.horizon + _MIN_FIRST_FOLD_WEEKS


@dataclass
class TuningResult:
    """Outcome of `tune_model`.

    Attributes:
        model: the chosen spec refitted on all data (last max_train_weeks weeks), ready to forecast (an ArimaModel,
            or an IntermittentModel for a Croston-SBA/TSB spec).
        spec: the chosen spec (ModelSpec or IntermittentSpec).
        cv_mase: the CV MASE of the chosen spec (a reported figure; NaN if it could not be scored).
        holdout_metrics: metrics of the spec fitted without the holdout, forecasting it ({} if no holdout).
        holdout_errors: actual - forecast on the holdout weeks (for Diebold-Mariano).
        holdout_model: the chosen spec fitted without the holdout (what produced holdout_errors; None if no holdout).
        trials_run / trials_failed / trials_pruned: trial counts (failed = could not be fitted).
        fit_seconds: wall time of the whole tuning.
        used_fallback / fallback_reason: whether the returned spec is not the search's best (a runner-up,
            FALLBACK_SPEC, or a benchmark of fallback.py when no search was run), and why.
        stopped_by: "n_trials" | "patience" | "time_budget" | "no_search" (a benchmark: series too short or
            constant; then cv_mase is NaN, trials_run 0, and holdout_metrics may hold NaN, e.g. mase).
        trial_log: one dict per trial: number, label, state, value, fail_reason.
        cv_folds: CV folds used (settings.cv_folds, fewer when the search window is short).
        cv_score / objective: the chosen spec's CV score on the objective the search ranked by (NaN if not scored).
        demand_class: Syntetos-Boylan class of the final window (demand.py); it decides the candidate families.
    """

    model: ArimaModel
    spec: ModelSpec
    cv_mase: float
    holdout_metrics: dict[str, float]
    holdout_errors: np.ndarray
    trials_run: int
    trials_failed: int
    trials_pruned: int
    fit_seconds: float
    used_fallback: bool
    fallback_reason: str | None
    stopped_by: str
    trial_log: list[dict[str, object]] = field(default_factory=list)
    cv_folds: int = 0
    holdout_model: ArimaModel | IntermittentModel | None = None
    cv_score: float = math.nan
    objective: str = "mase"
    demand_class: DemandClass | None = None


class _Patience:
    """Study callback: stop after `patience` trials without a relative improvement of `min_improvement`."""

    def __init__(self, patience: int, min_improvement: float):
        self.patience = patience
        self.min_improvement = min_improvement
        self.best = math.inf
        self.since_improvement = 0
        self.stopped = False

    def __call__(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        value = trial.value if trial.state == optuna.trial.TrialState.COMPLETE else None
        if value is not None and (math.isinf(self.best) or value < self.best * (1 - self.min_improvement)):
            self.best = value
            self.since_improvement = 0
        else:
            self.since_improvement += 1
            if value is not None:
                self.best = min(self.best, value)
        if self.since_improvement >= self.patience:
            self.stopped = True
            study.stop()


@dataclass(frozen=True)
class _Windows:
    """The weeks of one tuning: the search window, the holdout after it (None without), the final-fit window."""

    search: WeeklySeries
    holdout: WeeklySeries | None
    final: WeeklySeries


@dataclass(frozen=True)
class _Scored:
    """A spec with its search objective (`cv`) and its CV MASE (reported)."""

    spec: ModelSpec | IntermittentSpec
    cv: float
    mase: float = math.nan


@dataclass
class _Fitted:
    """The served spec fitted on the final window, and its holdout evaluation (fitted without the holdout)."""

    model: ArimaModel | IntermittentModel
    metrics: dict[str, float]
    errors: np.ndarray
    holdout_model: ArimaModel | IntermittentModel | None


_Cache = dict["ModelSpec | IntermittentSpec", "_Scored | str"]
"""CV outcome per spec in one study: the score, or the reason it could not be fitted."""


def _scored(
    spec: ModelSpec | IntermittentSpec, y_search: WeeklySeries, settings: TuningSettings, **kwargs: object
) -> _Scored:
    """`spec` scored by the search objective (rolling-origin CV inside the search window), with its CV MASE."""
    scores = cv_scores(
        spec,
        y_search,
        settings.horizon,
        settings.cv_folds,
        maxiter=settings.maxiter,
        regression=settings.search_regression,
        estimator=settings.search_estimator,
        objective=settings.objective,
        **kwargs,
    )
    return _Scored(spec, scores[settings.objective], scores["mase"])


def _objective(
    space: SearchSpace, y_search: WeeklySeries, settings: TuningSettings, cache: _Cache
) -> Callable[[optuna.Trial], float]:
    def objective(trial: optuna.Trial) -> float:
        warm = trial.user_attrs.get("fixed_spec")
        spec = ModelSpec.from_dict(warm) if warm is not None else space.suggest(trial)
        trial.set_user_attr("spec", spec.to_dict())
        trial.set_user_attr("label", spec.label())
        if spec not in cache:

            def report(fold: int, running: float) -> None:
                trial.report(running, fold)
                if trial.should_prune():
                    raise optuna.TrialPruned(f"fold {fold}: running score {running:.4f} worse than median")

            try:
                cache[spec] = _scored(spec, y_search, settings, on_fold=report)
            except _FIT_ERRORS as exc:
                cache[spec] = f"{type(exc).__name__}: {exc}"
        outcome = cache[spec]
        if isinstance(outcome, str):
            trial.set_user_attr("fail_reason", outcome)
            raise optuna.TrialPruned(outcome)
        return outcome.cv

    return objective


def _metrics_where_defined(actual: np.ndarray, predicted: np.ndarray, train: np.ndarray) -> dict[str, float]:
    """`forecast_metrics`, with NaN for MASE and RMSSE when the training weeks are constant (their scale is 0)."""
    try:
        return forecast_metrics(actual, predicted, train)
    except ValueError:
        metrics = {f.__name__: f(actual, predicted) for f in (mae, rmse, mape, smape)}
        for f in (mase, rmsse):
            try:
                metrics[f.__name__] = f(actual, predicted, train)
            except ValueError:
                metrics[f.__name__] = math.nan
        return metrics


def _benchmark_result(series: WeeklySeries, settings: TuningSettings, why: str, started: float) -> TuningResult:
    """No search: the benchmark of fallback.py for the last max_train_weeks weeks, flagged as a fallback.

    The holdout is evaluated as for a tuned spec (the benchmark fitted on the weeks before it) when those weeks
    can be fitted: at least MIN_BENCHMARK_WEEKS of them and, for the random walk, not constant.
    """
    cap = settings.max_train_weeks or len(series)
    y_final = series.tail(cap)
    spec = benchmark_spec(y_final)
    if spec == MEAN_SPEC:
        reason = f"{why}; constant series (all {y_final.values[0]:g}): mean model {spec.label()} used"
    else:
        reason = f"{why}: naive model {spec.label()} used"
    metrics: dict[str, float] = {}
    errors = np.empty(0)
    holdout_model = None
    n_train = len(series) - settings.holdout_weeks
    if settings.holdout_weeks and n_train < MIN_BENCHMARK_WEEKS:
        reason += f"; holdout not evaluated ({max(n_train, 0)} weeks before it)"
    elif settings.holdout_weeks:
        y_before = series.slice(max(0, n_train - cap), n_train)
        if spec == NAIVE_SPEC and is_constant(y_before):
            reason += f"; holdout not evaluated (the {len(y_before)} weeks before it are constant)"
        else:
            holdout_model = fit_benchmark(spec, y_before)
            actual = series.values[n_train:]
            predicted = holdout_model.forecast(len(actual), level=())["mean"].to_numpy()
            errors = actual - predicted
            metrics = _metrics_where_defined(actual, predicted, y_before.values)
    return TuningResult(
        model=fit_benchmark(spec, y_final),
        spec=spec,
        cv_mase=math.nan,
        holdout_metrics=metrics,
        holdout_errors=errors,
        trials_run=0,
        trials_failed=0,
        trials_pruned=0,
        fit_seconds=time.perf_counter() - started,
        used_fallback=True,
        fallback_reason=reason,
        stopped_by="no_search",
        trial_log=[],
        cv_folds=0,
        holdout_model=holdout_model,
        objective=_resolved(settings.objective, classify_demand(y_final)),
        demand_class=classify_demand(y_final),
    )


def _resolved(objective: str, demand: DemandClass) -> str:
    """The objective a series is searched with ("auto": RMSSE for intermittent/lumpy series, else MASE)."""
    if objective != "auto":
        return objective
    return "rmsse" if demand.uses_intermittent_models else "mase"


def _fit(
    spec: ModelSpec | IntermittentSpec, y: WeeklySeries, maxiter: int, start: dict[str, float] | None = None
) -> ArimaModel | IntermittentModel:
    """`spec` fitted by joint MLE on `y`, from `start` when given (a cold start if that fails); a benchmark spec
    gets its closed-form parameters (fallback.py; also on constant weeks), an intermittent spec its own fit."""
    if isinstance(spec, IntermittentSpec):
        return IntermittentModel(spec).fit(y)
    if spec in (MEAN_SPEC, NAIVE_SPEC):
        return fit_benchmark(spec, y)
    if start:
        try:
            return ArimaModel(spec).fit(y, maxiter=maxiter, start_params=start)
        except _FIT_ERRORS:
            pass  # a start near the boundary can end on a unit root where a cold start does not
    return ArimaModel(spec).fit(y, maxiter=maxiter)


def _holdout_and_final(candidate: _Scored, windows: _Windows, maxiter: int) -> _Fitted:
    """Fit `candidate` without the holdout (holdout metrics and errors), then on the final window.

    The final fit starts from the holdout fit's parameters: the two windows differ by `holdout_weeks` weeks, so a
    converged holdout fit leaves the optimiser a few iterations (7 log-likelihood evaluations instead of 119 for
    ARIMA(1,1,1)+F2 on M4 W52). Starting the holdout fit from the search's two-stage parameters did not help (they
    are a worse start than statsmodels' own), so it starts cold.
    """
    spec = candidate.spec
    metrics: dict[str, float] = {}
    errors = np.empty(0)
    holdout_model = None
    start = None
    if windows.holdout is not None:
        holdout_model = _fit(spec, windows.search, maxiter)
        predicted = holdout_model.forecast(len(windows.holdout), level=())["mean"].to_numpy()
        errors = windows.holdout.values - predicted
        metrics = _metrics_where_defined(windows.holdout.values, predicted, windows.search.values)
        start = holdout_model.params
    final = _fit(spec, windows.final, maxiter, start)
    return _Fitted(final, metrics, errors, holdout_model)


def _trial_log(study: optuna.Study) -> list[dict[str, object]]:
    return [
        {
            "number": t.number,
            "label": t.user_attrs.get("label"),
            "state": t.state.name,
            "value": t.value,
            "fail_reason": t.user_attrs.get("fail_reason"),
        }
        for t in study.trials
    ]


def _no_search_reason(series: WeeklySeries, settings: TuningSettings) -> str | None:
    """Why `series` gets a benchmark without a search (too short), or None."""
    if len(series) < MIN_BENCHMARK_WEEKS:
        raise ValueError(
            f"tune_model: y has {len(series)} week; needs at least {MIN_BENCHMARK_WEEKS} for a benchmark forecast "
            f"and {settings.min_weeks} for the search"
        )
    if len(series) >= settings.min_weeks:
        return None
    return (
        f"{len(series)} weeks < {settings.min_weeks} needed for the search (holdout_weeks="
        f"{settings.holdout_weeks} + one CV fold of horizon={settings.horizon} + {_MIN_FIRST_FOLD_WEEKS} weeks)"
    )


def _split_windows(series: WeeklySeries, settings: TuningSettings) -> tuple[_Windows, TuningSettings]:
    """The search/holdout/final windows, and the settings with `cv_folds` cut to what the search window holds."""
    cap = settings.max_train_weeks or len(series)
    n_train = len(series) - settings.holdout_weeks
    y_search = series.slice(max(0, n_train - cap), n_train)
    folds = min(settings.cv_folds, (len(y_search) - _MIN_FIRST_FOLD_WEEKS) // settings.horizon)
    if folds < 1:
        raise ValueError(
            f"tune_model: search window of {len(y_search)} weeks (max_train_weeks={settings.max_train_weeks}) "
            f"is too short for one CV fold of {settings.horizon} weeks after {_MIN_FIRST_FOLD_WEEKS} weeks"
        )
    holdout = series.slice(n_train, len(series)) if settings.holdout_weeks else None
    return _Windows(y_search, holdout, series.tail(cap)), replace(settings, cv_folds=folds)


def _space_for(
    settings: TuningSettings, y_search: WeeklySeries, warm_start: ModelSpec | None
) -> tuple[SearchSpace, ModelSpec | None]:
    """The search space the data allow (no s=52 part without 3 years in the first fold, no yearly Fourier terms
    without 2 years in the search window), and the warm-start spec within those limits."""
    space = SEARCH_SPACES[settings.search_space]
    first_fold_weeks = rolling_origin_splits(len(y_search), settings.horizon, settings.cv_folds)[0][0]
    if len(space.seasonal_orders) > 1 and first_fold_weeks < space.min_weeks_for_seasonal:
        space = SEARCH_SPACES["default"]
    if len(y_search) < space.min_weeks_for_fourier:
        space = replace(space, fourier_ks=(0,))
        if warm_start is not None and warm_start.fourier_k:
            warm_start = replace(warm_start, fourier_k=0)
    return space, warm_start


def _new_study(space: SearchSpace, settings: TuningSettings, warm_start: ModelSpec | None) -> optuna.Study:
    """An in-memory study with the warm-start spec and the anchors in the space enqueued as its first trials."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        direction="minimize",
        sampler=optuna.samplers.TPESampler(seed=settings.seed),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=5) if settings.pruning else optuna.pruners.NopPruner(),
        storage=None,
    )
    queued = [warm_start] if warm_start is not None else []
    queued += [s for s in _ANCHOR_SPECS if s != warm_start and space.encode(s) is not None]
    for spec in queued[: settings.n_trials]:
        params = space.encode(spec)
        study.enqueue_trial(params or {}, user_attrs={} if params else {"fixed_spec": spec.to_dict()})
    return study


def _run_study(
    study: optuna.Study, space: SearchSpace, y_search: WeeklySeries, settings: TuningSettings
) -> tuple[_Cache, str]:
    """Optimise until n_trials, patience or the time budget; returns the CV outcomes and what stopped it."""
    cache: _Cache = {}
    patience = _Patience(settings.patience, settings.min_improvement)
    study.optimize(
        _objective(space, y_search, settings, cache),
        n_trials=settings.n_trials,
        timeout=settings.time_budget_s,
        callbacks=[patience],
        gc_after_trial=False,
    )
    if patience.stopped:
        return cache, "patience"
    return cache, "time_budget" if len(study.trials) < settings.n_trials else "n_trials"


def _ranked(cache: _Cache) -> list[_Scored]:
    """The specs the search could score, best CV first (ties keep the order they were tried in)."""
    return sorted((c for c in cache.values() if isinstance(c, _Scored)), key=lambda c: c.cv)


def _refined(ranked: list[_Scored], y_search: WeeklySeries, settings: TuningSettings) -> list[_Scored]:
    """The ranking with its best `settings.refine_top` specs scored again by MLE fits (same CV), best first; a spec
    whose MLE fit fails keeps its quick score. Unchanged when the search already used MLE."""
    if settings.search_estimator == "mle" or settings.refine_top == 0:
        return ranked
    top, rest = ranked[: settings.refine_top], ranked[settings.refine_top :]
    mle = replace(settings, search_estimator="mle")
    refined = []
    for candidate in top:
        try:
            refined.append(_scored(candidate.spec, y_search, mle))
        except _FIT_ERRORS:
            refined.append(candidate)
    return sorted(refined, key=lambda c: c.cv) + rest


def _serve(
    ranked: list[_Scored], windows: _Windows, settings: TuningSettings, study: optuna.Study, series: WeeklySeries
) -> tuple[_Scored, _Fitted, str | None]:
    """The best of the first `_MAX_CANDIDATES` ranked specs that can be fitted without the holdout and on the
    final window (and forecast above zero if the title sold in the last 13 weeks), else an intermittent model when
    some forecast zero so, else FALLBACK_SPEC; with the reason it is not the best (None when it is).

    Raises:
        RuntimeError: even FALLBACK_SPEC cannot be fitted (the message names the series and the search's failures).
    """
    failures: list[str] = []
    sold_recently = bool(np.any(windows.final.values[-_RECENT_WEEKS:] > 0))
    for candidate in ranked[:_MAX_CANDIDATES]:
        fitted = _servable(candidate, windows, settings, sold_recently, failures)
        if fitted is not None:
            return (
                candidate,
                fitted,
                f"runner-up {candidate.spec.label()} used: " + "; ".join(failures) if failures else None,
            )
    if any(failure.endswith(_ZERO_AFTER_SALES) for failure in failures):  # FALLBACK_SPEC would forecast zero too
        served = _positive_intermittent(ranked, windows, settings, failures)
        if served is not None:
            return served
    reason = "; ".join(failures) if failures else _all_failed_reason(study)
    try:
        candidate = _scored(FALLBACK_SPEC, windows.search, settings)
    except _FIT_ERRORS as exc:
        candidate = _Scored(FALLBACK_SPEC, math.nan)
        reason += f"; fallback CV not scored: {exc}"
    try:
        return candidate, _holdout_and_final(candidate, windows, settings.maxiter), reason
    except _FIT_ERRORS as exc:
        raise RuntimeError(
            f"tune_model: even the fallback {FALLBACK_SPEC.label()} cannot be fitted to this series "
            f"({len(series)} weeks ending {series.last}; search window {len(windows.search)} weeks): {exc}. "
            f"Search: {reason}"
        ) from exc


def _positive_intermittent(
    ranked: list[_Scored], windows: _Windows, settings: TuningSettings, failures: list[str]
) -> tuple[_Scored, _Fitted, str] | None:
    """For a title that sold recently whose best specs all failed or forecast zero: the best-ranked intermittent
    model (Croston-SBA first when none was scored), whose forecast stays above zero after a sale; None when none
    fits. Appends what failed to `failures`."""
    scored = [c for c in ranked if isinstance(c.spec, IntermittentSpec)]
    tried = {c.spec for c in ranked[:_MAX_CANDIDATES]}
    candidates = [c for c in scored if c.spec not in tried] or [
        spec for spec in INTERMITTENT_SPECS if spec not in tried
    ]
    for candidate in candidates:
        if not isinstance(candidate, _Scored):  # not scored by the search (a smooth series): scored here
            try:
                candidate = _scored(candidate, windows.search, settings)
            except _FIT_ERRORS:
                candidate = _Scored(candidate, math.nan)
        fitted = _servable(candidate, windows, settings, True, failures)
        if fitted is not None:
            return (
                candidate,
                fitted,
                f"{candidate.spec.label()} used (sold in the last {_RECENT_WEEKS} weeks): " + "; ".join(failures),
            )
    return None


def _servable(
    candidate: _Scored, windows: _Windows, settings: TuningSettings, sold_recently: bool, failures: list[str]
) -> _Fitted | None:
    """`candidate` fitted without the holdout and on the final window (`_holdout_and_final`); None, with the reason
    appended to `failures`, when a fit fails or it forecasts zero for a title that sold recently."""
    try:
        fitted = _holdout_and_final(candidate, windows, settings.maxiter)
    except _FIT_ERRORS as exc:
        failures.append(f"{candidate.spec.label()} failed on the full data: {exc}")
        return None
    if sold_recently and _flat_zero(fitted.model, settings.horizon):
        failures.append(f"{candidate.spec.label()} {_ZERO_AFTER_SALES}")
        return None
    return fitted


def _flat_zero(model: ArimaModel | IntermittentModel, horizon: int) -> bool:
    """True when `model` forecasts (practically) no sales for the next `horizon` weeks."""
    return bool(np.all(model.forecast(horizon, level=())["mean"].to_numpy() < 1e-6))


def _all_failed_reason(study: optuna.Study) -> str:
    trials = study.trials
    reasons = sorted({str(t.user_attrs.get("fail_reason", t.state.name)) for t in trials})
    return f"all {len(trials)} trials failed; reasons: {'; '.join(reasons)[:500]}"


def _benchmark_scores(y_search: WeeklySeries, settings: TuningSettings, cache: _Cache) -> list[_Scored]:
    """The benchmarks scored by the search's CV (the search's own score when it tried one); those that cannot be
    scored on this window (e.g. the mean model on a constant first fold: zero variance) are left out."""
    scores = []
    for spec in BENCHMARK_SPECS:
        if spec not in cache:
            try:
                cache[spec] = _scored(spec, y_search, settings)
            except _FIT_ERRORS as exc:
                cache[spec] = f"{type(exc).__name__}: {exc}"
        if isinstance(cache[spec], _Scored):
            scores.append(cache[spec])
    return scores


def _benchmark_guard(
    ranked: list[_Scored], windows: _Windows, settings: TuningSettings, cache: _Cache
) -> tuple[list[_Scored], str | None]:
    """The candidates to serve, best first: the search's ranking, or the best benchmark alone when it beats every
    ARIMA spec of the search on the same CV by more than `_BENCHMARK_MARGIN` (or none could be scored); with the
    reason when a benchmark replaces the search's best."""
    benchmarks = sorted(_benchmark_scores(windows.search, settings, cache), key=lambda c: c.cv)
    searched = [c for c in ranked if c.spec not in BENCHMARK_SPECS]
    name = f"CV {settings.objective.upper()}"
    if not benchmarks or (searched and benchmarks[0].cv > searched[0].cv * (1 - _BENCHMARK_MARGIN)):
        return ranked, None
    best = benchmarks[0]
    if ranked and ranked[0].spec == best.spec:
        return ranked, None  # the search's own best is this benchmark
    if not searched:
        return [best], f"benchmark {best.spec.label()} served ({name} {best.cv:.3f}): no searched spec could be scored"
    return [best], (
        f"benchmark {best.spec.label()} served: {name} {best.cv:.3f} vs {searched[0].cv:.3f} of the best searched "
        f"spec {searched[0].spec.label()} (more than {_BENCHMARK_MARGIN:.0%} better)"
    )


def tune_model(
    y: pd.Series | np.ndarray,
    settings: TuningSettings | None = None,
    warm_start: ModelSpec | IntermittentSpec | None = None,
) -> TuningResult:
    """Choose a ModelSpec for `y` by Optuna search and return it fitted on all data.

    A series shorter than `settings.min_weeks` (but >= 2 weeks), or with a constant search window, gets a
    benchmark instead of a search (mean model if constant, else random walk; see fallback.py), flagged with
    ``used_fallback=True`` and a ``fallback_reason``. A benchmark is also served when it beats every searched
    spec on the validation windows (see the module docstring).

    Args:
        y: weekly sales (pd.Series on weekly dates or positions, or a numpy array).
        settings: TuningSettings (defaults if None).
        warm_start: the previous best spec, evaluated first (``study.enqueue_trial``).

    Returns:
        TuningResult.

    Raises:
        ValueError: invalid series (empty, NaN/inf, negative, gaps), fewer than 2 weeks, or a max_train_weeks
            too short for one CV fold.
        RuntimeError: even FALLBACK_SPEC cannot be fitted (the message names the series problem).
    """
    started = time.perf_counter()
    settings = settings or TuningSettings()
    series = as_weekly_series(y)
    why = _no_search_reason(series, settings)
    if why is not None:
        return _benchmark_result(series, settings, why, started)
    windows, settings = _split_windows(series, settings)
    if is_constant(windows.search):
        why = (
            f"MASE is undefined on the constant search window ({len(windows.search)} weeks ending "
            f"{windows.search.last}, all {windows.search.values[0]:g})"
        )
        return _benchmark_result(series, settings, why, started)

    demand = classify_demand(windows.final)
    settings = replace(settings, objective=_resolved(settings.objective, demand))
    space, warm_start = _space_for(settings, windows.search, warm_start if isinstance(warm_start, ModelSpec) else None)
    study = _new_study(space, settings, warm_start)
    cache, stopped_by = _run_study(study, space, windows.search, settings)
    if settings.intermittent_models and demand.uses_intermittent_models:
        _score_intermittent(windows.search, settings, cache)
    candidates, guard_reason = _benchmark_guard(
        _refined(_ranked(cache), windows.search, settings), windows, settings, cache
    )
    chosen, fitted, reason = _serve(candidates, windows, settings, study, series)
    if guard_reason is not None:
        reason = guard_reason if reason is None else f"{guard_reason}; {reason}"

    trials = study.trials
    failed = sum(1 for t in trials if "fail_reason" in t.user_attrs)
    return TuningResult(
        model=fitted.model,
        spec=chosen.spec,
        cv_mase=chosen.mase,
        holdout_metrics=fitted.metrics,
        holdout_errors=fitted.errors,
        trials_run=len(trials),
        trials_failed=failed,
        trials_pruned=sum(1 for t in trials if t.state == optuna.trial.TrialState.PRUNED) - failed,
        fit_seconds=time.perf_counter() - started,
        used_fallback=reason is not None,
        fallback_reason=reason,
        stopped_by=stopped_by,
        trial_log=_trial_log(study),
        cv_folds=settings.cv_folds,
        holdout_model=fitted.holdout_model,
        cv_score=chosen.cv,
        objective=settings.objective,
        demand_class=demand,
    )


def _score_intermittent(y_search: WeeklySeries, settings: TuningSettings, cache: _Cache) -> None:
    """Croston-SBA and TSB scored by the search's CV into `cache` (ranked with the ARIMA specs)."""
    for spec in INTERMITTENT_SPECS:
        try:
            cache[spec] = _scored(spec, y_search, settings)
        except _FIT_ERRORS as exc:
            cache[spec] = f"{type(exc).__name__}: {exc}"


def holdout_errors(model: ArimaModel | IntermittentModel, y: pd.Series | np.ndarray, holdout_weeks: int) -> np.ndarray:
    """Errors (actual - forecast) of `model`'s kept parameters on the last `holdout_weeks` weeks of `y`.

    The model is re-filtered on ``y[:-holdout_weeks]`` (no refit) and forecasts the holdout from there: the
    champion is scored on the same window as a challenger.
    """
    if not isinstance(holdout_weeks, int) or holdout_weeks < 1:
        raise ValueError(f"holdout_errors: holdout_weeks must be a positive int, got {holdout_weeks!r}")
    series = as_weekly_series(y)
    if len(series) <= holdout_weeks + model.spec.burn_in:
        raise ValueError(
            f"holdout_errors: y has {len(series)} weeks; needs more than holdout_weeks={holdout_weeks} "
            f"+ {model.spec.burn_in} (differencing)"
        )
    n = len(series) - holdout_weeks
    predicted = model.refresh(series.slice(0, n)).forecast(holdout_weeks, level=())["mean"].to_numpy()
    return series.values[n:] - predicted
