"""Data drift of a kept model: do the weeks after training still behave like the training data?

Statistic (all in standard-normal units, "z"). The kept parameters are re-filtered on the whole series and
the one-step-ahead errors e_t (original scale) are split into the training weeks (up to
``model.trained_until``; the last 104 after the differencing burn-in) and the n recent weeks after it.
With sigma the RMS of the training errors and rho their lag-1 autocorrelation (clipped to [0, 0.9];
variance inflation v = (1 + rho) / (1 - rho)):

- ``z_bias`` = |sum of recent errors| / (sigma * sqrt(n * v)): a tracking signal. A level shift, a trend
  reversal or a changed yearly cycle makes errors of one sign pile up.
- ``z_scale``: the recent mean squared error relative to sigma^2 as a Wilson-Hilferty normal
  approximation of chi-square(n) / n; positive when errors grew (volatility rose, the model lost track).
- ``z_level``: model-free and seasonality-aware. Year-over-year changes D_t = y_t - y_{t-52}: the mean of
  the recent D_t against the mean of the training D_t (last 260 weeks), a two-sample z with a Newey-West
  (Bartlett, bandwidth 52) long-run variance, so a wandering level (autocorrelated D_t) gives a small z.
  It catches a level shift that an adaptive model (e.g. ARIMA(0,1,1)) absorbs within a few weeks, so that
  its errors alone would not show it. NaN (left out of the score) with fewer than 72 training weeks.

``score = max(z_bias, z_scale, z_level)`` and ``drifted = score > threshold``. Each is about N(0, 1) on a
stable series the model describes, so threshold 4 (DEFAULT_DRIFT_THRESHOLD) means "4 standard errors"
(one-sided Gaussian tail 3e-5 each); it leaves room for heavy tails and mild misspecification of real
sales, while a clear shift scores far above it (10-30 in the tests). Lower it (3) for a more sensitive
trigger, raise it (6) for fewer retrains. Measured on synthetic series (seasonal + noise, 30 seeds, 26 new
weeks): stable: no false alarm, max score 3.0; random-walk level: 3 % false alarms; a shift of 5 noise
sd: min score 8.

Because the recent window starts after ``trained_until``, a retrained model starts with an empty window
(no back-to-back triggers, DESIGN.md) and its baseline sigma includes the weeks that triggered it. After a
change was adopted, ``regime_start`` removes the year-over-year changes that straddle it (for a year they
would measure the adopted change itself and fire again).
``details`` also carries ``level_ratio`` (mean of the recent weeks / mean of the last 52 training weeks)
and the Kolmogorov-Smirnov p-value of those levels: descriptive only, not in the score (a yearly cycle
moves them on a stable series).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from arima_assets.forecasting._series import split_at_training_end
from arima_assets.forecasting.model import ArimaModel
from arima_assets.forecasting.spec import SEASONAL_PERIOD

__all__ = [
    "DEFAULT_DRIFT_THRESHOLD",
    "DriftResult",
    "ErrorBaseline",
    "assess_drift",
    "drift_from_errors",
    "insufficient_drift_data",
]

DEFAULT_DRIFT_THRESHOLD = 4.0
_BASELINE_WEEKS = 104
_MIN_BASELINE_WEEKS = 20
_LEVEL_BASELINE_WEEKS = 260


@dataclass(frozen=True)
class DriftResult:
    """Outcome of `assess_drift`: score (z units) vs threshold, and the components in `details`."""

    score: float
    threshold: float
    drifted: bool
    n_recent: int
    details: dict[str, float]
    reason: str


def _lag1_inflation(errors: np.ndarray) -> tuple[float, float]:
    centred = errors - errors.mean()
    denom = float(np.dot(centred, centred))
    rho = float(np.dot(centred[1:], centred[:-1]) / denom) if denom > 0 else 0.0
    rho = min(max(rho, 0.0), 0.9)
    return rho, (1 + rho) / (1 - rho)


def _long_run_variance(x: np.ndarray, bandwidth: int) -> float:
    """Newey-West (Bartlett) long-run variance of `x` (n times the variance of its mean), at least the
    plain variance (negative autocorrelation is not allowed to shrink it)."""
    centred = x - x.mean()
    n = x.size
    total = float(np.dot(centred, centred)) / n
    for lag in range(1, min(bandwidth, n - 1) + 1):
        total += 2 * (1 - lag / (bandwidth + 1)) * float(np.dot(centred[lag:], centred[:-lag])) / n
    return max(total, float(np.dot(centred, centred)) / n)


def _year_over_year_z(values: np.ndarray, n_train: int, regime_start: int | None = None) -> float:
    """Two-sample z of recent vs training year-over-year changes, Newey-West variance (NaN if too short).

    With `regime_start` (location of the first week of an adopted regime), changes that compare a week of
    the new regime with a week before it are left out: they measure the adopted change itself, not drift.
    """
    lag = SEASONAL_PERIOD
    if n_train < lag + _MIN_BASELINE_WEEKS:
        return float("nan")
    changes = values[lag:] - values[:-lag]
    weeks = np.arange(lag, values.size)
    keep = np.ones(changes.size, dtype=bool)
    if regime_start is not None:
        keep = ~((weeks >= regime_start) & (weeks - lag < regime_start))
    train = changes[: n_train - lag][keep[: n_train - lag]][-_LEVEL_BASELINE_WEEKS:]
    recent = changes[n_train - lag :][keep[n_train - lag :]]
    if train.size < _MIN_BASELINE_WEEKS or recent.size == 0:
        return float("nan")
    variance = _long_run_variance(train, bandwidth=min(lag, train.size // 2))
    shift = abs(float(recent.mean() - train.mean()))
    if variance == 0.0:
        return float("inf") if shift > 0 else 0.0
    return float(shift / np.sqrt(variance * (1 / recent.size + 1 / train.size)))


@dataclass(frozen=True)
class ErrorBaseline:
    """The training errors drift is measured against: RMS `sigma`, lag-1 autocorrelation `rho` (clipped to
    [0, 0.9]) and the number of weeks `n` they come from (the last 104 finite one-step training errors)."""

    sigma: float
    rho: float
    n: int

    @classmethod
    def from_errors(cls, training_errors: np.ndarray, where: str = "") -> ErrorBaseline:
        """Baseline of one-step training errors (NaN burn-in entries are skipped).

        Raises:
            ValueError: fewer than 20 usable training weeks.
        """
        errors = np.asarray(training_errors, dtype=float)
        errors = errors[np.isfinite(errors)][-_BASELINE_WEEKS:]
        if errors.size < _MIN_BASELINE_WEEKS:
            raise ValueError(
                f"assess_drift: y holds {errors.size} usable training weeks{where}; needs {_MIN_BASELINE_WEEKS} "
                "(pass the full series, not only the new weeks)"
            )
        rho, _ = _lag1_inflation(errors)
        return cls(sigma=float(np.sqrt(np.mean(errors**2))), rho=rho, n=int(errors.size))


def insufficient_drift_data(n_recent: int, min_recent_weeks: int, threshold: float) -> DriftResult:
    """The result when fewer than `min_recent_weeks` weeks arrived after training (nothing is computed)."""
    return DriftResult(
        score=float("nan"),
        threshold=float(threshold),
        drifted=False,
        n_recent=n_recent,
        details={},
        reason=f"insufficient new data ({n_recent} < {min_recent_weeks} weeks after training)",
    )


def drift_from_errors(
    baseline: ErrorBaseline,
    recent: np.ndarray,
    values: np.ndarray,
    threshold: float = DEFAULT_DRIFT_THRESHOLD,
    regime_start: int | None = None,
) -> DriftResult:
    """The drift score from the one-step errors of the `recent` weeks (the last len(recent) weeks of `values`).

    Args:
        baseline: the training errors' baseline.
        recent: one-step errors (original scale) of the weeks after training.
        values: the whole series (training weeks then the recent weeks), for the year-over-year component.
        threshold: drift when score > threshold.
        regime_start: location in `values` of the first week of an adopted regime (see `_year_over_year_z`).
    """
    if not threshold > 0:
        raise ValueError(f"assess_drift: threshold must be > 0, got {threshold!r}")
    recent = np.asarray(recent, dtype=float)
    values = np.asarray(values, dtype=float)
    n_recent = recent.size
    n_train = values.size - n_recent
    sigma = baseline.sigma
    inflation = (1 + baseline.rho) / (1 - baseline.rho)
    if sigma == 0.0:
        moved = bool(np.any(recent != 0))
        z_bias = z_scale = float("inf") if moved else 0.0
    else:
        z_bias = float(abs(recent.sum()) / (sigma * np.sqrt(n_recent * inflation)))
        ratio = float(np.mean(recent**2) / sigma**2)
        c = 2.0 / (9.0 * n_recent)
        z_scale = float((ratio ** (1 / 3) - (1 - c)) / np.sqrt(c))
    z_level = _year_over_year_z(values, n_train, regime_start)
    components = {"bias (errors of one sign)": z_bias, "scale (larger errors)": z_scale}
    if not np.isnan(z_level):
        components["level (year-over-year change)"] = z_level
    which = max(components, key=components.get)
    score = components[which]

    levels_recent = values[n_train:]
    levels_train = values[max(0, n_train - 52) : n_train]
    mean_train = float(levels_train.mean())
    details = {
        "z_bias": z_bias,
        "z_scale": z_scale,
        "z_level": z_level,
        "sigma_train": sigma,
        "rho_train": baseline.rho,
        "mean_error_recent": float(recent.mean()),
        "rms_error_recent": float(np.sqrt(np.mean(recent**2))),
        "level_ratio": float(levels_recent.mean() / mean_train) if mean_train > 0 else float("nan"),
        "ks_pvalue_levels": float(stats.ks_2samp(levels_recent, levels_train).pvalue),
        "n_baseline": float(baseline.n),
    }
    drifted = score > threshold
    verdict = "drift" if drifted else "no drift"
    reason = f"{verdict}: score {score:.2f} {'>' if drifted else '<='} threshold {threshold:g}, driven by {which}"
    return DriftResult(
        score=float(score),
        threshold=float(threshold),
        drifted=bool(drifted),
        n_recent=n_recent,
        details=details,
        reason=reason,
    )


def assess_drift(
    model: ArimaModel,
    y: pd.Series | np.ndarray,
    threshold: float = DEFAULT_DRIFT_THRESHOLD,
    min_recent_weeks: int = 8,
    regime_start: int | None = None,
) -> DriftResult:
    """Score how far the weeks of `y` after `model.trained_until` drifted from the training data.

    Re-filters the kept parameters on the whole series; the decision engine gets the same numbers from a
    filter checkpoint and the new weeks only (`monitor.track_new_weeks`).

    Args:
        model: the kept (champion) model.
        y: the full latest series (must include the training weeks and extend past them).
        threshold: drift when score > threshold (z units, see the module docstring).
        min_recent_weeks: fewer new weeks give drifted=False with reason "insufficient new data".
        regime_start: location in `y` of the first week of an adopted regime, if any.

    Raises:
        ValueError: invalid series, not aligned with the model, or fewer than 20 training weeks in `y`.
    """
    if not threshold > 0:
        raise ValueError(f"assess_drift: threshold must be > 0, got {threshold!r}")
    if not isinstance(min_recent_weeks, int) or min_recent_weeks < 1:
        raise ValueError(f"assess_drift: min_recent_weeks must be a positive int, got {min_recent_weeks!r}")
    series, n_train = split_at_training_end(model, y)
    n_recent = len(series) - n_train
    if n_recent < min_recent_weeks:
        return insufficient_drift_data(n_recent, min_recent_weeks, threshold)
    errors = model.one_step_errors(series)
    baseline = ErrorBaseline.from_errors(errors[:n_train], f" up to {model.trained_until}")
    return drift_from_errors(baseline, errors[n_train:], series.values, threshold, regime_start)
