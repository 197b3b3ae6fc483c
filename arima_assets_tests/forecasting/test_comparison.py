import numpy as np
import pytest
from scipy import stats

from arima_assets.forecasting import challenger_is_better, diebold_mariano

# absolute losses |a| - |b| = [1, -1, 2, 0, 3]: mean 1, variance 2 (divisor n)
A = np.array([1.0, 2.0, 3.0, 1.0, 4.0])
B = np.array([0.0, 3.0, 1.0, 1.0, 1.0])


def test_known_statistic_h1():
    result = diebold_mariano(A, B, h=1, loss="absolute")
    # DM = 1 / sqrt(2 / 5); HLN factor sqrt((5 + 1 - 2) / 5)
    expected = (1 / np.sqrt(2 / 5)) * np.sqrt(4 / 5)
    assert result.statistic == pytest.approx(expected)
    assert result.p_value == pytest.approx(2 * stats.t.sf(expected, df=4))
    assert result.better is None  # p = 0.23


def test_known_statistic_h2_with_non_positive_long_run_variance():
    # lag-1 autocovariance is -1, so gamma0 + 2 gamma1 = 0: the variance falls back to gamma0
    result = diebold_mariano(A, B, h=2, loss="absolute")
    expected = (1 / np.sqrt(2 / 5)) * np.sqrt((5 + 1 - 4 + 2 / 5) / 5)
    assert result.statistic == pytest.approx(expected)


def test_clear_winner_and_identical_errors():
    rng = np.random.default_rng(0)
    small, large = rng.normal(0, 1, 60), rng.normal(0, 3, 60)
    assert diebold_mariano(small, large).better == "a"
    assert diebold_mariano(large, small).better == "b"
    same = diebold_mariano(small, small)
    assert same.statistic == 0.0 and same.p_value == 1.0 and same.better is None


def test_challenger_is_better():
    rng = np.random.default_rng(1)
    champion, challenger = rng.normal(0, 3, 52), rng.normal(0, 1, 52)
    better, reason = challenger_is_better(champion, challenger)
    assert better and reason.startswith("challenger better")
    better, reason = challenger_is_better(challenger, champion)
    assert not better and "not significantly better" in reason
    better, reason = challenger_is_better(champion, champion)
    assert not better and reason.startswith("identical squared losses on all 52 weeks")
    # zero variance of the loss differential: challenger lower by exactly 1 every week
    better, reason = challenger_is_better(np.full(10, 2.0), np.full(10, 1.0), loss="absolute")
    assert better and "same amount (1)" in reason
    better, reason = challenger_is_better(np.full(10, 1.0), np.full(10, 2.0), loss="absolute")
    assert not better and reason.startswith("champion's absolute loss is lower")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"errors_b": np.ones(4)}, "errors_a has 5 values but errors_b has 4"),
        ({"loss": "huber"}, "loss must be one of squared, absolute"),
        ({"h": 5}, r"h must be an int in 1..4"),
        ({"alpha": 1.5}, r"alpha must be in \(0, 1\)"),
    ],
)
def test_bad_arguments(kwargs, message):
    args = {"errors_a": A, "errors_b": B, **kwargs}
    with pytest.raises(ValueError, match=message):
        diebold_mariano(**args)
