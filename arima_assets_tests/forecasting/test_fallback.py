"""Benchmarks for series the search cannot handle (constant, all-zero, short), and Fourier terms on short windows."""

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest

from arima_assets.forecasting import (
    MEAN_SPEC,
    NAIVE_SPEC,
    ArimaModel,
    FitError,
    ModelSpec,
    TuningSettings,
    fit_benchmark,
    tune_model,
)

from .conftest import make_weekly_sales

FAST = TuningSettings(n_trials=5, patience=10, max_train_weeks=156, cv_folds=2)


def weekly(values: np.ndarray, start: str = "2019-01-05") -> pd.Series:
    return pd.Series(np.asarray(values, dtype=float), index=pd.date_range(start, periods=len(values), freq="W-SAT"))


def assert_same_forecasts(model: ArimaModel, h: int = 13) -> None:
    """A JSON round trip (to_json/from_json, i.e. to_dict/from_dict) gives identical forecasts."""
    reloaded = ArimaModel.from_json(model.to_json())
    assert reloaded.spec == model.spec and reloaded.trained_until == model.trained_until
    pd.testing.assert_frame_equal(reloaded.forecast(h), model.forecast(h))


def assert_fallback_without_search(result) -> None:
    assert result.used_fallback and result.stopped_by == "no_search"
    assert result.trials_run == result.trials_failed == result.trials_pruned == 0
    assert math.isnan(result.cv_mase) and result.trial_log == [] and result.cv_folds == 0
    assert result.model.spec == result.spec


def test_exact_mean_fit_fails_on_an_all_zero_series():
    # why fit_benchmark floors sigma: zero one-step errors give a zero variance and a -inf likelihood
    with pytest.raises(FitError, match="non-finite likelihood"):
        ArimaModel(MEAN_SPEC).fit(weekly(np.zeros(60)))


def test_all_zero_series_gets_the_mean_model_forecasting_zero():
    y = weekly(np.zeros(120))
    result = tune_model(y, FAST)
    assert_fallback_without_search(result)
    assert result.spec == MEAN_SPEC
    assert result.fallback_reason.startswith("MASE is undefined on the constant search window (107 weeks ending")
    assert result.fallback_reason.endswith("; constant series (all 0): mean model ARIMA(0,0,0)+c used")
    forecast = result.model.forecast(13)
    assert (forecast["mean"] == 0.0).all()
    assert np.isfinite(forecast.to_numpy()).all() and forecast.to_numpy().max() < 1e-6
    assert forecast.index[0] == y.index[-1] + pd.Timedelta(weeks=1)
    assert result.model.trained_until == y.index[-1] and result.model.n_obs == 120
    # the holdout is evaluated: zero errors, MASE undefined (NaN), MAPE undefined (all actuals 0)
    assert result.holdout_model is not None and result.holdout_model.spec == MEAN_SPEC
    np.testing.assert_array_equal(result.holdout_errors, np.zeros(13))
    assert result.holdout_metrics["mae"] == 0.0 and result.holdout_metrics["smape"] == 0.0
    assert math.isnan(result.holdout_metrics["mase"]) and math.isnan(result.holdout_metrics["mape"])
    assert_same_forecasts(result.model)
    # refresh on more zero weeks, and one-step errors, like any other model
    longer = weekly(np.zeros(130))
    assert (result.model.refresh(longer).forecast(4)["mean"] == 0.0).all()
    np.testing.assert_array_equal(result.model.one_step_errors(longer), np.zeros(130))


def test_constant_series_forecasts_the_constant():
    result = tune_model(np.full(120, 7.0), FAST)
    assert_fallback_without_search(result)
    assert result.spec == MEAN_SPEC
    assert "constant series (all 7): mean model" in result.fallback_reason
    forecast = result.model.forecast(13)
    np.testing.assert_allclose(forecast.to_numpy(), 7.0, rtol=1e-8)
    assert np.isfinite(forecast.to_numpy()).all()
    assert_same_forecasts(result.model)
    np.testing.assert_allclose(result.model.refresh(np.full(125, 7.0)).forecast(3)["mean"], 7.0, rtol=1e-8)


def test_short_series_gets_the_naive_model():
    y = make_weekly_sales(n=20, seed=5)
    result = tune_model(y, FAST)
    assert_fallback_without_search(result)
    assert result.spec == NAIVE_SPEC
    assert result.fallback_reason.startswith("20 weeks < 52 needed for the search (holdout_weeks=13")
    assert result.fallback_reason.endswith(": naive model ARIMA(0,1,0) used")
    forecast = result.model.forecast(13)
    np.testing.assert_array_equal(forecast["mean"], y.iloc[-1])
    assert np.isfinite(forecast.to_numpy()).all()
    assert (np.diff(forecast["hi-95"]) > 0).all()  # random-walk intervals widen with the horizon
    # holdout: the random walk from the 7 weeks before it
    assert result.holdout_model is not None and result.holdout_model.trained_until == y.index[6]
    np.testing.assert_allclose(result.holdout_errors, y.iloc[7:].to_numpy() - y.iloc[6])
    assert np.isfinite(result.holdout_metrics["mase"])
    assert_same_forecasts(result.model)


def test_short_constant_series_gets_the_mean_model():
    result = tune_model(weekly(np.zeros(20)), FAST)
    assert result.spec == MEAN_SPEC and result.used_fallback
    assert result.fallback_reason.startswith("20 weeks < 52 needed for the search")
    assert result.fallback_reason.endswith("; constant series (all 0): mean model ARIMA(0,0,0)+c used")
    assert (result.model.forecast(13)["mean"] == 0.0).all()


@pytest.mark.parametrize("n", [2, 5, 14])
def test_very_short_series_without_a_holdout(n):
    y = make_weekly_sales(n=n, seed=2)
    result = tune_model(y, FAST)
    assert_fallback_without_search(result)
    assert result.spec == NAIVE_SPEC and result.model.n_obs == n
    assert result.holdout_model is None and result.holdout_metrics == {}
    assert result.holdout_errors.shape == (0,)
    assert f"; holdout not evaluated ({max(n - 13, 0)} weeks before it)" in result.fallback_reason
    np.testing.assert_array_equal(result.model.forecast(4)["mean"], y.iloc[-1])
    assert_same_forecasts(result.model, 4)


def test_constant_search_window_with_sales_in_the_holdout_uses_the_naive_model():
    y = weekly(np.r_[np.zeros(100), np.full(13, 40.0) + np.arange(13) % 3])
    result = tune_model(y, FAST)
    assert result.spec == NAIVE_SPEC and result.used_fallback
    assert result.fallback_reason.startswith("MASE is undefined on the constant search window (100 weeks ending")
    assert result.fallback_reason.endswith("; holdout not evaluated (the 100 weeks before it are constant)")
    assert result.holdout_model is None and result.holdout_errors.shape == (0,)
    np.testing.assert_array_equal(result.model.forecast(13)["mean"], y.iloc[-1])


def test_no_holdout_settings():
    result = tune_model(make_weekly_sales(n=30, seed=4), dataclasses.replace(FAST, holdout_weeks=0))
    assert result.spec == NAIVE_SPEC and result.fallback_reason.startswith("30 weeks < 39 needed for the search")
    assert result.holdout_model is None and result.holdout_metrics == {} and result.holdout_errors.shape == (0,)


def test_invalid_input_still_raises():
    y = make_weekly_sales(n=20)
    with pytest.raises(ValueError, match=r"y: 1 NaN/inf value\(s\), first at date"):
        tune_model(y.where(y.index != y.index[3]), FAST)
    with pytest.raises(ValueError, match=r"y: 1 negative value\(s\)"):
        tune_model(np.r_[np.zeros(10), -2.0], FAST)
    with pytest.raises(ValueError, match="y: series is empty"):
        tune_model(np.empty(0), FAST)
    with pytest.raises(ValueError, match="y has 1 week; needs at least 2"):
        tune_model(np.zeros(1), FAST)


def test_fit_benchmark_matches_the_arima_fit():
    y = make_weekly_sales(n=30, seed=7)
    for spec in (MEAN_SPEC, NAIVE_SPEC):
        closed_form = fit_benchmark(spec, y)
        fitted = ArimaModel(spec).fit(y, regression="ols")
        assert closed_form.param_names == fitted.param_names
        np.testing.assert_allclose(closed_form.forecast(13).to_numpy(), fitted.forecast(13).to_numpy(), rtol=1e-9)
    assert fit_benchmark(MEAN_SPEC, y).params["const"] == pytest.approx(y.mean(), rel=1e-12)


def test_fit_benchmark_edge_cases():
    # a level of exactly 1 / SIGMA_FLOOR gives a scale of exactly 1, which statsmodels' forecast mishandles
    forecast = fit_benchmark(MEAN_SPEC, np.full(30, 1e9)).forecast(3)
    assert np.isfinite(forecast.to_numpy()).all()
    np.testing.assert_allclose(forecast["mean"], 1e9, rtol=1e-8)
    with pytest.raises(ValueError, match="cannot be fitted to a constant series"):
        fit_benchmark(NAIVE_SPEC, np.full(30, 3.0))
    with pytest.raises(ValueError, match="needs at least 2"):
        fit_benchmark(MEAN_SPEC, np.ones(1))
    with pytest.raises(ValueError, match="spec must be ARIMA"):
        fit_benchmark(ModelSpec(), np.arange(30.0))


def test_search_window_under_two_years_has_no_fourier_terms():
    y = make_weekly_sales(n=92, seed=1)  # search window 79 weeks
    warm = ModelSpec(order=(1, 1, 1), fourier_k=3)
    result = tune_model(y, TuningSettings(n_trials=8, patience=10, cv_folds=2), warm_start=warm)
    assert not result.used_fallback and result.spec.fourier_k == 0
    labels = [t["label"] for t in result.trial_log]
    assert labels[0] == "ARIMA(1,1,1)"  # the warm start without its Fourier terms
    assert not any("+F" in label for label in labels)
