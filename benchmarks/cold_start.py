"""Cold start as a new user meets it: README command 1 (`dagster dev` on the shipped 12-ISBN sample), timed from
the moment the server answers until every sample ISBN has a model and a forecast.

The repository's project files are copied to a temporary folder (the installed environment is reused, as after
the README's install step), `dagster.yaml` is copied to `.state/dagster/` and `dagster dev` is started there in
its own process group (`dagster dev` started in the background ignores SIGINT: the group is stopped by its id,
SIGTERM then SIGKILL). The instance is polled every `poll` seconds. Per run, from the run's own events:

- queued: from the run's creation to its launch (waiting for one of the `max_concurrent_runs` slots);
- start-up: from its launch to its first step (process start, imports, loading the code location, resources);
- steps: from its first step's start to its last step's end (fitting, tracking, forecasting);
- fit seconds: what the model step reports as the search's wall time.

Target: all 12 sample ISBNs trained and forecast within 60 s of the server being ready, on 2 cores (issue 18;
was 120 s).

    .venv/bin/python benchmarks/cold_start.py [--timeout 900] [--label before]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

_REPO = Path(__file__).resolve().parent.parent
if str(_REPO) not in sys.path:
    sys.path.insert(0, str(_REPO))

import dagster as dg  # noqa: E402

from arima_assets.defs._dagster_internals import DagsterEventType  # noqa: E402
from benchmarks.report import COLD_START_TITLE, cold_start_section, environment, replace_section  # noqa: E402
from benchmarks.settings import OUT_DIR  # noqa: E402

__all__ = ["import_profile", "run_cold_start"]

TARGET_SECONDS = 60.0
_PROJECT_FILES = ("arima_assets", "workspace.yaml", "pyproject.toml", "setup.cfg")
_MODEL, _FORECAST = dg.AssetKey("arima_model"), dg.AssetKey("sales_forecast")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _copy_project(project: Path, target: Path) -> None:
    for name in _PROJECT_FILES:
        source = project / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(source, target / name)
    home = target / ".state" / "dagster"
    home.mkdir(parents=True)
    shutil.copy2(project / "arima_assets" / "dagster_home" / "dagster.yaml", home / "dagster.yaml")


def _wait_until_ready(port: int, process: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"dagster dev exited with {process.returncode} before answering")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"dagster dev did not answer on port {port} within {timeout:.0f} s")


def _stop(process: subprocess.Popen) -> None:
    """Stop the server's process group: SIGTERM, then SIGKILL after 20 s."""
    if process.poll() is not None:
        return
    group = os.getpgid(process.pid)
    os.killpg(group, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(group, signal.SIGKILL)
        process.wait(timeout=10)


def _materialized(instance: dg.DagsterInstance, key: dg.AssetKey) -> int:
    return len(instance.get_materialized_partitions(key))


def _run_rows(instance: dg.DagsterInstance) -> list[dict[str, Any]]:
    """Per run: its ISBN (or the asset it ran), and queued / start-up / steps seconds from its events."""
    rows = []
    for record in instance.get_run_records():
        run = record.dagster_run
        events = {
            entry.dagster_event.event_type: entry.timestamp
            for entry in reversed(instance.all_logs(run.run_id))
            if entry.dagster_event is not None
        }  # first occurrence of each type wins (reversed: later ones are overwritten by earlier)
        steps = [
            entry.timestamp
            for entry in instance.all_logs(run.run_id)
            if entry.dagster_event is not None
            and entry.dagster_event.event_type in (DagsterEventType.STEP_START, DagsterEventType.STEP_SUCCESS)
        ]
        launched = events.get(DagsterEventType.RUN_STARTING)
        first_step = events.get(DagsterEventType.STEP_START)
        fit = 0.0
        for entry in instance.all_logs(run.run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION):
            materialization = entry.asset_materialization
            if materialization is not None and materialization.asset_key == _MODEL:
                value = materialization.metadata.get("fit_seconds")
                fit += float(value.value) if value is not None else 0.0
        rows.append(
            {
                "run_id": run.run_id,
                "partition": run.tags.get("dagster/partition", ""),
                "assets": sorted(key.to_user_string() for key in (run.asset_selection or [])),
                "status": str(run.status.value),
                "created": record.create_timestamp.timestamp(),
                "queued_s": round(launched - record.create_timestamp.timestamp(), 2) if launched else None,
                "startup_s": round(first_step - launched, 2) if launched and first_step else None,
                "steps_s": round(max(steps) - min(steps), 2) if len(steps) >= 2 else None,
                "fit_s": round(fit, 2),
                "end": record.end_time,
            }
        )
    return sorted(rows, key=lambda row: row["created"])


#: Packages whose import time a run worker pays, reported by `import_profile`.
_PROFILED = (
    "arima_assets.definitions",
    "dagster",
    "mlflow",
    "dagster_mlflow",
    "pandas",
    "scipy.stats._stats_py",
    "statsmodels.tsa.statespace.sarimax",
    "optuna",
    "matplotlib",
    "sqlalchemy",
)


def import_profile(project: Path) -> dict[str, float]:
    """Seconds (cumulative, `python -X importtime`) to import `arima_assets.definitions` from `project` as a run
    worker does, and the share of the heavy packages in it (a package imported by another is counted in both)."""
    command = [sys.executable, "-X", "importtime", "-c", "import arima_assets.definitions"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARIMA_")}
    done = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, check=True)
    cumulative: dict[str, float] = {}
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, total, name = (part.strip() for part in line.removeprefix("import time:").split("|"))
        if total.isdigit() and name in _PROFILED:
            cumulative[name] = round(int(total) / 1e6, 2)
    return cumulative


def _summary(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    return {"min": min(values), "median": round(statistics.median(values), 2), "max": max(values), "n": len(values)}


def run_cold_start(
    project: Path = _REPO, timeout: float = 900.0, poll: float = 2.0, n_isbns: int = 12
) -> dict[str, Any]:
    """Start `dagster dev` on a temporary copy of `project` and time the first models and forecasts."""
    root = Path(tempfile.mkdtemp(prefix="arima-cold-"))
    _copy_project(project, root)
    home = root / ".state" / "dagster"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARIMA_") and k not in ("DEPLOYMENT_ENV",)}
    env.update(DAGSTER_HOME=str(home), PYTHONDONTWRITEBYTECODE="1")
    port = _free_port()
    dagster = Path(sys.executable).with_name("dagster")
    command = [str(dagster), "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)]
    log = (root / "dagster-dev.log").open("w")
    started = time.monotonic()
    process = subprocess.Popen(command, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    result: dict[str, Any] = {"target_seconds": TARGET_SECONDS, "isbns": n_isbns, "load_before": os.getloadavg()}
    try:
        _wait_until_ready(port, process, timeout=300)
        ready = time.monotonic()
        result["server_ready_s"] = round(ready - started, 1)
        instance = dg.DagsterInstance.from_config(str(home))
        models_at = forecasts_at = None
        while time.monotonic() - ready < timeout:
            models, forecasts = _materialized(instance, _MODEL), _materialized(instance, _FORECAST)
            now = time.monotonic() - ready
            if models_at is None and models >= n_isbns:
                models_at = now
            if forecasts_at is None and forecasts >= n_isbns:
                forecasts_at = now
            if models_at is not None and forecasts_at is not None:
                break
            time.sleep(poll)
        result.update(
            all_models_s=round(models_at, 1) if models_at is not None else None,
            all_forecasts_s=round(forecasts_at, 1) if forecasts_at is not None else None,
        )
        result["load_after"] = os.getloadavg()
        runs = _run_rows(instance)
        instance.dispose()
    finally:
        _stop(process)
        log.close()
    done = max(filter(None, (result.get("all_models_s"), result.get("all_forecasts_s"))), default=None)
    trained = [row for row in runs if "arima_model" in row["assets"]]
    result.update(
        all_trained_and_forecast_s=done,
        met=done is not None and result["all_models_s"] is not None and done <= TARGET_SECONDS,
        runs_total=len(runs),
        model_runs=len(trained),
        model_run_startup_s=_summary([row["startup_s"] for row in trained if row["startup_s"] is not None]),
        model_run_steps_s=_summary([row["steps_s"] for row in trained if row["steps_s"] is not None]),
        model_run_fit_s=_summary([row["fit_s"] for row in trained]),
        model_run_queued_s=_summary([row["queued_s"] for row in trained if row["queued_s"] is not None]),
        runs=runs,
    )
    shutil.rmtree(root, ignore_errors=True)
    return result


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the cold-start benchmark; writes benchmarks/out/cold_start[_<label>].json."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds to wait after the server is ready")
    parser.add_argument("--label", default="", help="suffix of the output file (e.g. before, after)")
    parser.add_argument("--project", type=Path, default=_REPO, help="project folder to copy (default: this one)")
    args = parser.parse_args(argv)
    result = run_cold_start(args.project, args.timeout)
    result.update(environment=environment(), label=args.label, imports_s=import_profile(args.project))
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    path = OUT_DIR / f"cold_start{'_' + args.label if args.label else ''}.json"
    path.write_text(json.dumps(result, indent=1, default=str))
    brief = {k: v for k, v in result.items() if k not in ("runs", "environment")}
    print(json.dumps(brief, indent=1), flush=True)
    measured = [json.loads(saved.read_text()) for saved in sorted(OUT_DIR.glob("cold_start*.json"))]
    section = cold_start_section(sorted(measured, key=lambda m: m["environment"]["date"]))
    results_md = Path(__file__).resolve().parent / "RESULTS.md"
    results_md.write_text(replace_section(results_md.read_text(), COLD_START_TITLE, section))
    print(f"wrote {path} and the section of {results_md}", flush=True)
    return result


if __name__ == "__main__":
    main()
