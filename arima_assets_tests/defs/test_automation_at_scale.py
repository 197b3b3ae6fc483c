"""The automation over 1,000 ISBN partitions requests exactly the stale ones (benchmarks/automation_scale.py, the
same ticks the user code server runs, on an instance whose history is written as runless events)."""

from benchmarks.automation_scale import run_automation_scale


def test_at_1000_partitions_the_automation_requests_exactly_the_changed_and_the_aged_isbns() -> None:
    result = run_automation_scale(1000, share=0.01, idle_ticks=1, with_checks=False)
    ticks = {row["tick"]: row for row in result["ticks"]}
    assert ticks["idle 1"]["requested"] == {}, "an idle tick requests nothing"
    changed = next(row for label, row in ticks.items() if label.endswith("series changed"))
    assert changed["model_requested"] == changed["model_expected"] == 10 and changed["exact"], changed
    assert changed["requested"]["sales_forecast"] == 10, "each with its forecast"
    aged = next(row for label, row in ticks.items() if label.endswith("past age limit"))
    assert aged["exact"] and aged["model_requested"] == 10, aged
    assert result["all_exact"] and result["others_as_designed"], result["ticks"]
