"""Where the tuning seconds go: `tune_model` under cProfile on evenly spread M4 Weekly train series.

    .venv/bin/python benchmarks/profile_tuning.py [--series 20] [--preset production]

Writes benchmarks/out/profile.json (rendered into RESULTS.md by the next `run.py`) and prints the table.
Only the train file is read. cProfile slows Python-heavy code, so shares matter more than seconds.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import cProfile  # noqa: E402
import json  # noqa: E402
import pstats  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

_REPO = Path(__file__).resolve().parent.parent
if str(_REPO) not in sys.path:
    sys.path.insert(0, str(_REPO))

from arima_assets.forecasting import tune_model  # noqa: E402
from benchmarks.m4_io import as_weekly, load_train, m4_dir, select_subset  # noqa: E402
from benchmarks.settings import OUT_DIR, preset_settings  # noqa: E402

__all__ = ["profile_tuning"]

# (row label, file suffix, function name): cumulative seconds of these functions
_ROWS = (
    ("whole tune_model", "forecasting/tuning.py", "tune_model"),
    ("Optuna study (search incl. sampler)", "optuna/study/study.py", "optimize"),
    ("  objective: CV of the sampled specs", "forecasting/tuning.py", "objective"),
    ("    origin forecasts (one filter per spec)", "forecasting/model.py", "origin_forecasts"),
    ("benchmarks scored by the same CV", "forecasting/tuning.py", "_benchmark_scores"),
    ("holdout + final fits", "forecasting/tuning.py", "_holdout_and_final"),
    ("all ArimaModel.fit calls (CV, holdout and final fits)", "forecasting/model.py", "fit"),
    ("statsmodels: L-BFGS optimiser", "scipy/optimize/_lbfgsb_py.py", "_minimize_lbfgsb"),
    ("  finite-difference gradients", "scipy/optimize/_numdiff.py", "approx_derivative"),
    ("statsmodels: log-likelihood evaluations", "statespace/mlemodel.py", "loglike"),
    ("  Kalman filter (compiled)", "statespace/kalman_filter.py", "_filter"),
    ("statsmodels: SARIMAX construction", "statespace/sarimax.py", "__init__"),
)


def _cumulative(stats: pstats.Stats, suffix: str, name: str) -> tuple[float, int]:
    seconds, calls = 0.0, 0
    for (filename, _, function), (_, ncalls, _, cumtime, _) in stats.stats.items():  # type: ignore[attr-defined]
        if function == name and filename.endswith(suffix):
            seconds, calls = seconds + cumtime, calls + ncalls
    return seconds, calls


def profile_tuning(n_series: int, preset: str, folder: Path | None = None) -> dict[str, Any]:
    """Profile `tune_model` on `n_series` evenly spread M4 train series; rows of (label, seconds, share, calls)."""
    train = load_train(folder or m4_dir())
    ids = select_subset(list(train), n_series)
    settings = preset_settings(preset)
    profiler = cProfile.Profile()
    trials = 0
    started = time.perf_counter()
    profiler.enable()
    for key in ids:
        trials += tune_model(as_weekly(train[key]), settings).trials_run
    profiler.disable()
    wall = time.perf_counter() - started
    stats = pstats.Stats(profiler)
    total = _cumulative(stats, "forecasting/tuning.py", "tune_model")[0]
    rows = []
    for label, suffix, name in _ROWS:
        seconds, calls = _cumulative(stats, suffix, name)
        rows.append({"part": label, "seconds": seconds, "share": seconds / total, "calls": calls})
    return {"series": ids, "preset": preset, "trials": trials, "wall_seconds": wall, "rows": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--series", type=int, default=20)
    parser.add_argument("--preset", default="production")
    args = parser.parse_args()
    result = profile_tuning(args.series, args.preset)
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    (OUT_DIR / "profile.json").write_text(json.dumps(result, indent=1))
    print(f"{len(result['series'])} series, {result['trials']} trials, {result['wall_seconds']:.1f} s under cProfile")
    for row in result["rows"]:
        print(f"  {row['part']:<45} {row['seconds']:7.2f} s {row['share']:6.1%} {row['calls']:7d} calls")


if __name__ == "__main__":
    main()
