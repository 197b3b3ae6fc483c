"""Real intermittent weekly count series: our tuner against Croston-SBA, TSB, ADIDA, Naive and the zero forecast.

    .venv/bin/python benchmarks/intermittent.py [--every 1] [--jobs 2] [--methods ours,tsb,...] [--label NAME]
        [--merge before=out/intermittent_before.json]

Data: the weekly case-count series shipped as plain ``.RData`` files in Debian's ``r-cran-surveillance`` package
(notifiable-disease surveillance, Germany and elsewhere: influenza by district, hepatitis A, measles,
meningococcal disease, salmonella, ...; GPL-2). Nothing is downloaded at run time; the one-off export needs R:

    apt-get install -y --no-install-recommends r-base-core
    (cd /tmp && apt-get download r-cran-surveillance && dpkg -x r-cran-surveillance_*.deb surveillance)
    .venv/bin/python benchmarks/intermittent.py --export /tmp/surveillance   # writes out/surveillance_weekly.csv

Series: every weekly (freq 52) series of the package, duplicates dropped (``ha.sts`` = ``ha``; ``measles.weser`` is
an older copy of ``measlesWeserEms``), that is
intermittent or lumpy (Syntetos-Boylan on its training weeks), has at least 80 weeks, and sold in its training
weeks. The last 13 weeks are the test window, everything before is training. Every method sees the training
weeks only.

Methods: ``ours`` (tune_model, production preset), ``tsb`` (statsforecast's TSB with alpha_d, alpha_p chosen
on the training weeks by in-sample one-step MSE over a grid), ``croston_sba`` and ``adida`` (statsforecast
defaults), ``naive`` (last week) and ``zero``. statsforecast is the reference implementation here (the ``bench``
extra), independent of our own recursions.

Per method: mean MASE (scale: in-sample lag-1 naive MAE), mean and geometric-mean RMSSE (M5), median |bias|
(sum of forecast - actual over the sum of actuals, series whose test window sold nothing left out), and how many
series are worse than TSB and than the zero forecast (RMSSE). ``--merge NAME=FILE`` adds the ``ours`` forecasts
of an earlier run (e.g. the code before a change) as method NAME.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

_REPO = Path(__file__).resolve().parent.parent
if str(_REPO) not in sys.path:
    sys.path.insert(0, str(_REPO))

from benchmarks.parallel import parallel_map  # noqa: E402
from benchmarks.settings import OUT_DIR, preset_settings  # noqa: E402

__all__ = ["METHODS", "load_series", "score"]

HORIZON = 13
MIN_WEEKS = 80
METHODS = ("ours", "tsb", "croston_sba", "adida", "naive", "zero")
TSB_ALPHA_D = (0.05, 0.1, 0.2, 0.3, 0.5)
TSB_ALPHA_P = (0.01, 0.02, 0.05, 0.1, 0.2, 0.3)
DATA_FILE = OUT_DIR / "surveillance_weekly.csv"
_DUPLICATES = ("measles.weser",)
_START = pd.Timestamp("2000-01-01")  # a Saturday: the series are placed on W-SAT weeks from here

_EXPORT_R = r"""
args <- commandArgs(trailingOnly = TRUE)
files <- list.files(args[1], pattern = "\\.RData$", full.names = TRUE)
out <- list()
for (f in files) {
  e <- new.env(); load(f, envir = e)
  for (nm in ls(e)) {
    x <- get(nm, envir = e)
    obs <- NULL; freq <- NA
    if (isS4(x) && !is.null(attr(x, "observed"))) { obs <- attr(x, "observed"); freq <- attr(x, "freq") }
    else if (is.list(x) && !is.null(x$observed)) { obs <- x$observed; if (!is.null(x$freq)) freq <- x$freq }
    if (is.null(obs) || is.na(freq) || freq != 52) next
    obs <- as.matrix(obs)
    cn <- colnames(obs); if (is.null(cn)) cn <- paste0("u", seq_len(ncol(obs)))
    for (j in seq_len(ncol(obs)))
      out[[length(out) + 1]] <- data.frame(dataset = nm, unit = cn[j], t = seq_len(nrow(obs)), value = obs[, j])
  }
}
write.csv(do.call(rbind, out), args[2], row.names = FALSE)
"""


def export(package_dir: Path, out: Path = DATA_FILE) -> None:
    """Write the weekly series of an unpacked r-cran-surveillance package to `out` (needs ``Rscript``)."""
    data = next(package_dir.rglob("surveillance/data"), None)
    if data is None:
        raise SystemExit(f"--export: no surveillance/data folder under {package_dir} (unpack the .deb there)")
    out.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["Rscript", "-e", _EXPORT_R, str(data), str(out)], check=True)
    print(f"wrote {out}")


def _demand_class(values: np.ndarray) -> str:
    """Syntetos-Boylan class (ADI 1.32, CV^2 0.49), written out here so that an older checkout can run this too."""
    sold = values[values > 0]
    if sold.size == 0:
        return "intermittent"
    adi, cv2 = values.size / sold.size, float(np.var(sold) / np.mean(sold) ** 2)
    if adi < 1.32:
        return "smooth" if cv2 < 0.49 else "erratic"
    return "intermittent" if cv2 < 0.49 else "lumpy"


def load_series(path: Path = DATA_FILE, end_offset: int = 0) -> dict[str, dict[str, Any]]:
    """The benchmark's series: key ``dataset/unit`` -> {"values", "demand_class"} (module docstring), each cut
    `end_offset` weeks before its end (another forecast origin: the test window is the 13 weeks before the cut)."""
    if not path.exists():
        raise SystemExit(f"{path} is missing: run --export first (module docstring)")
    frame = pd.read_csv(path)
    chosen: dict[str, dict[str, Any]] = {}
    seen: set[bytes] = set()
    for (dataset, unit), group in frame.groupby(["dataset", "unit"], sort=True):
        values = group.sort_values("t")["value"].to_numpy(dtype=float)
        values = values[: values.size - end_offset]
        if np.isnan(values).any() or values.size < MIN_WEEKS or (values < 0).any():
            continue
        if values.tobytes() in seen or dataset in _DUPLICATES:
            continue
        seen.add(values.tobytes())
        train = values[:-HORIZON]
        label = _demand_class(train)
        if label in ("intermittent", "lumpy") and train.sum() > 0 and np.any(np.diff(train) != 0):
            chosen[f"{dataset}/{unit}"] = {"values": values, "demand_class": label}
    return chosen


def _tsb_tuned(train: np.ndarray) -> np.ndarray:
    from statsforecast.models import TSB

    best, best_mse = None, np.inf
    for alpha_d in TSB_ALPHA_D:
        for alpha_p in TSB_ALPHA_P:
            out = TSB(alpha_d=alpha_d, alpha_p=alpha_p).forecast(y=train, h=HORIZON, fitted=True)
            fitted = np.asarray(out["fitted"], dtype=float)
            keep = np.isfinite(fitted)
            mse = float(np.mean((train[keep] - fitted[keep]) ** 2))
            if mse < best_mse:
                best, best_mse = np.asarray(out["mean"], dtype=float), mse
    return best


def _forecast(method: str, train: np.ndarray, settings: Any) -> tuple[np.ndarray, str]:
    if method == "ours":
        from arima_assets.forecasting import tune_model

        index = pd.date_range(_START, periods=train.size, freq="W-SAT")
        result = tune_model(pd.Series(train, index=index), settings)
        return result.model.forecast(HORIZON, level=())["mean"].to_numpy(), result.spec.label()
    if method == "tsb":
        return _tsb_tuned(train), ""
    if method in ("croston_sba", "adida"):
        from statsforecast.models import ADIDA, CrostonSBA

        model = CrostonSBA() if method == "croston_sba" else ADIDA()
        return np.asarray(model.forecast(y=train, h=HORIZON)["mean"], dtype=float), ""
    if method == "naive":
        return np.repeat(train[-1], HORIZON), ""
    if method == "zero":
        return np.zeros(HORIZON), ""
    raise SystemExit(f"unknown method {method!r} (one of {', '.join(METHODS)})")


def _one(item: tuple[str, np.ndarray, tuple[str, ...], Any]) -> dict[str, Any]:
    key, values, methods, settings = item
    train = values[:-HORIZON]
    row: dict[str, Any] = {"id": key, "forecasts": {}, "specs": {}, "seconds": {}}
    for method in methods:
        started = time.process_time()
        forecast, spec = _forecast(method, train, settings)
        row["seconds"][method] = time.process_time() - started
        row["forecasts"][method] = np.clip(np.asarray(forecast, dtype=float), 0, None).tolist()
        if spec:
            row["specs"][method] = spec
    return row


def _metrics(actual: np.ndarray, forecast: np.ndarray, train: np.ndarray) -> dict[str, float | None]:
    mae_scale = float(np.mean(np.abs(np.diff(train))))
    rms_scale = float(np.sqrt(np.mean(np.diff(train) ** 2)))
    total = float(actual.sum())
    return {
        "mase": float(np.mean(np.abs(actual - forecast))) / mae_scale,
        "rmsse": float(np.sqrt(np.mean((actual - forecast) ** 2))) / rms_scale,
        "bias": float(np.sum(forecast - actual)) / total if total > 0 else None,
    }


def score(series: dict[str, dict[str, Any]], forecasts: dict[str, dict[str, list[float]]]) -> dict[str, Any]:
    """Per-method summary (module docstring) of `forecasts` (method -> series key -> 13 forecasts)."""
    keys = [k for k in series if all(k in f for f in forecasts.values())]
    per: dict[str, dict[str, dict[str, float | None]]] = {}
    for method, by_key in forecasts.items():
        per[method] = {
            k: _metrics(series[k]["values"][-HORIZON:], np.asarray(by_key[k]), series[k]["values"][:-HORIZON])
            for k in keys
        }
    sold = [k for k in keys if series[k]["values"][-HORIZON:].sum() > 0]
    summary: dict[str, Any] = {"series": len(keys), "series_with_test_sales": len(sold), "methods": {}}
    for method, rows in per.items():
        rmsse = np.array([rows[k]["rmsse"] for k in keys])
        entry = {
            "mase": float(np.mean([rows[k]["mase"] for k in keys])),
            "rmsse": float(rmsse.mean()),
            "rmsse_gmean": float(np.exp(np.mean(np.log([rows[k]["rmsse"] for k in sold])))),
            "median_abs_bias": float(np.median([abs(rows[k]["bias"]) for k in sold])),
            "median_bias": float(np.median([rows[k]["bias"] for k in sold])),
            "mean_forecast_over_train_mean": float(
                np.median(
                    [
                        np.mean(forecasts[method][k]) / series[k]["values"][:-HORIZON].mean()
                        for k in keys
                        if series[k]["values"][:-HORIZON].mean() > 0
                    ]
                )
            ),
        }
        for other in ("tsb", "zero"):
            if other in per and other != method:
                entry[f"worse_than_{other}"] = int(sum(rows[k]["rmsse"] > per[other][k]["rmsse"] + 1e-12 for k in keys))
        recent = [k for k in keys if series[k]["values"][-HORIZON - 13 : -HORIZON].sum() > 0]
        entry["flat_zero_after_recent_sales"] = int(sum(max(forecasts[method][k]) < 1e-6 for k in recent))
        summary["methods"][method] = entry
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--export", type=Path, help="unpacked r-cran-surveillance .deb: write the csv and stop")
    parser.add_argument("--every", type=int, default=1, help="every k-th series (default: all)")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--preset", default="production")
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--label", default="default")
    parser.add_argument("--end-offset", type=int, default=0, help="cut this many weeks off every series first")
    parser.add_argument("--merge", action="append", default=[], help="NAME=FILE: the 'ours' forecasts of FILE")
    args = parser.parse_args(argv)
    if args.export:
        export(args.export)
        return 0
    series = load_series(end_offset=args.end_offset)
    keys = list(series)[:: args.every]
    series = {k: series[k] for k in keys}
    methods = tuple(m for m in args.methods.split(",") if m)
    settings = preset_settings(args.preset) if "ours" in methods else None
    started = time.perf_counter()
    items = [(k, series[k]["values"], methods, settings) for k in keys]
    rows = parallel_map(_one, items, args.jobs, label="intermittent series")
    forecasts = {m: {r["id"]: r["forecasts"][m] for r in rows} for m in methods}
    for assignment in args.merge:
        name, _, path = assignment.partition("=")
        forecasts[name] = json.loads(Path(path).read_text())["forecasts"]["ours"]
    summary = score(series, forecasts)
    summary["wall_seconds"] = time.perf_counter() - started
    summary["cpu_seconds"] = {m: float(sum(r["seconds"][m] for r in rows)) for m in methods}
    summary["demand_classes"] = pd.Series([series[k]["demand_class"] for k in keys]).value_counts().to_dict()
    summary["median_zero_share"] = float(np.median([np.mean(series[k]["values"][:-HORIZON] == 0) for k in keys]))
    specs = pd.Series([r["specs"].get("ours", "") for r in rows])
    summary["ours_specs"] = specs[specs != ""].value_counts().head(15).to_dict()
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    out = {"summary": summary, "forecasts": forecasts, "specs": {r["id"]: r["specs"] for r in rows}}
    (OUT_DIR / f"intermittent_{args.label}.json").write_text(json.dumps(out, indent=1, default=str))
    print(
        f"{args.label}: {summary['series']} series ({summary['demand_classes']}, median zero share "
        f"{summary['median_zero_share']:.2f}), wall {summary['wall_seconds']:.0f} s"
    )
    header = ("method", "MASE", "RMSSE", "gmRMSSE", "med|bias|", "medbias", ">TSB", ">zero")
    print(" ".join(f"{h:>{w}}" for h, w in zip(header, (12, 7, 7, 8, 9, 8, 5, 5), strict=True)))
    for method, m in summary["methods"].items():
        print(
            f"{method:>12} {m['mase']:7.3f} {m['rmsse']:7.3f} {m['rmsse_gmean']:8.3f} {m['median_abs_bias']:9.3f} "
            f"{m['median_bias']:8.3f} {m.get('worse_than_tsb', '-'):>5} {m.get('worse_than_zero', '-'):>5}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
