"""The `arima_config` resource: the plain settings, overridable per run with the same validation, except the
settings the automation, the sensors and the other resources read (one source for both)."""

from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest

from arima_assets.config import ArimaConfig, get_arima_config
from arima_assets.decision import age_verdict, custom_trigger_results, forced_verdict
from arima_assets.definitions import build_definitions
from arima_assets.defs.automation import model_condition
from arima_assets.defs.resources import DEPLOYMENT_SETTINGS, arima_config_resource, store_locations
from arima_assets.defs.sensors import build_sales_files_sensor
from arima_assets.defs.tracking import mlflow_resource


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


class _RecordingSettings:
    """Forwards to an ArimaConfig and records which settings are read."""

    def __init__(self, settings: ArimaConfig) -> None:
        self._settings = settings
        self.read: set[str] = set()

    def __getattr__(self, name: str) -> object:
        self.read.add(name)
        return getattr(self._settings, name)


def test_what_the_definitions_read_outside_a_run_is_fixed_per_deployment(tmp_path) -> None:
    (tmp_path / "sales.csv").write_text("isbn\n")
    settings = _RecordingSettings(
        get_arima_config("testing", sales_path=str(tmp_path / "sales.csv"), custom_triggers="x.y:z")
    )
    now = datetime(2026, 1, 1, tzinfo=UTC)
    clock = now - timedelta(days=400)
    # what the model clock condition asks for each partition, and what the sensors and other resources read
    age_verdict(clock, settings, now)
    forced_verdict(clock, settings, now)
    custom_trigger_results("9780722532935", clock, settings, now)
    assert model_condition(settings).description  # type: ignore[arg-type]
    build_sales_files_sensor(settings)(dg.build_sensor_context())  # type: ignore[arg-type]
    mlflow_resource(settings)  # type: ignore[arg-type]
    store_locations(settings)  # type: ignore[arg-type]
    assert {"max_model_age_days", "force_retrain", "custom_triggers", "sales_path"} <= settings.read
    assert settings.read - {"environment"} <= set(DEPLOYMENT_SETTINGS)


def test_a_run_cannot_override_what_the_automation_reads(tmp_path) -> None:
    settings = get_arima_config("testing", max_model_age_days=12, state_dir=str(tmp_path))
    defs = build_definitions(settings)
    job = defs.resolve_implicit_global_asset_job_def()
    with dg.build_resources({"arima_config": (defs.resources or {})["arima_config"]}) as built:
        assert built.arima_config.max_model_age_days == 12
    for name in DEPLOYMENT_SETTINGS:
        with pytest.raises(dg.DagsterInvalidConfigError, match=name):
            dg.validate_run_config(job, {"resources": {"arima_config": {"config": {name: getattr(settings, name)}}}})
    dg.validate_run_config(job, {"resources": {"arima_config": {"config": {"n_trials": 5, "drift_threshold": 3.0}}}})
