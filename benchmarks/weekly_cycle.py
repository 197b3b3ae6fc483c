"""The weekly cycle: N trained ISBNs, then a file with one new week for every ISBN (about 3 % of them changed),
measured from the call to every forecast refreshed, through the Python API (in-process Dagster runs).

Synthetic sales built like the shipped sample (`idle_calls.synthetic_sales`). The ISBNs are seeded as the idle-call
benchmark seeds them (a real fit each, its record registered as the champion, the local cache and the Dagster
materializations its run would have recorded), then one call brings every series, model and forecast up to date.
The new week is then appended: every ISBN gets the week its series would have had, and a random ~3 % get that week
multiplied by 0.4 or 2.5. One call then decides every ISBN inside batched runs and refreshes every forecast; what
it costs is reported: wall seconds, Dagster runs launched (target: at most N / batch_size + changed ISBNs), fits,
and the ideal (fit seconds / slots + the per-ISBN decision and refresh seconds measured inside the runs).

    .venv/bin/python benchmarks/weekly_cycle.py --sizes 200,1000 --batch-size 100
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import dagster as dg
import numpy as np

_REPO = Path(__file__).resolve().parent.parent
if str(_REPO) not in sys.path:
    sys.path.insert(0, str(_REPO))

from arima_assets import book_sales_arima_modeling_pipeline, get_arima_config  # noqa: E402
from arima_assets.data.sample import sample_csv_text  # noqa: E402
from arima_assets.defs._dagster_internals import DagsterEventType  # noqa: E402
from benchmarks.automation_scale import make_isbns  # noqa: E402
from benchmarks.idle_calls import _runs, _seed_directly, synthetic_sales  # noqa: E402
from benchmarks.settings import OUT_DIR  # noqa: E402

__all__ = ["run_weekly_cycle"]

CHANGED_SHARE = 0.03


def run_weekly_cycle(n: int, batch_size: int, weeks: int = 156, seed: int = 7) -> dict[str, Any]:
    """Seed `n` ISBNs, bring them up to date, then time the call on a file with one new week for every ISBN."""
    root = Path(tempfile.mkdtemp(prefix="arima-weekly-"))
    try:
        return _run(root, n, batch_size, weeks, seed)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _run(root: Path, n: int, batch_size: int, weeks: int, seed: int) -> dict[str, Any]:
    sales_file = root / "sales" / "export.csv"
    sales_file.parent.mkdir(parents=True)
    out = root / "out"
    uri = f"sqlite:///{root / 'mlflow' / 'mlflow.db'}"
    config = get_arima_config(
        "testing", n_trials=1, batch_size=batch_size, sales_path=str(sales_file.parent), mlflow_tracking_uri=uri
    )
    everything = synthetic_sales(n, weeks + 1)
    last_week = everything["End Date"].max()
    history = everything[everything["End Date"] < last_week]
    sales_file.write_text(sample_csv_text(history))
    isbns = make_isbns(n)
    started = time.perf_counter()
    book_sales_arima_modeling_pipeline(out, isbns[:1], config)  # the ingest (a real run), and one real training
    _seed_directly(out, config, isbns[1:])
    up_to_date = book_sales_arima_modeling_pipeline(out, None, config)
    seed_seconds = time.perf_counter() - started
    if up_to_date["failed_models"]:
        raise RuntimeError(f"seeding: {up_to_date['failed_models']} ISBNs failed")

    rng = np.random.default_rng(seed)
    changed = sorted(rng.choice(isbns, size=max(1, round(CHANGED_SHARE * n)), replace=False))
    new_week = everything[everything["End Date"] == last_week].copy()
    factors = {isbn: float(rng.choice([0.4, 2.5])) for isbn in changed}
    hit = new_week["ISBN"].isin(factors)
    new_week.loc[hit, "Volume"] = (new_week.loc[hit, "Volume"] * new_week.loc[hit, "ISBN"].map(factors)).round()
    sales_file.write_text(sample_csv_text(history))
    (sales_file.parent / "week.csv").write_text(sample_csv_text(new_week))

    runs_before = _runs(out)
    started = time.perf_counter()
    report = book_sales_arima_modeling_pipeline(out, None, config)
    wall = time.perf_counter() - started
    runs = _runs(out) - runs_before
    steps, ranges = _step_seconds(out, runs)
    fit_seconds = report["retraining_stats"]["fit_seconds_spent"]
    return {
        "isbns": n,
        "batch_size": batch_size,
        "changed": len(changed),
        "seed_seconds": round(seed_seconds, 1),
        "wall_seconds": round(wall, 1),
        "runs_launched": runs,
        "runs_allowed": -(-n // batch_size) + len(changed) + 2,  # + the ingest and the report
        "fits": report["newly_trained_models"],
        "fit_seconds": round(fit_seconds, 1),
        "reused": report["reused_models"],
        "failed": report["failed_models"],
        "seconds_per_isbn": round(wall / n, 4),
        "step_seconds": steps,
        "run_ranges": ranges,
    }


def _step_seconds(out: Path, last: int) -> tuple[dict[str, float], list[str]]:
    """Seconds spent in each step (summed over the last `last` runs), and each run's partition range."""
    instance = dg.DagsterInstance.local_temp(tempdir=str(out / "dagster"))
    try:
        totals: dict[str, float] = {}
        ranges = []
        for run in instance.get_runs(limit=last):
            start = run.tags.get("dagster/asset_partition_range_start") or run.tags.get("dagster/partition", "")
            ranges.append(f"{start}..{run.tags.get('dagster/asset_partition_range_end', '')}")
            for record in instance.get_records_for_run(run.run_id, of_type=DagsterEventType.STEP_SUCCESS).records:
                event = record.event_log_entry.dagster_event
                key = event.step_key or "?"
                totals[key] = round(totals.get(key, 0.0) + event.event_specific_data.duration_ms / 1000, 2)
        return totals, ranges
    finally:
        instance.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="200,1000")
    parser.add_argument("--batch-size", type=int, default=100)
    args = parser.parse_args()
    rows = [run_weekly_cycle(int(n), args.batch_size) for n in args.sizes.split(",")]
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    (OUT_DIR / "weekly_cycle.json").write_text(json.dumps(rows, indent=2))
    for row in rows:
        print(json.dumps(row))


if __name__ == "__main__":
    main()
