"""Benchmark models for series the search cannot handle: constant (or all-zero) series and short series.

`tune_model` scores specs by MASE, which is undefined on a constant search window (its naive scale is 0), and
needs `TuningSettings.min_weeks` weeks for a holdout and one CV fold. Instead of failing such an ISBN on every
run, it returns one of two benchmarks, flagged ``used_fallback=True`` with a ``fallback_reason``:

- `MEAN_SPEC`, ``ARIMA(0,0,0)+c``: the level is the mean; used when the data the model is fitted on are
  constant. The forecast is that constant (0 for an all-zero series).
- `NAIVE_SPEC`, ``ARIMA(0,1,0)``: the random walk (forecast = last week); used otherwise, i.e. for a short,
  non-constant series (and a constant search window followed by non-constant holdout weeks). It has no
  parameters to estimate from a few weeks, follows the level of a new title week by week (a mean over a launch
  spike would not), its intervals widen with the horizon as they should with little data, and it is the M4
  Naive benchmark the search itself always evaluates (an anchor), so a series switches from it to the search
  once it is long enough.

Rule (`benchmark_spec`): MEAN_SPEC if the fitting data are constant, else NAIVE_SPEC. A constant series cannot
be a random walk: its one-step errors are all 0, the concentrated innovation variance is 0 and the likelihood
-inf, so SARIMAX refuses to filter it (`FitError`). The same happens to the mean model fitted exactly
(``ArimaModel(MEAN_SPEC).fit`` fails on an all-zero series; on another constant it only works when rounding
leaves a tiny residual). `fit_benchmark` therefore sets the constant in closed form and, for a constant
series, puts it `SIGMA_FLOOR` x max(1, level) *below* the level: every one-step error is then that floor, the
variance is positive, and the model fits, serialises, refreshes and forecasts like any other. Forecasts are the
level minus the floor, clipped at 0 (exactly 0 for an all-zero series), with finite, near-zero-width intervals.

Both benchmarks are built from closed-form parameters (the Gaussian MLE: the mean for ARIMA(0,0,0)+c, none for
ARIMA(0,1,0)), so they also work below `ModelSpec.min_obs` (10), down to `MIN_BENCHMARK_WEEKS` (2) weeks. On a
non-constant series of >= 10 weeks the result equals ``ArimaModel(spec).fit(y, regression="ols")``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from arima_assets.forecasting._series import WeeklySeries, as_weekly_series
from arima_assets.forecasting.model import FORMAT_VERSION, MAX_FILTER_WEEKS, ArimaModel
from arima_assets.forecasting.spec import ModelSpec

__all__ = [
    "BENCHMARK_SPECS",
    "MEAN_SPEC",
    "MIN_BENCHMARK_WEEKS",
    "NAIVE_SPEC",
    "SIGMA_FLOOR",
    "benchmark_spec",
    "fit_benchmark",
    "is_constant",
]

MEAN_SPEC = ModelSpec(order=(0, 0, 0), trend="c")
"""Mean model ARIMA(0,0,0)+c: forecast = the mean level (the constant of a constant series)."""
NAIVE_SPEC = ModelSpec(order=(0, 1, 0))
"""Random walk ARIMA(0,1,0): forecast = the last week (M4 Naive)."""
BENCHMARK_SPECS = (NAIVE_SPEC,)
"""The benchmarks `tune_model` scores by its CV and serves when they beat every searched spec there: the random walk
only (the seasonal naive ARIMA(0,0,0)(0,1,0)[52] and the mean model were tried too and left out: see tuning.py)."""
MIN_BENCHMARK_WEEKS = 2
"""Fewest weeks a benchmark is fitted on (a random walk needs one difference)."""
SIGMA_FLOOR = 1e-9
"""Innovation standard deviation of the mean model on a constant series, relative to max(1, level)."""


def is_constant(y: pd.Series | np.ndarray | WeeklySeries) -> bool:
    """True when every value of `y` equals the first (MASE is undefined: the naive scale is 0)."""
    values = as_weekly_series(y).values
    return bool(np.all(values == values[0]))


def benchmark_spec(y: pd.Series | np.ndarray | WeeklySeries) -> ModelSpec:
    """The benchmark for the fitting data `y`: MEAN_SPEC if it is constant, else NAIVE_SPEC (module docstring)."""
    return MEAN_SPEC if is_constant(y) else NAIVE_SPEC


def _json_where(value: pd.Timestamp | int) -> str | int:
    return value.isoformat() if isinstance(value, pd.Timestamp) else int(value)


def fit_benchmark(spec: ModelSpec, y: pd.Series | np.ndarray | WeeklySeries) -> ArimaModel:
    """MEAN_SPEC or NAIVE_SPEC fitted to `y` (its last MAX_FILTER_WEEKS weeks) with closed-form parameters.

    The mean model's constant is the mean of `y`, or, when `y` is constant, the level minus
    ``SIGMA_FLOOR * max(1, level)`` (module docstring). The model is built through `ArimaModel.from_dict`, so it
    is filtered and validated like a reloaded model.

    Raises:
        ValueError: `spec` is not a benchmark spec, invalid `y`, fewer than MIN_BENCHMARK_WEEKS weeks, or the
            random walk asked for on a constant series (use `benchmark_spec`).
    """
    if spec not in (MEAN_SPEC, NAIVE_SPEC):
        raise ValueError(f"fit_benchmark: spec must be {MEAN_SPEC.label()} or {NAIVE_SPEC.label()}, got {spec.label()}")
    series = as_weekly_series(y).tail(MAX_FILTER_WEEKS)
    if len(series) < MIN_BENCHMARK_WEEKS:
        raise ValueError(
            f"fit_benchmark: y has {len(series)} week(s); {spec.label()} needs at least {MIN_BENCHMARK_WEEKS}"
        )
    constant = is_constant(series)
    if spec == NAIVE_SPEC:
        if constant:
            raise ValueError(
                f"fit_benchmark: {spec.label()} cannot be fitted to a constant series (zero innovation variance); "
                f"use {MEAN_SPEC.label()}"
            )
        return ArimaModel.from_dict(_state(spec, series, []))
    level = float(np.mean(series.values))
    if not constant:
        return ArimaModel.from_dict(_state(spec, series, [level]))
    floor = SIGMA_FLOOR * max(1.0, abs(level))
    model = ArimaModel.from_dict(_state(spec, series, [level - floor]))
    if model.sigma2 == 1.0:
        # statsmodels' forecast treats a concentrated scale of exactly 1 as "not estimated" (NaN intervals);
        # the floor hits it for a level of exactly 1 / SIGMA_FLOOR
        model = ArimaModel.from_dict(_state(spec, series, [level - 2 * floor]))
    return model


def _state(spec: ModelSpec, series: WeeklySeries, params: list[float]) -> dict:
    """`ArimaModel.to_dict` form of `spec` with `params` filtered on `series` (from its first week)."""
    return {
        "format_version": FORMAT_VERSION,
        "spec": spec.to_dict(),
        "params": params,
        "param_names": spec.exog_names,
        "trained_until": _json_where(series.last),
        "n_obs": len(series),
        "converged": True,
        "index": {
            "kind": series.kind,
            "origin": _json_where(series.first),
            "start": _json_where(series.first),
            "end": _json_where(series.last),
        },
        "y_tail": series.values.tolist(),
    }
