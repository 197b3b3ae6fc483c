"""Automation, tick by tick, through dagster.evaluate_automation_conditions on real runs.

The ticks run in file order over one module-scoped world: ingest, first training, settling, re-ingesting
unchanged data, one ISBN drifting, a failing ISBN, 100 idle ticks, and last (the clock only moves forward)
ageing past the limit with one partition in progress.
"""

from datetime import timedelta

import dagster as dg

from arima_assets_tests.conftest import SMALL_ISBNS, small_sales_frame, write_sales
from arima_assets_tests.sales_changes import append_weeks

DRIFTED = SMALL_ISBNS[0]
STABLE = SMALL_ISBNS[1]
SHORT = "9780141439518"  # a sample ISBN given a single week: too short even for a benchmark model, so it fails


def test_nothing_is_requested_before_ingest(world) -> None:
    assert world.tick() == {}


def test_new_isbns_are_requested_once_and_trained(world) -> None:
    world.ingest()
    first = world.tick()
    everything = set(SMALL_ISBNS)
    assert first == {"weekly_sales": everything, "arima_model": everything, "sales_forecast": everything}, (
        "a new ISBN's series, model and forecast are requested together (one run per ISBN)"
    )
    world.execute(first)
    rest = world.settle()
    names = ("model_drift", "forecast_performance", "model_age", "challenger_comparison", "custom_triggers")
    checks = {f"arima_model:{name}": everything for name in names}
    assert rest[0] == {"retraining_report": {""}, **checks}, "the checks and the report follow the new models"
    assert rest[1:] == [{}], f"a fresh model is not requested again: {rest}"
    for isbn in SMALL_ISBNS:
        assert world.check_results("model_drift", isbn) == ["SUCCEEDED"]


def test_settled_world_requests_nothing(world) -> None:
    assert world.tick() == {}
    assert world.tick(timedelta(days=1)) == {}


def test_reingesting_unchanged_data_requests_no_model(world) -> None:
    world.ingest()
    refreshed = world.tick()
    assert refreshed == {"weekly_sales": set(SMALL_ISBNS)}, "the series are recomputed from the new ingest"
    world.execute(refreshed)
    after = world.tick()
    assert after == {}, f"unchanged series keep their data version: nothing downstream runs ({after})"


def test_drifted_new_data_for_one_isbn_requests_only_that_isbn(world) -> None:
    update = append_weeks(small_sales_frame(), DRIFTED, n_weeks=26, level_factor=3.0, seed=1, continue_others=False)
    write_sales(update.iloc[len(small_sales_frame()) :], world.folder / "sales" / "update.csv")
    world.ingest()
    world.execute(world.tick())  # weekly_sales for both; only DRIFTED's data version changes
    evidence = world.tick()
    assert evidence.get("sales_forecast") == {DRIFTED}, evidence
    assert {k for k in evidence if k.startswith("arima_model:")} == {
        "arima_model:model_drift",
        "arima_model:forecast_performance",
        "arima_model:model_age",
        "arima_model:challenger_comparison",
        "arima_model:custom_triggers",
    }
    assert all(partitions == {DRIFTED} for k, partitions in evidence.items()), evidence
    world.execute(evidence)
    assert world.check_results("model_drift", DRIFTED)[-1] == "FAILED"
    retrain = world.tick()
    assert retrain.get("arima_model") == {DRIFTED}, retrain
    assert retrain.get("sales_forecast") == {DRIFTED}, "the forecast runs with its model, after it"
    world.execute(retrain)
    rest = world.settle()
    assert all("arima_model" not in tick for tick in rest), f"no loop after the retrain: {rest}"
    assert world.check_results("model_drift", DRIFTED)[-1] == "SUCCEEDED", "new model, no new evidence yet"


def test_failing_isbn_is_not_retried_every_tick(world) -> None:
    write_sales(small_sales_frame([SHORT], weeks=1), world.folder / "sales" / "short.csv")
    world.ingest()
    attempt = world.tick()
    assert attempt["weekly_sales"] == {*SMALL_ISBNS, SHORT}, "re-ingest refreshes every series"
    assert attempt["arima_model"] == {SHORT}, "only the new ISBN needs a model"
    outcome = world.execute(attempt, raise_on_error=False)
    assert outcome == {**{isbn: True for isbn in SMALL_ISBNS}, SHORT: False}, "one ISBN fails, the others do not"
    later = [world.tick() for _ in range(3)]
    assert all("arima_model" not in tick for tick in later), f"a failed partition waits for new data: {later}"
    world.settle()


def test_idle_ticks_request_nothing(world) -> None:
    requested = [world.tick(timedelta(hours=1)) for _ in range(100)]
    assert [r for r in requested if r] == []


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
    assert after_cancel.get("arima_model") == {STABLE}, "no longer in progress and still too old"
