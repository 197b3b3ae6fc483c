"""Custom retraining triggers: the release-calendar example, loading plug-ins by path, and the engine and the
automation acting on them."""

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from arima_assets.config import get_arima_config
from arima_assets.decision import decide
from arima_assets.triggers import TriggerContext, Verdict, load_triggers
from arima_assets.triggers.calendar import ReleaseCalendarTrigger
from arima_assets_tests.conftest import SMALL_ISBNS
from arima_assets_tests.test_decision import NOW, record_for, weekly

ISBN = "9780722532935"


class SurgeTrigger:
    """A publisher's own trigger (used by path in the tests): the last 4 weeks sold over twice the year's mean."""

    name = "sales_surge"

    def __call__(self, context: TriggerContext) -> Verdict:
        if context.series is None:
            return Verdict(False, "needs the series")
        recent, year = float(context.series.iloc[-4:].mean()), float(context.series.iloc[-52:].mean())
        ratio = recent / year if year > 0 else float("inf")
        return Verdict(ratio > 2.0, f"last 4 weeks at {ratio:.2f}x the year's mean", ratio, 2.0)


def _calendar(tmp_path: Path, *rows: str) -> Path:
    path = tmp_path / "calendar.csv"
    path.write_text("isbn,date,event,lead_weeks\n" + "".join(f"{row}\n" for row in rows))
    return path


def test_calendar_fires_in_the_lead_window_until_the_model_is_refreshed(tmp_path: Path) -> None:
    trigger = ReleaseCalendarTrigger(
        _calendar(tmp_path, f"{ISBN},2024-08-20,TV adaptation,4", "9780241003008,2024-08-20,x,4")
    )
    old_clock = NOW - timedelta(days=60)
    verdict = trigger(TriggerContext(ISBN, NOW, old_clock))
    assert verdict.fired and verdict.reason == "TV adaptation on 2024-08-20 in 19 days: retrain before it"
    refreshed = trigger(TriggerContext(ISBN, NOW, NOW - timedelta(days=1)))
    assert not refreshed.fired and "already refreshed" in refreshed.reason
    assert not trigger(TriggerContext(ISBN, NOW - timedelta(weeks=6), old_clock)).fired, "before the window"
    assert not trigger(TriggerContext(ISBN, NOW + timedelta(weeks=4), old_clock)).fired, "after the event"
    assert not trigger(TriggerContext("9780141439518", NOW, old_clock)).fired, "another ISBN's event"


def test_a_bad_calendar_names_the_file_and_row(tmp_path: Path) -> None:
    trigger = ReleaseCalendarTrigger(_calendar(tmp_path, f"{ISBN},2024-13-45,reissue,4"))
    with pytest.raises(ValueError, match=r"calendar.csv' row 2: month must be in 1\.\.12"):
        trigger(TriggerContext(ISBN, NOW, None))
    (tmp_path / "calendar.csv").write_text("isbn,when\n1,2\n")
    with pytest.raises(ValueError, match=r"lacks the column\(s\) \['date'\]"):
        trigger(TriggerContext(ISBN, NOW, None))
    (tmp_path / "calendar.csv").write_text(f"{ISBN},2024-08-20,reissue,4\n")  # no header line
    with pytest.raises(ValueError, match=r"must start with the header line 'isbn,date,event,lead_weeks'.* data row"):
        trigger(TriggerContext(ISBN, NOW, None))


def test_plugins_load_by_path_and_bad_paths_are_named() -> None:
    (plugin,) = load_triggers("arima_assets_tests.test_triggers:SurgeTrigger", "")
    assert plugin.name == "sales_surge"
    with pytest.raises(ValueError, match=r"custom trigger 'arima_assets_tests.test_triggers:Nope' cannot be loaded"):
        load_triggers("arima_assets_tests.test_triggers:Nope", "")
    with pytest.raises(ValueError, match=r"ARIMA_CUSTOM_TRIGGERS='not a path' is invalid for custom_triggers"):
        _config_from_env("not a path")


def _config_from_env(value: str):
    import os

    os.environ["ARIMA_CUSTOM_TRIGGERS"] = value
    try:
        return get_arima_config("testing")
    finally:
        del os.environ["ARIMA_CUSTOM_TRIGGERS"]


def test_the_engine_retrains_on_a_custom_trigger_and_keeps_the_holdout_protection(tmp_path: Path) -> None:
    series = weekly(200)
    surge = series.copy()
    surge.iloc[-4:] = surge.iloc[-52:].mean() * 3
    config = get_arima_config(
        "testing",
        custom_triggers="arima_assets_tests.test_triggers:SurgeTrigger",
        trigger_calendar=str(_calendar(tmp_path, f"{ISBN},2024-08-20,reissue,4")),
    )
    champion = record_for(series, 196, age_days=20)  # within the age limit, trained before the event's window
    decision = decide(champion, series.iloc[:196], config, NOW)
    assert decision.fired == ["release_calendar"] and decision.action == "train"
    assert decision.reasons == ["[release_calendar] reissue on 2024-08-20 in 19 days: retrain before it"]
    surged = decide(champion, surge, config, NOW + timedelta(weeks=5))
    expected = surge.iloc[-4:].mean() / surge.iloc[-52:].mean()
    assert "sales_surge" in surged.fired and surged.get("sales_surge").observed == pytest.approx(expected)
    quiet = decide(record_for(series, 196, age_days=1), series.iloc[:196], config, NOW)
    assert quiet.action == "reuse", quiet.to_dict()


def test_a_broken_plugin_never_stops_the_decision(tmp_path: Path) -> None:
    config = get_arima_config("testing", trigger_calendar=str(tmp_path / "missing.csv"))
    series = weekly(200)
    decision = decide(record_for(series, 196, age_days=1), series, config, NOW)
    assert decision.action == "reuse"
    assert "could not be evaluated: ValueError: trigger calendar" in decision.get("release_calendar").reason


def test_the_automation_retrains_before_a_listed_event_without_new_data(tmp_path: Path) -> None:
    from arima_assets_tests.defs.conftest import settled_world

    calendar = tmp_path / "calendar.csv"
    world = settled_world(tmp_path, trigger_calendar=str(calendar))
    # the window opens two seconds after the models were trained (real time, as the model step's clock)
    opens = datetime.now(UTC) + timedelta(seconds=2)
    event = (opens + timedelta(weeks=4)).replace(tzinfo=None).isoformat(timespec="seconds")
    calendar.write_text(f"isbn,date,event,lead_weeks\n{SMALL_ISBNS[0]},{event},promotion,4\n")
    time.sleep(2.5)
    requested = world.tick(timedelta(minutes=5))
    assert requested.get("arima_model") == {SMALL_ISBNS[0]}, requested
    world.execute(requested)
    after = [world.tick(timedelta(hours=1)) for _ in range(3)]
    assert all("arima_model" not in tick for tick in after), f"once per event: {after}"
    # the check is evaluated by the model step that acted on it: its last verdict is the one that drove the refresh
    statuses = world.check_results("custom_triggers", SMALL_ISBNS[0])
    assert statuses[-1] == "FAILED" and statuses.count("FAILED") == 1, f"one refresh for the event: {statuses}"
    assert world.model_metadata(SMALL_ISBNS[0])["decision"] == "train", "the event drove a fit"
