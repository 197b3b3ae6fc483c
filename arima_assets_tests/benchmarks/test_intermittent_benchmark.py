import numpy as np
import pytest

from benchmarks.intermittent import HORIZON, _demand_class, score


def test_score_counts_bias_and_comparisons():
    train = np.tile([0.0, 0.0, 2.0], 30)
    sold = {"values": np.r_[train, np.tile([0.0, 0.0, 3.0], 5)[:HORIZON]], "demand_class": "intermittent"}
    quiet = {"values": np.r_[train, np.zeros(HORIZON)], "demand_class": "intermittent"}
    series = {"a/sold": sold, "b/quiet": quiet}
    forecasts = {
        "ours": {"a/sold": [1.0] * HORIZON, "b/quiet": [0.5] * HORIZON},
        "tsb": {"a/sold": [0.5] * HORIZON, "b/quiet": [0.0] * HORIZON},
        "zero": {"a/sold": [0.0] * HORIZON, "b/quiet": [0.0] * HORIZON},
    }
    out = score(series, forecasts)
    assert out["series"] == 2 and out["series_with_test_sales"] == 1
    ours = out["methods"]["ours"]
    # 4 sales of 3 in the test window (12 units), ours forecasts 13: bias +1/12, only the series that sold counts
    assert ours["median_bias"] == pytest.approx(1 / 12)
    assert ours["worse_than_tsb"] == 1 and ours["worse_than_zero"] == 1  # quiet: 0.5 loses to 0; sold: 1.0 wins
    assert out["methods"]["zero"]["flat_zero_after_recent_sales"] == 2
    assert out["methods"]["zero"]["median_bias"] == -1.0


def test_demand_class_matches_the_core():
    from arima_assets.forecasting import classify_demand

    rng = np.random.default_rng(0)
    for p in (0.2, 0.5, 0.9):
        y = (rng.random(100) < p) * rng.integers(1, 9, 100).astype(float)
        assert _demand_class(y) == classify_demand(y).label
