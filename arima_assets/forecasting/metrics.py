"""Point-forecast accuracy metrics (M4 competition definitions).

- ``mape``: percent; weeks with a zero actual are skipped (the ratio is undefined there); if every actual
  is zero the result is NaN (not a number: MAPE does not exist for that window).
- ``smape``: percent, ``200 * |y - f| / (|y| + |f|)`` per week, ``0/0`` counted as 0 (both zero: perfect).
- ``mase``: MAE divided by the in-sample MAE of the m-lag naive forecast on the training series. A zero
  scale (a constant training series) raises ValueError: MASE is undefined there and no substitute scale
  is invented.

- ``rmsse``: RMSE divided by the in-sample root mean squared m-lag naive difference (M5's RMSSE). A squared error
  is minimised by the mean, so unlike MASE (minimised by the median: an all-zero forecast scores well on a series
  that is mostly zero) it does not reward a forecast biased towards the median. A zero scale raises ValueError.

Prediction intervals: ``coverage`` (share of actuals inside [lower, upper]) and ``msis`` (M4's mean scaled
interval score: width plus 2/alpha times the distance of each actual outside the interval, scaled like MASE).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "bias",
    "coverage",
    "forecast_metrics",
    "mae",
    "mape",
    "mase",
    "msis",
    "naive_rms_scale",
    "naive_scale",
    "rmse",
    "rmsse",
    "smape",
]


def _pair(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(y_true, dtype=float).ravel()
    b = np.asarray(y_pred, dtype=float).ravel()
    if a.shape != b.shape:
        raise ValueError(f"y_true has {a.size} values but y_pred has {b.size}")
    if a.size == 0:
        raise ValueError("y_true and y_pred are empty")
    for name, arr in (("y_true", a), ("y_pred", b)):
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} contains NaN/inf at index {int(np.flatnonzero(~np.isfinite(arr))[0])}")
    return a, b


def mae(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean absolute error."""
    a, b = _pair(y_true, y_pred)
    return float(np.mean(np.abs(a - b)))


def rmse(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Root mean squared error."""
    a, b = _pair(y_true, y_pred)
    return float(np.sqrt(np.mean((a - b) ** 2)))


def mape(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean absolute percentage error (percent) over the weeks with a non-zero actual; NaN if there are none."""
    a, b = _pair(y_true, y_pred)
    keep = a != 0
    if not keep.any():
        return float("nan")
    return float(100.0 * np.mean(np.abs(a[keep] - b[keep]) / np.abs(a[keep])))


def smape(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Symmetric MAPE (percent, M4): mean of 200 |y - f| / (|y| + |f|), with 0/0 taken as 0."""
    a, b = _pair(y_true, y_pred)
    denom = np.abs(a) + np.abs(b)
    terms = np.divide(200.0 * np.abs(a - b), denom, out=np.zeros_like(denom), where=denom > 0)
    return float(np.mean(terms))


def naive_scale(y_train: np.ndarray, m: int = 1) -> float:
    """Mean absolute m-lag difference of the training series (the MASE denominator).

    Raises:
        ValueError: fewer than m + 1 values, NaN/inf, m < 1, or a zero scale (constant series).
    """
    if not isinstance(m, int | np.integer) or m < 1:
        raise ValueError(f"mase: m must be a positive int, got {m!r}")
    y = np.asarray(y_train, dtype=float).ravel()
    if y.size <= m:
        raise ValueError(f"mase: y_train needs more than m={m} values, got {y.size}")
    if not np.all(np.isfinite(y)):
        raise ValueError("mase: y_train contains NaN/inf")
    scale = float(np.mean(np.abs(y[m:] - y[:-m])))
    if scale == 0.0:
        raise ValueError(f"mase: y_train is constant at lag m={m} (naive scale 0); MASE is undefined")
    return scale


def mase(y_true: np.ndarray, y_pred: np.ndarray, y_train: np.ndarray, m: int = 1) -> float:
    """Mean absolute scaled error (M4): MAE / naive_scale(y_train, m)."""
    return mae(y_true, y_pred) / naive_scale(y_train, m)


def naive_rms_scale(y_train: np.ndarray, m: int = 1) -> float:
    """Root mean squared m-lag difference of the training series (the RMSSE denominator).

    Raises:
        ValueError: as `naive_scale` (fewer than m + 1 values, NaN/inf, m < 1, constant series).
    """
    naive_scale(y_train, m)  # validates, and raises on a constant series
    y = np.asarray(y_train, dtype=float).ravel()
    return float(np.sqrt(np.mean((y[m:] - y[:-m]) ** 2)))


def rmsse(y_true: np.ndarray, y_pred: np.ndarray, y_train: np.ndarray, m: int = 1) -> float:
    """Root mean squared scaled error (M5): RMSE / naive_rms_scale(y_train, m)."""
    return rmse(y_true, y_pred) / naive_rms_scale(y_train, m)


def bias(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Relative bias of a forecast: sum of (forecast - actual) over sum of actuals (NaN when the actuals sum to 0);
    -0.6 means the forecast sold 60 % fewer units than were sold."""
    a, b = _pair(y_true, y_pred)
    total = float(np.sum(a))
    return float(np.sum(b - a)) / total if total > 0 else float("nan")


def forecast_metrics(y_true: np.ndarray, y_pred: np.ndarray, y_train: np.ndarray, m: int = 1) -> dict[str, float]:
    """All metrics at once: keys mae, rmse, mape, smape, mase, rmsse."""
    return {
        "mae": mae(y_true, y_pred),
        "rmse": rmse(y_true, y_pred),
        "mape": mape(y_true, y_pred),
        "smape": smape(y_true, y_pred),
        "mase": mase(y_true, y_pred, y_train, m),
        "rmsse": rmsse(y_true, y_pred, y_train, m),
    }


def _interval(y_true: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    a, lo = _pair(y_true, lower)
    _, hi = _pair(y_true, upper)
    if np.any(lo > hi):
        raise ValueError(f"lower bound above upper bound at index {int(np.flatnonzero(lo > hi)[0])}")
    return a, lo, hi


def coverage(y_true: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> float:
    """Share of actuals inside the prediction interval [lower, upper] (bounds included)."""
    a, lo, hi = _interval(y_true, lower, upper)
    return float(np.mean((a >= lo) & (a <= hi)))


def msis(
    y_true: np.ndarray, lower: np.ndarray, upper: np.ndarray, y_train: np.ndarray, alpha: float = 0.05, m: int = 1
) -> float:
    """Mean scaled interval score (M4) of a (1 - alpha) interval: mean of (U - L) + 2/alpha (L - y) 1{y < L}
    + 2/alpha (y - U) 1{y > U}, divided by naive_scale(y_train, m). Lower is better."""
    if not 0 < alpha < 1:
        raise ValueError(f"msis: alpha must be in (0, 1), got {alpha!r}")
    a, lo, hi = _interval(y_true, lower, upper)
    penalty = (2.0 / alpha) * (np.clip(lo - a, 0, None) + np.clip(a - hi, 0, None))
    return float(np.mean(hi - lo + penalty)) / naive_scale(y_train, m)
