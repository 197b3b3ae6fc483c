"""The production profile on real services: Dagster and MLflow on Postgres, fits on two Celery workers.

Each test builds a fresh deployment (own databases, own Celery queue) on the shipped 26-ISBN sample, with
a short search so that the fits take seconds.
"""

from __future__ import annotations

import signal
from collections import Counter
from typing import Any

import dagster as dg
import pytest
from mlflow import MlflowClient

from arima_assets.data.catalogue import CATALOGUE
from arima_assets.defs.tracking import EXPERIMENT_NAME
from arima_assets.registry.runs import DAGSTER_RUN_TAG, ISBN_DAGSTER_RUN_TAG
from arima_assets_tests.services.stack import ProductionStack, server_setting, wait_until

pytestmark = pytest.mark.services

SAMPLE_ISBNS = {title.isbn for title in CATALOGUE}
ISBN_ASSETS = ["weekly_sales", "arima_model", "sales_forecast"]
CELERY_WORKER_KEY = "Celery worker"

LAUNCH_BACKFILL = """
mutation($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message }
  }
}"""

RUNS = """
query { runsOrError { ... on Runs { results { runId status } } } }
"""


def _isbn_partitions(stack: ProductionStack) -> list[str]:
    with stack.instance() as instance:
        return instance.get_dynamic_partitions("isbn")


def _champions(stack: ProductionStack) -> dict[str, list[str]]:
    """Registered model name -> its versions, and the champion alias of each (from the Postgres registry)."""
    client = MlflowClient(tracking_uri=stack.env["MLFLOW_TRACKING_URI"], registry_uri=stack.env["MLFLOW_TRACKING_URI"])
    found = {}
    for model in client.search_registered_models(max_results=1000):
        versions = [str(v.version) for v in client.search_model_versions(f"name = '{model.name}'")]
        found[model.name] = {"versions": versions, "champion": str(model.aliases.get("champion") or "")}
    return found


def _mlflow_runs_by_dagster_run(stack: ProductionStack) -> dict[str, dict[str, list[Any]]]:
    """Dagster run id -> its own MLflow run(s) ("own") and the nested ISBN runs it logged ("nested")."""
    client = MlflowClient(tracking_uri=stack.env["MLFLOW_TRACKING_URI"], registry_uri=stack.env["MLFLOW_TRACKING_URI"])
    experiment = client.get_experiment_by_name(EXPERIMENT_NAME)
    found: dict[str, dict[str, list[Any]]] = {}
    for run in client.search_runs([experiment.experiment_id], max_results=1000):
        for kind, tag in (("own", DAGSTER_RUN_TAG), ("nested", ISBN_DAGSTER_RUN_TAG)):
            if tag in run.data.tags:
                found.setdefault(run.data.tags[tag], {"own": [], "nested": []})[kind].append(run)
    return found


def _model_steps_by_worker(stack: ProductionStack) -> Counter:
    """How many `arima_model` steps each Celery worker started (from the runs' engine events)."""
    by_worker: Counter = Counter()
    with stack.instance() as instance:
        records = instance.get_event_records(dg.EventRecordsFilter(event_type=dg.DagsterEventType.ENGINE_EVENT))
        for record in records:
            event = record.event_log_entry.dagster_event
            metadata = event.engine_event_data.metadata if event.engine_event_data else {}
            if event.step_key == "arima_model" and CELERY_WORKER_KEY in metadata:
                by_worker[metadata[CELERY_WORKER_KEY].value.split("@")[0]] += 1
    return by_worker


def _run_isbns(run: dg.DagsterRun, stack: ProductionStack) -> list[str]:
    """The ISBN partitions a run carried: its partition, or its range in the partition set's order."""
    if "dagster/partition" in run.tags:
        return [run.tags["dagster/partition"]]
    start, end = run.tags.get("dagster/asset_partition_range_start"), run.tags.get("dagster/asset_partition_range_end")
    if start is None or end is None:
        return []
    with stack.instance() as instance:
        order = list(instance.get_dynamic_partitions("isbn"))
    return order[order.index(start) : order.index(end) + 1]


def _runs(stack: ProductionStack) -> dict[str, str]:
    with stack.instance() as instance:
        return {run.run_id: run.status.value for run in instance.get_runs()}


def test_a_backfill_of_the_sample_runs_on_two_celery_workers_and_restarts_lose_no_history(production_stack):
    stack = production_stack
    autovacuum = server_setting("autovacuum")
    assert stack.init_report["postgres_autovacuum"] == autovacuum
    assert ("autovacuum is off" in stack.init_report.get("warning", "")) == (autovacuum != "on"), (
        "init warns exactly when the server will let the Dagster tables' statistics go stale"
    )
    stack.stop_sensors("arima_automation_sensor")  # the backfill alone trains
    stack.start_worker("worker1")
    stack.start_worker("worker2")
    stack.start_daemon()
    stack.start_webserver(port=3931)
    stack.wait_for_webserver()
    # the ingest sensor reads the sample and adds one partition per ISBN
    wait_until(lambda: len(_isbn_partitions(stack)) == len(SAMPLE_ISBNS), 300, "an isbn partition per sample title")

    launched = stack.graphql(
        LAUNCH_BACKFILL,
        {
            "params": {
                "partitionNames": sorted(SAMPLE_ISBNS),
                "assetSelection": [{"path": [key]} for key in ISBN_ASSETS],
                "title": "services test backfill",
            }
        },
    )["launchPartitionBackfill"]
    assert launched["__typename"] == "LaunchBackfillSuccess", launched
    backfill_id = launched["backfillId"]

    def backfill_finished() -> bool:
        with stack.instance() as instance:
            return instance.get_backfill(backfill_id).status.value in {"COMPLETED", "COMPLETED_SUCCESS", "FAILED"}

    wait_until(backfill_finished, 1200, "the backfill to finish", interval=5)
    with stack.instance() as instance:
        backfill = instance.get_backfill(backfill_id)
        runs = instance.get_runs(dg.RunsFilter(tags={"dagster/backfill": backfill_id}))
        materialized = instance.get_materialized_partitions(dg.AssetKey("sales_forecast"))
    assert backfill.status.value in {"COMPLETED", "COMPLETED_SUCCESS"}, backfill.status
    # runs of at most 13 ISBNs (ARIMA_BATCH_SIZE), covering every ISBN once; a run worker that did not start in time
    # (a loaded machine) is failed by the run monitor and retried once, with the backfill's tag
    succeeded = [run for run in runs if run.status.value == "SUCCESS"]
    covered = [isbn for run in succeeded for isbn in _run_isbns(run, stack)]
    assert sorted(covered) == sorted(SAMPLE_ISBNS) and len(succeeded) == 2, [r.tags for r in succeeded]
    assert materialized == set(SAMPLE_ISBNS)

    champions = _champions(stack)
    assert set(champions) == {f"arima-{isbn}" for isbn in SAMPLE_ISBNS}
    assert all(entry["versions"] == ["1"] and entry["champion"] == "1" for entry in champions.values()), champions
    mlflow_runs = _mlflow_runs_by_dagster_run(stack)
    for run in succeeded:  # each step's process resumes the run's own MLflow run; the last step's hook finishes it
        own, nested = mlflow_runs[run.run_id]["own"], mlflow_runs[run.run_id]["nested"]
        assert [(r.info.status, r.info.run_name) for r in own] == [("FINISHED", run.job_name)], own
        assert {r.info.status for r in nested} == {"FINISHED"}, nested
        assert {r.info.run_name for r in nested} == {f"isbn-{isbn}" for isbn in _run_isbns(run, stack)}
    by_worker = _model_steps_by_worker(stack)
    assert sum(by_worker.values()) == len(succeeded), "one model step per run, each over its range of ISBNs"
    assert set(by_worker) == {f"worker1-{stack.tag}", f"worker2-{stack.tag}"}, by_worker  # both did fits

    # two restarts of the webserver and the daemon keep every run (the history lives in Postgres)
    before = _runs(stack)
    for _ in range(2):
        stack.stop("webserver")
        stack.stop("daemon")
        stack.start_daemon()
        stack.start_webserver(port=3931)
        stack.wait_for_webserver()
        shown = {run["runId"]: run["status"] for run in stack.graphql(RUNS)["runsOrError"]["results"]}
        assert {run_id: shown.get(run_id) for run_id in before} == before


def test_a_worker_killed_mid_fit_loses_and_duplicates_nothing(production_stack):
    stack = production_stack
    stack.start_worker("worker1")
    stack.start_worker("worker2")
    stack.start_daemon()  # the sensors ingest the sample, then automation requests one run per ISBN

    def a_fit_started() -> str | None:
        by_worker = _model_steps_by_worker(stack)
        return next(iter(by_worker), None)

    victim = wait_until(a_fit_started, 600, "a model step on a Celery worker", interval=0.5)
    stack.stop(victim.removesuffix(f"-{stack.tag}"), signal.SIGKILL)  # the worker and its pool child

    def every_isbn_served() -> bool:
        champions = _champions(stack)
        return len(champions) == len(SAMPLE_ISBNS) and all(c["champion"] for c in champions.values())

    wait_until(every_isbn_served, 1200, "a champion for every ISBN after the kill", interval=5)

    def every_forecast() -> bool:  # the forecast runs after its model in the same run
        with stack.instance() as instance:
            return instance.get_materialized_partitions(dg.AssetKey("sales_forecast")) == SAMPLE_ISBNS

    wait_until(every_forecast, 600, "a forecast for every ISBN", interval=5)
    champions = _champions(stack)
    assert all(entry["versions"] == ["1"] for entry in champions.values()), champions  # no fit registered twice

    def model_runs() -> list[dg.DagsterRun]:
        with stack.instance() as instance:
            return [
                run
                for run in instance.get_runs()
                if run.asset_selection and dg.AssetKey("arima_model") in run.asset_selection
            ]

    # the interrupted step was handed to the surviving worker (acks-late) or its run retried: every ISBN ends with a
    # successful model run (a run still finishing its last step when the forecast lands is waited for, not failed)
    def every_isbn_succeeded() -> bool:
        runs = [run for run in model_runs() if run.status.value == "SUCCESS"]
        return {isbn for run in runs for isbn in _run_isbns(run, stack)} == SAMPLE_ISBNS

    try:
        wait_until(every_isbn_succeeded, 300, "a successful model run for every ISBN", interval=5)
    except TimeoutError as exc:
        statuses = sorted((_run_isbns(run, stack), run.status.value) for run in model_runs())
        raise AssertionError(f"{exc}; model runs (ISBN, status): {statuses}") from exc
