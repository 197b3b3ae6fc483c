"""The definitions load, and the graph, checks, sensors and resources are what the product promises."""

import dataclasses
import math

import dagster as dg
import pytest

from arima_assets.config import get_arima_config
from arima_assets.definitions import build_definitions
from arima_assets.defs.model_assets import model_metadata
from arima_assets.training import run_model_step
from arima_assets_tests.test_decision import NOW, record_for, weekly


def test_workspace_module_loads_defs() -> None:
    from arima_assets import definitions

    assert isinstance(definitions.defs, dg.Definitions)


def test_asset_graph_and_partitions() -> None:
    defs = build_definitions(get_arima_config("testing"))
    graph = defs.resolve_asset_graph()
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    assert keys == {"book_sales", "weekly_sales", "arima_model", "sales_forecast", "retraining_report"}
    model = graph.get(dg.AssetKey("arima_model"))
    assert {p.to_user_string() for p in model.parent_keys} == {"weekly_sales"}
    assert isinstance(model.partitions_def, dg.DynamicPartitionsDefinition)
    assert model.partitions_def.name == "isbn"
    assert graph.get(dg.AssetKey("book_sales")).partitions_def is None
    for key in ("weekly_sales", "arima_model", "sales_forecast"):
        assert graph.get(dg.AssetKey(key)).automation_condition is not None, key
    checks = {key.name for key in graph.asset_check_keys}
    assert checks == {"model_drift", "forecast_performance", "model_age", "challenger_comparison", "custom_triggers"}


def test_the_graph_opens_on_the_assets_one_group_named_after_the_project() -> None:
    graph = build_definitions(get_arima_config("testing")).resolve_asset_graph()

    groups = {graph.get(key).group_name for key in graph.get_all_asset_keys()}

    assert groups == {"arima_assets"}


def test_model_metadata_rounds_errors_for_reading_and_keeps_the_decision_at_full_precision() -> None:
    series = weekly(200)
    reused = run_model_step("9780722532935", series, record_for(series, 188), get_arima_config("testing"), NOW)
    champion = dataclasses.replace(reused.champion, cv_mase=0.123456, holdout_mase=float("nan"))
    challenger = dataclasses.replace(champion, holdout_mase=2 / 3)
    step = dataclasses.replace(
        reused, champion=champion, challenger=challenger, fit_seconds=1.23456, fit_seconds_saved=0.0004
    )
    assert step.status == "reused", "no fit: the decision engine reused the champion"

    metadata = model_metadata(step)

    assert metadata["cv_mase"] == 0.123 and metadata["challenger_holdout_mase"] == 0.667
    assert isinstance(metadata["holdout_mase"], float) and math.isnan(metadata["holdout_mase"])
    assert metadata["fit_seconds"] == 1.235 and metadata["fit_seconds_saved"] == 0.0
    detail = metadata["decision_detail"].value
    assert detail == step.decision.to_dict()
    drift = next(t for t in detail["triggers"] if t["trigger"] == "drift")
    assert drift["observed"] != round(drift["observed"], 3), "the JSON keeps full precision"


def test_sensors_run_by_default() -> None:
    defs = build_definitions(get_arima_config("testing"))
    sensors = {sensor.name: sensor for sensor in defs.sensors or []}
    assert set(sensors) == {"sales_files_sensor", "arima_automation_sensor", "drift_alert_sensor"}
    for sensor in sensors.values():
        assert sensor.default_status == dg.DefaultSensorStatus.RUNNING, sensor.name
    graph = defs.resolve_asset_graph()
    assets_target = sensors["arima_automation_sensor"].asset_selection.resolve(graph)
    assert {key.to_user_string() for key in assets_target} >= {"weekly_sales", "arima_model", "sales_forecast"}
    checks = {key.name for key in graph.get_check_keys_for_assets({dg.AssetKey("arima_model")})}
    assert checks == {"model_drift", "forecast_performance", "model_age", "challenger_comparison", "custom_triggers"}
    assert sensors["arima_automation_sensor"].emit_backfills, "a tick's many partitions become one backfill"
    assert str(sensors["arima_automation_sensor"].asset_selection) == 'group:"arima_assets"', "readable in the UI"


def test_per_isbn_assets_run_in_batches_of_batch_size() -> None:
    defs = build_definitions(get_arima_config("testing", batch_size=7))
    graph = defs.resolve_asset_graph()
    for name in ("weekly_sales", "arima_model", "sales_forecast"):
        policy = graph.get(dg.AssetKey(name)).backfill_policy
        assert policy is not None and policy.max_partitions_per_run == 7, name


@pytest.mark.parametrize(("environment", "seconds"), [("development", 10), ("production", 30)])
def test_sensors_tick_at_the_deployment_interval(environment, seconds, monkeypatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:///unused.db")  # production requires one; nothing opens it
    defs = build_definitions(get_arima_config(environment))
    intervals = {sensor.name: sensor.minimum_interval_seconds for sensor in defs.sensors or []}
    ticking = ("sales_files_sensor", "arima_automation_sensor")
    assert {name: intervals[name] for name in ticking} == dict.fromkeys(ticking, seconds)
    custom = build_definitions(get_arima_config(environment, automation_interval_seconds=45))
    assert {s.minimum_interval_seconds for s in custom.sensors or [] if s.name in ticking} == {45}
    monkeypatch.setenv("ARIMA_AUTOMATION_INTERVAL_SECONDS", "1")
    with pytest.raises(ValueError, match="ARIMA_AUTOMATION_INTERVAL_SECONDS.*an integer >= 5"):
        get_arima_config(environment)


def test_resources_follow_the_deployment(tmp_path) -> None:
    config = get_arima_config("development", state_dir=str(tmp_path))
    resources = build_definitions(config).resources or {}
    assert set(resources) == {"arima_config", "model_store", "io_manager", "mlflow"}
    assert resources["model_store"].get_store().folder == tmp_path / "models"
    with dg.build_resources({"arima_config": resources["arima_config"]}) as built:
        assert built.arima_config == config
    assert config.mlflow_tracking_uri == f"sqlite:///{tmp_path / 'mlflow' / 'mlflow.db'}"
    assert build_definitions(config).executor.name == "in_process"


def test_production_reads_its_stores_from_the_environment_when_a_run_starts(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "postgresql://postgres@127.0.0.1:5432/at_import")
    config = get_arima_config("production", state_dir=str(tmp_path / "at_import"))
    defs = build_definitions(config)
    resources = defs.resources or {}
    assert defs.executor.name == "arima_celery"  # every step of every run on a Celery worker
    assert isinstance(resources["model_store"].state_dir, dg.EnvVar)  # the definitions hold names, not values

    monkeypatch.setenv("ARIMA_STATE_DIR", str(tmp_path / "shared"))  # what the run's machine says, later
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "postgresql://postgres@127.0.0.1:5432/at_run")
    with dg.build_resources({key: resources[key] for key in ("arima_config", "model_store")}) as built:
        assert built.model_store.get_store().folder == tmp_path / "shared" / "models"
        assert built.arima_config.state_dir == str(tmp_path / "shared")
        assert built.arima_config.mlflow_tracking_uri.endswith("/at_run")

    monkeypatch.delenv("ARIMA_STATE_DIR")
    with pytest.raises(dg.DagsterResourceFunctionError) as caught:
        with dg.build_resources({"arima_config": resources["arima_config"]}):
            pass
    assert "ARIMA_STATE_DIR" in str(caught.value.__cause__)  # a run on a machine without it names what is missing


def test_model_age_condition_uses_configured_limit() -> None:
    defs = build_definitions(get_arima_config("testing", max_model_age_days=12))
    condition = defs.resolve_asset_graph().get(dg.AssetKey("arima_model")).automation_condition
    descriptions = [child.description for child in _walk(condition)]
    assert "model older than 12 days, forced, or a failed step to retry" in descriptions


def _walk(condition: dg.AutomationCondition):
    yield condition
    for child in condition.children:
        yield from _walk(child)
