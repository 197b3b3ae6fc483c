"""Diebold-Mariano test of equal forecast accuracy, with the Harvey-Leybourne-Newbold (1997) correction.

For errors a_t, b_t and loss L, d_t = L(a_t) - L(b_t). The long-run variance of mean(d) uses the
autocovariances up to lag h-1 (h = forecast horizon); if that sum is not positive, lag 0 alone is used.
DM = mean(d) / sqrt(var); HLN multiplies it by sqrt((n + 1 - 2h + h(h-1)/n) / n) and compares it with a
t distribution with n-1 degrees of freedom. A positive statistic means model a has the larger loss.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

__all__ = ["LOSSES", "DMResult", "challenger_is_better", "diebold_mariano"]

LOSSES = ("squared", "absolute")


@dataclass(frozen=True)
class DMResult:
    """statistic (HLN-corrected; > 0: a has larger loss), two-sided p_value, better: "a" | "b" | None."""

    statistic: float
    p_value: float
    better: str | None


def _loss_differential(errors_a: np.ndarray, errors_b: np.ndarray, loss: str) -> np.ndarray:
    a = np.asarray(errors_a, dtype=float).ravel()
    b = np.asarray(errors_b, dtype=float).ravel()
    if a.shape != b.shape:
        raise ValueError(f"diebold_mariano: errors_a has {a.size} values but errors_b has {b.size}")
    if a.size < 2:
        raise ValueError(f"diebold_mariano: need at least 2 paired errors, got {a.size}")
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        raise ValueError("diebold_mariano: errors contain NaN/inf")
    if loss not in LOSSES:
        raise ValueError(f"diebold_mariano: loss must be one of {', '.join(LOSSES)}; got {loss!r}")
    if loss == "squared":
        return a**2 - b**2
    return np.abs(a) - np.abs(b)


def _hln_statistic(d: np.ndarray, h: int) -> float:
    """HLN-corrected DM statistic; +-inf for a constant non-zero differential, 0 for all zeros."""
    n = d.size
    if not isinstance(h, int | np.integer) or not 1 <= h < n:
        raise ValueError(f"diebold_mariano: h must be an int in 1..{n - 1} (n={n}), got {h!r}")
    mean = float(d.mean())
    centred = d - mean
    gamma = [float(np.dot(centred[k:], centred[: n - k]) / n) for k in range(h)]
    long_run = gamma[0] + 2 * sum(gamma[1:])
    if long_run <= 0:
        long_run = gamma[0]
    if long_run <= 1e-300:
        return 0.0 if mean == 0 else float(np.sign(mean) * np.inf)
    dm = mean / np.sqrt(long_run / n)
    return float(dm * np.sqrt((n + 1 - 2 * h + h * (h - 1) / n) / n))


def diebold_mariano(
    errors_a: np.ndarray, errors_b: np.ndarray, h: int = 1, loss: str = "squared", alpha: float = 0.05
) -> DMResult:
    """Two-sided test of equal accuracy of two forecasts of the same weeks.

    Args:
        errors_a, errors_b: paired forecast errors (actual - forecast), same length n >= 2.
        h: forecast horizon (lags 0..h-1 in the variance), 1 <= h < n.
        loss: "squared" or "absolute".
        alpha: significance level deciding `better`.

    Returns:
        DMResult; `better` is the model with the lower mean loss when p_value < alpha, else None.
    """
    if not 0 < alpha < 1:
        raise ValueError(f"diebold_mariano: alpha must be in (0, 1), got {alpha!r}")
    d = _loss_differential(errors_a, errors_b, loss)
    statistic = _hln_statistic(d, h)
    p_value = float(2 * stats.t.sf(abs(statistic), df=d.size - 1))
    better = None
    if p_value < alpha:
        better = "b" if statistic > 0 else "a"
    return DMResult(statistic=statistic, p_value=p_value, better=better)


def challenger_is_better(
    champion_errors: np.ndarray,
    challenger_errors: np.ndarray,
    alpha: float = 0.05,
    h: int = 1,
    loss: str = "squared",
    names: tuple[str, str] = ("champion", "challenger"),
) -> tuple[bool, str]:
    """One-sided DM test: is the challenger significantly more accurate than the champion?

    Args:
        names: how the reason calls the two models (the burden of proof lies on the second).

    Returns:
        (True when the challenger's loss is lower with one-sided p < alpha, a reason naming the numbers).
    """
    if not 0 < alpha < 1:
        raise ValueError(f"challenger_is_better: alpha must be in (0, 1), got {alpha!r}")
    first, second = names
    d = _loss_differential(champion_errors, challenger_errors, loss)  # > 0: challenger better
    if np.all(d == 0):
        return False, f"identical {loss} losses on all {d.size} weeks: keep the {first}"
    statistic = _hln_statistic(d, h)
    if np.isinf(statistic):
        if statistic > 0:
            return True, f"{second}'s {loss} loss is lower by the same amount ({d[0]:.4g}) in every week"
        return False, f"{first}'s {loss} loss is lower by the same amount ({-d[0]:.4g}) in every week"
    p_value = float(stats.t.sf(statistic, df=d.size - 1))
    mean_gain = float(d.mean())
    if p_value < alpha:
        return True, (
            f"{second} better: mean {loss} loss lower by {mean_gain:.4g} (DM={statistic:.2f}, "
            f"one-sided p={p_value:.3g} < {alpha:g}, n={d.size})"
        )
    return False, (
        f"{second} not significantly better: mean {loss} loss difference {mean_gain:.4g} (DM={statistic:.2f}, "
        f"one-sided p={p_value:.3g} >= {alpha:g}, n={d.size})"
    )
