"""The definitions load, and the graph, checks, sensors and resources are what the product promises."""

import dagster as dg

from arima_assets.config import get_arima_config
from arima_assets.definitions import build_definitions


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
    assert checks == {"model_drift", "forecast_performance", "model_age", "challenger_comparison"}


def test_sensors_run_by_default() -> None:
    defs = build_definitions(get_arima_config("testing"))
    sensors = {sensor.name: sensor for sensor in defs.sensors or []}
    assert set(sensors) == {"sales_files_sensor", "arima_automation_sensor", "arima_checks_sensor"}
    for sensor in sensors.values():
        assert sensor.default_status == dg.DefaultSensorStatus.RUNNING, sensor.name
    graph = defs.resolve_asset_graph()
    assets_target = sensors["arima_automation_sensor"].asset_selection.resolve(graph)
    checks_target = sensors["arima_checks_sensor"].asset_selection.resolve_checks(graph)
    assert {key.to_user_string() for key in assets_target} >= {"weekly_sales", "arima_model", "sales_forecast"}
    assert {key.name for key in checks_target} == {
        "model_drift",
        "forecast_performance",
        "model_age",
        "challenger_comparison",
    }
    assert not sensors["arima_automation_sensor"].asset_selection.resolve_checks(graph), "checks: own sensor"


def test_resources_follow_the_deployment(tmp_path) -> None:
    config = get_arima_config("development", state_dir=str(tmp_path))
    resources = build_definitions(config).resources or {}
    assert set(resources) == {"arima_config", "model_store", "io_manager", "mlflow"}
    assert resources["model_store"].folder == str(tmp_path / "models")
    assert resources["arima_config"].mlflow_tracking_uri == f"sqlite:///{tmp_path / 'mlflow' / 'mlflow.db'}"


def test_model_age_condition_uses_configured_limit() -> None:
    defs = build_definitions(get_arima_config("testing", max_model_age_days=12))
    condition = defs.resolve_asset_graph().get(dg.AssetKey("arima_model")).automation_condition
    descriptions = [child.description for child in _walk(condition)]
    assert "model older than 12 days, or forced" in descriptions


def _walk(condition: dg.AutomationCondition):
    yield condition
    for child in condition.children:
        yield from _walk(child)
