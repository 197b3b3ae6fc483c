"""Fourier terms of the yearly cycle for weekly data (Hyndman & Athanasopoulos, FPP3, "weekly data")."""

from __future__ import annotations

import numpy as np
import pandas as pd

from arima_assets.forecasting._series import EPOCH, WEEK
from arima_assets.forecasting.spec import MAX_FOURIER_K, YEAR_WEEKS

__all__ = ["fourier_terms", "week_numbers"]


def week_numbers(index_or_positions: pd.DatetimeIndex | np.ndarray | pd.Index | list[int]) -> np.ndarray:
    """Week numbers used as the time variable of Fourier terms.

    Dates give weeks since 1970-01-03 (a fixed calendar origin, so terms for later or re-filtered data line
    up with the calendar); integer positions are used as they are.

    Returns:
        float array of shape (n,).
    """
    if isinstance(index_or_positions, pd.DatetimeIndex):
        return (index_or_positions.asi8 - EPOCH.value) / WEEK.value
    t = np.asarray(index_or_positions, dtype=float)
    if t.ndim != 1:
        raise ValueError(f"fourier_terms: positions must be one-dimensional, got shape {t.shape}")
    return t


def fourier_terms(
    index_or_positions: pd.DatetimeIndex | np.ndarray | pd.Index | list[int],
    k: int,
    period: float = YEAR_WEEKS,
) -> np.ndarray:
    """Sine/cosine pairs ``sin(2 pi j t / period), cos(2 pi j t / period)`` for j = 1..k.

    Args:
        index_or_positions: weekly DatetimeIndex, or week positions (see `week_numbers`).
        k: number of harmonic pairs, 0..period/2.
        period: cycle length in weeks (default 365.25/7, the year).

    Returns:
        array of shape (n, 2k), columns sin1, cos1, sin2, cos2, ...
    """
    if not isinstance(k, int | np.integer) or isinstance(k, bool) or k < 0:
        raise ValueError(f"fourier_terms: k must be a non-negative int, got {k!r}")
    if not np.isfinite(period) or period <= 2:
        raise ValueError(f"fourier_terms: period must be a finite number > 2 weeks, got {period!r}")
    if k > min(MAX_FOURIER_K, period / 2):
        raise ValueError(f"fourier_terms: k={k} exceeds period/2 = {period / 2:g} (harmonics would alias)")
    t = week_numbers(index_or_positions)
    out = np.empty((t.size, 2 * k))
    for j in range(1, k + 1):
        angle = 2.0 * np.pi * j * t / period
        out[:, 2 * j - 2] = np.sin(angle)
        out[:, 2 * j - 1] = np.cos(angle)
    return out
