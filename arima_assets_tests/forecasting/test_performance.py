import numpy as np
import pytest

from arima_assets.forecasting import ArimaModel, ModelSpec, assess_performance, mase

from .conftest import make_weekly_sales

SPEC = ModelSpec(order=(1, 1, 1), fourier_k=2)


def _baseline(y, n_train):
    """Holdout MASE as measured at training: fit without the last 13 weeks, forecast them."""
    model = ArimaModel(SPEC).fit(y.iloc[: n_train - 13])
    forecast = model.forecast(13, level=())["mean"].to_numpy()
    return mase(y.iloc[n_train - 13 : n_train].to_numpy(), forecast, y.iloc[: n_train - 13].to_numpy())


def test_stable_series_is_not_degraded():
    y = make_weekly_sales(n=260, seed=4)
    model = ArimaModel(SPEC).fit(y.iloc[:208])
    result = assess_performance(model, y, baseline_mase=_baseline(y, 208), threshold=0.25)
    assert result.n_recent == 52 and not result.degraded
    assert 0.3 < result.recent_mase < 1.5


def test_level_shift_degrades_significantly():
    y = make_weekly_sales(n=260, seed=4, shift_at=210, shift=40.0)
    model = ArimaModel(SPEC).fit(y.iloc[:208])
    result = assess_performance(model, y, baseline_mase=_baseline(y, 208), threshold=0.25)
    assert result.degraded and result.ratio > 2 and result.p_value < 0.01
    assert result.reason.startswith("degraded: MASE")


def test_recent_mase_is_out_of_sample_blocks(weekly_sales):
    model = ArimaModel(SPEC).fit(weekly_sales.iloc[:200])
    result = assess_performance(model, weekly_sales.iloc[:226], baseline_mase=1.0, threshold=0.25)
    errors = []
    for origin in (200, 213):
        forecast = model.refresh(weekly_sales.iloc[:origin]).forecast(13, level=())["mean"].to_numpy()
        errors.append(np.abs(weekly_sales.iloc[origin : origin + 13].to_numpy() - forecast))
    scale = np.mean(np.abs(np.diff(weekly_sales.iloc[:200].to_numpy())))
    assert result.recent_mase == pytest.approx(np.mean(np.concatenate(errors)) / scale)


def test_worse_but_not_significant_on_few_weeks(weekly_sales):
    model = ArimaModel(SPEC).fit(weekly_sales.iloc[:200])
    y = weekly_sales.iloc[:208]
    first = assess_performance(model, y, baseline_mase=10.0, threshold=0.25)
    result = assess_performance(model, y, baseline_mase=first.recent_mase / 1.3, threshold=0.25)
    assert result.ratio == pytest.approx(1.3)
    assert not result.degraded and "not significant" in result.reason and result.p_value >= 0.05


def test_insufficient_data_and_bad_arguments(weekly_sales):
    model = ArimaModel(SPEC).fit(weekly_sales.iloc[:200])
    result = assess_performance(model, weekly_sales.iloc[:203], baseline_mase=1.0, threshold=0.25)
    assert not result.degraded and result.n_recent == 3 and np.isnan(result.ratio)
    assert result.reason == "insufficient new data (3 < 8 weeks after training)"
    with pytest.raises(ValueError, match="baseline_mase must be finite and > 0"):
        assess_performance(model, weekly_sales, baseline_mase=0.0, threshold=0.25)
    with pytest.raises(ValueError, match="horizon must be a positive int"):
        assess_performance(model, weekly_sales, baseline_mase=1.0, threshold=0.25, horizon=0)
