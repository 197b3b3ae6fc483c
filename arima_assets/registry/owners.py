"""Which process owns an MLflow run, and the clean-up of runs left RUNNING by a process that died (kill -9).

Every run this package starts is tagged with its owner: host name, process id and the process's start time
(Linux: from /proc, so a reused process id is not taken for the owner). A RUNNING run whose owner ran on this
host and is gone (no such process, a zombie, or another process under its id) is stale: `reap_stale_runs` marks
it KILLED with a tag saying why. Runs owned by a live process (a concurrent call or run) and runs of other hosts
or without owner tags are left alone: their owner cannot be checked from here.
"""

from __future__ import annotations

import functools
import logging
import os
import socket
import time
from collections.abc import Mapping

from mlflow import MlflowClient
from mlflow.entities import RunStatus, ViewType

__all__ = [
    "OWNER_HOST_TAG",
    "OWNER_PID_TAG",
    "OWNER_START_TAG",
    "REAPED_TAG",
    "current_owner_tags",
    "owner_gone",
    "reap_stale_runs",
    "tag_owner",
]

logger = logging.getLogger(__name__)

OWNER_HOST_TAG = "arima_assets.owner_host"
OWNER_PID_TAG = "arima_assets.owner_pid"
OWNER_START_TAG = "arima_assets.owner_started"
REAPED_TAG = "arima_assets.stale"
_MAX_STALE_SEARCH = 1000


def _process_start(pid: int) -> tuple[str, str] | None:
    """(state, start time in clock ticks since boot) of a process from /proc, or None where /proc is unreadable."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            stat = handle.read()
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2 :].split()  # the command name (field 2) may hold spaces and parentheses
    return (fields[0], fields[19]) if len(fields) > 19 else None


@functools.cache
def _owner_tags() -> dict[str, str]:
    pid = os.getpid()
    started = _process_start(pid)
    start = started[1] if started else ""
    return {OWNER_HOST_TAG: socket.gethostname(), OWNER_PID_TAG: str(pid), OWNER_START_TAG: start}


def current_owner_tags() -> dict[str, str]:
    """The owner tags of runs started by the calling process (a forked worker gets its own)."""
    tags = _owner_tags()
    if tags[OWNER_PID_TAG] != str(os.getpid()):
        _owner_tags.cache_clear()
        tags = _owner_tags()
    return dict(tags)


def owner_gone(tags: Mapping[str, str]) -> str | None:
    """Why the run's owning process is known to be gone, or None (alive, another host, or no owner tags)."""
    host, pid_text, started = tags.get(OWNER_HOST_TAG), tags.get(OWNER_PID_TAG), tags.get(OWNER_START_TAG, "")
    if host != socket.gethostname() or not pid_text or not pid_text.isdigit():
        return None
    pid = int(pid_text)
    if pid == os.getpid():
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return f"its process {pid} on {host} is gone"
    except PermissionError:
        pass  # another user's live process
    state = _process_start(pid)
    if state is not None and state[0] in ("Z", "X"):
        return f"its process {pid} on {host} has exited"
    if state is not None and started and state[1] != started:
        return f"its process {pid} on {host} is gone (the id now belongs to another process)"
    return None


def tag_owner(client: MlflowClient, run_id: str) -> None:
    """Tag a run (started elsewhere, e.g. by dagster-mlflow) as owned by this process."""
    for key, value in current_owner_tags().items():
        client.set_tag(run_id, key, value)


def reap_stale_runs(client: MlflowClient, experiment_ids: list[str]) -> list[str]:
    """Mark KILLED the RUNNING runs of `experiment_ids` whose owner process is gone; returns their ids."""
    if not experiment_ids:
        return []
    running = client.search_runs(
        experiment_ids,
        filter_string=f"attributes.status = '{RunStatus.to_string(RunStatus.RUNNING)}'",
        run_view_type=ViewType.ACTIVE_ONLY,
        max_results=_MAX_STALE_SEARCH,
    )
    reaped = []
    for run in running:
        why = owner_gone(run.data.tags)
        if why is None:
            continue
        client.set_tag(run.info.run_id, REAPED_TAG, f"left RUNNING: {why}; marked KILLED")
        client.set_terminated(run.info.run_id, RunStatus.to_string(RunStatus.KILLED), int(time.time() * 1000))
        reaped.append(run.info.run_id)
    if reaped:
        logger.warning("Marked %d MLflow run(s) KILLED: left RUNNING by a process that is gone", len(reaped))
    return reaped
