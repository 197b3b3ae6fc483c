"""Rolling-origin cross-validation inside a training window.

`cv_score` fits the spec ONCE, on the data before the first origin, and scores every later origin with
those parameters re-filtered on the data before it (no refit; all origins come from one filter pass, see
`ArimaModel.origin_forecasts`). One fit per spec instead of one per origin, so origins can be dense (every
week by default: 27 overlapping 13-week forecasts for 3 folds instead of 3), which makes the score far less
noisy; every forecast uses only data before its origin and parameters estimated before the first origin
(honestly out of sample). On the 60 longest M4 Weekly series, keeping parameters fixed
for 27 weekly origins scored 0.98x the MASE of refitting every week (DESIGN.md field notes): no accuracy
lost for an n_folds-times cheaper search.

All folds are scaled by the naive (lag-1) error of the whole search window: the same constant for every spec
of a series, so rankings equal those of the mean absolute (MASE) or root mean squared (RMSSE) error, and a
stretch of constant weeks before an early origin cannot make the score undefined. `cv_scores` returns both;
the tuner ranks by RMSSE (a mean forecast minimises it; MASE, minimised by the median, preferred a flat zero on
intermittent series, see tuning.py).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from arima_assets.forecasting._series import as_weekly_series
from arima_assets.forecasting.metrics import naive_rms_scale, naive_scale
from arima_assets.forecasting.model import ArimaModel
from arima_assets.forecasting.spec import ModelSpec

__all__ = ["OBJECTIVES", "cv_score", "cv_scores", "rolling_origin_splits"]

OBJECTIVES = ("mase", "rmsse")


def rolling_origin_splits(n: int, horizon: int, n_folds: int, step: int | None = None) -> list[tuple[int, int]]:
    """Forecast origins for rolling-origin evaluation of a series of length `n`.

    The last fold's test window ends at `n`; earlier folds move back by `step` (default `horizon`, so the
    test windows tile the last ``n_folds * horizon`` weeks).

    Returns:
        list of (train_end, test_end), oldest first: train on ``[0, train_end)``, test ``[train_end, test_end)``.

    Raises:
        ValueError: non-positive arguments, or fewer than 2 training observations before the first origin.
    """
    for name, value in (("n", n), ("horizon", horizon), ("n_folds", n_folds)):
        if not isinstance(value, int | np.integer) or value < 1:
            raise ValueError(f"rolling_origin_splits: {name} must be a positive int, got {value!r}")
    step = horizon if step is None else step
    if not isinstance(step, int | np.integer) or step < 1:
        raise ValueError(f"rolling_origin_splits: step must be a positive int, got {step!r}")
    first_end = n - horizon - (n_folds - 1) * step
    if first_end < 2:
        raise ValueError(
            f"rolling_origin_splits: n={n} is too short for {n_folds} folds of horizon {horizon} and step "
            f"{step} (first training window would have {first_end} observations)"
        )
    return [(first_end + i * step, first_end + i * step + horizon) for i in range(n_folds)]


def cv_score(
    spec: ModelSpec,
    y_train: pd.Series | np.ndarray,
    horizon: int,
    n_folds: int,
    step: int = 1,
    *,
    maxiter: int = 50,
    regression: str = "mle",
    estimator: str = "mle",
    on_fold: Callable[[int, float], None] | None = None,
    objective: str = "mase",
) -> float:
    """The `objective` ("mase" or "rmsse") of `cv_scores` (same arguments); `on_fold` gets its running value."""
    return cv_scores(
        spec,
        y_train,
        horizon,
        n_folds,
        step,
        maxiter=maxiter,
        regression=regression,
        estimator=estimator,
        on_fold=on_fold,
        objective=objective,
    )[objective]


def cv_scores(
    spec: ModelSpec | object,
    y_train: pd.Series | np.ndarray,
    horizon: int,
    n_folds: int,
    step: int = 1,
    *,
    maxiter: int = 50,
    regression: str = "mle",
    estimator: str = "mle",
    on_fold: Callable[[int, float], None] | None = None,
    objective: str = "mase",
) -> dict[str, float]:
    """Scaled errors of `horizon`-week forecasts over rolling origins (see the module docstring).

    The evaluation span is the last ``n_folds * horizon`` weeks of `y_train` (the folds of
    `rolling_origin_splits`); forecast origins lie every `step` weeks from its start to the last origin with
    a full horizon. The spec is fitted once on the weeks before the span.

    Args:
        spec: the model to score: a ModelSpec (ARIMA) or an `IntermittentSpec` (intermittent.py).
        y_train: the search window (never the holdout).
        horizon: weeks forecast from each origin.
        n_folds: number of horizon-long blocks in the evaluation span.
        step: weeks between origins (1: every week; `horizon`: one origin per fold).
        maxiter: optimiser iterations for the single fit.
        regression: "mle" or "ols" estimation of regressor coefficients (see ArimaModel.fit).
        estimator: "mle" or "hannan_rissanen" (see ArimaModel.fit).
        on_fold: called after each fold with (fold index, running `objective` over the origins so far); may
            raise (e.g. optuna.TrialPruned) to stop early.
        objective: which score `on_fold` follows, "mase" or "rmsse".

    Returns:
        {"mase": mean absolute error / naive_scale(y_train), "rmsse": root mean squared error /
        naive_rms_scale(y_train)}, both over every origin and step.

    Raises:
        ValueError: invalid series, too short for the folds or the spec, constant (scale 0), unknown objective.
        FitError: the spec cannot be fitted or filtered.
    """
    if not isinstance(step, int | np.integer) or step < 1:
        raise ValueError(f"cv_score: step must be a positive int, got {step!r}")
    if objective not in OBJECTIVES:
        raise ValueError(f"cv_score: objective must be one of {', '.join(OBJECTIVES)}, got {objective!r}")
    series = as_weekly_series(y_train, "y_train")
    splits = rolling_origin_splits(len(series), horizon, n_folds)
    first_end = splits[0][0]
    if first_end < spec.min_obs:
        raise ValueError(
            f"cv_score: first fold trains on {first_end} observations; {spec.label()} needs {spec.min_obs}"
        )
    scale = naive_scale(series.values)
    rms_scale = naive_rms_scale(series.values)
    fitted = _model_for(spec).fit(
        series.slice(0, first_end), maxiter=maxiter, regression=regression, estimator=estimator, defer_filter=True
    )
    origins = np.arange(first_end, len(series) - horizon + 1, step)
    paths = fitted.origin_forecasts(series, origins, horizon)
    actual = series.values[origins[:, None] + np.arange(horizon)]
    abs_per_origin = np.mean(np.abs(actual - paths), axis=1) / scale
    sq_per_origin = np.mean((actual - paths) ** 2, axis=1) / rms_scale**2
    if on_fold is not None:
        for fold, (train_end, _) in enumerate(splits):
            seen = origins <= train_end + horizon - 1
            if seen.any():
                running = abs_per_origin[seen].mean() if objective == "mase" else np.sqrt(sq_per_origin[seen].mean())
                on_fold(fold, float(running))
    return {"mase": float(abs_per_origin.mean()), "rmsse": float(np.sqrt(sq_per_origin.mean()))}


def _model_for(spec: object):
    """An unfitted model of `spec`: ArimaModel for a ModelSpec, IntermittentModel for an IntermittentSpec."""
    if isinstance(spec, ModelSpec):
        return ArimaModel(spec)
    from arima_assets.forecasting.intermittent import IntermittentModel, IntermittentSpec

    if isinstance(spec, IntermittentSpec):
        return IntermittentModel(spec)
    raise ValueError(f"cv_score: spec must be a ModelSpec or an IntermittentSpec, got {type(spec).__name__}")
