"""Automation, tick by tick, through dagster.evaluate_automation_conditions on real runs.

The ticks run in file order over one module-scoped world: ingest, first training, settling, re-ingesting
unchanged data, one ISBN drifting, a failing ISBN retried with backoff, 100 idle ticks, and last (the clock only
moves forward) ageing past the limit with one partition in progress. Requests are executed as a backfill would
run them: contiguous ranges of ISBN partitions in one run each.
"""

from datetime import UTC, datetime, timedelta

import dagster as dg

from arima_assets.defs.automation import retry_backoff
from arima_assets_tests.conftest import SMALL_ISBNS, small_sales_frame, write_sales
from arima_assets_tests.sales_changes import append_weeks

DRIFTED = SMALL_ISBNS[0]
STABLE = SMALL_ISBNS[1]
SHORT = "9780141439518"  # a sample ISBN given a single week: too short even for a benchmark model, so it fails
CHECKS = ("model_drift", "forecast_performance", "model_age", "challenger_comparison", "custom_triggers")


def test_nothing_is_requested_before_ingest(world) -> None:
    assert world.tick() == {}


def test_new_isbns_are_requested_once_and_trained_in_one_run(world) -> None:
    world.ingest()
    first = world.tick()
    everything = set(SMALL_ISBNS)
    assert first == {"weekly_sales": everything, "arima_model": everything, "sales_forecast": everything}, (
        "a new ISBN's series, model and forecast are requested together"
    )
    runs_before = world.instance.get_runs_count()
    world.execute(first)
    assert world.instance.get_runs_count() - runs_before == 1, "one run carries every ISBN (batch_size 100)"
    rest = world.settle()
    assert rest[0] == {"retraining_report": {""}}, "the report follows the new models; the checks ran with them"
    assert rest[1:] == [{}], f"a fresh model is not requested again: {rest}"
    for isbn in SMALL_ISBNS:
        for check in CHECKS:
            assert world.check_results(check, isbn) == ["SUCCEEDED"], (check, isbn)
        metadata = world.model_metadata(isbn)
        assert metadata["status"] == "trained" and metadata["decision"] == "train"
        # links into the MLflow UI (`mlflow ui`'s default address for a sqlite store)
        assert metadata["mlflow_model"] == f"http://127.0.0.1:5000/#/models/arima-{isbn}/versions/1", metadata
        assert metadata["mlflow_run"] == f"http://127.0.0.1:5000/#/runs/{metadata['mlflow_run_id']}"


def test_settled_world_requests_nothing(world) -> None:
    assert world.tick() == {}
    assert world.tick(timedelta(days=1)) == {}


def test_reingesting_unchanged_data_reuses_every_model_in_one_run_without_a_fit(world) -> None:
    versions = {isbn: world.model_metadata(isbn)["mlflow_model_version"] for isbn in SMALL_ISBNS}
    world.ingest()
    refreshed = world.tick()
    everything = set(SMALL_ISBNS)
    assert refreshed == {"weekly_sales": everything, "arima_model": everything, "sales_forecast": everything}, (
        "a new ingest requests each series with its model and forecast: one contiguous request"
    )
    runs_before = world.instance.get_runs_count()
    world.execute(refreshed)
    assert world.instance.get_runs_count() - runs_before == 1, "series, models and forecasts in one run"
    for isbn in SMALL_ISBNS:
        metadata = world.model_metadata(isbn)
        assert metadata["status"] == "reused" and metadata["mlflow_model_version"] == versions[isbn], metadata
    rest = world.settle()
    assert all("arima_model" not in tick for tick in rest), f"unchanged series: nothing more to decide ({rest})"


def test_drifted_new_data_for_one_isbn_retrains_only_that_isbn(world) -> None:
    update = append_weeks(small_sales_frame(), DRIFTED, n_weeks=26, level_factor=3.0, seed=1, continue_others=False)
    write_sales(update.iloc[len(small_sales_frame()) :], world.folder / "sales" / "update.csv")
    world.ingest()
    changed = world.tick()
    assert changed["arima_model"] == set(SMALL_ISBNS), "each model is decided in the run of its new series"
    world.execute(changed)
    metadata = world.model_metadata(DRIFTED)
    assert metadata["status"] == "trained" and "drift" in metadata["triggers_fired"], metadata
    assert metadata["drift_observed"] > metadata["drift_threshold"], "the verdict shows observed beside threshold"
    assert world.model_metadata(STABLE)["status"] == "reused", "the ISBN whose series did not change is reused"
    assert world.check_results("model_drift", DRIFTED)[-1] == "FAILED", "the drift verdict that drove the retrain"
    assert world.check_results("model_drift", STABLE)[-1] == "SUCCEEDED"
    rest = world.settle()
    assert all("arima_model" not in tick for tick in rest), f"no loop after the retrain: {rest}"


def test_failing_isbn_does_not_fail_the_others_and_is_retried_with_backoff(world) -> None:
    world.now = datetime.now(UTC)  # the backoff runs from the failed step's real time: bring the clock back to it
    write_sales(small_sales_frame([SHORT], weeks=1), world.folder / "sales" / "short.csv")
    world.ingest()
    attempt = world.tick()
    assert attempt["weekly_sales"] == {*SMALL_ISBNS, SHORT}, "re-ingest refreshes every series"
    assert attempt["arima_model"] == {*SMALL_ISBNS, SHORT}, "every model is decided with its new series"
    world.execute(attempt)
    failed = world.model_metadata(SHORT)
    assert failed["status"] == "failed" and failed["consecutive_failures"] == 1, failed
    assert "SHORT" not in failed["error"] and failed["error"], "the ISBN's own error is shown on its partition"
    assert world.check_results("model_drift", SHORT)[-1] == "FAILED", "a failing ISBN is visible in its checks"
    for isbn in SMALL_ISBNS:
        assert world.model_metadata(isbn)["status"] != "failed"
    world.execute(world.tick())  # the report
    early = [world.tick() for _ in range(3)]
    assert all("arima_model" not in tick for tick in early), f"not retried before its backoff: {early}"
    retry = world.tick(retry_backoff(1))
    assert retry.get("arima_model") == {SHORT}, f"retried once the backoff passed: {retry}"
    world.execute(retry)
    assert world.model_metadata(SHORT)["consecutive_failures"] == 2


def test_idle_ticks_request_nothing_but_the_failing_isbns_retries(world) -> None:
    for _ in range(100):
        tick = world.tick(timedelta(hours=1))
        assert set(tick) <= {"arima_model", "sales_forecast", "retraining_report"}, tick
        assert tick.get("arima_model", {SHORT}) == {SHORT}, "only the failing ISBN is ever retried"
        if tick.get("arima_model"):
            world.execute(tick)


def test_retry_backoff_doubles_up_to_a_day() -> None:
    assert [retry_backoff(n) for n in (1, 2, 3)] == [timedelta(minutes=5), timedelta(minutes=10), timedelta(minutes=20)]
    assert retry_backoff(10) == retry_backoff(10_000) == timedelta(days=1)


def test_in_progress_partition_is_not_requested(world) -> None:
    job = world.defs.resolve_implicit_global_asset_job_def()
    run = world.instance.create_run_for_job(
        job_def=job,
        asset_selection=frozenset({dg.AssetKey("arima_model")}),
        tags={"dagster/partition": STABLE},
        status=dg.DagsterRunStatus.STARTED,
    )
    aged = world.tick(timedelta(days=world.config.max_model_age_days + 1))
    assert STABLE not in aged.get("arima_model", set()), "in progress: not requested"
    assert DRIFTED in aged.get("arima_model", set()), "past the age limit: requested"
    world.execute({"arima_model": aged["arima_model"]})
    world.instance.report_run_canceled(run)
    after_cancel = world.tick()
    assert after_cancel.get("arima_model", set()) - {SHORT} == {STABLE}, "no longer in progress and still too old"
