"""Configuration presets, environment overrides, precedence and error messages."""

import pytest

from arima_assets.config import ENV_VARS, PRESETS, ArimaConfig, config_table, get_arima_config


def test_presets_differ_and_are_typed() -> None:
    dev, test = get_arima_config("development"), get_arima_config("testing")
    assert isinstance(dev, ArimaConfig)
    assert dev.environment == "development" and test.environment == "testing"
    assert test.n_trials == PRESETS["testing"]["n_trials"] < dev.n_trials
    assert dev.sales_path.endswith("nielsen_weekly_sample.csv")


def test_production_requires_tracking_uri(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="MLFLOW_TRACKING_URI"):
        get_arima_config("production")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://mlflow.internal:5000")
    prod = get_arima_config("production")
    assert prod.mlflow_tracking_uri == "http://mlflow.internal:5000"
    assert prod.n_trials == PRESETS["production"]["n_trials"]


def test_deployment_env_selects_preset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEPLOYMENT_ENV", "testing")
    assert get_arima_config().environment == "testing"


def test_precedence_argument_over_env_over_preset(monkeypatch: pytest.MonkeyPatch) -> None:
    assert get_arima_config("testing").n_trials == 3
    monkeypatch.setenv("ARIMA_N_TRIALS", "7")
    assert get_arima_config("testing").n_trials == 7
    assert get_arima_config("testing", n_trials=9).n_trials == 9


def test_env_parsing_of_each_kind(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARIMA_FORCE_RETRAIN", "yes")
    monkeypatch.setenv("ARIMA_MAX_MODEL_AGE_DAYS", "45")
    monkeypatch.setenv("ARIMA_PERFORMANCE_THRESHOLD", "0.05")
    monkeypatch.setenv("ARIMA_TIME_BUDGET_SECONDS", "none")
    config = get_arima_config("development")
    assert config.force_retrain is True
    assert config.max_model_age_days == 45.0
    assert config.performance_threshold == 0.05
    assert config.time_budget_seconds is None


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("ARIMA_N_TRIALS", "abc", r"ARIMA_N_TRIALS='abc' is invalid for n_trials: expected an integer >= 1"),
        ("ARIMA_MAX_MODEL_AGE_DAYS", "-3", r"ARIMA_MAX_MODEL_AGE_DAYS='-3' .* days > 0"),
        ("ARIMA_FORCE_RETRAIN", "maybe", r"ARIMA_FORCE_RETRAIN='maybe' .* true/false"),
        ("ARIMA_DM_ALPHA", "1.5", r"ARIMA_DM_ALPHA='1.5' .* between 0 and 1"),
        ("ARIMA_SEARCH_SPACE", "huge", r"ARIMA_SEARCH_SPACE='huge' .* one of: default"),
        ("DEPLOYMENT_ENV", "staging", r"DEPLOYMENT_ENV='staging' is not a known environment; allowed: development"),
    ],
)
def test_invalid_environment_values_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValueError, match=message):
        get_arima_config()


def test_invalid_arguments_name_the_field() -> None:
    with pytest.raises(ValueError, match=r"n_trials=0 is invalid for n_trials"):
        get_arima_config("testing", n_trials=0)
    with pytest.raises(ValueError, match=r"unknown config field\(s\) \['n_trial'\]"):
        get_arima_config("testing", n_trial=3)
    with pytest.raises(ValueError, match="environment argument='qa'"):
        get_arima_config("qa")


def test_every_field_has_an_env_var_in_the_table() -> None:
    table = config_table()
    for field, variable in ENV_VARS.items():
        assert variable == f"ARIMA_{field.upper()}"
        assert f"`{variable}`" in table
    assert set(ENV_VARS) == set(ArimaConfig.model_fields) - {"environment"}
