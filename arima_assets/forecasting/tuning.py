"""Optuna search over ModelSpecs for one series, with patience, a time budget, warm start and a fallback.

Protocol (`tune_model`):

1. The last `holdout_weeks` weeks are set aside; the search window is the `max_train_weeks` weeks before
   them. The search never sees the holdout.
2. One in-memory Optuna study (TPESampler(seed)): every trial decodes a ModelSpec and is scored by
   `cv_score` (rolling origin inside the search window; the objective is its mean scaled error). Fold
   scores are reported to the trial (`trial.report`). Pruning is off by default (``pruning=False``): all
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
5. The chosen spec is fitted on the search window to forecast the holdout (holdout metrics and errors),
   then refitted on the last `max_train_weeks` weeks of all data: the returned model.
6. If the best spec fails in step 5 (e.g. an AR unit root on the longer data), the next best of up to 3
   are tried; if none completes, FALLBACK_SPEC is used. Either way ``used_fallback`` is True and
   ``fallback_reason`` says why the returned spec is not the search's best.

No search is run for a series shorter than `TuningSettings.min_weeks` (but >= 2 weeks) or whose search window is
constant (MASE undefined, e.g. all zero): a benchmark is returned instead (fallback.py: the mean model
ARIMA(0,0,0)+c when the fitted weeks are constant, else the random walk ARIMA(0,1,0)), flagged with
``used_fallback`` and a ``fallback_reason``; ``cv_mase`` is NaN and ``trials_run`` 0. Invalid input (empty, NaN,
negative, gaps) still raises. Yearly Fourier terms are only searched with >= 104 weeks (two full years) in the
search window (`_SearchSpace.min_weeks_for_fourier`); a warm-start spec then loses its Fourier terms too.

Defaults were chosen on M4 Weekly *validation* windows (each training series minus its last 13 weeks,
scored on those 13 weeks; 60 series; the competition test set was not used), mean MASE (Naive 3.262):
dense CV origins (every week) instead of one per fold (validation.py); no deterministic linear
trend without differencing 2.857 -> 2.711; the random-walk anchor -> 2.671; two-stage "ols" regressors in
the search 2.671 vs joint "mle" 2.689 at ~25 % less time; 40 trials 2.656 (+50 % time); cv_folds 2: 2.831.
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
from arima_assets.forecasting.fallback import (
    MEAN_SPEC,
    MIN_BENCHMARK_WEEKS,
    NAIVE_SPEC,
    benchmark_spec,
    fit_benchmark,
    is_constant,
)
from arima_assets.forecasting.metrics import forecast_metrics, mae, mape, mase, rmse, smape
from arima_assets.forecasting.model import ArimaModel, FitError
from arima_assets.forecasting.spec import FALLBACK_SPEC, SEASONAL_PERIOD, ModelSpec
from arima_assets.forecasting.validation import cv_score, rolling_origin_splits

__all__ = ["SEARCH_SPACES", "TuningResult", "TuningSettings", "holdout_errors", "tune_model"]

_MIN_FIRST_FOLD_WEEKS = 26
_MAX_CANDIDATES = 3  # best trials tried in turn for the holdout/final fits before FALLBACK_SPEC
# evaluated first when they lie in the space: simple exponential smoothing, the DESIGN.md reference model,
# and the random walk (the M4 Naive benchmark), so the search never ends worse than these on its own CV
_ANCHOR_SPECS = (ModelSpec(order=(0, 1, 1)), ModelSpec(order=(1, 1, 1), fourier_k=2), ModelSpec(order=(0, 1, 0)))


@dataclass(frozen=True)
class _SearchSpace:
    """Ranges a study samples from (fixed per study, so TPE sees one distribution per parameter)."""

    p_max: int
    q_max: int
    d_values: tuple[int, ...]
    fourier_ks: tuple[int, ...]
    transforms: tuple[str, ...]
    seasonal_orders: tuple[tuple[int, int, int], ...]
    min_weeks_for_seasonal: int = 3 * SEASONAL_PERIOD
    min_weeks_for_fourier: int = 2 * SEASONAL_PERIOD  # yearly Fourier terms need two full years of search window
    level_trend: bool = False  # allow "ct" (constant + linear trend) for d + D = 0

    def suggest(self, trial: optuna.Trial) -> ModelSpec:
        p = trial.suggest_int("p", 0, self.p_max)
        d = trial.suggest_categorical("d", list(self.d_values))
        q = trial.suggest_int("q", 0, self.q_max)
        k = trial.suggest_categorical("fourier_k", list(self.fourier_ks))
        transform = trial.suggest_categorical("transform", list(self.transforms))
        trend_shape = trial.suggest_categorical("trend", ["flat", "linear"])
        seasonal = self.seasonal_orders[0]
        if len(self.seasonal_orders) > 1:
            code = trial.suggest_categorical("seasonal", [_code(s) for s in self.seasonal_orders])
            seasonal = tuple(int(v) for v in code.split(","))
        return ModelSpec(
            order=(p, d, q),
            seasonal_order=seasonal,
            fourier_k=k,
            trend=_trend(d + seasonal[1], trend_shape, self.level_trend),
            transform=transform,
        )

    def encode(self, spec: ModelSpec) -> dict[str, object] | None:
        """Trial parameters that decode to `spec`, or None when the spec lies outside this space."""
        p, d, q = spec.order
        n_diff = d + spec.seasonal_order[1]
        shape = next((s for s in ("flat", "linear") if _trend(n_diff, s, self.level_trend) == spec.trend), None)
        inside = (
            p <= self.p_max
            and q <= self.q_max
            and d in self.d_values
            and spec.fourier_k in self.fourier_ks
            and spec.transform in self.transforms
            and spec.seasonal_order in self.seasonal_orders
            and shape is not None
        )
        if not inside:
            return None
        params: dict[str, object] = {
            "p": p,
            "d": d,
            "q": q,
            "fourier_k": spec.fourier_k,
            "transform": spec.transform,
            "trend": shape,
        }
        if len(self.seasonal_orders) > 1:
            params["seasonal"] = _code(spec.seasonal_order)
        return params


def _code(order: tuple[int, int, int]) -> str:
    return ",".join(str(v) for v in order)


def _trend(n_diff: int, shape: str, level_trend: bool) -> str:
    """Map a trend shape to the spec trend valid for the differencing (see spec.py).

    Without differencing the mean is always estimated ("c"); a deterministic linear trend ("ct") only when
    the space allows it (`level_trend`): extrapolating a fitted line 13 weeks out was the worst failure of the
    search on M4 Weekly validation windows. With d + D = 1 "linear" means drift ("t").
    """
    if n_diff == 0:
        return "ct" if shape == "linear" and level_trend else "c"
    if n_diff == 1:
        return "n" if shape == "flat" else "t"
    return "n"


_NON_SEASONAL = ((0, 0, 0),)
SEARCH_SPACES: dict[str, _SearchSpace] = {
    # non-seasonal ARIMA + yearly Fourier terms + log1p + trend: every fit well under a second
    "default": _SearchSpace(3, 3, (0, 1), (0, 1, 2, 3, 4), ("none", "log1p"), _NON_SEASONAL),
    # plain ARIMA orders only (the cheapest)
    "arima": _SearchSpace(3, 3, (0, 1), (0,), ("none", "log1p"), _NON_SEASONAL),
    # default plus cheap s=52 parts ((0,1,0) ~0.1 s, (0,1,1) ~1-2 s a fit); only with >= 3 years of data
    # (any space: fourier_k > 0 only with a search window of >= 2 years, see tune_model)
    "seasonal": _SearchSpace(2, 2, (0, 1), (0, 1, 2, 3, 4), ("none", "log1p"), ((0, 0, 0), (0, 1, 0), (0, 1, 1))),
}


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
        maxiter: optimiser iterations per fit.
        pruning: MedianPruner on the running fold score (see the module docstring).
        search_regression: regressor estimation inside the search, "ols" (two-stage, fast) or "mle"; the
            holdout and final fits always use "mle" (see ArimaModel.fit).
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
    maxiter: int = 50
    pruning: bool = False
    search_regression: str = "ols"

    def __post_init__(self) -> None:
        positive = {"n_trials": self.n_trials, "patience": self.patience, "horizon": self.horizon}
        positive["cv_folds"] = self.cv_folds
        positive["maxiter"] = self.maxiter
        for name, value in positive.items():
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"TuningSettings.{name} must be a positive int, got {value!r}")
        if not isinstance(self.holdout_weeks, int) or self.holdout_weeks < 0:
            raise ValueError(f"TuningSettings.holdout_weeks must be an int >= 0, got {self.holdout_weeks!r}")
        if not 0 <= self.min_improvement < 1:
            raise ValueError(f"TuningSettings.min_improvement must be in [0, 1), got {self.min_improvement!r}")
        if self.time_budget_s is not None and not self.time_budget_s > 0:
            raise ValueError(f"TuningSettings.time_budget_s must be > 0 or None, got {self.time_budget_s!r}")
        if self.max_train_weeks is not None and (not isinstance(self.max_train_weeks, int) or self.max_train_weeks < 1):
            raise ValueError(
                f"TuningSettings.max_train_weeks must be a positive int or None, got {self.max_train_weeks!r}"
            )
        if self.search_regression not in ("ols", "mle"):
            raise ValueError(f"TuningSettings.search_regression must be 'ols' or 'mle', got {self.search_regression!r}")
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
        model: the chosen spec refitted on all data (last max_train_weeks weeks), ready to forecast.
        spec: the chosen spec.
        cv_mase: the search objective of the chosen spec (NaN if it could not be scored).
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
    holdout_model: ArimaModel | None = None


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


def _search_score(
    spec: ModelSpec,
    y_search: WeeklySeries,
    settings: TuningSettings,
    on_fold: Callable[[int, float], None] | None = None,
) -> float:
    """The search objective: rolling-origin CV MASE of `spec` inside the search window."""
    return cv_score(
        spec,
        y_search,
        settings.horizon,
        settings.cv_folds,
        maxiter=settings.maxiter,
        regression=settings.search_regression,
        on_fold=on_fold,
    )


def _objective(
    space: _SearchSpace, y_search: WeeklySeries, settings: TuningSettings, cache: dict[ModelSpec, object]
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
                cache[spec] = _search_score(spec, y_search, settings, on_fold=report)
            except (FitError, ValueError, np.linalg.LinAlgError) as exc:
                cache[spec] = f"{type(exc).__name__}: {exc}"
        outcome = cache[spec]
        if isinstance(outcome, str):
            trial.set_user_attr("fail_reason", outcome)
            raise optuna.TrialPruned(outcome)
        return float(outcome)

    return objective


def _metrics_where_defined(actual: np.ndarray, predicted: np.ndarray, train: np.ndarray) -> dict[str, float]:
    """`forecast_metrics`, with NaN for MASE when the training weeks are constant (its scale is 0)."""
    try:
        return forecast_metrics(actual, predicted, train)
    except ValueError:
        metrics = {f.__name__: f(actual, predicted) for f in (mae, rmse, mape, smape)}
        try:
            metrics["mase"] = mase(actual, predicted, train)
        except ValueError:
            metrics["mase"] = math.nan
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
    )


def _holdout_and_final(
    spec: ModelSpec, y_search: WeeklySeries, y_holdout: WeeklySeries | None, y_final: WeeklySeries, maxiter: int
) -> tuple[ArimaModel, dict[str, float], np.ndarray, ArimaModel | None]:
    metrics: dict[str, float] = {}
    errors = np.empty(0)
    holdout_model = None
    if y_holdout is not None:
        holdout_model = ArimaModel(spec).fit(y_search, maxiter=maxiter)
        predicted = holdout_model.forecast(len(y_holdout), level=())["mean"].to_numpy()
        errors = y_holdout.values - predicted
        metrics = forecast_metrics(y_holdout.values, predicted, y_search.values)
    final = ArimaModel(spec).fit(y_final, maxiter=maxiter)
    return final, metrics, errors, holdout_model


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


def tune_model(
    y: pd.Series | np.ndarray, settings: TuningSettings | None = None, warm_start: ModelSpec | None = None
) -> TuningResult:
    """Choose a ModelSpec for `y` by Optuna search and return it fitted on all data.

    A series shorter than `settings.min_weeks` (but >= 2 weeks), or with a constant search window, gets a
    benchmark instead of a search (mean model if constant, else random walk; see fallback.py), flagged with
    ``used_fallback=True`` and a ``fallback_reason``.

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
    if len(series) < MIN_BENCHMARK_WEEKS:
        raise ValueError(
            f"tune_model: y has {len(series)} week; needs at least {MIN_BENCHMARK_WEEKS} for a benchmark forecast "
            f"and {settings.min_weeks} for the search"
        )
    if len(series) < settings.min_weeks:
        why = (
            f"{len(series)} weeks < {settings.min_weeks} needed for the search (holdout_weeks="
            f"{settings.holdout_weeks} + one CV fold of horizon={settings.horizon} + {_MIN_FIRST_FOLD_WEEKS} weeks)"
        )
        return _benchmark_result(series, settings, why, started)
    cap = settings.max_train_weeks or len(series)
    n_train = len(series) - settings.holdout_weeks
    y_search = series.slice(max(0, n_train - cap), n_train)
    folds = min(settings.cv_folds, (len(y_search) - _MIN_FIRST_FOLD_WEEKS) // settings.horizon)
    if folds < 1:
        raise ValueError(
            f"tune_model: search window of {len(y_search)} weeks (max_train_weeks={settings.max_train_weeks}) "
            f"is too short for one CV fold of {settings.horizon} weeks after {_MIN_FIRST_FOLD_WEEKS} weeks"
        )
    settings = replace(settings, cv_folds=folds)
    y_holdout = series.slice(n_train, len(series)) if settings.holdout_weeks else None
    y_final = series.tail(cap)
    if is_constant(y_search):
        why = (
            f"MASE is undefined on the constant search window ({len(y_search)} weeks ending {y_search.last}, "
            f"all {y_search.values[0]:g})"
        )
        return _benchmark_result(series, settings, why, started)

    space = SEARCH_SPACES[settings.search_space]
    first_fold_weeks = rolling_origin_splits(len(y_search), settings.horizon, settings.cv_folds)[0][0]
    if len(space.seasonal_orders) > 1 and first_fold_weeks < space.min_weeks_for_seasonal:
        space = SEARCH_SPACES["default"]
    if len(y_search) < space.min_weeks_for_fourier:
        space = replace(space, fourier_ks=(0,))
        if warm_start is not None and warm_start.fourier_k:
            warm_start = replace(warm_start, fourier_k=0)

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

    patience = _Patience(settings.patience, settings.min_improvement)
    study.optimize(
        _objective(space, y_search, settings, cache={}),
        n_trials=settings.n_trials,
        timeout=settings.time_budget_s,
        callbacks=[patience],
        gc_after_trial=False,
    )
    trials = study.trials
    failed = sum(1 for t in trials if "fail_reason" in t.user_attrs)
    pruned = sum(1 for t in trials if t.state == optuna.trial.TrialState.PRUNED) - failed
    completed = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
    if patience.stopped:
        stopped_by = "patience"
    elif len(trials) < settings.n_trials:
        stopped_by = "time_budget"
    else:
        stopped_by = "n_trials"

    used_fallback, need_fallback, reason = False, False, None
    spec, cv_value = FALLBACK_SPEC, math.nan
    ranked: list[tuple[ModelSpec, float]] = []
    for trial in sorted(completed, key=lambda t: t.value):
        candidate = ModelSpec.from_dict(trial.user_attrs["spec"])
        if candidate not in (c for c, _ in ranked):
            ranked.append((candidate, float(trial.value)))
    failures: list[str] = []
    for candidate, value in ranked[:_MAX_CANDIDATES]:
        try:
            model, metrics, errors, holdout_model = _holdout_and_final(
                candidate, y_search, y_holdout, y_final, settings.maxiter
            )
        except (FitError, ValueError, np.linalg.LinAlgError) as exc:
            failures.append(f"{candidate.label()} failed on the full data: {exc}")
            continue
        spec, cv_value = candidate, value
        if failures:
            used_fallback, reason = True, f"runner-up {candidate.label()} used: " + "; ".join(failures)
        break
    else:
        used_fallback = need_fallback = True
        if ranked:
            reason = "; ".join(failures)
        else:
            reasons = sorted({str(t.user_attrs.get("fail_reason", t.state.name)) for t in trials})
            reason = f"all {len(trials)} trials failed; reasons: {'; '.join(reasons)[:500]}"

    if need_fallback:
        try:
            cv_value = _search_score(spec, y_search, settings)
        except (FitError, ValueError, np.linalg.LinAlgError) as exc:
            cv_value = math.nan
            reason += f"; fallback CV not scored: {exc}"
        try:
            model, metrics, errors, holdout_model = _holdout_and_final(
                spec, y_search, y_holdout, y_final, settings.maxiter
            )
        except (FitError, ValueError, np.linalg.LinAlgError) as exc:
            raise RuntimeError(
                f"tune_model: even the fallback {spec.label()} cannot be fitted to this series "
                f"({len(series)} weeks ending {series.last}; search window {len(y_search)} weeks): {exc}. "
                f"Search: {reason}"
            ) from exc

    return TuningResult(
        model=model,
        spec=spec,
        cv_mase=cv_value,
        holdout_metrics=metrics,
        holdout_errors=errors,
        trials_run=len(trials),
        trials_failed=failed,
        trials_pruned=pruned,
        fit_seconds=time.perf_counter() - started,
        used_fallback=used_fallback,
        fallback_reason=reason,
        stopped_by=stopped_by,
        trial_log=_trial_log(study),
        cv_folds=folds,
        holdout_model=holdout_model,
    )


def holdout_errors(model: ArimaModel, y: pd.Series | np.ndarray, holdout_weeks: int) -> np.ndarray:
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
