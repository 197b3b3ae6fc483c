"""Idle pipeline calls: what `book_sales_arima_modeling_pipeline(...)` and `arima-assets run` cost when nothing
changed, at 12, 100 and 1,000 ISBNs.

Synthetic sales built like the shipped sample (`arima_assets.data.sample.generate_sample`, one seed per block of
12 titles, ISBNs renumbered with `automation_scale.make_isbns`), the last `weeks` weeks of each title. The sizes
grow in one state folder: the sales file is rewritten with the first 12, 100, then 1,000 ISBNs. Up to
`--trained` ISBNs (default 12), one pipeline call trains the new ones (testing preset, `n_trials` trials: the
same runs, MLflow registrations and store writes a user's first call makes, with a short search). Beyond that,
a pipeline run per ISBN costs 1-9 s on this shared 2-core machine (hours for 900), so the other ISBNs are seeded
in-process with what the idle call reads: a real fit (`training.run_model_step`, same preset with one CV fold
for speed), its record logged to an MLflow run and registered as version 1 of `arima-<isbn>` with the champion
alias and `record_run_id` tag (no pyfunc artifact: the idle call never loads it), the record in the local cache,
and runless Dagster materializations of `weekly_sales`, `arima_model` and `sales_forecast` carrying the series
and record digests the runs would have reported. Then, with nothing
changed:

1. `repeats` calls of the Python API in this process (imports already paid): wall seconds each;
2. one `arima-assets run` in a fresh process (process start and imports included), as a user calls it;

and the Dagster runs launched by those idle calls are counted (must be 0) and every ISBN must be reported
reused. Target: a fully reused call under 3 s + 20 ms per ISBN (a 1,000-ISBN call under 23 s).

    .venv/bin/python benchmarks/idle_calls.py               # 12, 100, 1,000 ISBNs (seeding 1,000 is the slow part)
    .venv/bin/python benchmarks/idle_calls.py --sizes 12,100
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

_REPO = Path(__file__).resolve().parent.parent
if str(_REPO) not in sys.path:
    sys.path.insert(0, str(_REPO))

import dagster as dg  # noqa: E402
import pandas as pd  # noqa: E402

from arima_assets import book_sales_arima_modeling_pipeline, get_arima_config  # noqa: E402
from arima_assets.config import ArimaConfig  # noqa: E402
from arima_assets.data.nielsen import load_sales  # noqa: E402
from arima_assets.data.sample import DEFAULT_SEED, generate_sample, sample_csv_text  # noqa: E402
from arima_assets.defs.automation import AGE_CLOCK_METADATA_KEY, SERIES_VERSION_METADATA_KEY  # noqa: E402
from arima_assets.defs.tracking import EXPERIMENT_NAME  # noqa: E402
from arima_assets.lifecycle import record_for_registry, record_from_registry  # noqa: E402
from arima_assets.registry import CHAMPION_ALIAS, ModelRegistry, model_name  # noqa: E402
from arima_assets.registry.records import RECORD_RUN_TAG  # noqa: E402
from arima_assets.store import ModelStore  # noqa: E402
from arima_assets.training import record_digest, run_model_step, series_version  # noqa: E402
from benchmarks.automation_scale import make_isbns  # noqa: E402
from benchmarks.report import IDLE_TITLE, environment, idle_calls_section, replace_section  # noqa: E402
from benchmarks.settings import OUT_DIR  # noqa: E402

__all__ = ["cli_import_seconds", "run_idle_calls", "synthetic_sales", "target_seconds"]

SIZES = (12, 100, 1000)


def target_seconds(n_isbns: int) -> float:
    """The target for a fully reused call: 3 s fixed plus 20 ms per ISBN."""
    return 3.0 + 0.020 * n_isbns


def synthetic_sales(n_isbns: int, weeks: int) -> pd.DataFrame:
    """Nielsen-format sales of `n_isbns` titles: the sample's 12 behaviours drawn with one seed per block of 12,
    renumbered to distinct valid ISBNs, the last `weeks` weeks of each."""
    isbns = make_isbns(n_isbns)
    blocks = []
    for block in range((n_isbns + 11) // 12):
        frame = generate_sample(seed=DEFAULT_SEED + block)
        originals = list(dict.fromkeys(frame["ISBN"].astype(str)))
        wanted = isbns[12 * block : 12 * block + 12]
        renumber = dict(zip(originals, wanted, strict=False))
        frame = frame[frame["ISBN"].astype(str).isin(renumber)].copy()
        frame["ISBN"] = frame["ISBN"].astype(str).map(renumber)
        blocks.append(frame)
    sales = pd.concat(blocks, ignore_index=True)
    end = pd.to_datetime(sales["End Date"])
    return sales[end > end.max() - pd.Timedelta(weeks=weeks)].reset_index(drop=True)


def _runs(folder: Path) -> int:
    instance = dg.DagsterInstance.local_temp(tempdir=str(folder / "dagster"))
    try:
        return instance.get_runs_count()
    finally:
        instance.dispose()


def _seed_directly(out: Path, config: ArimaConfig, isbns: list[str]) -> None:
    """Seed ISBNs without pipeline runs (see the module docstring): a real fit each, its record registered as the
    champion, cached locally, and the Dagster materializations its run would have recorded."""
    data = load_sales(config.sales_path, absent_weeks=config.absent_weeks, max_weekly_volume=config.max_weekly_volume)
    store = ModelStore(out / "models")
    registry = ModelRegistry(config.mlflow_tracking_uri, experiment_name=EXPERIMENT_NAME)
    client = registry.client
    values = {**config.as_dict(), "cv_folds": 1}
    seeding = get_arima_config(values.pop("environment"), **values)
    instance = dg.DagsterInstance.local_temp(tempdir=str(out / "dagster"))
    try:
        for isbn in isbns:
            series = data.weekly_series(isbn)
            trained = run_model_step(isbn, series, None, seeding).champion
            run_id = registry.create_parent_run(f"isbn-{isbn}", {"isbn": isbn, "seeded_by": "benchmarks/idle_calls"})
            registry.log_record(run_id, record_for_registry(trained))
            registry.end_run(run_id)
            client.create_registered_model(model_name(isbn))
            version = client.create_model_version(
                model_name(isbn), f"runs:/{run_id}/model", run_id=run_id, tags={RECORD_RUN_TAG: run_id}
            ).version
            client.set_registered_model_alias(model_name(isbn), CHAMPION_ALIAS, version)
            store.put_champion(record_from_registry(record_for_registry(trained), isbn, int(version), run_id))
            champion = store.get_champion(isbn)
            version_of_series = {SERIES_VERSION_METADATA_KEY: series_version(series)}
            model = {
                **version_of_series,
                AGE_CLOCK_METADATA_KEY: dg.MetadataValue.timestamp(champion.age_clock_start.timestamp()),
                "record_digest": record_digest(champion),
            }
            for key, metadata in (("weekly_sales", version_of_series), ("arima_model", model), ("sales_forecast", {})):
                event = dg.AssetMaterialization(asset_key=key, partition=isbn, metadata=metadata)
                instance.report_runless_asset_event(event)
    finally:
        instance.dispose()


def cli_import_seconds() -> float:
    """Seconds a fresh process takes to import what an idle `arima-assets run` imports (no call)."""
    code = (
        "import time; t = time.perf_counter(); import arima_assets.cli, arima_assets.pipeline, arima_assets.triage, "
        "arima_assets.data.nielsen; print(time.perf_counter() - t)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(done.stdout.strip().splitlines()[-1])


def _check_idle(report: dict[str, Any], n: int, where: str) -> None:
    if report["reused_models"] != n or report["newly_trained_models"] or report["failed_models"]:
        raise RuntimeError(
            f"{where}: expected {n} reused, got {report['reused_models']} reused, "
            f"{report['newly_trained_models']} trained, {report['failed_models']} failed"
        )


def _cli_call(out: Path, sales: Path, uri: str, n: int) -> float:
    """One `arima-assets run --json` in a fresh process; its wall seconds."""
    env = {**os.environ, "ARIMA_MLFLOW_TRACKING_URI": uri, "DEPLOYMENT_ENV": "testing"}
    command = [sys.executable, "-m", "arima_assets.cli", "run", "--output-dir", str(out), "--sales-path", str(sales)]
    started = time.perf_counter()
    done = subprocess.run([*command, "--json"], env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"arima-assets run failed ({done.returncode}): {done.stderr[-2000:]}")
    _check_idle(json.loads(done.stdout), n, "arima-assets run")
    return seconds


def run_idle_calls(
    sizes: tuple[int, ...] = SIZES, weeks: int = 156, n_trials: int = 1, repeats: int = 3, trained: int = 12
) -> dict[str, Any]:
    """Seed then time idle calls at each size (ascending, one growing state folder, removed at the end)."""
    root = Path(tempfile.mkdtemp(prefix="arima-idle-"))
    try:
        return _run(root, sizes, weeks, n_trials, repeats, trained)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _run(root: Path, sizes: tuple[int, ...], weeks: int, n_trials: int, repeats: int, trained: int) -> dict[str, Any]:
    sales_file = root / "sales" / "export.csv"
    sales_file.parent.mkdir(parents=True)
    out = root / "out"
    uri = f"sqlite:///{root / 'mlflow' / 'mlflow.db'}"
    config = get_arima_config("testing", n_trials=n_trials, sales_path=str(sales_file.parent), mlflow_tracking_uri=uri)
    everything = synthetic_sales(max(sizes), weeks)
    rows = []
    seen: set[str] = set()
    for n in sorted(sizes):
        wanted = set(make_isbns(n))
        sales_file.write_text(sample_csv_text(everything[everything["ISBN"].isin(wanted)]))
        started = time.perf_counter()
        isbns = make_isbns(n)
        seeded_directly = [isbn for isbn in isbns[trained:] if isbn not in seen]
        if seeded_directly:  # the ingest (a real run) first, on ISBNs already trained; then the direct seed
            book_sales_arima_modeling_pipeline(out, sorted(seen)[:1], config)
            _seed_directly(out, config, seeded_directly)
        seed = book_sales_arima_modeling_pipeline(out, None, config)
        seed_seconds = time.perf_counter() - started
        if seed["failed_models"] or seed["successful_models"] != n:
            raise RuntimeError(f"seeding {n} ISBNs: {seed['failed_models']} failed, {seed['successful_models']} ok")
        seen.update(isbns)
        runs_before = _runs(out)
        calls = []
        for _ in range(repeats):
            started = time.perf_counter()
            report = book_sales_arima_modeling_pipeline(out, None, config)
            calls.append(time.perf_counter() - started)
            _check_idle(report, n, "Python API")
        cli_seconds = _cli_call(out, sales_file.parent, uri, n)
        launched = _runs(out) - runs_before
        median = statistics.median(calls)
        row = {
            "isbns": n,
            "weeks": weeks,
            "seed_seconds": round(seed_seconds, 1),
            "seed_trained_by_runs": seed["newly_trained_models"],
            "seeded_directly": len(seeded_directly),
            "seed_reused": seed["reused_models"],
            "api_seconds": [round(s, 3) for s in calls],
            "api_median_seconds": round(median, 3),
            "api_ms_per_isbn": round(1000 * median / n, 2),
            "cli_seconds": round(cli_seconds, 2),
            "runs_launched_by_idle_calls": launched,
            "target_seconds": round(target_seconds(n), 2),
            "api_met": median < target_seconds(n) and launched == 0,
            "cli_met": cli_seconds < target_seconds(n) and launched == 0,
        }
        print(json.dumps(row), flush=True)
        rows.append(row)
    return {"rows": rows, "preset": "testing", "n_trials": n_trials, "repeats": repeats, "trained_by_runs": trained}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the idle-call benchmark and write benchmarks/out/idle_calls.json."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default=",".join(str(s) for s in SIZES), help="ISBN counts, comma-separated")
    parser.add_argument("--weeks", type=int, default=156, help="weeks of sales per ISBN (default 156)")
    parser.add_argument("--n-trials", type=int, default=1, help="Optuna trials when seeding (default 1)")
    parser.add_argument("--repeats", type=int, default=3, help="timed in-process idle calls per size")
    parser.add_argument("--trained", type=int, default=12, help="ISBNs trained by pipeline runs (the rest seeded)")
    args = parser.parse_args(argv)
    sizes = tuple(int(s) for s in args.sizes.split(",") if s.strip())
    started = time.perf_counter()
    result = run_idle_calls(sizes, args.weeks, args.n_trials, args.repeats, args.trained)
    imports = [round(cli_import_seconds(), 2) for _ in range(2)]
    result.update(
        environment=environment(), wall_seconds=round(time.perf_counter() - started, 1), cli_import_seconds=imports
    )
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    (OUT_DIR / "idle_calls.json").write_text(json.dumps(result, indent=1))
    results_md = Path(__file__).resolve().parent / "RESULTS.md"
    results_md.write_text(replace_section(results_md.read_text(), IDLE_TITLE, idle_calls_section(result)))
    print(f"wrote {OUT_DIR / 'idle_calls.json'} and its section of {results_md}", flush=True)
    return result


if __name__ == "__main__":
    main()
