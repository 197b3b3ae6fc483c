import json

import pytest

from arima_assets.forecasting import FALLBACK_SPEC, ModelSpec


def test_defaults_label_family_and_round_trip():
    spec = ModelSpec(order=(1, 1, 1), fourier_k=2, transform="log1p")
    assert spec.label() == "ARIMA(1,1,1)+F2[log1p]"
    assert spec.family == "fourier"
    assert ModelSpec().family == "arima"
    seasonal = ModelSpec(order=(0, 1, 1), seasonal_order=(0, 1, 1))
    assert seasonal.family == "seasonal"
    assert seasonal.label() == "ARIMA(0,1,1)(0,1,1)[52]"
    assert ModelSpec(order=(2, 0, 1), trend="ct").label() == "ARIMA(2,0,1)+ct"
    for s in (spec, seasonal, FALLBACK_SPEC):
        assert ModelSpec.from_dict(json.loads(json.dumps(s.to_dict()))) == s


def test_exog_names_and_min_obs():
    spec = ModelSpec(order=(1, 0, 1), fourier_k=2, trend="ct")
    assert spec.exog_names == ["const", "trend", "sin1", "cos1", "sin2", "cos2"]
    assert spec.min_obs >= 10
    assert ModelSpec(order=(0, 1, 1), seasonal_order=(0, 1, 0)).min_obs > 52


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"order": (1, 1)}, r"ModelSpec.order must be a tuple of 3 ints"),
        ({"order": (6, 1, 1)}, r"ModelSpec.order: first entry 6 outside the allowed range 0..5"),
        ({"order": (1, 3, 1)}, r"ModelSpec.order: second entry 3 outside the allowed range 0..2"),
        ({"seasonal_order": (0, 2, 0)}, r"ModelSpec.seasonal_order: second entry 2 outside"),
        ({"fourier_k": 27}, r"ModelSpec.fourier_k must be an int in 0..26"),
        ({"fourier_k": 1.5}, r"ModelSpec.fourier_k must be an int"),
        ({"trend": "linear"}, r"ModelSpec.trend must be one of n, c, t, ct"),
        ({"transform": "log"}, r"ModelSpec.transform must be one of none, log1p"),
        ({"order": (1, 1, 1), "trend": "c"}, r"trend='c' is removed by differencing \(d \+ D = 1\); allowed.*n, t"),
        ({"order": (0, 1, 1), "trend": "ct"}, r"trend='ct' is removed by differencing"),
        ({"order": (0, 2, 1), "trend": "t"}, r"trend='t' is removed by differencing \(d \+ D = 2\); allowed.*: n$"),
        ({"order": (0, 1, 1), "seasonal_order": (0, 1, 0), "trend": "t"}, r"d \+ D = 2"),
    ],
)
def test_validation_names_field_and_allowed_values(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ModelSpec(**kwargs)


def test_from_dict_rejects_unknown_keys():
    with pytest.raises(ValueError, match=r"unknown key\(s\) \['period'\]"):
        ModelSpec.from_dict({"order": [1, 1, 1], "period": 52})


def test_fallback_is_simple_and_valid():
    assert FALLBACK_SPEC.order == (0, 1, 1)
    assert FALLBACK_SPEC.fourier_k == 0 and FALLBACK_SPEC.seasonal_order == (0, 0, 0)
