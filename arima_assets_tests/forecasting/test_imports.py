"""The numeric core imports neither Dagster nor MLflow (nor Optuna until the tuner is used); the settings, the
decision engine, training, the store and the record of truth import no Dagster."""

import json
import subprocess
import sys

import pytest

import arima_assets.forecasting as forecasting


def _top_level_modules_after(module: str) -> set[str]:
    code = f"import json, sys; import {module}; print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}})))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(json.loads(out.stdout))


def test_core_imports_neither_dagster_nor_mlflow():
    top_level = _top_level_modules_after("arima_assets.forecasting")
    assert "arima_assets" in top_level
    assert "statsmodels" in top_level
    assert not top_level & {"dagster", "mlflow", "dagster_mlflow", "optuna"}  # the tuner loads on first use


def test_the_tuner_and_optuna_load_on_first_use():
    top_level = _top_level_modules_after("arima_assets.forecasting; arima_assets.forecasting.tune_model")
    assert "optuna" in top_level


@pytest.mark.parametrize(
    "module",
    ["arima_assets.config", "arima_assets.decision", "arima_assets.training", "arima_assets.store"],
)
def test_settings_decision_training_and_store_import_neither_dagster_nor_mlflow(module: str):
    top_level = _top_level_modules_after(module)
    assert "arima_assets" in top_level
    assert not top_level & {"dagster", "mlflow", "dagster_mlflow"}


def test_champion_lifecycle_imports_no_dagster():
    top_level = _top_level_modules_after("arima_assets.lifecycle")
    assert "mlflow" in top_level  # it reads and commits to the registry
    assert not top_level & {"dagster", "dagster_mlflow"}


def test_all_names_resolve():
    for name in forecasting.__all__:
        assert getattr(forecasting, name) is not None, name
