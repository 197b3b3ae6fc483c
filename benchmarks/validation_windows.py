"""Tuner choices on M4 Weekly validation windows: each train series minus its last 13 weeks, scored on those 13.

    .venv/bin/python benchmarks/validation_windows.py [--every 6] [--offset 0] [--jobs 2] [--set maxiter=30 ...]

Only the train file is read (the test file never): this is where the tuner's defaults are chosen. Prints and
writes ``out/validation_<label>.json``: mean MASE (m=1, scaled on the window's own training weeks) of ours and
Naive, the series worse than Naive by more than 50 %, mean RMSSE, the median |bias| (sum of forecast - actual over
the sum of actuals, per series), the 95 % interval coverage, and the CPU seconds of tuning
summed over the worker processes (the cost measure: it does not depend on what else shares the machine as much
as wall seconds do).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from dataclasses import asdict, fields, replace  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

_REPO = Path(__file__).resolve().parent.parent
if str(_REPO) not in sys.path:
    sys.path.insert(0, str(_REPO))

from arima_assets.forecasting import TuningSettings, coverage, mase, tune_model  # noqa: E402
from arima_assets.forecasting.model import interval_quantile  # noqa: E402
from benchmarks.m4_claim import tail_vs_naive  # noqa: E402
from benchmarks.m4_io import M4_HORIZON, SERIES_END, as_weekly, load_train, m4_dir  # noqa: E402
from benchmarks.parallel import parallel_map  # noqa: E402
from benchmarks.settings import OUT_DIR, preset_settings  # noqa: E402

__all__ = ["validation_scores"]


def _standardized(transform: str, frame: pd.DataFrame, actual: np.ndarray) -> np.ndarray:
    """(actual - mean) / standard error per horizon, on the model's (transformed) scale, read back from the
    symmetric bounds (the upper ones: never clipped at 0): for choosing the interval distribution (INTERVAL_DF)."""
    f = np.log1p if transform == "log1p" else (lambda v: v)
    hi80, hi95 = f(frame["hi-80"].to_numpy()), f(frame["hi-95"].to_numpy())
    z80, z95 = interval_quantile(80), interval_quantile(95)
    se = (hi95 - hi80) / (z95 - z80)
    return (f(actual) - (hi95 - z95 * se)) / se


def _one(item: tuple[str, np.ndarray, TuningSettings]) -> dict[str, Any]:
    key, values, settings = item
    history, actual = values[:-M4_HORIZON], values[-M4_HORIZON:]
    cpu = time.process_time()
    result = tune_model(as_weekly(history, end=SERIES_END - pd.Timedelta(weeks=M4_HORIZON)), settings)
    frame = result.model.forecast(M4_HORIZON, level=(80, 95))
    cpu = time.process_time() - cpu
    forecast = frame["mean"].to_numpy()
    return {
        "id": key,
        "mase": mase(actual, forecast, history, m=1),
        "rmsse": _rmsse(actual, forecast, history),
        "bias": _bias(actual, forecast),
        "naive_mase": mase(actual, np.repeat(history[-1], M4_HORIZON), history, m=1),
        "coverage80": coverage(actual, frame["lo-80"].to_numpy(), frame["hi-80"].to_numpy()),
        "coverage95": coverage(actual, frame["lo-95"].to_numpy(), frame["hi-95"].to_numpy()),
        "forecast": forecast.tolist(),
        "standardized": _standardized(result.spec.transform, frame, actual).tolist(),
        "spec": result.spec.label(),
        "used_fallback": result.used_fallback,
        "trials_run": result.trials_run,
        "cpu_seconds": cpu,
    }


def _rmsse(actual: np.ndarray, forecast: np.ndarray, history: np.ndarray) -> float:
    scale = np.sqrt(np.mean(np.diff(history) ** 2))
    return float(np.sqrt(np.mean((actual - forecast) ** 2)) / scale)


def _bias(actual: np.ndarray, forecast: np.ndarray) -> float | None:
    total = float(np.sum(actual))
    return float(np.sum(forecast - actual)) / total if total > 0 else None


def _coerce(settings: TuningSettings, assignments: list[str]) -> TuningSettings:
    types = {f.name: f.type for f in fields(TuningSettings)}
    changes: dict[str, Any] = {}
    for assignment in assignments:
        name, _, raw = assignment.partition("=")
        if name not in types:
            raise SystemExit(f"--set {assignment!r}: {name!r} is not a TuningSettings field ({', '.join(types)})")
        current = getattr(settings, name)
        if raw == "None":
            changes[name] = None
        elif isinstance(current, bool):
            changes[name] = raw.lower() in ("1", "true", "yes")
        elif isinstance(current, int):
            changes[name] = int(raw)
        elif isinstance(current, float) or current is None:
            changes[name] = float(raw)
        else:
            changes[name] = raw
    return replace(settings, **changes)


def validation_scores(ids: list[str], train: dict[str, np.ndarray], settings: TuningSettings, jobs: int) -> dict:
    """Tune on every validation window of `ids` and score the 13 weeks after it."""
    started = time.perf_counter()
    rows = parallel_map(_one, [(key, train[key], settings) for key in ids], jobs, label="validation windows")
    wall = time.perf_counter() - started
    per_series = {row.pop("id"): row for row in rows}
    ours = {k: r["mase"] for k, r in per_series.items()}
    naive = {k: r["naive_mase"] for k, r in per_series.items()}
    return {
        "series": len(ids),
        "mase": float(np.mean(list(ours.values()))),
        "naive_mase": float(np.mean(list(naive.values()))),
        "rmsse": float(np.mean([r["rmsse"] for r in per_series.values()])),
        "median_abs_bias": float(np.median([abs(r["bias"]) for r in per_series.values() if r["bias"] is not None])),
        "coverage80": float(np.mean([r["coverage80"] for r in per_series.values()])),
        "coverage95": float(np.mean([r["coverage95"] for r in per_series.values()])),
        "cpu_seconds": float(sum(r["cpu_seconds"] for r in per_series.values())),
        "wall_seconds": wall,
        "fallbacks": sum(1 for r in per_series.values() if r["used_fallback"]),
        "mean_trials": float(np.mean([r["trials_run"] for r in per_series.values()])),
        "tail": tail_vs_naive(ours, naive),
        "settings": asdict(settings),
        "per_series": per_series,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--every", type=int, default=6, help="every k-th train series (default 6; 1: all 359)")
    parser.add_argument("--offset", type=int, default=0, help="first series of the every-k-th choice")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--preset", default="production")
    parser.add_argument("--set", action="append", default=[], help="TuningSettings override, e.g. maxiter=30")
    parser.add_argument("--label", default="default")
    parser.add_argument("--m4-dir")
    args = parser.parse_args(argv)
    train = load_train(m4_dir(args.m4_dir))
    ids = list(train)[args.offset :: args.every]
    settings = _coerce(preset_settings(args.preset), args.set)
    result = validation_scores(ids, train, settings, args.jobs)
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    (OUT_DIR / f"validation_{args.label}.json").write_text(json.dumps(result, indent=1, default=str))
    tail = result["tail"]
    print(
        f"{args.label}: {result['series']} series, MASE {result['mase']:.4f} (Naive {result['naive_mase']:.4f}), "
        f"worse than Naive by >50 %: {tail['count']}, RMSSE {result['rmsse']:.4f}, median |bias| "
        f"{result['median_abs_bias']:.3f}, coverage 80/95 % {result['coverage80']:.3f}/"
        f"{result['coverage95']:.3f}, "
        f"CPU {result['cpu_seconds']:.1f} s, wall {result['wall_seconds']:.1f} s, "
        f"trials {result['mean_trials']:.1f}, fallbacks {result['fallbacks']}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
