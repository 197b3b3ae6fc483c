import numpy as np
import pandas as pd
import pytest

from arima_assets.forecasting import YEAR_WEEKS, fourier_terms


def test_shape_values_and_period():
    t = np.arange(10)
    x = fourier_terms(t, 2)
    assert x.shape == (10, 4)
    np.testing.assert_allclose(x[:, 0], np.sin(2 * np.pi * t / YEAR_WEEKS))
    np.testing.assert_allclose(x[:, 3], np.cos(4 * np.pi * t / YEAR_WEEKS))
    assert fourier_terms(t, 0).shape == (10, 0)
    np.testing.assert_allclose(fourier_terms([0, 13], 1, period=52), [[0, 1], [1, 0]], atol=1e-12)


def test_dates_continue_for_future_weeks():
    dates = pd.date_range("2020-01-04", periods=60, freq="W-SAT")
    whole = fourier_terms(dates, 3)
    np.testing.assert_allclose(fourier_terms(dates[40:], 3), whole[40:])
    # one year later (365.25 days on average) the terms repeat up to the 0.18-week phase slip
    assert np.abs(whole[52, :2] - whole[0, :2]).max() < 0.025


@pytest.mark.parametrize(
    ("k", "period", "message"),
    [(-1, YEAR_WEEKS, "k must be a non-negative int"), (27, YEAR_WEEKS, "exceeds period/2"), (1, 1.0, "period")],
)
def test_bad_arguments(k, period, message):
    with pytest.raises(ValueError, match=message):
        fourier_terms(np.arange(5), k, period=period)
