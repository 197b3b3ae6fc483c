"""The `arima_config` resource: the plain settings, overridable per run with the same validation."""

import dagster as dg
import pytest

from arima_assets.config import ArimaConfig, get_arima_config
from arima_assets.defs.resources import arima_config_resource


def _built(settings: ArimaConfig, run_config: dict[str, object]) -> ArimaConfig:
    resource = arima_config_resource(settings)
    with dg.build_resources({"arima_config": resource}, resource_config={"arima_config": {"config": run_config}}) as r:
        return r.arima_config


def test_resource_gives_the_plain_settings_unless_the_run_overrides_them() -> None:
    settings = get_arima_config("testing", n_trials=4)
    assert _built(settings, {}) == settings
    run = _built(settings, {"n_trials": 9, "time_budget_seconds": None})
    assert isinstance(run, ArimaConfig)
    assert (run.n_trials, run.time_budget_seconds) == (9, None)
    assert run.as_dict() == {**settings.as_dict(), "n_trials": 9, "time_budget_seconds": None}


def test_run_override_is_validated_and_named() -> None:
    with pytest.raises(dg.DagsterResourceFunctionError) as failure:
        _built(get_arima_config("testing"), {"n_trials": 0})
    assert str(failure.value.user_exception) == (
        "resources.arima_config.config.n_trials=0 is invalid for n_trials: expected an integer >= 1"
    )


def test_settings_are_frozen() -> None:
    settings = get_arima_config("testing")
    with pytest.raises(ValueError, match="frozen"):
        settings.n_trials = 5  # type: ignore[misc]
