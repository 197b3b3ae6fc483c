"""Production profile without services: a run carries the settings it was launched with (issue 21, item 3), and
MLflow runs left RUNNING by Dagster runs that are over are ended (item 4)."""

import os
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.remote_origin import InProcessCodeLocationOrigin, RemoteJobOrigin, RemoteRepositoryOrigin
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
from mlflow import MlflowClient

from arima_assets.config import ArimaConfig, get_arima_config
from arima_assets.defs.deployment import (
    RUN_SETTINGS_ORIGIN_TAG,
    SettingsTaggingRunLauncher,
    launch_tags,
    setting_origins,
    tag_run_with_launch_settings,
)
from arima_assets.defs.resources import arima_config_resource, end_mlflow_runs_of_ended_dagster_runs
from arima_assets.defs.tracking import EXPERIMENT_NAME
from arima_assets.registry.owners import REAPED_TAG
from arima_assets.registry.runs import ISBN_DAGSTER_RUN_TAG

TAGGING_LAUNCHER = {"module": "arima_assets.defs.deployment", "class": "SettingsTaggingRunLauncher"}


@dg.asset
def settings_seen(arima_config: dg.ResourceParam[ArimaConfig]) -> dict[str, object]:
    """What a step sees of the settings."""
    return {"n_trials": arima_config.n_trials, "force_retrain": arima_config.force_retrain}


def _submitted_run_tags(tmp_path: Path) -> dict[str, str]:
    """Tags of a run as the launcher of a production-like instance tags it before launching it."""
    (tmp_path / "home").mkdir(exist_ok=True)
    with dg.DagsterInstance.local_temp(str(tmp_path / "home"), overrides={"run_launcher": TAGGING_LAUNCHER}) as inst:
        assert isinstance(inst.run_launcher, SettingsTaggingRunLauncher)
        location = InProcessCodeLocationOrigin(LoadableTargetOrigin(python_file=__file__))
        origin = RemoteJobOrigin(RemoteRepositoryOrigin(location, "__repository__"), "__ASSET_JOB")
        run = inst.add_run(dg.DagsterRun(job_name="__ASSET_JOB", remote_job_origin=origin))
        added = tag_run_with_launch_settings(inst, run)
        stored = inst.get_run_by_id(run.run_id)
        assert tag_run_with_launch_settings(inst, stored) == {}  # a run that carries settings keeps them
        assert dict(inst.get_run_by_id(run.run_id).tags) == {**run.tags, **added}
        return dict(stored.tags)


def test_a_run_launched_with_force_retrain_applies_it_on_a_worker_without_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the daemon (where the run is launched): force and 4 trials
    monkeypatch.setenv("ARIMA_FORCE_RETRAIN", "yes")
    monkeypatch.setenv("ARIMA_N_TRIALS", "4")
    tags = _submitted_run_tags(tmp_path)
    assert tags["arima/force_retrain"] == "true" and tags["arima/n_trials"] == "4"
    assert tags[RUN_SETTINGS_ORIGIN_TAG].endswith(f"(pid {os.getpid()})")  # who launched it
    assert not any(key.endswith(("state_dir", "mlflow_tracking_uri")) for key in tags)  # never carried

    # the worker: no force, and another number of trials in its own environment
    monkeypatch.delenv("ARIMA_FORCE_RETRAIN")
    monkeypatch.setenv("ARIMA_N_TRIALS", "7")
    worker = get_arima_config("testing")
    assert worker.force_retrain is False and worker.n_trials == 7
    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize(
            [settings_seen], instance=instance, tags=tags, resources={"arima_config": arima_config_resource(worker)}
        )
        logs = [r.user_message for r in instance.all_logs(result.run_id) if "differs from where" in r.user_message]
    assert result.output_for_node("settings_seen") == {"n_trials": 4, "force_retrain": True}
    assert any("n_trials=4 (here 7)" in message and "force_retrain=True (here False)" in message for message in logs)


def test_a_run_without_carried_settings_keeps_the_workers_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARIMA_N_TRIALS", "7")
    worker = get_arima_config("testing")
    result = dg.materialize([settings_seen], resources={"arima_config": arima_config_resource(worker)})
    assert result.output_for_node("settings_seen") == {"n_trials": 7, "force_retrain": False}


def test_a_worker_setting_the_launch_did_not_set_returns_to_the_preset(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tags = _submitted_run_tags(tmp_path)  # launched with no ARIMA_* at all (but ARIMA_STATE_DIR: local, not carried)
    assert [key for key in tags if key.startswith("arima/")] == [RUN_SETTINGS_ORIGIN_TAG]
    monkeypatch.setenv("ARIMA_N_TRIALS", "7")
    monkeypatch.setenv("ARIMA_FORCE_RETRAIN", "true")
    worker = get_arima_config("testing")
    result = dg.materialize([settings_seen], tags=tags, resources={"arima_config": arima_config_resource(worker)})
    assert result.output_for_node("settings_seen") == {"n_trials": 3, "force_retrain": False}  # the testing preset


def test_a_bad_carried_setting_fails_the_step_naming_the_tag(monkeypatch: pytest.MonkeyPatch) -> None:
    tags = {RUN_SETTINGS_ORIGIN_TAG: "dagster-daemon on elsewhere (pid 1)", "arima/n_trials": "zero"}
    worker = get_arima_config("testing")
    with pytest.raises(dg.DagsterResourceFunctionError) as raised:
        dg.materialize([settings_seen], tags=tags, resources={"arima_config": arima_config_resource(worker)})
    message = str(raised.value.__cause__)
    assert "run tag arima/" in message and "n_trials='zero' is invalid" in message and "elsewhere" in message


def test_origins_name_where_each_setting_comes_from(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARIMA_FORCE_RETRAIN", "true")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5000")
    origins = setting_origins("production")
    assert origins["force_retrain"] == "environment ARIMA_FORCE_RETRAIN (carried by the runs this process launches)"
    assert origins["n_trials"] == "preset production" and origins["seed"] == "default"
    assert origins["mlflow_tracking_uri"].startswith("environment MLFLOW_TRACKING_URI (read by every process")
    assert origins["state_dir"].startswith("environment ARIMA_STATE_DIR (read by every process")
    assert launch_tags("production")["arima/force_retrain"] == "true"


def test_mlflow_runs_of_ended_dagster_runs_are_ended_and_live_ones_left_alone(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    experiment_id = client.create_experiment(EXPERIMENT_NAME, artifact_location=str(tmp_path / "artifacts"))
    (tmp_path / "home").mkdir()
    with dg.DagsterInstance.local_temp(str(tmp_path / "home")) as instance:
        dagster_runs = {}
        for status in ("FAILURE", "CANCELED", "SUCCESS", "STARTED"):
            run = instance.add_run(dg.DagsterRun(job_name="__ASSET_JOB", status=dg.DagsterRunStatus[status]))
            dagster_runs[status] = run.run_id
        current = instance.add_run(dg.DagsterRun(job_name="__ASSET_JOB", status=dg.DagsterRunStatus.STARTED))
        mlflow_runs = {
            name: client.create_run(experiment_id, tags={"dagster_run_id": run_id}).info.run_id
            for name, run_id in {**dagster_runs, "current": current.run_id, "unknown": "f" * 36}.items()
        }
        untagged = client.create_run(experiment_id).info.run_id
        nested = client.create_run(experiment_id, tags={ISBN_DAGSTER_RUN_TAG: dagster_runs["FAILURE"]}).info.run_id

        ended = end_mlflow_runs_of_ended_dagster_runs(instance, uri, current.run_id)

    statuses = {name: client.get_run(run_id).info.status for name, run_id in mlflow_runs.items()}
    assert statuses == {
        "FAILURE": "FAILED",
        "CANCELED": "KILLED",
        "SUCCESS": "FINISHED",
        "STARTED": "RUNNING",
        "current": "RUNNING",
        "unknown": "RUNNING",  # no such Dagster run here: not ours to judge
    }
    assert client.get_run(nested).info.status == "FAILED", "an ISBN run a killed worker left RUNNING is ended too"
    assert sorted(ended) == sorted([nested, *(mlflow_runs[name] for name in ("FAILURE", "CANCELED", "SUCCESS"))])
    assert client.get_run(untagged).info.status == "RUNNING"
    why = client.get_run(mlflow_runs["FAILURE"]).data.tags[REAPED_TAG]
    assert f"its Dagster run {dagster_runs['FAILURE']} ended FAILURE" in why and why.endswith("marked FAILED")
