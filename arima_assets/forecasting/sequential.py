"""A sequential break test on a kept model's one-step errors: a large level or scale change seen within 1-2 weeks.

The drift and performance checks wait for `min_evidence_weeks` new weeks because they look for small changes.
A collapse to 40 % or a jump to 250 % of the level is visible in the first one or two one-step errors, so this
test looks at every week after the model's training data, from the first one on.

Statistic. The one-step errors e_t of the weeks after the filter checkpoint (statsmodels' filter of the kept
parameters, ``monitor.track_new_weeks``) are standardized by the training errors' RMS sigma and their lag-1
variance inflation v = (1 + rho) / (1 - rho) (``drift.ErrorBaseline``): z_t = e_t / (sigma * sqrt(v)). Two
CUSUMs run over them from the checkpoint on (Page 1954):

- level (two-sided): S+_t = max(0, S+_{t-1} + z_t - k), S-_t = max(0, S-_{t-1} - z_t - k), reference k = 1.5,
  i.e. tuned for a shift of about 3 sd (a break, not the small changes drift looks for);
- scale (one-sided): the log-likelihood ratio of sd x3 against x1, with each week's z^2 capped at 4^2 so one
  outlier cannot fire it alone: T_t = max(0, T_{t-1} + (1 - 1/9) / 2 * min(z_t^2, 16) - ln 3).

The test fires when S+, S- or T at the latest week exceeds its threshold (named a level change when a level
CUSUM is among them).

Calibration (false alarms per weekly look). The thresholds are the (1 - alpha) quantiles of the statistics
after 26 looks under i.i.d. Student-t(6) errors scaled to unit variance (`calibrate_thresholds`, 400,000
simulated paths; the CUSUMs are near their stationary law after a few looks, so this is the rate at any look):
alpha 0.001 for the two-sided level CUSUM, 0.0005 for the scale CUSUM, at most 0.0015 per look (about 0.08 false
alarms per series-year on a series the model describes). Why t(6): the standardized one-step errors of 138
real fits (60 M4 Weekly series and the sample titles, ARIMA(1,1,1) and ARIMA(1,0,1)+F2, 26 weeks after
training) have kurtosis 4.7, between the normal's 3 and t(6)'s 6; on those 3,588 looks the level CUSUM never
fired and the scale CUSUM fired once. What it takes to fire: one week of |z| > 5.5, two of |z| > 3.5 or three
of |z| > 2.8 in the same direction (level), or two weeks of |z| > 3.6 (scale).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from arima_assets.forecasting.drift import ErrorBaseline

__all__ = [
    "LEVEL_ALPHA",
    "SCALE_ALPHA",
    "LEVEL_REFERENCE",
    "LEVEL_THRESHOLD",
    "SCALE_THRESHOLD",
    "ADOPTION_SD_FACTOR",
    "BreakResult",
    "break_from_errors",
    "calibrate_thresholds",
    "cusum_statistics",
    "standardized_errors",
]

#: False-alarm probabilities per weekly look the thresholds are calibrated at: the two-sided level CUSUM
#: (about half in each direction) and the scale CUSUM.
LEVEL_ALPHA = 0.001
SCALE_ALPHA = 0.0005
#: Reference value k of the level CUSUM (sd units): half the shift it is tuned for.
LEVEL_REFERENCE = 1.5
#: Standard-deviation ratio the scale CUSUM is tuned for, and the cap on each week's |z|.
SCALE_RATIO = 3.0
SCALE_CAP = 4.0
#: During the cool-down after an adopted change the errors are measured in this many training sds: the new
#: model has seen only a few weeks of the new regime, so its errors on the next ones are larger than its training
#: errors (mostly from the old regime) under no new change; only a new large break fires (a x0.4 collapse on a
#: series with 5 % noise is still 6 such sds a week).
ADOPTION_SD_FACTOR = 2.0
#: Thresholds from `calibrate_thresholds()` (seed 0, 400,000 paths, t(6) errors, 26 looks).
LEVEL_THRESHOLD = 4.0
SCALE_THRESHOLD = 9.3

_CALIBRATION_LOOKS = 26
_CALIBRATION_DF = 6


@dataclass(frozen=True)
class BreakResult:
    """Outcome of the break test: the statistic nearest its threshold (relative), which one, and why."""

    fired: bool
    statistic: float
    threshold: float
    component: str
    n_new: int
    reason: str


def standardized_errors(errors: np.ndarray, baseline: ErrorBaseline) -> np.ndarray:
    """One-step errors in long-run sd units of the training errors: e / (sigma * sqrt((1 + rho) / (1 - rho))).

    Raises:
        ValueError: non-finite errors.
    """
    errors = np.asarray(errors, dtype=float)
    if not np.all(np.isfinite(errors)):
        raise ValueError(f"break test: one-step errors must be finite, got {errors.tolist()}")
    scale = baseline.sigma * np.sqrt((1 + baseline.rho) / (1 - baseline.rho))
    if scale == 0.0:
        return np.where(errors == 0, 0.0, np.sign(errors) * np.inf)
    return errors / scale


def _scale_increment(z: np.ndarray) -> np.ndarray:
    ratio2 = SCALE_RATIO**2
    return 0.5 * (1 - 1 / ratio2) * np.minimum(z**2, SCALE_CAP**2) - np.log(SCALE_RATIO)


def cusum_statistics(z: np.ndarray) -> dict[str, np.ndarray]:
    """The CUSUM paths over standardized errors `z` (last axis: weeks): "level up", "level down", "scale up"."""
    z = np.asarray(z, dtype=float)
    up = np.zeros(z.shape[:-1])
    down = np.zeros(z.shape[:-1])
    scale = np.zeros(z.shape[:-1])
    paths: dict[str, list[np.ndarray]] = {"level up": [], "level down": [], "scale up": []}
    increments = _scale_increment(z)
    for t in range(z.shape[-1]):
        up = np.maximum(0.0, up + z[..., t] - LEVEL_REFERENCE)
        down = np.maximum(0.0, down - z[..., t] - LEVEL_REFERENCE)
        scale = np.maximum(0.0, scale + increments[..., t])
        for name, value in (("level up", up), ("level down", down), ("scale up", scale)):
            paths[name].append(value)
    return {name: np.stack(values, axis=-1) if values else np.empty(z.shape) for name, values in paths.items()}


def _thresholds() -> dict[str, float]:
    return {"level up": LEVEL_THRESHOLD, "level down": LEVEL_THRESHOLD, "scale up": SCALE_THRESHOLD}


def break_from_errors(errors: np.ndarray, baseline: ErrorBaseline, sd_factor: float = 1.0) -> BreakResult:
    """The break verdict from the one-step errors of the weeks after training (original scale, week order).

    `sd_factor` widens the sd the errors are measured in (e.g. ADOPTION_SD_FACTOR after an adopted change).

    Raises:
        ValueError: non-finite errors or sd_factor < 1.
    """
    if not sd_factor >= 1.0:
        raise ValueError(f"break test: sd_factor must be >= 1, got {sd_factor!r}")
    z = standardized_errors(errors, baseline) / sd_factor
    n_new = int(z.size)
    if n_new == 0:
        return BreakResult(False, 0.0, LEVEL_THRESHOLD, "level", 0, "no new week after training yet")
    paths = cusum_statistics(z)
    thresholds = _thresholds()
    last = {name: float(path[-1]) for name, path in paths.items()}
    fired_levels = [name for name in ("level up", "level down") if last[name] > thresholds[name]]
    candidates = fired_levels or list(last)  # errors of one sign that fire both: a level change
    component = max(candidates, key=lambda name: last[name] / thresholds[name])
    statistic, threshold = last[component], thresholds[component]
    fired = statistic > threshold
    recent = ", ".join(f"{v:+.1f}" for v in z[-3:])
    if fired:
        reason = (
            f"break ({component}): CUSUM {statistic:.1f} > threshold {threshold:g} after {n_new} new week(s); "
            f"last one-step errors {recent} sd"
        )
    else:
        reason = (
            f"no break: largest CUSUM ({component}) {statistic:.1f} <= threshold {threshold:g} "
            f"over {n_new} new week(s); last one-step errors {recent} sd"
        )
    return BreakResult(fired, statistic, threshold, component, n_new, reason)


def calibrate_thresholds(
    level_alpha: float = LEVEL_ALPHA,
    scale_alpha: float = SCALE_ALPHA,
    n_paths: int = 400_000,
    looks: int = _CALIBRATION_LOOKS,
    seed: int = 0,
) -> tuple[float, float]:
    """(level, scale) thresholds: the (1 - alpha) quantiles of the two-sided level CUSUM (max of up and down,
    so each direction gets about level_alpha / 2) and of the scale CUSUM after `looks` weeks of i.i.d.
    Student-t(6) errors with unit variance.

    Raises:
        ValueError: an alpha outside (0, 0.5) or fewer than 10 / alpha paths.
    """
    for name, alpha in (("level_alpha", level_alpha), ("scale_alpha", scale_alpha)):
        if not 0 < alpha < 0.5:
            raise ValueError(f"calibrate_thresholds: {name} must be in (0, 0.5), got {alpha!r}")
        if n_paths * alpha < 10:
            raise ValueError(f"calibrate_thresholds: {n_paths} paths are too few for {name} {alpha:g}")
    rng = np.random.default_rng(seed)
    df = _CALIBRATION_DF
    z = rng.standard_t(df, size=(n_paths, looks)) / np.sqrt(df / (df - 2))
    paths = cusum_statistics(z)
    level = np.maximum(paths["level up"][:, -1], paths["level down"][:, -1])
    scale = paths["scale up"][:, -1]
    return float(np.quantile(level, 1 - level_alpha)), float(np.quantile(scale, 1 - scale_alpha))
