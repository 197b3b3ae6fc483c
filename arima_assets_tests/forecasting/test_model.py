import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.tsa.statespace.sarimax import SARIMAX

from arima_assets.forecasting import ArimaModel, FitError, ModelSpec
from arima_assets.forecasting.model import INTERVAL_DF

FOURIER = ModelSpec(order=(1, 1, 1), fourier_k=2)


def test_fit_forecast_shape_index_and_interval_order(weekly_sales):
    model = ArimaModel(FOURIER).fit(weekly_sales)
    assert model.trained_until == weekly_sales.index[-1]
    assert model.n_obs == len(weekly_sales)
    assert list(model.params) == ["sin1", "cos1", "sin2", "cos2", "ar.L1", "ma.L1"]
    fc = model.forecast(13)
    assert list(fc.columns) == ["mean", "lo-80", "hi-80", "lo-95", "hi-95"]
    expected = pd.date_range(weekly_sales.index[-1] + pd.Timedelta(days=7), periods=13, freq="W-SAT")
    assert fc.index.equals(expected)
    values = fc.to_numpy()
    assert np.all(np.isfinite(values)) and np.all(values >= 0)
    assert np.all(fc["lo-95"] <= fc["lo-80"]) and np.all(fc["lo-80"] <= fc["mean"])
    assert np.all(fc["mean"] <= fc["hi-80"]) and np.all(fc["hi-80"] <= fc["hi-95"])
    # the yearly cycle is carried into the forecast: amplitude of the mean is far from flat
    assert fc["mean"].max() - fc["mean"].min() > 5
    assert list(model.forecast(4, level=(50,)).columns) == ["mean", "lo-50", "hi-50"]


def test_forecast_clips_at_zero():
    y = np.r_[np.full(60, 3.0), np.linspace(3, 0, 20)] + np.tile([0.4, -0.4], 40)
    y = np.clip(y, 0, None)
    model = ArimaModel(ModelSpec(order=(0, 1, 0), trend="t")).fit(y)
    fc = model.forecast(26)
    assert (fc.to_numpy() >= 0).all()
    assert (fc["lo-95"] == 0).any()  # the unclipped band would go negative with this downward drift


def test_numpy_input_gives_integer_positions(weekly_sales):
    y = weekly_sales.to_numpy()
    model = ArimaModel(FOURIER).fit(y[:200])
    assert model.trained_until == 199
    fc = model.forecast(5)
    assert list(fc.index) == [200, 201, 202, 203, 204]
    assert list(model.refresh(y).forecast(2).index) == [260, 261]


def test_log1p_forecast_is_back_transformed(weekly_sales):
    spec = ModelSpec(order=(0, 1, 1), transform="log1p")
    model = ArimaModel(spec).fit(weekly_sales)
    direct = SARIMAX(np.log1p(weekly_sales.to_numpy()), order=(0, 1, 1), concentrate_scale=True)
    reference = direct.filter(np.array(list(model.params.values()))).get_forecast(6)
    fc = model.forecast(6, level=(80,))
    # the mean of the sales: lognormal correction with the log-scale forecast variance (expm1 alone: the median)
    np.testing.assert_allclose(fc["mean"], np.expm1(reference.predicted_mean + reference.se_mean**2 / 2))
    assert np.all(fc["mean"] > np.expm1(reference.predicted_mean))
    # bounds: a variance-matched Student-t(INTERVAL_DF) around the log-scale mean, back-transformed
    t_quantile = stats.t.ppf(0.9, INTERVAL_DF) * np.sqrt((INTERVAL_DF - 2) / INTERVAL_DF)
    upper = reference.predicted_mean + t_quantile * reference.se_mean
    np.testing.assert_allclose(fc["hi-80"], np.expm1(upper))
    gaussian = np.expm1(reference.conf_int(alpha=0.2)[:, 1])
    assert np.all(fc["hi-80"] < gaussian)  # heavier tails: a narrower 80 % interval than the Gaussian one
    assert 20 < fc["mean"].mean() < 100  # original scale, not log scale


def test_log1p_cv_paths_and_one_step_predictions_are_means(weekly_sales):
    model = ArimaModel(ModelSpec(order=(1, 1, 1), transform="log1p")).fit(weekly_sales)
    origins = np.array([150, 200, 240])
    paths = model.origin_forecasts(weekly_sales, origins, 13)
    for row, origin in zip(paths, origins, strict=True):
        served = model.refresh(weekly_sales.iloc[:origin]).forecast(13, level=())["mean"].to_numpy()
        np.testing.assert_allclose(row, served)  # the lognormal mean, at the scale of the weeks before the origin
        median = np.expm1(model.refresh(weekly_sales.iloc[:origin])._filtered().get_forecast(13).predicted_mean)
        assert np.all(row > median)
    # the one-step prediction of week t is the mean of the one-step forecast made from the weeks before t
    one_step = weekly_sales.to_numpy() - model.one_step_errors(weekly_sales)
    for t in (100, 180, 259):
        served = model.refresh(weekly_sales.iloc[:t]).forecast(1, level=())["mean"].to_numpy()
        np.testing.assert_allclose(one_step[t], served[0])


def test_json_round_trip_gives_the_same_forecast_and_is_small(weekly_sales):
    for spec in (FOURIER, ModelSpec(order=(2, 0, 1), fourier_k=3, trend="ct", transform="log1p")):
        model = ArimaModel(spec).fit(weekly_sales)
        text = model.to_json()
        assert len(text.encode()) <= 100_000
        payload = json.loads(text)
        assert payload["format_version"] == 1 and payload["param_names"] == list(model.params)
        assert len(payload["y_tail"]) == len(weekly_sales)
        loaded = ArimaModel.from_json(text)
        assert loaded.spec == spec and loaded.params == model.params
        assert loaded.trained_until == model.trained_until and loaded.n_obs == model.n_obs
        pd.testing.assert_frame_equal(loaded.forecast(13), model.forecast(13), check_freq=False)


def test_refresh_equals_a_fresh_filter_with_the_same_params(weekly_sales):
    spec = ModelSpec(order=(1, 1, 1))
    model = ArimaModel(spec).fit(weekly_sales.iloc[:200])
    refreshed = model.refresh(weekly_sales)
    assert refreshed is not model and refreshed.params == model.params  # no optimisation
    assert refreshed.trained_until == weekly_sales.index[199]
    assert refreshed.filtered_until == weekly_sales.index[-1]
    direct = SARIMAX(weekly_sales.to_numpy(), order=(1, 1, 1), concentrate_scale=True)
    expected = direct.filter(np.array(list(model.params.values()))).forecast(8)
    np.testing.assert_allclose(refreshed.forecast(8, level=())["mean"], expected)
    assert refreshed.forecast(3).index[0] == weekly_sales.index[-1] + pd.Timedelta(days=7)
    # the original model is untouched
    assert model.forecast(1).index[0] == weekly_sales.index[200]


def test_origin_forecasts_match_refresh_then_forecast(weekly_sales):
    model = ArimaModel(ModelSpec(order=(1, 0, 1), fourier_k=2, trend="ct", transform="log1p"))
    model.fit(weekly_sales.iloc[:150])
    origins = np.array([120, 150, 200, 247])
    paths = model.origin_forecasts(weekly_sales, origins, 13)
    for row, origin in zip(paths, origins, strict=True):
        expected = model.refresh(weekly_sales.iloc[:origin]).forecast(13, level=())["mean"].to_numpy()
        np.testing.assert_allclose(row, expected)


def test_one_step_errors_align_with_the_series(weekly_sales):
    model = ArimaModel(FOURIER).fit(weekly_sales.iloc[:200])
    errors = model.one_step_errors(weekly_sales)
    assert errors.shape == (260,)
    assert np.isnan(errors[0]) and np.all(np.isfinite(errors[1:]))
    # one-step errors are close to the noise sd (5) of the synthetic series
    assert 3 < np.sqrt(np.mean(errors[20:] ** 2)) < 8


def test_ols_regression_gives_close_parameters(weekly_sales):
    mle = ArimaModel(FOURIER).fit(weekly_sales)
    ols = ArimaModel(FOURIER).fit(weekly_sales, regression="ols")
    assert list(mle.params) == list(ols.params)
    assert abs(mle.params["sin1"] - ols.params["sin1"]) < 2.0


def test_warm_start_reaches_the_cold_optimum_in_a_few_evaluations(weekly_sales, monkeypatch):
    spec = ModelSpec(order=(1, 1, 1), fourier_k=2)
    cold = ArimaModel(spec).fit(weekly_sales.iloc[:-13])
    calls = []
    real = SARIMAX.loglike
    monkeypatch.setattr(SARIMAX, "loglike", lambda self, *a, **k: calls.append(1) or real(self, *a, **k))
    warm = ArimaModel(spec).fit(weekly_sales, start_params=cold.params)
    warm_calls, calls[:] = len(calls), []
    again = ArimaModel(spec).fit(weekly_sales)
    assert warm_calls < len(calls) / 2
    np.testing.assert_allclose(list(warm.params.values()), list(again.params.values()), rtol=0.05, atol=0.02)
    with pytest.raises(ValueError, match=r"start_params names \['ar.L1'\] do not match the spec's"):
        ArimaModel(spec).fit(weekly_sales, start_params={"ar.L1": 0.1})


@pytest.mark.parametrize(
    ("y", "message"),
    [
        (np.array([]), "y: series is empty"),
        (np.array([1.0, np.nan, 2.0]), r"y: 1 NaN/inf value\(s\), first at position 1"),
        (np.array([1.0, -2.0, 2.0]), r"y: 1 negative value\(s\), first -2 at position 1"),
        (np.ones((3, 2)), "y: must be one-dimensional"),
        (
            pd.Series([1.0, 2.0], index=pd.DatetimeIndex(["2024-01-06", "2024-01-20"])),
            r"consecutive weeks .* found a step of 14 days 00:00:00 after 2024-01-06",
        ),
        (pd.Series([1.0, 2.0], index=["a", "b"]), "index must be a weekly DatetimeIndex or consecutive integers"),
        ("abc", "expected a pd.Series or a 1-d numpy array"),
    ],
)
def test_invalid_series_raise_value_error(y, message):
    with pytest.raises(ValueError, match=message):
        ArimaModel(FOURIER).fit(y)


def test_nan_reports_the_date(weekly_sales):
    y = weekly_sales.copy()
    y.iloc[10] = np.nan
    with pytest.raises(ValueError, match=rf"first at date {y.index[10].date()}"):
        ArimaModel(FOURIER).fit(y)


def test_too_short_for_the_spec():
    spec = ModelSpec(order=(0, 1, 1), seasonal_order=(0, 1, 0))
    with pytest.raises(ValueError, match=rf"y has 40 observations; .*needs at least {spec.min_obs}"):
        ArimaModel(spec).fit(np.arange(40.0))


def test_constant_series_raises_fit_error():
    with pytest.raises(FitError, match="non-finite likelihood"):
        ArimaModel(ModelSpec(order=(1, 1, 1))).fit(np.full(80, 5.0))


def test_unfitted_model_and_bad_arguments(weekly_sales):
    with pytest.raises(RuntimeError, match="not fitted"):
        ArimaModel(FOURIER).forecast(3)
    model = ArimaModel(FOURIER).fit(weekly_sales)
    with pytest.raises(ValueError, match="h must be a positive int"):
        model.forecast(0)
    with pytest.raises(ValueError, match=r"level values must be in \(0, 100\)"):
        model.forecast(3, level=(80, 100))
    with pytest.raises(ValueError, match="regression must be 'mle' or 'ols'"):
        ArimaModel(FOURIER).fit(weekly_sales, regression="gls")
    with pytest.raises(ValueError, match="model was fitted on dates"):
        model.refresh(weekly_sales.to_numpy())
    shifted = weekly_sales.copy()
    shifted.index = shifted.index - pd.Timedelta(days=1)
    with pytest.raises(ValueError, match="not whole weeks from the model origin"):
        model.refresh(shifted)


def test_from_dict_validates(weekly_sales):
    payload = ArimaModel(FOURIER).fit(weekly_sales).to_dict()
    with pytest.raises(ValueError, match=r"format_version 99 is not supported \(expected 1\)"):
        ArimaModel.from_dict({**payload, "format_version": 99})
    with pytest.raises(ValueError, match=r"missing key\(s\) \['y_tail'\]"):
        ArimaModel.from_dict({k: v for k, v in payload.items() if k != "y_tail"})
    with pytest.raises(ValueError, match="do not match the spec"):
        ArimaModel.from_dict({**payload, "spec": ModelSpec(order=(1, 1, 1)).to_dict()})


def test_random_walk_has_no_parameters_and_forecasts_the_last_value(weekly_sales):
    model = ArimaModel(ModelSpec(order=(0, 1, 0))).fit(weekly_sales)
    assert model.params == {}
    fc = model.forecast(5)
    np.testing.assert_allclose(fc["mean"], weekly_sales.iloc[-1])
    width = (fc["hi-95"] - fc["lo-95"]).to_numpy()
    assert np.all(np.diff(width) > 0)  # uncertainty grows with the horizon
    assert ArimaModel.from_json(model.to_json()).forecast(5).equals(fc)


def test_hannan_rissanen_estimates_without_an_optimiser_close_to_mle():
    rng = np.random.default_rng(5)
    e = rng.normal(0, 1, 301)
    y = np.empty(300)
    level = 50.0
    for t in range(300):  # ARIMA(1,1,1): AR 0.5, MA 0.4 on the differences
        level += (0.5 * (y[t - 1] - y[t - 2]) if t >= 2 else 0.0) + e[t + 1] + 0.4 * e[t]
        y[t] = level
    y = y - y.min() + 10
    spec = ModelSpec(order=(1, 1, 1))
    quick = ArimaModel(spec).fit(y, estimator="hannan_rissanen")
    exact = ArimaModel(spec).fit(y)
    assert quick.param_names == exact.param_names == ["ar.L1", "ma.L1"]
    assert quick.params["ar.L1"] == pytest.approx(exact.params["ar.L1"], abs=0.15)
    assert quick.params["ma.L1"] == pytest.approx(exact.params["ma.L1"], abs=0.15)
    assert quick.params != exact.params and quick.converged  # nothing was optimised
    # with regressors: OLS on the differenced data first; the forecast is that of the same filter
    with_drift = ArimaModel(ModelSpec(order=(1, 1, 0), trend="t")).fit(y, estimator="hannan_rissanen")
    assert with_drift.param_names == ["trend", "ar.L1"]
    assert np.all(np.isfinite(with_drift.forecast(13)["mean"]))
    with pytest.raises(ValueError, match="fit: estimator must be one of mle, hannan_rissanen"):
        ArimaModel(spec).fit(y, estimator="css")


def test_deferred_filter_runs_when_first_needed():
    y = np.linspace(10, 60, 120) + np.random.default_rng(2).normal(0, 2, 120)
    deferred = ArimaModel(ModelSpec(order=(0, 1, 1))).fit(y, defer_filter=True)
    assert deferred.is_fitted and deferred._result is None
    eager = ArimaModel(ModelSpec(order=(0, 1, 1))).fit(y)
    pd.testing.assert_frame_equal(deferred.forecast(5), eager.forecast(5))
    assert deferred.sigma2 == eager.sigma2
