"""The pyfunc flavour: input validation and the forecast of a real params-only model (no MLflow store)."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pandas as pd
import pytest
from mlflow.pyfunc import PythonModelContext

from arima_assets.forecasting import ArimaModel
from arima_assets.registry.pyfunc import (
    DEFAULT_HORIZON,
    PAYLOAD_ARTIFACT,
    ArimaForecastModel,
    weekly_series_from_input,
)

SATURDAYS = pd.date_range("2024-01-06", periods=6, freq="W-SAT")


def _frame(weeks=SATURDAYS, volume=(5, 7, 0, 3, 9, 4)) -> pd.DataFrame:
    return pd.DataFrame({"week_end": weeks, "volume": list(volume)})


def test_frame_input_is_sorted_onto_a_complete_weekly_index_with_missing_weeks_as_zero():
    shuffled = _frame().drop(index=2).sample(frac=1.0, random_state=1)
    shuffled["week_end"] = shuffled["week_end"].dt.strftime("%Y-%m-%d")  # as it arrives through JSON serving

    series = weekly_series_from_input(shuffled)

    assert series.index.freqstr == "W-SAT"
    assert list(series.index) == list(SATURDAYS)
    assert series.tolist() == [5.0, 7.0, 0.0, 3.0, 9.0, 4.0]
    assert series.name == "volume"


def test_series_input_is_accepted():
    series = weekly_series_from_input(pd.Series([1, 2, 3], index=SATURDAYS[:3]))
    assert series.tolist() == [1.0, 2.0, 3.0]
    assert series.index.freqstr == "W-SAT"


@pytest.mark.parametrize(
    ("model_input", "message"),
    [
        (
            pd.DataFrame({"week": SATURDAYS, "volume": 1}),
            r"needs columns 'week_end' and 'volume'; missing \['week_end'\]",
        ),
        (
            _frame(weeks=SATURDAYS + pd.Timedelta(days=1)),
            r"must be Saturdays \(W-SAT\); row 0 is 2024-01-07 \(Sunday\)",
        ),
        (_frame(weeks=[*SATURDAYS[:5], SATURDAYS[1]]), r"week 2024-01-13 appears more than once \(row 5\)"),
        (_frame(weeks=[*SATURDAYS[:5], "not a date"]), r"column 'week_end': week-ending dates must be dates"),
        (_frame(volume=(5, 7, None, 3, 9, 4)), r"column 'volume': volume at row 2 \(2024-01-20\) is missing"),
        (_frame(volume=(5, 7, "lots", 3, 9, 4)), r"volume at row 2 .* is missing or not a number: 'lots'"),
        (_frame().iloc[:0], r"model input is empty"),
        (np.arange(6.0), r"model input must be a pandas DataFrame .* got ndarray"),
        (pd.Series([1.0, 2.0], index=[0, 1]), r"series index: week-ending dates must be Saturdays"),
    ],
)
def test_bad_input_names_what_is_wrong(model_input, message):
    with pytest.raises(ValueError, match=message):
        weekly_series_from_input(model_input)


@pytest.fixture
def loaded_model(tmp_path, fitted_payload) -> ArimaForecastModel:
    path = tmp_path / "arima_model.json"
    path.write_text(json.dumps(fitted_payload))
    model = ArimaForecastModel()
    model.load_context(PythonModelContext(artifacts={PAYLOAD_ARTIFACT: str(path)}, model_config={}))
    return model


def test_predict_refreshes_the_kept_params_on_the_input_and_forecasts_h_weeks(
    loaded_model, fitted_payload, weekly_sales
):

    frame = pd.DataFrame({"week_end": weekly_sales.index, "volume": weekly_sales.to_numpy()})

    forecast = loaded_model.predict(None, frame, params={"h": 4})

    expected = ArimaModel.from_dict(fitted_payload).refresh(weekly_sales).forecast(4)
    pd.testing.assert_frame_equal(forecast, expected, check_freq=False)
    assert forecast.index[0] == pd.Timestamp("2023-04-22")  # the week after the input, not after training
    assert len(loaded_model.predict(None, weekly_sales)) == DEFAULT_HORIZON


@pytest.mark.parametrize("h", [0, -1, 2.5, "3", True])
def test_predict_rejects_a_bad_horizon(loaded_model, weekly_sales, h):
    with pytest.raises(ValueError, match=r"param 'h' \(forecast horizon in weeks\) must be an integer >= 1"):
        loaded_model.predict(None, weekly_sales, params={"h": h})


def test_an_unloaded_model_pickles_to_a_few_bytes():
    assert len(pickle.dumps(ArimaForecastModel())) < 200
