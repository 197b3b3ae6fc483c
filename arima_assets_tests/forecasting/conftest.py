"""Seeded synthetic weekly sales series with a yearly cycle (small real computations, no mocks)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from arima_assets.forecasting import YEAR_WEEKS


def make_weekly_sales(
    n: int = 260,
    seed: int = 0,
    level: float = 50.0,
    amplitude: float = 20.0,
    noise: float = 5.0,
    walk: float = 0.0,
    shift_at: int | None = None,
    shift: float = 0.0,
    start: str = "2018-01-06",
) -> pd.Series:
    """Weekly sales on W-SAT dates: level + yearly sine + optional random walk + noise, rounded, >= 0."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    y = level + amplitude * np.sin(2 * np.pi * t / YEAR_WEEKS) + rng.normal(0, noise, n)
    if walk:
        y += np.cumsum(rng.normal(0, walk, n))
    if shift_at is not None:
        y[shift_at:] += shift
    return pd.Series(np.maximum(y, 0).round(), index=pd.date_range(start, periods=n, freq="W-SAT"), name="sales")


@pytest.fixture
def weekly_sales() -> pd.Series:
    """260 weeks (5 years) of stable seasonal sales."""
    return make_weekly_sales()


@pytest.fixture
def wandering_sales() -> pd.Series:
    """208 weeks of seasonal sales on a random-walk level."""
    return make_weekly_sales(n=208, seed=3, walk=1.5)
