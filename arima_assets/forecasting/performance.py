"""Forecast performance of a kept model on the weeks after training, against its holdout MASE.

Protocol: the weeks after ``model.trained_until`` are cut into blocks of `horizon` weeks; each block is
forecast by the kept parameters re-filtered on the data before the block (origins at trained_until,
trained_until + horizon, ...), i.e. the same 1..horizon-step forecasts as the holdout evaluation at training,
honestly out of sample. Absolute errors are scaled by the naive (lag-1) MAE of the training window (the
last ``model.n_obs`` weeks up to trained_until), so ``recent_mase`` is comparable to the baseline holdout
MASE; ``ratio = recent_mase / baseline_mase``.

Degraded when BOTH hold:
- ``ratio > 1 + threshold`` (threshold 0.25: 25 % worse than at training);
- a one-sided t-test of the scaled absolute errors against baseline_mase (H1: mean > baseline) gives
  p < alpha (0.05), with the variance inflated by the lag-1 autocorrelation of the errors (multi-step errors
  from one origin are correlated), so a few noisy weeks do not fire.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from arima_assets.forecasting._series import split_at_training_end
from arima_assets.forecasting.metrics import naive_scale
from arima_assets.forecasting.model import ArimaModel

__all__ = [
    "PerformanceResult",
    "assess_performance",
    "block_errors",
    "insufficient_performance_data",
    "performance_from_errors",
]


@dataclass(frozen=True)
class PerformanceResult:
    """Outcome of `assess_performance` (see the module docstring)."""

    recent_mase: float
    baseline_mase: float
    ratio: float
    threshold: float
    degraded: bool
    n_recent: int
    reason: str
    p_value: float = float("nan")


def _lag1_rho(scaled: np.ndarray) -> float:
    """Lag-1 autocorrelation of `scaled`, clipped to [0, 0.9] (0 for fewer than 3 values or a constant)."""
    centred = scaled - scaled.mean()
    denom = float(np.dot(centred, centred))
    if denom == 0.0 or scaled.size < 3:
        return 0.0
    return min(max(float(np.dot(centred[1:], centred[:-1]) / denom), 0.0), 0.9)


def _mean_variance(scaled: np.ndarray, rho: float | None = None) -> float:
    """Variance of the mean of `scaled`, inflated by a lag-1 autocorrelation: `rho`, or that of `scaled`."""
    n = scaled.size
    centred = scaled - scaled.mean()
    denom = float(np.dot(centred, centred))
    if denom == 0.0 or n < 2:
        return 0.0
    rho = _lag1_rho(scaled) if rho is None else rho
    return denom / (n - 1) / n * (1 + rho) / (1 - rho)


def _one_sided_p(scaled: np.ndarray, baseline: float, baseline_scaled: np.ndarray | None = None) -> float:
    """p-value of H1: mean(scaled) > baseline. With the baseline's own errors (the holdout's), their sampling
    noise counts too (Welch), so a baseline measured on a lucky holdout does not make later weeks look worse, and
    the autocorrelation that inflates both variances is theirs: errors measured under the null. (Estimated on the
    recent errors, it grew with the very change under test: a trend reversal makes the block errors grow with the
    lead time, their lag-1 autocorrelation hit the 0.9 cap and a 3x worse forecast looked insignificant.)"""
    null_rho = _lag1_rho(baseline_scaled) if baseline_scaled is not None and baseline_scaled.size >= 3 else None
    variance = _mean_variance(scaled, null_rho)
    df = scaled.size - 1
    if baseline_scaled is not None and baseline_scaled.size >= 2:
        baseline_variance = _mean_variance(baseline_scaled, null_rho)
        if variance + baseline_variance > 0:
            df = (variance + baseline_variance) ** 2 / (
                variance**2 / max(scaled.size - 1, 1) + baseline_variance**2 / (baseline_scaled.size - 1)
            )
        variance += baseline_variance
    if variance == 0.0:
        return 0.0 if scaled.mean() > baseline else 1.0
    return float(stats.t.sf((scaled.mean() - baseline) / np.sqrt(variance), df=max(df, 1.0)))


def insufficient_performance_data(
    n_recent: int, min_recent_weeks: int, baseline_mase: float, threshold: float
) -> PerformanceResult:
    """The result when fewer than `min_recent_weeks` weeks arrived after training (nothing is computed)."""
    return PerformanceResult(
        recent_mase=float("nan"),
        baseline_mase=float(baseline_mase),
        ratio=float("nan"),
        threshold=float(threshold),
        degraded=False,
        n_recent=n_recent,
        reason=f"insufficient new data ({n_recent} < {min_recent_weeks} weeks after training)",
    )


def _check_arguments(baseline_mase: float, threshold: float, alpha: float) -> None:
    if not (np.isfinite(baseline_mase) and baseline_mase > 0):
        raise ValueError(f"assess_performance: baseline_mase must be finite and > 0, got {baseline_mase!r}")
    if not threshold >= 0:
        raise ValueError(f"assess_performance: threshold must be >= 0, got {threshold!r}")
    if not 0 < alpha < 1:
        raise ValueError(f"assess_performance: alpha must be in (0, 1), got {alpha!r}")


def performance_from_errors(
    block_errors: np.ndarray,
    scale: float,
    baseline_mase: float,
    threshold: float,
    alpha: float = 0.05,
    baseline_scaled: np.ndarray | None = None,
) -> PerformanceResult:
    """The verdict from the out-of-sample forecast errors of the new weeks (actual - forecast, 1..horizon steps
    ahead from the block origins; NaN entries are ignored), scaled by the training window's naive MAE `scale`.

    `baseline_scaled`: the scaled absolute errors the baseline MASE is the mean of (the holdout's), when known:
    the test then also counts the baseline's sampling noise.
    """
    _check_arguments(baseline_mase, threshold, alpha)
    errors = np.asarray(block_errors, dtype=float).ravel()
    errors = errors[np.isfinite(errors)]
    if not (np.isfinite(scale) and scale > 0):
        raise ValueError(f"assess_performance: the training window's naive scale must be > 0, got {scale!r}")
    scaled = np.abs(errors) / scale
    n_recent = scaled.size
    recent_mase = float(scaled.mean())
    ratio = recent_mase / float(baseline_mase)
    p_value = _one_sided_p(scaled, float(baseline_mase), baseline_scaled)
    worse = ratio > 1 + threshold
    significant = p_value < alpha
    degraded = worse and significant
    if degraded:
        reason = f"degraded: MASE {recent_mase:.3f} is {ratio:.2f}x the baseline {baseline_mase:.3f} (p={p_value:.3g})"
    elif worse:
        reason = (
            f"not degraded: MASE ratio {ratio:.2f} > {1 + threshold:.2f} but not significant "
            f"(p={p_value:.3g} >= {alpha:g}, n={n_recent})"
        )
    else:
        reason = f"not degraded: MASE ratio {ratio:.2f} <= {1 + threshold:.2f}"
    return PerformanceResult(
        recent_mase=recent_mase,
        baseline_mase=float(baseline_mase),
        ratio=ratio,
        threshold=float(threshold),
        degraded=degraded,
        n_recent=n_recent,
        reason=reason,
        p_value=p_value,
    )


def assess_performance(
    model: ArimaModel,
    y: pd.Series | np.ndarray,
    baseline_mase: float,
    threshold: float,
    horizon: int = 13,
    min_recent_weeks: int = 8,
    alpha: float = 0.05,
    baseline_scaled: np.ndarray | None = None,
) -> PerformanceResult:
    """Compare the kept model's out-of-sample MASE after training with `baseline_mase`.

    Args:
        model: the kept (champion) model.
        y: the full latest series (training weeks plus the new weeks).
        baseline_mase: the holdout MASE measured at training (> 0).
        threshold: relative degradation allowed (0.25 = 25 % worse).
        horizon: block length (weeks forecast from each origin), as in the holdout.
        min_recent_weeks: fewer new weeks give degraded=False with reason "insufficient new data".
        alpha: significance level of the one-sided test.
        baseline_scaled: the scaled absolute holdout errors behind `baseline_mase`, if known (see
            `performance_from_errors`).

    Raises:
        ValueError: bad arguments, a series not aligned with the model, or a constant training window.
    """
    _check_arguments(baseline_mase, threshold, alpha)
    for name, value in (("horizon", horizon), ("min_recent_weeks", min_recent_weeks)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"assess_performance: {name} must be a positive int, got {value!r}")
    series, n_train = split_at_training_end(model, y)
    n_recent = len(series) - n_train
    if n_recent < min_recent_weeks:
        return insufficient_performance_data(n_recent, min_recent_weeks, baseline_mase, threshold)
    scale = naive_scale(series.values[max(0, n_train - model.n_obs) : n_train])
    state, state_cov = model.refresh(series.slice(0, n_train)).filter_state()
    new = series.slice(n_train, len(series))
    _, blocks = model.continue_filter(state, state_cov, new.to_pandas(), horizon)
    errors = block_errors(new.values, blocks)
    return performance_from_errors(errors, scale, baseline_mase, threshold, alpha, baseline_scaled)


def block_errors(actual: np.ndarray, blocks: np.ndarray) -> np.ndarray:
    """Actual minus block forecasts (`ArimaModel.continue_filter`), flattened in week order without the
    NaN padding past the last week."""
    horizon = blocks.shape[1]
    padded = np.full(blocks.size, np.nan)
    padded[: len(actual)] = actual
    errors = (padded.reshape(-1, horizon) - blocks).ravel()
    return errors[: len(actual)]
