"""100 automation ticks through a detected change: the changed ISBN is retrained once, nothing loops.

A new file requests every model with its series (one contiguous request; each model step decides its ISBN), so
each ISBN is requested once, and only the changed one is fitted."""

from datetime import timedelta

from arima_assets_tests.conftest import SMALL_ISBNS, small_sales_frame, write_sales
from arima_assets_tests.defs.conftest import settled_world
from arima_assets_tests.sales_changes import append_weeks

DRIFTED, STABLE = SMALL_ISBNS


def test_a_hundred_ticks_after_a_change_retrain_the_changed_isbn_once(tmp_path) -> None:
    world = settled_world(tmp_path)
    base = small_sales_frame()
    update = append_weeks(base, DRIFTED, n_weeks=26, level_factor=3.0, seed=1, continue_others=False)
    write_sales(update.iloc[len(base) :], tmp_path / "sales" / "update.csv")
    world.ingest()
    model_requests: dict[str, int] = {}
    for _ in range(100):
        requested = world.tick(timedelta(hours=1))
        for isbn in requested.get("arima_model", set()):
            model_requests[isbn] = model_requests.get(isbn, 0) + 1
        if requested:
            world.execute(requested)
    assert model_requests == {DRIFTED: 1, STABLE: 1}, f"each model decided once, with its new series: {model_requests}"
    assert world.model_metadata(STABLE)["status"] == "reused", "the unchanged ISBN was decided without a fit"
    assert world.check_results("model_drift", DRIFTED)[-1] == "FAILED", "the verdict that drove the one retrain"
    assert world.model_metadata(DRIFTED)["status"] == "trained", "the model trained on the change was adopted"
