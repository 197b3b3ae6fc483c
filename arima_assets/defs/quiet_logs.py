"""Quieter Dagster daemon logs: the run queue and the sensors say what changed, not the same line every tick.

Dagster's daemon logs at INFO on every tick, whether or not anything happened:

- the run queue, every ``dequeue_interval_seconds`` (1 s here) while it is full: "2 runs are currently in
  progress. Maximum is 2, won't launch more." (1,003 lines in one cold start of the sample);
- the sensor daemon, every tick of every sensor: "Checking for new runs for sensor: <name>", and the same
  "Sensor <name> skipped: <reason>" tick after tick.

Both ``dagster.yaml`` files (``dagster_home/`` for ``dagster dev``, ``deploy/`` for production) name
:class:`QuietQueuedRunCoordinator` as the run coordinator: Dagster's queued coordinator, unchanged, whose import
installs :class:`RepeatFilter` on those two daemon loggers in every process that loads the instance (the daemon
among them). A repeated queue or skip message is shown once, until that logger says something else; the sensor
heartbeat is dropped. Launched runs, changed skip reasons, warnings and errors are untouched.
"""

from __future__ import annotations

import logging
import re
import threading

from dagster._core.run_coordinator.queued_run_coordinator import QueuedRunCoordinator

__all__ = ["QUIETED_LOGGERS", "QuietQueuedRunCoordinator", "RepeatFilter", "install_daemon_filters"]

QUIETED_LOGGERS = ("dagster.daemon.QueuedRunCoordinatorDaemon", "dagster.daemon.SensorDaemon")
"""The daemon loggers whose per-tick INFO lines :class:`RepeatFilter` thins out."""

_HEARTBEAT = re.compile(r"Checking for new runs for sensor: ")
_REPEATABLE = (
    # (pattern, subject): a message matching `pattern` is dropped when the last message shown about the same
    # subject (the group, or the whole logger) was identical
    re.compile(r"\d+ runs are currently in progress\. Maximum is \d+, won't launch more\."),
    re.compile(r"Sensor (?P<subject>\S+) skipped: "),
)


class RepeatFilter(logging.Filter):
    """Drops the sensor heartbeat and an INFO queue/skip message identical to the last one shown for its subject.

    The subject of a skip message is its sensor; of the queue message, the logger. Any other message of the
    logger (a launched run, say) is shown and resets the logger's subject, so the next queue message shows again.
    """

    def __init__(self) -> None:
        super().__init__()
        self._last: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno > logging.INFO:
            return True
        message = record.getMessage()
        if _HEARTBEAT.match(message):
            return False
        for pattern in _REPEATABLE:
            match = pattern.match(message)
            if match:
                key = (record.name, match.groupdict().get("subject") or "")
                with self._lock:
                    if self._last.get(key) == message:
                        return False
                    self._last[key] = message
                return True
        with self._lock:
            self._last.pop((record.name, ""), None)
        return True


_FILTER = RepeatFilter()


def install_daemon_filters() -> None:
    """Add the shared :class:`RepeatFilter` to the daemon loggers of this process (idempotent)."""
    for name in QUIETED_LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)


class QuietQueuedRunCoordinator(QueuedRunCoordinator):
    """Dagster's ``QueuedRunCoordinator`` (same config, same behaviour); loading it quiets the daemon's repeats."""


install_daemon_filters()
