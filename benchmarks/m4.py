"""M4 Weekly accuracy and speed: our tuned core vs Naive, seasonal Naive and statsforecast AutoARIMA.

Protocol: every method forecasts h=13 from the TRAIN series only; ``Weekly-test.csv`` is read afterwards,
once, to score the forecasts (sMAPE and MASE, M4 definitions, m=1). Our core runs ``tune_model`` with the
settings of a named preset (its holdout is carved from the train series, inside tune_model); AutoARIMA runs
with ``season_length=1`` and as many processes as ours. Naive is always scored on all 359 series and must
reproduce the official sMAPE 9.161 / MASE 2.777: the harness checks itself.

Speed: AutoARIMA and ours run `repeats` times in turn (AutoARIMA first, then ours, each repeat) with the same
processes; the tuning time ratio ours / AutoARIMA is reported per repeat (min / median / max), the table shows
the median repeat's seconds, and the forecasts are those of the first repeat (both methods are deterministic).
The claim (m4_claim.py): all series and each every-6th subset with a bootstrap CI of the MASE difference to
AutoARIMA, and the series where ours is worse than Naive by more than 50 %.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from arima_assets.forecasting import TuningSettings, coverage, mase, msis, smape, tune_model
from benchmarks.m4_claim import subset_claims, tail_vs_naive
from benchmarks.m4_io import (
    M4_HORIZON,
    NAIVE_MASE,
    NAIVE_SMAPE,
    as_weekly,
    load_test,
    load_train,
    select_subset,
)
from benchmarks.parallel import parallel_map
from benchmarks.settings import preset_settings

__all__ = [
    "MethodResult",
    "naive_forecasts",
    "ours_forecasts",
    "run_m4",
    "score_forecasts",
    "seasonal_naive_forecasts",
    "statsforecast_forecasts",
]

SEASON = 52
LEVELS = (80, 95)
"""Prediction-interval levels (percent) scored for ours and AutoARIMA: coverage at both, MSIS (M4) at each."""
_TOLERANCE = 5e-4  # the official figures have 3 decimals


@dataclass
class MethodResult:
    """Scores and timing of one method on a set of series."""

    method: str
    n_series: int
    smape: float
    mase: float
    wall_seconds: float
    seconds_per_series: float
    processes: int
    notes: str = ""
    per_series: dict[str, dict[str, Any]] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """Everything but the per-series rows."""
        out = asdict(self)
        out.pop("per_series")
        return out


def naive_forecasts(train: dict[str, np.ndarray], ids: list[str]) -> dict[str, np.ndarray]:
    """Last value repeated for 13 weeks."""
    return {key: np.repeat(train[key][-1], M4_HORIZON) for key in ids}


def seasonal_naive_forecasts(train: dict[str, np.ndarray], ids: list[str]) -> dict[str, np.ndarray]:
    """The same weeks one year (52 weeks) earlier."""
    return {key: train[key][-SEASON:][:M4_HORIZON].copy() for key in ids}


def score_forecasts(
    forecasts: dict[str, np.ndarray], train: dict[str, np.ndarray], test: dict[str, np.ndarray]
) -> tuple[float, float, dict[str, dict[str, float]]]:
    """Mean sMAPE and MASE (m=1) over the series of `forecasts`, and the per-series values."""
    rows = {
        key: {
            "smape": smape(test[key], forecast),
            "mase": mase(test[key], forecast, train[key], m=1),
        }
        for key, forecast in forecasts.items()
    }
    return (
        float(np.mean([r["smape"] for r in rows.values()])),
        float(np.mean([r["mase"] for r in rows.values()])),
        rows,
    )


def score_intervals(intervals: Intervals, train: dict[str, np.ndarray], test: dict[str, np.ndarray]) -> dict[str, Any]:
    """Coverage (share of the test weeks inside) and MSIS (M4, m=1) per level, means over the series of
    `intervals`; the series count is reported (a series without intervals is left out, not scored as a miss)."""
    out: dict[str, Any] = {"series": len(intervals)}
    for lv in LEVELS:
        rows = [(test[k], *bounds[lv], train[k]) for k, bounds in intervals.items()]
        out[f"coverage_{lv}"] = float(np.mean([coverage(y, lo, hi) for y, lo, hi, _ in rows]))
        out[f"msis_{lv}"] = float(np.mean([msis(y, lo, hi, tr, alpha=1 - lv / 100) for y, lo, hi, tr in rows]))
    return out


def _tune_one(item: tuple[str, np.ndarray, TuningSettings]) -> dict[str, Any]:
    """Tune our core on one train series and forecast 13 weeks (runs in a worker process)."""
    key, values, settings = item
    started = time.perf_counter()
    try:
        result = tune_model(as_weekly(values), settings)
        frame = result.model.forecast(M4_HORIZON, level=LEVELS)
    except (ValueError, RuntimeError) as exc:
        return {"id": key, "error": f"{type(exc).__name__}: {exc}", "seconds": time.perf_counter() - started}
    return {
        "id": key,
        "forecast": frame["mean"].to_numpy(),
        "intervals": {lv: (frame[f"lo-{lv}"].to_numpy(), frame[f"hi-{lv}"].to_numpy()) for lv in LEVELS},
        "spec": result.spec.label(),
        "trials_run": result.trials_run,
        "trials_failed": result.trials_failed,
        "stopped_by": result.stopped_by,
        "used_fallback": result.used_fallback,
        "seconds": time.perf_counter() - started,
    }


Intervals = dict[str, dict[int, tuple[np.ndarray, np.ndarray]]]
"""Per series, per level (percent): (lower, upper) bounds of the 13-week prediction interval."""


def ours_forecasts(
    train: dict[str, np.ndarray], ids: list[str], settings: TuningSettings, jobs: int
) -> tuple[dict[str, np.ndarray], dict[str, dict[str, Any]], float]:
    """Tune and forecast every series; returns forecasts, per-series details (with the ``intervals``) and the
    wall seconds.

    A series whose tuning raises gets the Naive forecast, flagged ``error`` in its details (counted in the
    report, never hidden), and no intervals.
    """
    items = [(key, train[key], settings) for key in ids]
    started = time.perf_counter()
    outcomes = parallel_map(_tune_one, items, jobs, label="M4 tune_model")
    wall = time.perf_counter() - started
    forecasts: dict[str, np.ndarray] = {}
    details: dict[str, dict[str, Any]] = {}
    for outcome in outcomes:
        key = outcome.pop("id")
        forecast = outcome.pop("forecast", None)
        forecasts[key] = forecast if forecast is not None else np.repeat(train[key][-1], M4_HORIZON)
        details[key] = outcome
    return forecasts, details, wall


def _long_frame(train: dict[str, np.ndarray], ids: list[str]) -> pd.DataFrame:
    return pd.concat(
        [pd.DataFrame({"unique_id": key, "ds": np.arange(len(train[key])), "y": train[key]}) for key in ids],
        ignore_index=True,
    )


def statsforecast_forecasts(
    train: dict[str, np.ndarray], ids: list[str], jobs: int
) -> tuple[dict[str, np.ndarray], float, float, Intervals]:
    """statsforecast AutoARIMA(season_length=1) forecasts; returns forecasts, wall seconds, warm-up seconds and
    its prediction intervals at LEVELS (computed in the timed call, as ours are).

    A warm-up on one short series runs first (untimed in the wall seconds), so JIT compilation is not counted.
    """
    from statsforecast import StatsForecast
    from statsforecast.models import AutoARIMA

    def engine() -> StatsForecast:
        return StatsForecast(models=[AutoARIMA(season_length=1)], freq=1, n_jobs=jobs)

    started = time.perf_counter()
    engine().forecast(df=_long_frame(train, [ids[0]]), h=M4_HORIZON, level=list(LEVELS))
    warm_up = time.perf_counter() - started
    frame = _long_frame(train, ids)
    started = time.perf_counter()
    result = engine().forecast(df=frame, h=M4_HORIZON, level=list(LEVELS))
    wall = time.perf_counter() - started
    groups = {str(key): group.sort_values("ds") for key, group in result.groupby("unique_id", sort=False)}
    missing = [key for key in ids if key not in groups or len(groups[key]) != M4_HORIZON]
    if missing:
        raise RuntimeError(f"statsforecast returned no 13-week forecast for {missing[:5]}")
    forecasts = {key: groups[key]["AutoARIMA"].to_numpy(dtype=float) for key in ids}
    intervals = {
        key: {
            lv: (
                np.clip(groups[key][f"AutoARIMA-lo-{lv}"].to_numpy(dtype=float), 0.0, None),
                np.clip(groups[key][f"AutoARIMA-hi-{lv}"].to_numpy(dtype=float), 0.0, None),
            )
            for lv in LEVELS
        }
        for key in ids
    }
    return forecasts, wall, warm_up, intervals


def _method(
    name: str,
    forecasts: dict[str, np.ndarray],
    train: dict[str, np.ndarray],
    test: dict[str, np.ndarray],
    wall: float,
    processes: int,
    notes: str = "",
    details: dict[str, dict[str, Any]] | None = None,
) -> MethodResult:
    s, m, rows = score_forecasts(forecasts, train, test)
    if details:
        for key, extra in details.items():
            rows[key].update(extra)
    return MethodResult(name, len(forecasts), s, m, wall, wall / len(forecasts), processes, notes, rows)


def check_naive(result: MethodResult) -> str:
    """Assert that Naive on all 359 series reproduces the official M4 figures; returns the printed line."""
    line = (
        f"Naive self-check on {result.n_series} series: sMAPE {result.smape:.3f} (official {NAIVE_SMAPE}), "
        f"MASE {result.mase:.3f} (official {NAIVE_MASE})"
    )
    ok = abs(result.smape - NAIVE_SMAPE) < _TOLERANCE and abs(result.mase - NAIVE_MASE) < _TOLERANCE
    if result.n_series != 359 or not ok:
        raise AssertionError(f"harness self-check FAILED: {line}")
    return line + ": OK"


def _timed_runs(
    train: dict[str, np.ndarray],
    ids: list[str],
    settings: TuningSettings,
    jobs: int,
    repeats: int,
    with_ours: bool,
    with_statsforecast: bool,
) -> tuple[dict[str, Any], list[dict[str, float]]]:
    """AutoARIMA then ours, `repeats` times; the first repeat's outputs and the wall seconds of every repeat."""
    first: dict[str, Any] = {}
    walls: list[dict[str, float]] = []
    for _ in range(repeats):
        repeat: dict[str, float] = {}
        if with_statsforecast:
            sf, repeat["autoarima"], warm, sf_intervals = statsforecast_forecasts(train, ids, jobs)
            first.setdefault("sf", (sf, warm, sf_intervals))
        if with_ours:
            ours, info, repeat["ours"] = ours_forecasts(train, ids, settings, jobs)
            first.setdefault("ours", (ours, info))
        if with_ours and with_statsforecast:
            repeat["ratio"] = repeat["ours"] / repeat["autoarima"]
        walls.append(repeat)
    return first, walls


def _median_repeat(walls: list[dict[str, float]], key: str) -> float:
    return float(np.median([w[key] for w in walls]))


def run_m4(
    folder: Path,
    subset: int | None,
    preset: str,
    jobs: int,
    with_ours: bool = True,
    with_statsforecast: bool = True,
    repeats: int = 1,
) -> dict[str, Any]:
    """The whole M4 part: self-check, then every method on the same (subset of) series.

    Returns:
        JSON-serialisable dict: ``self_check``, ``series`` (ids), ``preset``, ``settings``, ``methods`` (list
        of summaries), ``per_series``, ``timing`` (wall seconds per repeat and the ratio min/median/max),
        ``claim`` (subsets with bootstrap CIs) and ``tail`` (worse than Naive by > 50 %).
    """
    if repeats < 1:
        raise ValueError(f"--repeats must be >= 1, got {repeats}")
    train = load_train(folder)
    all_ids = list(train)
    ids = select_subset(all_ids, subset)
    settings = preset_settings(preset)

    forecasts: dict[str, dict[str, np.ndarray]] = {}
    walls: dict[str, float] = {}
    for name, method in (("Naive", naive_forecasts), ("Seasonal Naive (52)", seasonal_naive_forecasts)):
        started = time.perf_counter()
        forecasts[name] = method(train, ids)
        walls[name] = time.perf_counter() - started
    notes: dict[str, str] = {}
    details: dict[str, dict[str, dict[str, Any]]] = {}
    intervals: dict[str, Intervals] = {}
    first, repeat_walls = _timed_runs(train, ids, settings, jobs, repeats, with_ours, with_statsforecast)
    sf_name, ours_name = "statsforecast AutoARIMA", f"ours: tune_model ({preset})"
    if with_statsforecast:
        forecasts[sf_name], warm, intervals[sf_name] = first["sf"]
        walls[sf_name] = _median_repeat(repeat_walls, "autoarima")
        notes[sf_name] = f"season_length=1; JIT warm-up {warm:.1f} s not counted"
    if with_ours:
        forecasts[ours_name], info = first["ours"]
        intervals[ours_name] = {k: row.pop("intervals") for k, row in info.items() if "intervals" in row}
        walls[ours_name], details[ours_name] = _median_repeat(repeat_walls, "ours"), info
        failed = sum(1 for row in info.values() if "error" in row)
        fallback = sum(1 for row in info.values() if row.get("used_fallback"))
        trials = np.mean([row.get("trials_run", 0) for row in info.values()])
        notes[ours_name] = f"mean {trials:.1f} trials; {fallback} fallback; {failed} failed (Naive substituted)"

    # The holdout is read only now, after every forecast exists.
    test = load_test(folder, all_ids)
    naive_all = _method("Naive (all 359)", naive_forecasts(train, all_ids), train, test, 0.0, 1)
    self_check = check_naive(naive_all)
    methods = [
        _method(
            name,
            fc,
            train,
            test,
            walls[name],
            1 if name.startswith(("Naive", "Seasonal")) else jobs,
            notes.get(name, ""),
            details.get(name),
        )
        for name, fc in forecasts.items()
    ]
    per_series = {m.method: m.per_series for m in methods}
    result: dict[str, Any] = {
        "self_check": self_check,
        "naive_all": naive_all.summary(),
        "series": ids,
        "preset": preset,
        "settings": asdict(settings),
        "jobs": jobs,
        "methods": [m.summary() for m in methods],
        "per_series": per_series,
        "timing": _timing_summary(repeat_walls),
        "intervals": {name: score_intervals(iv, train, test) for name, iv in intervals.items()},
    }
    if with_ours:
        ours_mase = {k: row["mase"] for k, row in per_series[ours_name].items()}
        result["tail"] = tail_vs_naive(ours_mase, {k: row["mase"] for k, row in per_series["Naive"].items()})
        for row in result["tail"]["worst"]:
            row["spec"] = per_series[ours_name][row["id"]].get("spec")
        if with_statsforecast:
            sf_mase = {k: row["mase"] for k, row in per_series[sf_name].items()}
            result["claim"] = subset_claims(ours_mase, sf_mase, all_ids)
    return result


def _timing_summary(walls: list[dict[str, float]]) -> dict[str, Any]:
    """Wall seconds of every repeat and the ratio ours / AutoARIMA as min / median / max (when both ran)."""
    out: dict[str, Any] = {"repeats": walls}
    ratios = [w["ratio"] for w in walls if "ratio" in w]
    if ratios:
        out["ratio"] = {"min": min(ratios), "median": float(np.median(ratios)), "max": max(ratios)}
    return out
