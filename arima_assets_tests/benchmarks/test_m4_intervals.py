import numpy as np
import pytest

from benchmarks.m4 import LEVELS, score_intervals


def test_interval_scores_are_means_over_series_at_each_level():
    train = {"A": np.array([1.0, 2.0, 3.0]), "B": np.array([5.0, 5.0, 7.0])}  # naive scales 1 and 1
    test = {"A": np.array([2.0, 9.0]), "B": np.array([6.0, 6.0])}
    bounds = {
        "A": {lv: (np.array([1.0, 1.0]), np.array([3.0, 3.0])) for lv in LEVELS},  # 9 is 6 above
        "B": {lv: (np.array([5.0, 5.0]), np.array([7.0, 7.0])) for lv in LEVELS},
    }
    scored = score_intervals(bounds, train, test)
    assert scored["series"] == 2
    assert scored["coverage_80"] == scored["coverage_95"] == pytest.approx((0.5 + 1.0) / 2)
    # width 2 everywhere; A's second week adds 2/alpha * 6
    assert scored["msis_95"] == pytest.approx((2 + (2 + 40 * 6)) / 2 / 2 + 2 / 2)
    assert scored["msis_80"] == pytest.approx((2 + (2 + 10 * 6)) / 2 / 2 + 2 / 2)
