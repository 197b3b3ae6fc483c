"""Planted changes for the replay's "changed" set: level shifts of realistic sizes, a doubled yearly cycle,
a trend reversal.

Each change starts at week `at` (the first week after the data seen at its origin) and lasts to the end of
the series. Level shifts multiply sales from `at` on (x0.4 a collapse, x0.7 a decline, x1.5 and x2.5 a
boost such as a prize or an adaptation); the yearly cycle's amplitude is doubled; a trend is reversed with a
slope of at least 2 % of the level L (mean of the 52 weeks before `at`) per week. Values are clipped at 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["CHANGE_KINDS", "LEVEL_FACTORS", "PlantedChange", "plant_change"]

LEVEL_FACTORS = {"level x0.4": 0.4, "level x0.7": 0.7, "level x1.5": 1.5, "level x2.5": 2.5}
CHANGE_KINDS = (*LEVEL_FACTORS, "yearly cycle x2", "trend reversal")
YEAR = 365.25 / 7
_CYCLE_FACTOR = 2.0  # the fitted yearly cycle doubled ...
_CYCLE_MIN_AMPLITUDE = 0.3  # ... or, if it is weaker than this (peak, x level), a cycle of this amplitude added
_TREND_MIN_CHANGE = 0.02  # reversed slope of at least 2 % of the level per week


@dataclass(frozen=True)
class PlantedChange:
    """What was planted where (JSON-friendly)."""

    kind: str
    at: int
    origin: int
    level: float
    detail: str


def _fourier(t: np.ndarray, k: int) -> np.ndarray:
    angles = 2 * np.pi * np.outer(t, np.arange(1, k + 1)) / YEAR
    return np.hstack([np.sin(angles), np.cos(angles)])


def _yearly_cycle(values: np.ndarray, at: int, k: int = 3) -> np.ndarray:
    """Coefficients of a K=3 yearly Fourier fit (with intercept and slope) on the 3 years before `at`."""
    start = max(0, at - 156)
    t = np.arange(start, at, dtype=float)
    design = np.column_stack([np.ones_like(t), t, _fourier(t, k)])
    coef, *_ = np.linalg.lstsq(design, values[start:at], rcond=None)
    return coef[2:]


def plant_change(
    values: np.ndarray, at: int, origin: int, kind: str, rng: np.random.Generator
) -> tuple[np.ndarray, PlantedChange]:
    """A copy of `values` with a change of `kind` from index `at` on.

    Raises:
        ValueError: unknown kind, or `at` leaves fewer than 52 weeks before it.
    """
    if kind not in CHANGE_KINDS:
        raise ValueError(f"change kind {kind!r} unknown; allowed: {', '.join(CHANGE_KINDS)}")
    if not 52 <= at < len(values):
        raise ValueError(f"change at week {at} needs 52 weeks before it and must lie inside {len(values)} weeks")
    out = np.asarray(values, dtype=float).copy()
    level = float(out[at - 52 : at].mean())
    steps = np.arange(len(out) - at, dtype=float)
    if kind in LEVEL_FACTORS:
        out[at:] *= LEVEL_FACTORS[kind]
        detail = f"sales x{LEVEL_FACTORS[kind]:g} from week {at}"
    elif kind == "yearly cycle x2":
        coef = _yearly_cycle(out, at)
        t = np.arange(at, len(out), dtype=float)
        cycle = _fourier(t, len(coef) // 2) @ coef
        grid = _fourier(np.arange(0, 53, dtype=float), len(coef) // 2) @ coef
        amplitude = float(grid.max() - grid.min()) / 2
        if amplitude >= _CYCLE_MIN_AMPLITUDE * level / _CYCLE_FACTOR:
            out[at:] += (_CYCLE_FACTOR - 1) * cycle
            detail = f"yearly cycle (amplitude {amplitude / level:.0%} of level) x{_CYCLE_FACTOR:g}"
        else:
            phase = rng.uniform(0, 2 * np.pi)
            out[at:] += _CYCLE_MIN_AMPLITUDE * level * np.sin(2 * np.pi * t / YEAR + phase)
            detail = f"weak cycle ({amplitude / level:.0%}): yearly sine of {_CYCLE_MIN_AMPLITUDE:.0%} added"
    else:
        t = np.arange(52, dtype=float)
        slope = float(np.polyfit(t, out[at - 52 : at], 1)[0])
        reversed_slope = -slope
        if abs(reversed_slope) < _TREND_MIN_CHANGE * level:
            sign = -np.sign(slope) if slope != 0 else rng.choice([-1.0, 1.0])
            reversed_slope = sign * _TREND_MIN_CHANGE * level
        out[at:] += (reversed_slope - slope) * steps
        detail = f"slope {slope / level:+.2%} -> {reversed_slope / level:+.2%} of the level per week"
    np.clip(out, 0.0, None, out=out)
    return out, PlantedChange(kind, at, origin, level, detail)
