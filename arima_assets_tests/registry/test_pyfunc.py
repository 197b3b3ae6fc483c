"""The pyfunc flavour: input validation and the forecast of a real params-only model, then the registered model
as MLflow users load and serve it (signature, input example, the JSON answer of the scoring server)."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow.pyfunc import PythonModelContext

from arima_assets.forecasting import ArimaModel, ModelSpec
from arima_assets.registry import configure_mlflow
from arima_assets.registry._serving_code import SERVING_DISTRIBUTIONS, serving_forecasting_modules
from arima_assets.registry.pyfunc import (
    DEFAULT_HORIZON,
    FORECAST_COLUMNS,
    PAYLOAD_ARTIFACT,
    ArimaForecastModel,
    ModelInputError,
    input_example,
    weekly_series_from_input,
)
from arima_assets_tests.registry.outside import clean_env, predict_outside

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
            r"give a 'week_end' column .* got columns \['week', 'volume'\] and rows numbered from 0",
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
        (
            pd.DataFrame({"volume": [5, 7]}),
            r"the weeks of the sales are missing: give a 'week_end' column .* or index the rows by those dates",
        ),
    ],
)
def test_bad_input_names_what_is_wrong(model_input, message):
    with pytest.raises(ModelInputError, match=message) as raised:
        weekly_series_from_input(model_input)
    assert isinstance(raised.value, ValueError)
    assert raised.value.get_http_status_code() == 400  # a scoring server answers 400 with this message


def test_a_frame_indexed_by_week_strings_needs_no_week_end_column():
    # what MLflow builds from {"dataframe_split": {"index": ["2024-01-06", ...], "columns": ["volume"], ...}}
    frame = pd.DataFrame({"volume": [5, 7, 0]}, index=SATURDAYS[:3].strftime("%Y-%m-%d"))

    assert weekly_series_from_input(frame).tolist() == [5.0, 7.0, 0.0]


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
    assert list(forecast.columns) == ["week_end", *FORECAST_COLUMNS]
    pd.testing.assert_frame_equal(forecast.drop(columns="week_end"), expected, check_freq=False)
    assert forecast.index[0] == pd.Timestamp("2023-04-22")  # the week after the input, not after training
    assert forecast["week_end"].tolist() == ["2023-04-22", "2023-04-29", "2023-05-06", "2023-05-13"]
    assert len(loaded_model.predict(None, weekly_sales)) == DEFAULT_HORIZON


def test_a_series_that_went_through_mlflow_schema_enforcement_is_read_from_its_index(weekly_sales):
    enforced = pd.DataFrame({"volume": weekly_sales})  # what MLflow hands the model for a Series input

    pd.testing.assert_series_equal(weekly_series_from_input(enforced), weekly_series_from_input(weekly_sales))


def test_input_example_is_the_models_own_last_weeks(fitted_payload, weekly_sales):
    example = input_example(fitted_payload, weeks=3)

    assert (
        example.to_dict("list")
        == {
            "week_end": ["2022-11-12", "2022-11-19", "2022-11-26"],  # the last training weeks (the first 100)
            "volume": weekly_sales.iloc[97:100].tolist(),
        }
    )
    assert len(input_example(fitted_payload)) == 52
    positions = {**fitted_payload, "index": {**fitted_payload["index"], "kind": "range", "end": 99}}
    assert input_example(positions) is None
    assert input_example({"y_tail": [1, 2]}) is None


def test_no_input_example_when_the_model_cannot_forecast_from_its_last_weeks(weekly_sales):
    out_of_print = pd.concat([weekly_sales.iloc[:60], weekly_sales.iloc[60:] * 0])  # no sales in the last 60 weeks
    random_walk = ArimaModel(ModelSpec(order=(0, 1, 0))).fit(out_of_print).to_dict()

    assert input_example(random_walk) is None  # its last 52 weeks are all zeros: a non-finite likelihood
    assert input_example(random_walk, weeks=80) is not None


@pytest.mark.parametrize("h", [0, -1, 2.5, "3", True])
def test_predict_rejects_a_bad_horizon(loaded_model, weekly_sales, h):
    with pytest.raises(ValueError, match=r"param 'h' \(forecast horizon in weeks\) must be an integer >= 1"):
        loaded_model.predict(None, weekly_sales, params={"h": h})


def test_an_unloaded_model_pickles_to_a_few_bytes():
    assert len(pickle.dumps(ArimaForecastModel())) < 200


# the registered model, as MLflow users load and serve it -------------------------------------------------------


@pytest.fixture
def champion_uri(registry, isbn, fitted_payload) -> str:
    """``models:/arima-<isbn>@champion`` of a registered params-only model; MLflow's URIs point at the store."""
    run_id = registry.log_isbn_run(
        isbn, parent_run_id=None, payload=fitted_payload, params={}, metrics={}, tags={}, decision={}
    )
    registry.promote_challenger(isbn, run_id, fitted_payload, reason="no model")
    configure_mlflow(registry.tracking_uri)
    return f"models:/arima-{isbn}@champion"


def test_loaded_model_answers_each_week_with_its_week_end_and_has_an_input_schema(champion_uri, weekly_sales):
    model = mlflow.pyfunc.load_model(champion_uri)
    recent = pd.DataFrame({"week_end": weekly_sales.index.strftime("%Y-%m-%d"), "volume": weekly_sales.astype(int)})

    forecast = model.predict(recent, params={"h": 3})

    assert list(forecast.columns) == ["week_end", *FORECAST_COLUMNS]
    assert forecast["week_end"].tolist() == ["2023-04-22", "2023-04-29", "2023-05-06"]  # after the input's last week
    signature = model.metadata.signature
    assert signature.inputs.input_names() == ["week_end", "volume"]
    assert signature.outputs.input_names() == ["week_end", *FORECAST_COLUMNS]
    assert signature.params.params[0].name == "h"
    assert model.predict(weekly_sales)["week_end"].iloc[0] == "2023-04-22"  # a Series indexed by the weeks


def _served(model_uri: str, body: dict | str, tmp_path: Path) -> dict:
    """The JSON answer of ``POST /invocations`` with `body`: MLflow's scoring-server parsing, predict and JSON
    conversion, run in this process (``mlflow models predict`` with the local environment; no server)."""
    request, answer = tmp_path / "request.json", tmp_path / "answer.json"
    request.write_text(body if isinstance(body, str) else json.dumps(body))
    mlflow.models.predict(
        model_uri, input_path=str(request), output_path=str(answer), content_type="json", env_manager="local"
    )
    return json.loads(answer.read_text())


def test_served_json_answer_names_the_week_of_each_forecast(champion_uri, weekly_sales, tmp_path):
    rows = [[week.strftime("%Y-%m-%d"), int(volume)] for week, volume in weekly_sales.items()]
    body = {"dataframe_split": {"columns": ["week_end", "volume"], "data": rows}, "params": {"h": 2}}

    predictions = _served(champion_uri, body, tmp_path)["predictions"]

    assert [row["week_end"] for row in predictions] == ["2023-04-22", "2023-04-29"]
    assert set(predictions[0]) == {"week_end", *FORECAST_COLUMNS}


def test_logged_serving_input_example_is_answered_with_weeks(champion_uri, tmp_path):
    serving_input = mlflow.models.Model.load(champion_uri).get_serving_input(
        mlflow.artifacts.download_artifacts(champion_uri, dst_path=str(tmp_path / "model"))
    )
    assert serving_input is not None, "the model was logged without an input example"

    predictions = _served(champion_uri, serving_input, tmp_path)["predictions"]

    assert len(predictions) == DEFAULT_HORIZON
    assert predictions[0]["week_end"] == "2022-12-03"  # the week after the example: the model's last weeks


def test_the_tuner_is_not_imported_by_the_serving_path():
    code = (
        "import sys; import arima_assets.forecasting, arima_assets.registry.pyfunc; "
        "from arima_assets.forecasting import ArimaModel; "
        "print(sorted(m for m in ('optuna', 'dagster') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)

    assert done.stdout.strip() == "[]"


def test_registered_model_loads_from_its_own_code_without_the_repo_optuna_or_dagster(
    champion_uri, weekly_sales, tmp_path
):
    model_dir = Path(mlflow.artifacts.download_artifacts(champion_uri, dst_path=str(tmp_path / "model")))
    code = model_dir / "code" / "arima_assets"
    requirements = (model_dir / "requirements.txt").read_text().split()
    recent = weekly_sales.iloc[-60:]

    answer = predict_outside(sys.executable, model_dir, recent, 4, tmp_path, blocked=("optuna", "dagster"))

    assert Path(answer["arima_assets_file"]).resolve() == (code / "__init__.py").resolve()  # the logged copy
    assert answer["imported"] == []
    logged = sorted(path.name for path in (code / "forecasting").glob("*.py"))
    assert logged == sorted(["__init__.py", *serving_forecasting_modules()]) and "model.py" in logged
    assert "tuning.py" not in logged and "search_space.py" not in logged
    assert [line.split("==")[0] for line in requirements] == list(SERVING_DISTRIBUTIONS)
    assert all("==" in line for line in requirements), requirements
    expected = mlflow.pyfunc.load_model(champion_uri).predict(
        pd.DataFrame({"week_end": recent.index, "volume": recent.to_numpy()}), params={"h": 4}
    )
    assert answer["forecast"]["week_end"] == expected["week_end"].tolist()
    for column in FORECAST_COLUMNS:
        np.testing.assert_allclose(answer["forecast"][column], expected[column], rtol=1e-12)
    assert clean_env()["PYTHONPATH"] == ""


def test_a_registered_intermittent_model_is_served_from_its_own_code(registry, isbn, tmp_path):
    from arima_assets.forecasting import IntermittentModel, IntermittentSpec, model_from_dict

    rng = np.random.default_rng(3)
    weeks = pd.date_range("2021-01-02", periods=120, freq="W-SAT")
    sales = pd.Series(np.where(rng.random(120) < 0.3, rng.integers(1, 6, 120), 0).astype(float), index=weeks)
    payload = IntermittentModel(IntermittentSpec("tsb")).fit(sales.iloc[:100]).to_dict()
    run_id = registry.log_isbn_run(
        isbn, parent_run_id=None, payload=payload, params={}, metrics={}, tags={}, decision={}
    )
    registry.promote_challenger(isbn, run_id, payload, reason="no model")
    configure_mlflow(registry.tracking_uri)
    uri = f"models:/arima-{isbn}@champion"
    model_dir = Path(mlflow.artifacts.download_artifacts(uri, dst_path=str(tmp_path / "model")))

    answer = predict_outside(sys.executable, model_dir, sales.iloc[-60:], 4, tmp_path, blocked=("optuna", "dagster"))

    assert (model_dir / "code" / "arima_assets" / "forecasting" / "intermittent.py").exists()
    expected = model_from_dict(payload).refresh(sales.iloc[-60:]).forecast(4)
    for column in FORECAST_COLUMNS:
        np.testing.assert_allclose(answer["forecast"][column], expected[column], rtol=1e-12)
