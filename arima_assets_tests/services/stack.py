"""A production stack on one machine, as the README's production quick start builds it: Dagster on Postgres,
MLflow on Postgres, Celery workers on RabbitMQ, the daemon and the webserver as real processes.

Used by the `services` tests and by the scale benchmark. Every stack gets its own databases and its own Celery
queue, so stacks (and test sessions) that share the machine's services never see each other's work.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg2
import requests

from arima_assets.registry.tracking import scoped_env

PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
BROKER = "pyamqp://guest:guest@127.0.0.1:5672//"
REDIS = "127.0.0.1:6379"
REPO_ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

#: Search settings small enough for a test (the production preset's other numbers stay).
QUICK_SEARCH = {
    "ARIMA_N_TRIALS": "3",
    "ARIMA_PATIENCE": "2",
    "ARIMA_CV_FOLDS": "2",
    "ARIMA_SEARCH_SPACE": "arima",
    "ARIMA_MAX_TRAIN_WEEKS": "260",
    "ARIMA_TIME_BUDGET_SECONDS": "10",
    # the 26 sample ISBNs in runs of 13: two runs, so both Celery workers fit, and a batch's kill is exercised
    "ARIMA_BATCH_SIZE": "13",
}


def services_missing() -> list[str]:
    """Which of PostgreSQL (5432) and RabbitMQ (5672) cannot be reached on loopback."""
    import socket

    missing = []
    for name, port in (("PostgreSQL", 5432), ("RabbitMQ", 5672)):
        with socket.socket() as sock:
            sock.settimeout(2)
            if sock.connect_ex(("127.0.0.1", port)) != 0:
                missing.append(f"{name} on 127.0.0.1:{port}")
    return missing


def server_setting(name: str) -> str:
    """A setting of the machine's Postgres server (`SHOW <name>`)."""
    with psycopg2.connect(f"{PG_SERVER}/postgres") as connection, connection.cursor() as cursor:
        cursor.execute(f"SHOW {name}")
        return str(cursor.fetchone()[0])


def _admin(sql: str) -> None:
    connection = psycopg2.connect(f"{PG_SERVER}/postgres")
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql)
    finally:
        connection.close()


@dataclass
class ProductionStack:
    """Processes and stores of one production deployment under `root` (a temporary folder)."""

    root: Path
    sales_path: Path
    settings: dict[str, str] = field(default_factory=lambda: dict(QUICK_SEARCH))
    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:10])
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    init_report: dict[str, str] = field(default_factory=dict)  # what `arima-assets init` printed

    def __post_init__(self) -> None:
        self.home = self.root / "dagster_home"
        self.shared = self.root / "shared"
        self.logs = self.root / "logs"
        self.databases = {"dagster": f"arima_{self.tag}_dagster", "mlflow": f"arima_{self.tag}_mlflow"}
        self.queue = f"arima-{self.tag}"

    # --- set-up -----------------------------------------------------------------------------------------
    @property
    def env(self) -> dict[str, str]:
        """The environment every process of the deployment gets (the README's production variables)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("ARIMA_") and k != "MLFLOW_TRACKING_URI"}
        env.update(
            DEPLOYMENT_ENV="production",
            DAGSTER_HOME=str(self.home),
            ARIMA_DAGSTER_PG_URL=f"{PG_SERVER}/{self.databases['dagster']}",
            MLFLOW_TRACKING_URI=f"{PG_SERVER}/{self.databases['mlflow']}",
            ARIMA_STATE_DIR=str(self.shared),
            ARIMA_SALES_PATH=str(self.sales_path),
            ARIMA_CELERY_BROKER=BROKER,
            ARIMA_CELERY_BACKEND="rpc://",
            ARIMA_CELERY_QUEUE=self.queue,
            PYTHONUNBUFFERED="1",
            PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",  # dagster-celery starts `celery` from PATH
        )
        env.update(self.settings)
        return env

    def create(self) -> None:
        """Fresh databases, the shipped production dagster.yaml, then `arima-assets init`."""
        for name in self.databases.values():
            _admin(f'CREATE DATABASE "{name}"')
        self.home.mkdir(parents=True, exist_ok=True)
        self.logs.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO_ROOT / "arima_assets" / "deploy" / "dagster.yaml", self.home / "dagster.yaml")
        init = subprocess.run([str(BIN / "arima-assets"), "init"], env=self.env, check=True, capture_output=True)
        self.init_report = json.loads(init.stdout)

    # --- processes --------------------------------------------------------------------------------------
    def process_env(self, changes: dict[str, str | None] | None = None) -> dict[str, str]:
        """`env` with `changes` applied (a None value unsets the variable)."""
        env = self.env
        for name, value in (changes or {}).items():
            if value is None:
                env.pop(name, None)
            else:
                env[name] = value
        return env

    def _start(self, name: str, args: list[str], env: dict[str, str] | None = None) -> subprocess.Popen:
        log = (self.logs / f"{name}.log").open("ab")
        process = subprocess.Popen(
            args, env=env or self.env, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.processes[name] = process
        return process

    def start_worker(self, name: str, env: dict[str, str | None] | None = None) -> subprocess.Popen:
        """One Celery worker with one slot, as the quick start starts it (`env`: changes to its environment)."""
        args = [str(BIN / "celery"), "-A", "arima_assets.deploy.celery_app", "worker", "-Q", self.queue]
        args += ["-n", f"{name}-{self.tag}@%h", "--concurrency=1", "--loglevel", "INFO"]
        return self._start(name, args, self.process_env(env))

    def start_daemon(self, env: dict[str, str | None] | None = None) -> subprocess.Popen:
        """The daemon (`env`: changes to its environment)."""
        args = [str(BIN / "dagster-daemon"), "run", "-w", str(REPO_ROOT / "workspace.yaml")]
        return self._start("daemon", args, self.process_env(env))

    def start_webserver(self, port: int) -> subprocess.Popen:
        self.port = port
        args = [str(BIN / "dagster-webserver"), "-w", str(REPO_ROOT / "workspace.yaml"), "-h", "127.0.0.1"]
        return self._start("webserver", [*args, "-p", str(port)])

    def stop(self, name: str, sig: int = signal.SIGTERM, timeout: float = 60) -> None:
        """Signal a process group (the process and its children) and wait for the leader to exit."""
        process = self.processes.pop(name)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)

    def stop_sensors(self, *names: str) -> None:
        """Stop sensors in the instance before the daemon starts (as `dagster sensor stop` does)."""
        for name in names:
            subprocess.run(
                [str(BIN / "dagster"), "sensor", "stop", name, "-w", str(REPO_ROOT / "workspace.yaml")],
                env=self.env,
                cwd=REPO_ROOT,
                check=True,
                capture_output=True,
            )

    def close(self) -> None:
        """Stop every process and drop the databases."""
        for name in list(self.processes):
            self.stop(name, signal.SIGKILL, timeout=10)
        for database in self.databases.values():
            with contextlib.suppress(psycopg2.Error):
                _admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')

    # --- observation --------------------------------------------------------------------------------------
    @contextlib.contextmanager
    def instance(self) -> Iterator[Any]:
        """The deployment's Dagster instance, read from this (test) process."""
        import dagster as dg

        overrides = {"DAGSTER_HOME": str(self.home), "ARIMA_DAGSTER_PG_URL": self.env["ARIMA_DAGSTER_PG_URL"]}
        with scoped_env(overrides), dg.DagsterInstance.get() as instance:
            yield instance

    def graphql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """POST a GraphQL query to the webserver; the `data` of the answer."""
        response = requests.post(
            f"http://127.0.0.1:{self.port}/graphql", json={"query": query, "variables": variables or {}}, timeout=60
        )
        response.raise_for_status()
        body = response.json()
        assert "errors" not in body, body["errors"]
        return body["data"]

    def wait_for_webserver(self, timeout: float = 120) -> None:
        wait_until(lambda: _answers(f"http://127.0.0.1:{self.port}/server_info"), timeout, "webserver answers")

    def log_text(self, name: str) -> str:
        path = self.logs / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=5).ok
    except requests.RequestException:
        return False


def wait_until(predicate: Callable[[], Any], timeout: float, what: str, interval: float = 2.0) -> Any:
    """Poll `predicate` until it returns something truthy; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for: {what}")
        time.sleep(interval)
