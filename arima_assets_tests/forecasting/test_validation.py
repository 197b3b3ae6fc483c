import numpy as np
import pytest

from arima_assets.forecasting import ArimaModel, ModelSpec, cv_score, mae, rolling_origin_splits
from arima_assets.forecasting.metrics import naive_scale


def test_rolling_origin_splits():
    assert rolling_origin_splits(100, 13, 3) == [(61, 74), (74, 87), (87, 100)]
    assert rolling_origin_splits(100, 13, 2, step=1) == [(86, 99), (87, 100)]
    with pytest.raises(ValueError, match="n=20 is too short for 3 folds of horizon 13"):
        rolling_origin_splits(20, 13, 3)
    with pytest.raises(ValueError, match="horizon must be a positive int"):
        rolling_origin_splits(100, 0, 3)


def test_cv_score_equals_refit_free_rolling_evaluation(weekly_sales):
    spec = ModelSpec(order=(0, 1, 1), fourier_k=1)
    y = weekly_sales.iloc[:200]
    score = cv_score(spec, y, horizon=13, n_folds=2, step=13)
    # by hand: fit before the first origin, re-filter at each origin, average scaled MAE
    model = ArimaModel(spec).fit(y.iloc[:174])
    errors = []
    for origin in (174, 187):
        forecast = model.refresh(y.iloc[:origin]).forecast(13, level=())["mean"]
        errors.append(mae(y.iloc[origin : origin + 13].to_numpy(), forecast.to_numpy()))
    assert score == pytest.approx(np.mean(errors) / naive_scale(y.to_numpy()))


def test_cv_score_dense_origins_and_fold_reports(weekly_sales):
    reports = []
    score = cv_score(
        ModelSpec(order=(1, 1, 1), fourier_k=2), weekly_sales, 13, 3, on_fold=lambda f, v: reports.append((f, v))
    )
    assert [f for f, _ in reports] == [0, 1, 2]
    assert reports[-1][1] == pytest.approx(score)
    assert 0 < score < 2


def test_cv_score_rejects_a_spec_too_big_for_the_first_fold(weekly_sales):
    spec = ModelSpec(order=(0, 1, 1), seasonal_order=(0, 1, 1))
    with pytest.raises(ValueError, match=r"first fold trains on 61 observations; .* needs"):
        cv_score(spec, weekly_sales.iloc[:100], 13, 3)
