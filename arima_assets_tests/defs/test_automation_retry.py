"""A model run that failed before its model step could record anything is retried while its trigger still holds."""

from datetime import timedelta

import dagster as dg

from arima_assets_tests.conftest import SMALL_ISBNS
from arima_assets_tests.defs.conftest import AutomationWorld, settled_world

FAILED, OTHER = SMALL_ISBNS


def _failed_run(world: AutomationWorld, isbn: str) -> None:
    """A run of the ISBN's model that died before its step wrote anything (e.g. MLflow down while it started)."""
    job = world.defs.resolve_implicit_global_asset_job_def()
    run = world.instance.create_run_for_job(
        job_def=job, asset_selection=frozenset({dg.AssetKey("arima_model")}), tags={"dagster/partition": isbn}
    )
    world.instance.report_run_failed(run)


def test_a_run_that_failed_outside_the_model_step_is_retried_every_10_minutes_while_the_model_is_too_old(
    tmp_path,
) -> None:
    world = settled_world(tmp_path)
    _failed_run(world, FAILED)
    aged = world.tick(timedelta(days=world.config.max_model_age_days + 1))
    assert aged.get("arima_model") == {FAILED, OTHER}, f"too old, and retry slots passed since it failed: {aged}"
    world.execute({"arima_model": {OTHER}})  # (its step's clock is real time, so it stays "old" on this clock)
    _failed_run(world, FAILED)  # the retry failed too
    assert "arima_model" not in world.tick(), "just requested: not again on the next tick"
    world.now = world.now.replace(minute=0, second=30, microsecond=0) + timedelta(hours=1)
    assert FAILED in world.tick(timedelta(0)).get("arima_model", set()), "a slot passed: retried"
    _failed_run(world, FAILED)
    ticks = [world.tick(timedelta(minutes=1)) for _ in range(10)]  # hh:01:30 ... hh:10:30
    retried = [i for i, tick in enumerate(ticks) if FAILED in tick.get("arima_model", set())]
    assert retried == [9], f"once, when the hh:10 slot passed: {ticks}"
