"""Quiet by default: the daemon says what changed (not the same line every tick), and loading the definitions
shows none of Dagster's beta or preview notices."""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

import arima_assets
from arima_assets.defs.quiet_logs import QUIETED_LOGGERS, QuietQueuedRunCoordinator, RepeatFilter

QUEUE_FULL = "2 runs are currently in progress. Maximum is 2, won't launch more."


def _shown(messages: list[tuple[str, str] | tuple[str, str, int]]) -> list[str]:
    """The messages (logger suffix, text[, level]) that one RepeatFilter lets through, in order."""
    repeat = RepeatFilter()
    shown = []
    for logger, text, *level in messages:
        record = logging.LogRecord(
            f"dagster.daemon.{logger}", level[0] if level else logging.INFO, "", 0, text, (), None
        )
        if repeat.filter(record):
            shown.append(text)
    return shown


def test_a_full_run_queue_is_said_once_until_something_else_happens():
    queue = "QueuedRunCoordinatorDaemon"
    messages = [(queue, QUEUE_FULL)] * 500 + [(queue, "Launched 1 runs.")] + [(queue, QUEUE_FULL)] * 500

    assert _shown(messages) == [QUEUE_FULL, "Launched 1 runs.", QUEUE_FULL]
    three = "3 runs are currently in progress. Maximum is 2, won't launch more."
    assert _shown([(queue, QUEUE_FULL), (queue, three), (queue, three)]) == [QUEUE_FULL, three]  # a new count shows


def test_sensor_heartbeats_are_dropped_and_a_skip_reason_is_shown_when_it_changes():
    sensor = "SensorDaemon"
    unchanged = "Sensor sales_files_sensor skipped: sales files unchanged (/data)"
    messages = [
        (sensor, "Checking for new runs for sensor: sales_files_sensor"),
        (sensor, unchanged),
        (sensor, "Sensor drift_alert_sensor skipped: no new failed checks"),
        (sensor, unchanged),
        (sensor, "Checking for new runs for sensor: arima_automation_sensor"),
        (sensor, "Launching run for arima_automation_sensor"),
        (sensor, "Sensor sales_files_sensor skipped: sales files changed but unreadable"),
        (sensor, unchanged),
        (sensor, unchanged),
        (sensor, "Checking for new runs for sensor: sales_files_sensor", logging.WARNING),
    ]

    assert _shown(messages) == [
        unchanged,
        "Sensor drift_alert_sensor skipped: no new failed checks",
        "Launching run for arima_automation_sensor",
        "Sensor sales_files_sensor skipped: sales files changed but unreadable",
        unchanged,
        "Checking for new runs for sensor: sales_files_sensor",  # a warning is never dropped
    ]


@pytest.mark.parametrize("folder", ["dagster_home", "deploy"])
def test_both_instances_use_the_quiet_queued_coordinator(folder, tmp_path, monkeypatch):
    shipped = Path(arima_assets.__file__).parent / folder / "dagster.yaml"
    text = shipped.read_text()
    assert "module: arima_assets.defs.quiet_logs" in text and "class: QuietQueuedRunCoordinator" in text
    if folder == "deploy":
        return  # Postgres storage: loading the instance needs a server (the services tests do)
    shutil.copy(shipped, tmp_path / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))

    with dg.DagsterInstance.get() as instance:
        assert isinstance(instance.run_coordinator, QuietQueuedRunCoordinator)
        assert instance.get_concurrency_config().run_queue_config.max_concurrent_runs == 2
        assert instance.run_coordinator.dequeue_interval_seconds == 1
    for name in QUIETED_LOGGERS:
        assert any(isinstance(f, RepeatFilter) for f in logging.getLogger(name).filters), name


def test_loading_the_definitions_shows_no_beta_or_preview_notice():
    code = "import arima_assets.definitions as d; d.build_definitions()"
    done = subprocess.run(
        [sys.executable, "-W", "default", "-c", code], capture_output=True, text=True, timeout=300, check=True
    )
    assert "BetaWarning" not in done.stderr and "PreviewWarning" not in done.stderr, done.stderr[-2000:]
