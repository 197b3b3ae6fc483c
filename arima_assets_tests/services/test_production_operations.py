"""What an operator hits in production (issue 21, items 3-6), on real services: settings exported where runs are
launched reach the workers' steps; an MLflow outage ends runs promptly and frees their fit slots; no secret in a
world-readable file or a command line; a killed worker is started again by the supervisor."""

from __future__ import annotations

import configparser
import os
import signal
import socket
import stat
import subprocess
import time
from pathlib import Path

import dagster as dg
import pytest
from mlflow import MlflowClient

from arima_assets.data.catalogue import CATALOGUE
from arima_assets.defs.deployment import FIT_POOL, RUN_SETTINGS_ORIGIN_TAG
from arima_assets_tests.conftest import missing_service
from arima_assets_tests.services.stack import BIN, PG_SERVER, REPO_ROOT, ProductionStack, wait_until

pytestmark = pytest.mark.services

SAMPLE_ISBNS = {title.isbn for title in CATALOGUE}
SUPERVISOR_CONF = REPO_ROOT / "arima_assets" / "deploy" / "supervisord.conf"


def _model_runs(stack: ProductionStack) -> list[dg.DagsterRun]:
    with stack.instance() as instance:
        return [run for run in instance.get_runs() if dg.AssetKey("arima_model") in (run.asset_selection or set())]


def _isbn_runs(stack: ProductionStack) -> list:
    """The per-ISBN MLflow runs (nested under the Dagster runs' MLflow runs)."""
    uri = stack.env["MLFLOW_TRACKING_URI"]
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    experiment = client.get_experiment_by_name("arima_assets")
    return client.search_runs([experiment.experiment_id], filter_string="tags.isbn != ''", max_results=1000)


def _secret_holders(root: Path, secrets: list[str]) -> dict[Path, int]:
    """Every file under `root` that holds one of `secrets`: its permission bits."""
    found = {}
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            try:
                text = path.read_bytes()
            except OSError:
                continue
            if any(secret.encode() in text for secret in secrets):
                found[path] = stat.S_IMODE(path.stat().st_mode)
    return found


def _command_lines(pids: list[int]) -> list[str]:
    """The command lines of `pids` and all their descendants (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    lines, todo = [], list(pids)
    while todo:
        pid = todo.pop()
        try:
            lines.append((Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode())
        except OSError:
            continue
        todo.extend(children.get(pid, []))
    return lines


def test_settings_exported_for_the_daemon_only_reach_the_workers_steps_and_no_secret_is_world_readable(
    tmp_path: Path,
) -> None:
    from arima_assets.data.sample import SAMPLE_PATH

    password = f"pw-{os.urandom(4).hex()}"  # the local Postgres trusts loopback: any password connects
    stack = ProductionStack(root=tmp_path, sales_path=Path(SAMPLE_PATH))
    stack.settings.update(
        ARIMA_DAGSTER_PG_URL=f"postgresql://postgres:{password}@127.0.0.1:5432/{stack.databases['dagster']}",
        MLFLOW_TRACKING_URI=f"postgresql://postgres:{password}@127.0.0.1:5432/{stack.databases['mlflow']}",
    )
    stack.create()
    try:
        # the workers keep the stack's 3 trials; the daemon (where every run is launched) says 4
        stack.start_worker("worker1")
        stack.start_worker("worker2")
        stack.start_daemon(env={"ARIMA_N_TRIALS": "4"})

        def every_isbn_fitted() -> bool:
            return {run.data.tags.get("isbn") for run in _isbn_runs(stack)} >= SAMPLE_ISBNS

        wait_until(every_isbn_fitted, 1200, "a fit of every sample ISBN", interval=5)
        fits = _isbn_runs(stack)
        assert {run.data.params.get("config.n_trials") for run in fits} == {"4"}, "the run's settings apply"
        runs = _model_runs(stack)
        assert runs and all(run.tags.get("arima/n_trials") == "4" for run in runs)
        assert all(run.tags[RUN_SETTINGS_ORIGIN_TAG].startswith("dagster-daemon on ") for run in runs)
        with stack.instance() as instance:
            logs = [
                record.user_message
                for run in runs
                for record in instance.all_logs(run.run_id)
                if "differs from where the run was launched" in record.user_message
            ]
        assert logs and all("n_trials=4 (here 3)" in message for message in logs), logs[:2]

        # credentials: no file the project wrote holds one readable by others; no process argument shows one
        secrets = [password, "guest:guest@"]
        holders = _secret_holders(stack.root / "dagster_home", secrets)
        holders.update(_secret_holders(stack.shared, secrets))
        readable = {str(path): oct(mode) for path, mode in holders.items() if mode & 0o077}
        assert not readable, f"secrets in files readable by group/others: {readable}"
        assert not (stack.home / "dagster_celery").exists(), "the workers write no Celery config file"
        shown = [line for line in _command_lines([p.pid for p in stack.processes.values()]) if password in line]
        assert not shown and not any(
            "guest:guest@" in line for line in _command_lines([p.pid for p in stack.processes.values()])
        ), shown
    finally:
        stack.close()


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


_FAILURES = (dg.DagsterEventType.STEP_FAILURE, dg.DagsterEventType.RESOURCE_INIT_FAILURE)


def test_an_mlflow_outage_on_the_workers_ends_the_model_runs_promptly_and_frees_the_fit_slots(production_stack):
    stack = production_stack
    outage = {"MLFLOW_TRACKING_URI": f"http://127.0.0.1:{_closed_port()}"}  # nothing listens: MLflow is down
    stack.start_worker("worker1", env=outage)
    stack.start_worker("worker2", env=outage)
    stack.start_daemon()

    def model_runs_ended() -> list[dg.DagsterRun]:
        runs = _model_runs(stack)
        covered = {run.tags.get("dagster/asset_partition_range_start") for run in runs if run.is_finished}
        return runs if len(covered) >= 2 and all(run.is_finished for run in runs) else []

    runs = wait_until(model_runs_ended, 900, "the model runs of both batches to end", interval=3)
    with stack.instance() as instance:
        model_failures = 0
        for run in runs:
            assert run.status == dg.DagsterRunStatus.FAILURE, run.status
            events = instance.all_logs(run.run_id)
            failures = [e for e in events if e.step_key and e.dagster_event_type in _FAILURES]
            why = [e.message for e in events if e.dagster_event_type == dg.DagsterEventType.RUN_FAILURE]
            on_mlflow = [e for e in failures if "MLflow unavailable" in repr(e.dagster_event.event_specific_data)]
            model_failures += bool(on_mlflow)
            ended = instance.get_run_record_by_id(run.run_id).end_time
            # from its failed step; a run whose step failure was not recorded: from its last step event
            stepped = [e.timestamp for e in events if e.step_key]
            late = ended - (min(e.timestamp for e in failures) if failures else max(stepped))
            assert late < 60, f"run {run.run_id} ended {late:.0f} s after its step failed: {why}"
            step = failures[0].step_key if failures else "(no failed step recorded)"
            print(f"run {run.run_id[:8]} ended {late:.1f} s after {step} failed: {why[:1]}")
        assert model_failures, "a model step failed on MLflow"
        last_end = max(instance.get_run_record_by_id(run.run_id).end_time for run in runs)

        def slots_free() -> bool:
            return instance.event_log_storage.get_concurrency_info(FIT_POOL).claimed_slots == []

        wait_until(slots_free, 120, f"the {FIT_POOL} slots of the ended runs to be freed", interval=1)
    freed_after = time.time() - last_end
    print(f"{FIT_POOL} slots free {freed_after:.0f} s after the last model run ended")
    assert freed_after < 60, f"{FIT_POOL} slots held {freed_after:.0f} s after the runs ended"


def _supervisor_conf(tmp_path: Path) -> Path:
    """The shipped supervisord.conf with only the worker programs (the ones this test kills), as shipped."""
    shipped = configparser.RawConfigParser()
    shipped.read(SUPERVISOR_CONF)
    kept = configparser.RawConfigParser()
    for section in ("supervisord", "unix_http_server", "supervisorctl", "rpcinterface:supervisor", "program:worker"):
        kept[section] = dict(shipped[section])
    kept["supervisord"]["directory"] = str(REPO_ROOT)  # %(here)s is the copy's folder
    conf = tmp_path / "supervisord.conf"
    with conf.open("w") as handle:
        kept.write(handle)
    return conf


def _worker_pids(conf: Path, env: dict[str, str]) -> dict[str, int]:
    """Name -> pid of the RUNNING workers, from `supervisorctl status`."""
    status = subprocess.run(
        [str(BIN / "supervisorctl"), "-c", str(conf), "status"], env=env, capture_output=True, text=True, timeout=60
    )
    pids = {}
    for line in status.stdout.splitlines():
        fields = line.split()
        if len(fields) >= 4 and fields[1] == "RUNNING" and fields[2] == "pid":
            pids[fields[0]] = int(fields[3].rstrip(","))
    return pids


def test_the_supervisor_starts_a_killed_worker_again(production_stack, tmp_path: Path) -> None:
    if not (BIN / "supervisord").exists():
        missing_service("the supervisor test needs supervisord (pip install supervisor)")
    stack = production_stack
    conf = _supervisor_conf(tmp_path)
    env = stack.process_env({"ARIMA_LOG_DIR": str(stack.logs)})
    started = time.monotonic()
    subprocess.run([str(BIN / "supervisord"), "-c", str(conf)], env=env, cwd=REPO_ROOT, check=True, timeout=60)
    try:
        wait_until(lambda: Path(stack.logs / "supervisor.sock").exists(), 60, "supervisord's socket", interval=1)
        assert stat.S_IMODE((stack.logs / "supervisor.sock").stat().st_mode) & 0o077 == 0
        start = subprocess.run(
            [str(BIN / "supervisorctl"), "-c", str(conf), "start", "worker:*"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert start.returncode == 0, start.stdout + start.stderr
        before = wait_until(
            lambda: _worker_pids(conf, env) if len(_worker_pids(conf, env)) == 2 else None,
            60,
            "two RUNNING workers",
            interval=1,
        )

        def ready(name: str, times: int) -> bool:
            return (stack.logs / f"{name}.log").read_text(errors="replace").count(" ready.") >= times

        wait_until(lambda: ready("worker0", 1) and ready("worker1", 1), 90, "both workers connected", interval=1)
        os.kill(before["worker:worker0"], signal.SIGKILL)
        after = wait_until(
            lambda: (p := _worker_pids(conf, env)).get("worker:worker0") not in (None, before["worker:worker0"]) and p,
            60,
            "worker0 running again under a new pid",
            interval=1,
        )
        assert after["worker:worker1"] == before["worker:worker1"]  # the other worker was left alone

        wait_until(lambda: ready("worker0", 2), 90, "the restarted worker connected to the broker", interval=1)
        modes = {p.name: oct(stat.S_IMODE(p.stat().st_mode)) for p in stack.logs.glob("worker*.log")}
        assert all(int(mode, 8) & 0o077 == 0 for mode in modes.values()), modes  # the programs' files: owner-only
        assert not _secret_holders(stack.logs, ["guest:guest@"])  # Celery shows the broker as guest:**@
        assert time.monotonic() - started < 120, f"{time.monotonic() - started:.0f} s"
    finally:
        stop = [str(BIN / "supervisorctl"), "-c", str(conf), "shutdown"]
        subprocess.run(stop, env=env, capture_output=True, timeout=90)
        wait_until(lambda: not (stack.logs / "supervisord.pid").exists(), 90, "supervisord to exit", interval=1)


def test_the_shipped_supervisor_config_keeps_secrets_out_of_its_text_and_command_lines() -> None:
    text = SUPERVISOR_CONF.read_text()
    parsed = configparser.RawConfigParser()
    parsed.read_string(text)
    commands = {name: parsed[name]["command"] for name in parsed.sections() if name.startswith("program:")}
    assert set(commands) == {"program:mlflow", "program:worker", "program:daemon", "program:webserver"}
    assert "--backend-store-uri" not in commands["program:mlflow"]  # read from MLFLOW_BACKEND_STORE_URI
    assert "-Q %(ENV_ARIMA_CELERY_QUEUE)s" in commands["program:worker"]
    assert "arima-assets webserver" in commands["program:webserver"]
    assert not any(marker in text for marker in ("postgresql://", "pyamqp://", "amqp://", "redis://", PG_SERVER))
