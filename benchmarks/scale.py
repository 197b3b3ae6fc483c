"""Scale benchmark of the two deployment profiles on one machine.

``cold-start``: N synthetic ISBNs (the sample's twelve behaviours drawn again with other seeds and given new
ISBNs) trained from nothing, as the automation does it after the first ingest, on

- ``dev``: `dagster dev` with the shipped local dagster.yaml (sqlite, in-process runs, at most 2 at a time);
- ``celery``: the production profile (Dagster and MLflow on Postgres, 2 Celery workers with one slot each,
  daemon and webserver), built as the README's production quick start builds it.

Both use the same search settings. Reported: wall time from the server being ready to every ISBN having a
model and a forecast, runs and failed runs, fits per ISBN (duplicates), the sum of the fits' own seconds
(``fit_seconds`` in the model metadata) and the ideal wall time (that sum / 2 slots), peak resident memory of
all the deployment's processes.

``weekly``: the weekly cycle (issue 18). N ISBNs are trained from nothing on the profile (a cheap search:
``WEEKLY_SEARCH``), then a file with one new week for every title lands in the sales folder, about 3 % of the
titles changed (that week's sales x0.4 or x2.5). Measured from the file landing to every ISBN's forecast refreshed
and nothing queued or running: wall seconds, runs launched, fits and their seconds, forecast refresh seconds, and
the ideal ((fit seconds + refresh seconds) / 2 slots).

``idle-tick``: the automation benchmark (benchmarks/automation_scale.py) on a Postgres instance.

Run: ``python -m benchmarks.scale cold-start --profile celery --isbns 200`` or
``python -m benchmarks.scale weekly --profile dev --isbns 2000`` (results in benchmarks/out/).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from arima_assets.config import ENV_VARS, ArimaConfig
from arima_assets.data.sample import generate_sample, sample_csv_text
from arima_assets.decision import StepStatus
from arima_assets.registry.tracking import scoped_env
from benchmarks.automation_scale import make_isbns

OUT_DIR = Path(__file__).resolve().parent / "out"
REPO_ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SLOTS = 2

#: The development preset's search on both profiles (same work per fit).
SEARCH = {"ARIMA_N_TRIALS": "12", "ARIMA_PATIENCE": "5", "ARIMA_TIME_BUDGET_SECONDS": "20"}
#: The weekly cycle's search: thousands of ISBNs must be trained before the week under test lands.
WEEKLY_SEARCH = {"ARIMA_N_TRIALS": "3", "ARIMA_PATIENCE": "2", "ARIMA_TIME_BUDGET_SECONDS": "5"}
#: Share of the titles whose new week is changed in the weekly cycle.
CHANGED_SHARE = 0.03


def synthetic_sales(n_isbns: int) -> pd.DataFrame:
    """`n_isbns` titles in Nielsen format: the sample generator with seeds 1, 2, ..., new ISBNs per draw."""
    frames = []
    isbns = iter(make_isbns(n_isbns, start=978_0_900_00000))
    for seed in range(1, math.ceil(n_isbns / 12) + 1):
        frame = generate_sample(seed)
        for old in frame["ISBN"].unique():
            new = next(isbns, None)
            if new is None:
                frame = frame[frame["ISBN"] != old]
                continue
            frame.loc[frame["ISBN"] == old, "Title"] += f" ({seed})"
            frame.loc[frame["ISBN"] == old, "ISBN"] = new
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def _write_sales(root: Path, n_isbns: int) -> Path:
    """The synthetic sales file of `n_isbns` titles under `root`/sales."""
    sales = root / "sales" / "export.csv"
    sales.parent.mkdir()
    sales.write_text(sample_csv_text(synthetic_sales(n_isbns)))
    return sales


def _write_weekly_sales(root: Path, n_isbns: int, seed: int = 7) -> tuple[Path, pd.DataFrame, list[str]]:
    """All but the last week of `n_isbns` titles in `root`/sales/export.csv; returns the folder, the last week's
    rows (about `CHANGED_SHARE` of the titles' volume x0.4 or x2.5) and the changed ISBNs."""
    import numpy as np

    everything = synthetic_sales(n_isbns)
    last = everything["End Date"].max()
    folder = root / "sales"
    folder.mkdir()
    (folder / "export.csv").write_text(sample_csv_text(everything[everything["End Date"] < last]))
    week = everything[everything["End Date"] == last].copy()
    rng = np.random.default_rng(seed)
    isbns = sorted(week["ISBN"].astype(str).unique())
    changed = sorted(rng.choice(isbns, size=max(1, round(CHANGED_SHARE * n_isbns)), replace=False))
    factors = {isbn: float(rng.choice([0.4, 2.5])) for isbn in changed}
    hit = week["ISBN"].astype(str).isin(factors)
    week.loc[hit, "Volume"] = (week.loc[hit, "Volume"] * week.loc[hit, "ISBN"].astype(str).map(factors)).round()
    return folder, week, changed


#: Model step statuses that fitted a model (a promoted challenger and a reuse fit nothing).
_FITTED = (str(StepStatus.TRAINED), str(StepStatus.KEPT))


def _materializations(instance: Any, key: str, since: float | None = None) -> list[Any]:
    """Materialization records of asset `key` (stored after unix time `since` when given), in pages of at most
    10,000 (Dagster's limit)."""
    import dagster as dg

    from arima_assets.defs._dagster_internals import AssetRecordsFilter

    records, cursor = [], None
    while True:
        page = instance.fetch_materializations(
            AssetRecordsFilter(asset_key=dg.AssetKey(key), after_timestamp=since), limit=10_000, cursor=cursor
        )
        records.extend(page.records)
        if not page.has_more:
            return records
        cursor = page.cursor


def _status(record: Any) -> str:
    status = record.asset_materialization.metadata.get("status")
    return str(status.value) if status is not None else ""


def _metadata_total(records: list[Any], key: str) -> float:
    """The sum of the numeric metadata value `key` over `records` (those that have it)."""
    values = (r.asset_materialization.metadata.get(key) for r in records)
    return sum(float(value.value) for value in values if value is not None)


def _weekly_phase(instance_factory: Any, folder: Path, week: pd.DataFrame, n_isbns: int, timeout: float) -> dict:
    """Drop the new week's file and wait until every ISBN's forecast is refreshed and nothing runs."""
    with instance_factory() as instance:
        runs_before = instance.get_runs_count()
    landed = time.time()
    (folder / "week.csv").write_text(sample_csv_text(week))
    started = time.monotonic()
    deadline = started + timeout
    refreshed, busy = 0, 1
    while time.monotonic() < deadline:
        with instance_factory() as instance:
            forecasts = _materializations(instance, "sales_forecast", landed)
            refreshed = len({r.asset_materialization.partition for r in forecasts})
            busy = _progress(instance, n_isbns)["busy"]
        print(f"  {time.strftime('%H:%M:%S')} load {os.getloadavg()[0]:.1f} refreshed {refreshed} busy {busy}")
        if refreshed >= n_isbns and busy == 0:
            break
        time.sleep(5)
    wall = time.monotonic() - started
    with instance_factory() as instance:
        runs = instance.get_runs_count() - runs_before
        models = _materializations(instance, "arima_model", landed)
        forecasts = _materializations(instance, "sales_forecast", landed)
    statuses = Counter(_status(r) for r in models)
    fit_seconds = _metadata_total(models, "fit_seconds")
    refresh = _metadata_total(forecasts, "refresh_seconds")
    return {
        "finished": refreshed >= n_isbns and busy == 0,
        "wall_seconds": wall,
        "forecasts_refreshed": refreshed,
        "runs_launched": runs,
        "model_statuses": dict(statuses),
        "fits": sum(statuses[s] for s in _FITTED),
        "fit_seconds": fit_seconds,
        "refresh_seconds": refresh,
        "ideal_seconds": (fit_seconds + refresh) / SLOTS,
    }


class MemorySampler:
    """Peak summed RSS of a set of process trees, sampled every second in a thread."""

    def __init__(self, roots: list[int]) -> None:
        self.roots, self.peak_bytes, self._stop = roots, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import psutil

        while not self._stop.is_set():
            total = 0
            for root in list(self.roots):
                try:
                    parent = psutil.Process(root)
                    for proc in [parent, *parent.children(recursive=True)]:
                        total += proc.memory_info().rss
                except psutil.Error:
                    continue
            self.peak_bytes = max(self.peak_bytes, total)
            self._stop.wait(1.0)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)


def _model_facts(instance: Any) -> dict[str, Any]:
    """Fits per ISBN and their seconds, from the arima_model materializations' metadata."""
    records = _materializations(instance, "arima_model")
    fits = Counter(r.asset_materialization.partition for r in records if _status(r) in _FITTED)
    return {"fits": fits, "fit_seconds": _metadata_total(records, "fit_seconds")}


def _progress(instance: Any, n_isbns: int) -> dict[str, Any]:
    import dagster as dg

    runs = instance.get_runs()
    statuses = Counter(run.status.value for run in runs)
    forecasts = instance.get_materialized_partitions(dg.AssetKey("sales_forecast"))
    busy = sum(statuses.get(s, 0) for s in ("QUEUED", "NOT_STARTED", "STARTING", "STARTED", "CANCELING"))
    return {"runs": len(runs), "statuses": dict(statuses), "forecasts": len(forecasts), "busy": busy}


def _wait_done(instance_factory: Any, n_isbns: int, timeout: float, stall_seconds: float = 300) -> dict[str, Any]:
    """Poll until every ISBN has a forecast and nothing is queued or running; give up after `timeout`, or when
    nothing is queued or running and nothing changed for `stall_seconds` (a failed ISBN is not retried by the
    automation without new data)."""
    deadline = time.monotonic() + timeout
    last: dict[str, Any] = {}
    changed = time.monotonic()
    while time.monotonic() < deadline:
        with instance_factory() as instance:
            now = _progress(instance, n_isbns)
        if now != last:
            changed = time.monotonic()
        last = now
        print(f"  {time.strftime('%H:%M:%S')} load {os.getloadavg()[0]:.1f} {last}", flush=True)
        if last["forecasts"] >= n_isbns and last["busy"] == 0:
            return {**last, "finished": True}
        if last["runs"] and last["busy"] == 0 and time.monotonic() - changed > stall_seconds:
            break
        time.sleep(10)
    return {**last, "finished": False}


def _answers(url: str) -> bool:
    import requests

    try:
        return requests.get(url, timeout=5).ok
    except requests.RequestException:
        return False


def _wait_ready(port: int, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while not _answers(f"http://127.0.0.1:{port}/server_info"):
        if time.monotonic() > deadline:
            raise TimeoutError("the webserver did not answer")
        time.sleep(1)


def _summary(profile: str, n_isbns: int, ready: float, done: dict, facts: dict, peak: int, started: float) -> dict:
    wall = time.monotonic() - ready
    ideal = facts["fit_seconds"] / SLOTS
    duplicates = {isbn: n for isbn, n in facts["fits"].items() if n > 1}
    return {
        "profile": profile,
        "n_isbns": n_isbns,
        "finished": done["finished"],
        "seconds_to_ready": ready - started,
        "wall_seconds_after_ready": wall,
        "runs": done["runs"],
        "run_statuses": done["statuses"],
        "failed_runs": done["statuses"].get("FAILURE", 0),
        "isbns_with_forecast": done["forecasts"],
        "isbns_fitted": len(facts["fits"]),
        "duplicated_fits": sum(n - 1 for n in duplicates.values()),
        "total_fit_seconds": facts["fit_seconds"],
        "ideal_seconds": ideal,
        "ratio_to_ideal": wall / ideal if ideal else float("nan"),
        "overhead_seconds_beyond_1_2x_ideal": wall - 1.2 * ideal,
        "overhead_per_isbn_seconds": (wall - ideal) / n_isbns,
        "peak_rss_mb": peak / 2**20,
        "load_average_at_end": os.getloadavg()[0],
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "cpus": os.cpu_count(),
    }


@contextlib.contextmanager
def _dagster_dev(root: Path, sales_path: Path, settings: dict[str, str], port: int) -> Iterator[tuple[Any, Any]]:
    """`dagster dev` as README command 1 starts it, its instance under `root`; yields the process and a factory of
    instances on its storage. The process group is killed on exit."""
    import dagster as dg

    home = root / "dagster"
    home.mkdir()
    shutil.copy(REPO_ROOT / "arima_assets" / "dagster_home" / "dagster.yaml", home / "dagster.yaml")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARIMA_") and k != "MLFLOW_TRACKING_URI"}
    env.update(
        DAGSTER_HOME=str(home),
        DEPLOYMENT_ENV="development",
        ARIMA_STATE_DIR=str(root / "state"),
        ARIMA_SALES_PATH=str(sales_path),
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        **settings,
    )
    log = (root / "dagster-dev.log").open("wb")
    args = [str(BIN / "dagster"), "dev", "-w", str(REPO_ROOT / "workspace.yaml"), "-h", "127.0.0.1", "-p", str(port)]
    process = subprocess.Popen(
        args, env=env, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )

    @contextlib.contextmanager
    def instance_factory() -> Iterator[Any]:
        with scoped_env({"DAGSTER_HOME": str(home)}), dg.DagsterInstance.get() as instance:
            yield instance

    try:
        yield process, instance_factory
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(30)


def cold_start_dev(n_isbns: int, timeout: float) -> dict[str, Any]:
    """`dagster dev` as README command 1 starts it, on N synthetic ISBNs."""
    with tempfile.TemporaryDirectory(prefix="arima-scale-dev-") as tmp:
        root = Path(tmp)
        started = time.monotonic()
        with _dagster_dev(root, _write_sales(root, n_isbns), SEARCH, 3950) as (process, instance_factory):
            with MemorySampler([process.pid]) as memory:
                _wait_ready(3950)
                ready = time.monotonic()
                done = _wait_done(instance_factory, n_isbns, timeout)
            with instance_factory() as instance:
                facts = _model_facts(instance)
        return _summary("dev", n_isbns, ready, done, facts, memory.peak_bytes, started)


@contextlib.contextmanager
def _production_stack(root: Path, sales_path: Path, settings: dict[str, str], port: int) -> Iterator[tuple[Any, list]]:
    """The production profile under `root` (Postgres, RabbitMQ, 2 Celery workers, daemon, webserver), started and
    answering; yields the stack and its processes. Everything is stopped and dropped on exit."""
    from arima_assets_tests.services.stack import ProductionStack

    stack = ProductionStack(root=root, sales_path=sales_path, settings=dict(settings))
    try:
        stack.create()
        workers = [stack.start_worker("worker1"), stack.start_worker("worker2")]
        processes = [*workers, stack.start_daemon(), stack.start_webserver(port=port)]
        yield stack, processes
    finally:
        stack.close()


def cold_start_celery(n_isbns: int, timeout: float) -> dict[str, Any]:
    """The production profile on this machine: Postgres, RabbitMQ, 2 Celery workers, daemon, webserver."""
    with tempfile.TemporaryDirectory(prefix="arima-scale-celery-") as tmp:
        root = Path(tmp)
        started = time.monotonic()
        with _production_stack(root, _write_sales(root, n_isbns), SEARCH, 3951) as (stack, processes):
            with MemorySampler([p.pid for p in processes]) as memory:
                stack.wait_for_webserver()
                ready = time.monotonic()
                done = _wait_done(stack.instance, n_isbns, timeout)
            with stack.instance() as instance:
                facts = _model_facts(instance)
        return _summary("celery", n_isbns, ready, done, facts, memory.peak_bytes, started)


def weekly_dev(n_isbns: int, timeout: float) -> dict[str, Any]:
    """The weekly cycle on `dagster dev` (README command 1's instance) with N trained ISBNs."""
    with tempfile.TemporaryDirectory(prefix="arima-weekly-dev-") as tmp:
        root = Path(tmp)
        folder, week, changed = _write_weekly_sales(root, n_isbns)
        with _dagster_dev(root, folder, WEEKLY_SEARCH, 3952) as (_, instance_factory):
            _wait_ready(3952)
            seed = _trained(instance_factory, n_isbns, timeout)
            weekly = _weekly_phase(instance_factory, folder, week, n_isbns, timeout)
    return _weekly_summary("dev", n_isbns, changed, seed, weekly)


def weekly_celery(n_isbns: int, timeout: float) -> dict[str, Any]:
    """The weekly cycle on the production profile (Postgres, RabbitMQ, 2 Celery workers) with N trained ISBNs."""
    with tempfile.TemporaryDirectory(prefix="arima-weekly-celery-") as tmp:
        root = Path(tmp)
        folder, week, changed = _write_weekly_sales(root, n_isbns)
        with _production_stack(root, folder, WEEKLY_SEARCH, 3953) as (stack, _):
            stack.wait_for_webserver()
            seed = _trained(stack.instance, n_isbns, timeout)
            weekly = _weekly_phase(stack.instance, folder, week, n_isbns, timeout)
    return _weekly_summary("celery", n_isbns, changed, seed, weekly)


def _trained(instance_factory: Any, n_isbns: int, timeout: float) -> dict[str, Any]:
    """Wait until the deployment has trained and forecast every ISBN, then let the report and the last ticks
    settle, so that the week lands on an idle deployment; the wait's facts with its `seconds`."""
    started = time.monotonic()
    seed = _wait_done(instance_factory, n_isbns, timeout)
    seed["seconds"] = time.monotonic() - started
    time.sleep(30)
    return seed


def _weekly_summary(profile: str, n_isbns: int, changed: list[str], seed: dict, weekly: dict) -> dict[str, Any]:
    batch_size = int(os.environ.get(ENV_VARS["batch_size"], ArimaConfig.model_fields["batch_size"].default))
    return {
        "profile": profile,
        "n_isbns": n_isbns,
        "batch_size": batch_size,
        "changed_isbns": len(changed),
        "seed_seconds": seed["seconds"],
        "seed_finished": seed["finished"],
        **weekly,
        "runs_allowed": -(-n_isbns // batch_size) + len(changed),
        "search": WEEKLY_SEARCH,
        "load_average_at_end": os.getloadavg()[0],
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "cpus": os.cpu_count(),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("part", choices=["cold-start", "weekly", "idle-tick"])
    parser.add_argument("--profile", choices=["dev", "celery"], default="celery")
    parser.add_argument("--isbns", type=int, help="ISBNs (cold-start default 200, idle-tick default 10000)")
    parser.add_argument("--timeout", type=float, default=7200, help="seconds to wait for a cold start")
    args = parser.parse_args(argv)
    if args.part == "cold-start":
        n = args.isbns or 200
        run = cold_start_dev if args.profile == "dev" else cold_start_celery
        result = run(n, args.timeout)
        name = f"scale_cold_start_{args.profile}_{n}"
    elif args.part == "weekly":
        n = args.isbns or 2000
        result = (weekly_dev if args.profile == "dev" else weekly_celery)(n, args.timeout)
        name = f"scale_weekly_{args.profile}_{n}"
    else:
        from benchmarks.automation_scale import run_automation_scale

        n = args.isbns or 10_000
        # the conditions read no check evaluations (the model step emits them): 3 events per ISBN at setup, not 8
        result = run_automation_scale(n, idle_ticks=3, storage="postgres", with_checks=False)
        name = f"scale_idle_tick_postgres_{n}"
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    (OUT_DIR / f"{name}.json").write_text(json.dumps(result, indent=1, default=str))
    print(json.dumps({k: v for k, v in result.items() if k != "ticks"}, indent=1, default=str))
    return result


if __name__ == "__main__":
    main()
