"""Final M4 Weekly test-file scoring of our tuner alone: MASE, RMSSE, median |bias| and the tail vs Naive.

    .venv/bin/python benchmarks/m4_bias.py [--jobs 2] [--preset production] [--set objective=auto] [--label NAME]

Issue 19's figures on all 359 series without the AutoARIMA timing repeats of `run.py` (which also rewrites
RESULTS.md): ours and Naive only, the same tuning and forecasts as run.py's M4 part. Bias per series: sum of
(forecast - actual) over the sum of actuals. The settings were chosen on the validation windows
(validation_windows.py); this reads the test file once, to score them. Writes ``out/m4_bias_<label>.json``.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

_REPO = Path(__file__).resolve().parent.parent
if str(_REPO) not in sys.path:
    sys.path.insert(0, str(_REPO))

from arima_assets.forecasting import mase  # noqa: E402
from benchmarks.m4 import ours_forecasts  # noqa: E402
from benchmarks.m4_claim import tail_vs_naive  # noqa: E402
from benchmarks.m4_io import M4_HORIZON, load_test, load_train, m4_dir  # noqa: E402
from benchmarks.settings import OUT_DIR, preset_settings  # noqa: E402
from benchmarks.validation_windows import _bias, _coerce, _rmsse  # noqa: E402

__all__ = ["score"]


def score(
    train: dict[str, np.ndarray], test: dict[str, np.ndarray], forecasts: dict[str, np.ndarray]
) -> dict[str, Any]:
    """MASE (m=1), RMSSE, bias per series and their summaries, with the tail vs Naive."""
    ids = list(forecasts)
    ours = {k: mase(test[k], forecasts[k], train[k], m=1) for k in ids}
    naive = {k: mase(test[k], np.repeat(train[k][-1], M4_HORIZON), train[k], m=1) for k in ids}
    bias = {k: _bias(test[k], forecasts[k]) for k in ids}
    rmsse = {k: _rmsse(test[k], forecasts[k], train[k]) for k in ids}
    return {
        "series": len(ids),
        "mase": float(np.mean(list(ours.values()))),
        "naive_mase": float(np.mean(list(naive.values()))),
        "rmsse": float(np.mean(list(rmsse.values()))),
        "median_abs_bias": float(np.median([abs(b) for b in bias.values() if b is not None])),
        "median_bias": float(np.median([b for b in bias.values() if b is not None])),
        "tail": tail_vs_naive(ours, naive),
        "per_series": {k: {"mase": ours[k], "rmsse": rmsse[k], "bias": bias[k]} for k in ids},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--preset", default="production")
    parser.add_argument("--set", action="append", default=[], help="TuningSettings override, e.g. objective=auto")
    parser.add_argument("--label", default="default")
    parser.add_argument("--m4-dir")
    args = parser.parse_args(argv)
    folder = m4_dir(args.m4_dir)
    train = load_train(folder)
    ids = list(train)
    settings = _coerce(preset_settings(args.preset), args.set)
    forecasts, details, wall = ours_forecasts(train, ids, settings, args.jobs)
    result = score(train, load_test(folder, ids), forecasts)
    result["wall_seconds"] = wall
    result["errors"] = sum(1 for d in details.values() if "error" in d)
    result["specs"] = {k: d.get("spec") for k, d in details.items()}
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    (OUT_DIR / f"m4_bias_{args.label}.json").write_text(json.dumps(result, indent=1, default=str))
    print(
        f"{args.label}: {result['series']} series, MASE {result['mase']:.4f} (Naive {result['naive_mase']:.4f}), "
        f"RMSSE {result['rmsse']:.4f}, median |bias| {result['median_abs_bias']:.4f} (median bias "
        f"{result['median_bias']:+.4f}), worse than Naive by >50 %: {result['tail']['count']}, errors "
        f"{result['errors']}, wall {wall:.0f} s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
