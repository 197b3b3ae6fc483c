"""ModelRegistry against a real MLflow (sqlite store in a temporary folder): runs, versions, champion alias."""

from __future__ import annotations

import json
import logging
import os
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlparse

import mlflow
import pandas as pd
import pytest
from dagster_mlflow.resources import MlFlow
from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID

from arima_assets.forecasting import ArimaModel
from arima_assets.registry import (
    CHAMPION_ALIAS,
    DEFAULT_EXPERIMENT,
    ModelRegistry,
    RegistryError,
    RegistryUnavailableError,
    configure_mlflow,
    model_name,
)
from arima_assets.registry._inputs import MAX_PAYLOAD_BYTES
from arima_assets.registry.records import PAYLOAD_FILE
from arima_assets.registry.runs import ISBN_DAGSTER_RUN_TAG

DECISION = {"action": "retrain", "reasons": ["model age 400 days > 365", "drift p=0.003"]}
PARAMS = {"config": {"horizon": 13, "trials": 4}, "spec": {"order": [1, 1, 0], "trend": "n"}, "ar.L1": -0.41}
METRICS = {"cv_mase": 0.91, "holdout_mase": 0.97, "trials": 4, "fit_seconds": 0.21}


def _train_run(registry: ModelRegistry, isbn: str, payload: dict | None, parent: str | None = None, **metrics) -> str:
    return registry.log_isbn_run(
        isbn,
        parent_run_id=parent,
        payload=payload,
        params=PARAMS,
        metrics={**METRICS, **metrics},
        tags={"trigger": "age"},
        decision=DECISION,
    )


def _champion_version(registry: ModelRegistry, isbn: str) -> int | None:
    """The alias as MLflow stores it, read without going through ModelRegistry."""
    version = registry.client.get_registered_model(model_name(isbn)).aliases.get(CHAMPION_ALIAS)
    return None if version is None else int(version)


# runs ---------------------------------------------------------------------------------------------------


def test_log_isbn_run_is_a_finished_child_of_the_parent_with_params_metrics_and_decision(
    registry, isbn, fitted_payload
):
    parent = registry.create_parent_run("pipeline-test")

    run_id = _train_run(registry, isbn, fitted_payload, parent=parent)

    run = registry.client.get_run(run_id)
    assert run.info.status == "FINISHED"
    assert run.data.tags[MLFLOW_PARENT_RUN_ID] == parent
    assert run.data.tags["isbn"] == isbn
    assert run.data.tags["model_logged"] == "true"
    assert run.data.tags["decision.action"] == "retrain"
    assert run.data.tags["decision.reasons"] == "model age 400 days > 365; drift p=0.003"
    assert run.data.params["config.horizon"] == "13"
    assert run.data.params["spec.order"] == "[1, 1, 0]"
    assert run.data.params["ar.L1"] == "-0.41"
    assert run.data.metrics == pytest.approx(METRICS)
    artifacts = {a.path for a in registry.client.list_artifacts(run_id)}
    assert artifacts == {"decision.json", PAYLOAD_FILE}
    decision = json.loads(Path(registry.client.download_artifacts(run_id, "decision.json")).read_text())
    assert decision == DECISION


def test_a_later_step_process_resumes_the_dagster_runs_mlflow_run_not_a_nested_isbn_run(registry, isbn):
    """dagster-mlflow's resource, started again by each step process of a Dagster run, resumes the latest MLflow run
    tagged with that run's id; an ISBN run logged in between by the model step must not be the one it finds."""
    dagster_run_id = "5e1d0a3c-0000-4000-8000-00000000f00d"
    step_context = SimpleNamespace(
        log=logging.getLogger("dagster_mlflow"),
        dagster_run=SimpleNamespace(job_name="__ASSET_JOB"),
        run_id=dagster_run_id,
        resource_config={"experiment_name": registry.experiment_name, "mlflow_tracking_uri": registry.tracking_uri},
    )
    MlFlow(step_context)  # the model step's process starts the Dagster run's MLflow run
    parent = mlflow.active_run().info.run_id
    nested = registry.log_isbn_run(
        isbn,
        parent_run_id=parent,
        payload=None,
        params=PARAMS,
        metrics=METRICS,
        tags={ISBN_DAGSTER_RUN_TAG: dagster_run_id, "isbn": isbn},
        decision=DECISION,
    )
    mlflow.end_run()  # the step's process is over

    MlFlow(step_context)  # the forecast step's process

    assert mlflow.active_run().info.run_id == parent
    mlflow.end_run()
    runs = {run_id: registry.client.get_run(run_id) for run_id in (parent, nested)}
    assert runs[parent].info.status == "FINISHED" and runs[parent].info.run_name == "__ASSET_JOB"
    assert runs[nested].info.run_name == f"isbn-{isbn}", "the ISBN run keeps its name"


def test_log_isbn_run_for_a_reused_model_logs_no_model(registry, isbn):
    run_id = registry.log_isbn_run(
        isbn,
        parent_run_id=None,
        payload=None,
        params={},
        metrics={"refresh_seconds": 0.02},
        tags=None,
        decision={"action": "reuse", "reasons": []},
    )

    run = registry.client.get_run(run_id)
    assert run.data.tags["model_logged"] == "false"
    assert MLFLOW_PARENT_RUN_ID not in run.data.tags
    assert {a.path for a in registry.client.list_artifacts(run_id)} == {"decision.json"}
    assert registry.get_champion(isbn) is None
    assert registry.model_history(isbn) == []


def test_log_summary_on_the_parent_run(registry):
    parent = registry.create_parent_run("pipeline-summary")
    summary = {"reused_models": 3, "newly_trained_models": 1, "reuse_rate": 0.75, "fit_seconds_saved": 2.5}

    registry.log_summary(parent, summary)
    registry.end_run(parent)

    run = registry.client.get_run(parent)
    assert run.data.metrics == pytest.approx(summary)
    assert run.info.status == "FINISHED"


def test_log_summary_requires_the_four_summary_metrics(registry):
    parent = registry.create_parent_run("pipeline-bad-summary")
    with pytest.raises(ValueError, match=r"missing \['reuse_rate', 'fit_seconds_saved'\]"):
        registry.log_summary(parent, {"reused_models": 3, "newly_trained_models": 1})


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"metrics": {"cv_mase": "low"}}, r"metrics: 'cv_mase' must be a real number, got 'low'"),
        ({"metrics": {"cv_mase": None}}, r"metrics: 'cv_mase' must be a real number"),
        ({"params": {"bad key!": 1}}, r"params: key 'bad key!' must be"),
        ({"decision": ["retrain"]}, r"decision must be a JSON-serialisable dict, got list"),
        ({"payload": {"params": [float("nan")]}}, r"payload is not JSON-serialisable"),
        ({"parent_run_id": ""}, r"parent_run_id must be a non-empty MLflow run id"),
        ({"tags": {"dagster_run_id": "r1"}}, r"tag 'dagster_run_id' marks a Dagster run's own MLflow run"),
    ],
)
def test_log_isbn_run_rejects_bad_input_before_creating_a_run(registry, isbn, kwargs, message):
    arguments = {
        "parent_run_id": None,
        "payload": None,
        "params": PARAMS,
        "metrics": METRICS,
        "tags": None,
        "decision": DECISION,
        **kwargs,
    }
    runs_before = len(registry.client.search_runs([registry.experiment_id], max_results=1000))

    with pytest.raises(ValueError, match=message):
        registry.log_isbn_run(isbn, **arguments)

    assert len(registry.client.search_runs([registry.experiment_id], max_results=1000)) == runs_before


@pytest.mark.parametrize("bad", ["", "978 0", "-978", "978/0", 9780])
def test_model_name_rejects_bad_isbns(bad):
    with pytest.raises(ValueError, match="isbn must be 1-100 letters, digits"):
        model_name(bad)


# registration and the champion alias --------------------------------------------------------------------


def test_register_then_set_champion(registry, isbn, fitted_payload):
    run_id = _train_run(registry, isbn, fitted_payload)

    info = registry.register_model(isbn, run_id, fitted_payload, tags={"trigger": "missing"}, description="first")

    assert (info.name, info.version, info.run_id) == (f"arima-{isbn}", 1, run_id)
    assert info.uri == f"models:/arima-{isbn}/1"
    assert info.tags == {"trigger": "missing", "isbn": isbn}
    assert registry.get_champion(isbn) is None  # registering does not move the alias
    assert _champion_version(registry, isbn) is None

    registry.set_champion(isbn, 1)

    champion = registry.get_champion(isbn)
    assert champion is not None
    assert (champion.name, champion.version, champion.run_id) == (f"arima-{isbn}", 1, run_id)
    assert champion.payload == fitted_payload
    assert champion.metrics == pytest.approx(METRICS)
    assert champion.tags["trigger"] == "missing"
    assert champion.created == info.created
    assert registry.client.get_model_version(info.name, "1").description == "first"


def test_promotion_moves_the_alias_to_version_2(registry, isbn, fitted_payload):
    first = registry.promote_challenger(
        isbn, _train_run(registry, isbn, fitted_payload), fitted_payload, reason="no model"
    )
    assert (first.version, first.tags["promotion"], first.tags["previous_champion"]) == (1, "promoted", "")
    challenger = {**fitted_payload, "params": [p * 0.9 for p in fitted_payload["params"]]}

    second = registry.promote_challenger(
        isbn, _train_run(registry, isbn, challenger, cv_mase=0.5), challenger, reason="cv MASE 0.50 < 0.91"
    )

    assert second.version == 2
    assert second.tags["previous_champion"] == "1"
    assert second.tags["promotion_reason"] == "cv MASE 0.50 < 0.91"
    assert _champion_version(registry, isbn) == 2
    champion = registry.get_champion(isbn)
    assert champion.version == 2
    assert champion.payload == challenger
    assert champion.metrics["cv_mase"] == pytest.approx(0.5)
    assert registry.client.get_model_version(f"arima-{isbn}", "1").tags["superseded_by"] == "2"


def test_kept_champion_registers_version_2_without_the_alias(registry, isbn, fitted_payload):
    registry.promote_challenger(isbn, _train_run(registry, isbn, fitted_payload), fitted_payload, reason="no model")
    reason = "challenger cv MASE 1.20 >= champion 0.91"

    kept = registry.record_kept_champion(
        isbn, _train_run(registry, isbn, fitted_payload, cv_mase=1.2), fitted_payload, reason=reason
    )

    assert kept.version == 2
    version_2 = registry.client.get_model_version(f"arima-{isbn}", "2")
    assert version_2.tags["promotion"] == "rejected"
    assert version_2.tags["promotion_reason"] == reason
    assert version_2.tags["champion_version"] == "1"
    assert _champion_version(registry, isbn) == 1
    champion = registry.get_champion(isbn)
    assert champion.version == 1
    assert champion.tags["confirmed_by_version"] == "2"
    assert datetime.fromisoformat(champion.tags["confirmed_at"]) >= champion.created.replace(microsecond=0)

    history = registry.model_history(isbn)

    assert [h["version"] for h in history] == [1, 2]
    assert [h["is_champion"] for h in history] == [True, False]
    assert [h["tags"]["promotion"] for h in history] == ["promoted", "rejected"]
    assert history[1]["tags"]["promotion_reason"] == reason
    assert history[0]["metrics"]["cv_mase"] == pytest.approx(0.91)
    assert history[1]["metrics"]["cv_mase"] == pytest.approx(1.2)
    assert history[1]["decision"] == DECISION
    assert history[0]["created"] <= history[1]["created"]


def test_champion_pointers_reads_every_champion_in_one_batch_as_champion_pointer_does(registry, fitted_payload):
    promoted, kept, unaliased = (f"97801{n:08d}" for n in range(3))
    for isbn in (promoted, kept):
        registry.promote_challenger(isbn, _train_run(registry, isbn, fitted_payload), fitted_payload, reason="first")
    registry.promote_challenger(promoted, _train_run(registry, promoted, fitted_payload), fitted_payload, reason="won")
    record_run = _train_run(registry, kept, fitted_payload)
    registry.record_kept_champion(kept, record_run, fitted_payload, reason="lost")
    registry.set_record_run(kept, 1, record_run)
    registry.register_model(unaliased, _train_run(registry, unaliased, fitted_payload), fitted_payload)

    pointers = registry.champion_pointers()

    assert pointers[promoted][0] == 2 and pointers[kept] == (1, record_run)
    assert unaliased not in pointers, "a version without the champion alias is no champion"
    for isbn in (promoted, kept):
        assert pointers[isbn] == registry.champion_pointer(isbn)


def test_log_reuse_summary_is_one_finished_run_with_the_counts_and_decisions(registry):
    decisions = {"9780000000001": {"action": "reuse", "reasons": ["[age] within"]}, "9780000000002": {}}

    run_id = registry.log_reuse_summary(decisions, 12.5, {"arima_assets/source": "python_api"})

    run = registry.client.get_run(run_id)
    assert run.info.status == "FINISHED" and run.data.tags["isbns"] == "2"
    assert run.data.metrics["reused_models"] == 2.0 and run.data.metrics["newly_trained_models"] == 0.0
    assert run.data.metrics["reuse_rate"] == 1.0 and run.data.metrics["fit_seconds_saved"] == 12.5
    logged = json.loads(Path(registry.client.download_artifacts(run_id, "reused_decisions.json")).read_text())
    assert logged == decisions


def test_load_pyfunc_without_a_champion_raises(registry, isbn, fitted_payload):
    registry.register_model(isbn, _train_run(registry, isbn, fitted_payload), fitted_payload)

    with pytest.raises(RegistryError, match=rf"arima-{isbn} has no 'champion' alias: nothing to load"):
        registry.load_pyfunc(isbn)
    assert registry.load_pyfunc(isbn, version=1).metadata.get_params_schema().params[0].name == "h"


def test_record_kept_champion_without_a_champion_registers_nothing(registry, isbn, fitted_payload):
    run_id = _train_run(registry, isbn, fitted_payload)

    with pytest.raises(RegistryError, match=rf"arima-{isbn} has no 'champion' alias to keep"):
        registry.record_kept_champion(isbn, run_id, fitted_payload, reason="worse")

    assert registry.model_history(isbn) == []


def test_register_model_keeps_an_active_parent_run_active(registry, isbn, fitted_payload):
    """As under dagster-mlflow: a fluent parent run is active while ISBN runs are logged and registered."""
    mlflow.set_tracking_uri(registry.tracking_uri)
    mlflow.set_registry_uri("sqlite:///elsewhere.db")  # restored after register_model, never opened
    mlflow.set_experiment(experiment_id=registry.experiment_id)
    with mlflow.start_run(run_name="dagster-run") as parent:
        run_id = _train_run(registry, isbn, fitted_payload, parent=parent.info.run_id)
        registry.promote_challenger(isbn, run_id, fitted_payload, reason="no model")
        assert mlflow.active_run().info.run_id == parent.info.run_id
        assert mlflow.get_registry_uri() == "sqlite:///elsewhere.db"
    assert registry.client.get_run(run_id).info.status == "FINISHED"
    assert registry.client.get_run(run_id).data.tags[MLFLOW_PARENT_RUN_ID] == parent.info.run_id


def test_registered_version_is_small_and_holds_no_pickle(registry, isbn, fitted_payload):
    info = registry.register_model(isbn, _train_run(registry, isbn, fitted_payload), fitted_payload)

    size = registry.artifact_bytes(isbn, info.version)

    assert len(json.dumps(fitted_payload)) < size <= 100_000
    root = Path(urlparse(registry.client.get_model_version_download_uri(info.name, "1")).path)
    files = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
    assert {"MLmodel", "requirements.txt", f"artifacts/{PAYLOAD_FILE}", "_model_code.py"} <= files
    assert not [f for f in files if f.endswith((".pkl", ".pickle", ".cloudpickle"))]
    assert sum((root / f).stat().st_size for f in files) == size
    requirements = (root / "requirements.txt").read_text().split()
    assert f"mlflow=={mlflow.__version__}" in requirements
    assert any(r.startswith("statsmodels==") for r in requirements)


def test_register_model_rejects_an_oversized_payload(registry, isbn):
    run_id = _train_run(registry, isbn, None)
    with pytest.raises(ValueError, match=rf"payload JSON is \d+ bytes, the limit is {MAX_PAYLOAD_BYTES}"):
        registry.register_model(isbn, run_id, {"y_tail": list(range(20_000))})
    assert registry.model_history(isbn) == []


def test_champion_pyfunc_loads_by_alias_and_forecasts_h_weeks(registry, isbn, fitted_payload, weekly_sales):

    registry.promote_challenger(isbn, _train_run(registry, isbn, fitted_payload), fitted_payload, reason="no model")
    recent = pd.DataFrame({"week_end": weekly_sales.index, "volume": weekly_sales.to_numpy()})

    configure_mlflow(registry.tracking_uri)  # as the Dagster layer does; register_model leaves it unchanged
    model = mlflow.pyfunc.load_model(f"models:/arima-{isbn}@champion")
    forecast = model.predict(recent, params={"h": 5})
    default = registry.load_pyfunc(isbn).predict(weekly_sales)

    expected = ArimaModel.from_dict(fitted_payload).refresh(weekly_sales).forecast(5)
    assert list(forecast.columns) == ["week_end", "mean", "lo-80", "hi-80", "lo-95", "hi-95"]
    assert len(forecast) == 5
    assert forecast.index[0] == weekly_sales.index[-1] + pd.Timedelta(weeks=1)
    pd.testing.assert_frame_equal(forecast.drop(columns="week_end"), expected, check_freq=False)
    assert len(default) == 13
    pd.testing.assert_frame_equal(default.drop(columns="week_end").iloc[:5], expected, check_freq=False)


# failures: nothing half-moved ---------------------------------------------------------------------------


def test_set_champion_refuses_an_unreadable_payload_and_keeps_the_alias(registry, isbn, fitted_payload):
    registry.promote_challenger(isbn, _train_run(registry, isbn, fitted_payload), fitted_payload, reason="no model")
    info = registry.register_model(isbn, _train_run(registry, isbn, fitted_payload), fitted_payload)
    root = Path(urlparse(registry.client.get_model_version_download_uri(info.name, "2")).path)
    (root / "artifacts" / PAYLOAD_FILE).write_text("{truncated", encoding="utf-8")

    with pytest.raises(RegistryError, match=rf"arima-{isbn} version 2: {PAYLOAD_FILE} is not valid JSON"):
        registry.set_champion(isbn, 2)

    assert _champion_version(registry, isbn) == 1


def test_set_champion_of_an_unknown_version_keeps_the_alias(registry, isbn, fitted_payload):
    registry.promote_challenger(isbn, _train_run(registry, isbn, fitted_payload), fitted_payload, reason="no model")

    with pytest.raises(RegistryError, match=rf"move the 'champion' alias of arima-{isbn} to version 7"):
        registry.set_champion(isbn, 7)
    with pytest.raises(ValueError, match="version must be a positive integer, got 0"):
        registry.set_champion(isbn, 0)

    assert _champion_version(registry, isbn) == 1


def test_register_model_from_an_unknown_run_raises_and_registers_nothing(registry, isbn, fitted_payload):
    with pytest.raises(RegistryError, match=rf"register arima-{isbn} from run 0123abc"):
        registry.register_model(isbn, "0123abc", fitted_payload)
    assert registry.model_history(isbn) == []


@pytest.mark.parametrize("uri", ["http://127.0.0.1:9", "nosuch://mlflow"])
def test_unreachable_uri_raises_unavailable_then_a_good_uri_still_works(registry, isbn, fitted_payload, uri):
    registry.promote_challenger(isbn, _train_run(registry, isbn, fitted_payload), fitted_payload, reason="no model")

    with pytest.raises(RegistryUnavailableError, match=f"MLflow unavailable at tracking URI '{uri}'"):
        ModelRegistry(uri)

    assert "MLFLOW_HTTP_REQUEST_MAX_RETRIES" not in os.environ
    again = ModelRegistry(registry.tracking_uri)
    assert again.get_champion(isbn).version == 1
    assert _champion_version(registry, isbn) == 1


def test_sqlite_store_that_cannot_be_created_is_unavailable(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the store folder should be")
    uri = f"sqlite:///{blocker}/mlflow.db"

    with pytest.raises(RegistryUnavailableError, match=f"MLflow unavailable at '{uri}'.*not a writable directory"):
        ModelRegistry(uri)


def test_local_registry_keeps_database_and_artifacts_in_its_folder(registry, store_folder, isbn, fitted_payload):
    assert registry.tracking_uri == f"sqlite:///{store_folder.resolve()}/mlflow.db"
    info = registry.register_model(isbn, _train_run(registry, isbn, None), fitted_payload)

    assert (store_folder / "mlflow.db").is_file()
    assert registry.client.get_experiment(registry.experiment_id).name == DEFAULT_EXPERIMENT
    model_root = urlparse(registry.client.get_model_version_download_uri(info.name, str(info.version))).path
    assert Path(model_root).is_relative_to(store_folder.resolve() / "mlartifacts")
    assert json.loads((Path(model_root) / "artifacts" / PAYLOAD_FILE).read_text()) == fitted_payload
