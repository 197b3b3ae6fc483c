"""Smart-retraining replay: 27 weekly origins, four policies, a stable and a changed set.

Data (no M4 test data is touched: the replay runs on the TRAIN series' own last 39 weeks):

- stable: the longest M4 Weekly train series as they are, plus the shipped sample titles except the
  TV-adaptation title;
- changed: the same M4 series with one planted change each (see benchmarks/changes.py: level x0.4, x0.7,
  x1.5, x2.5, yearly cycle x2, trend reversal, in equal shares) at a seeded random origin in the first half
  of the replay, plus the sample's TV-adaptation title (9781907734175) as it is;
- early: a break right after a training: level x0.4 or x2.5 (alternately) planted 1-3 weeks (seeded) after
  the first origin's model was trained, on every third M4 series (issue 20: a break in the first two weeks).

M4 series get a W-SAT DatetimeIndex ending 2024-07-20. Each series is one task (tuned once at the first
origin; stable and changed M4 series share that tuning, their data being equal up to the change).
Per policy and set: fits, fit and filter seconds, mean MASE and sMAPE, the ratio to always-retrain with a
bootstrap 95 % interval over series, bursts (retrains the week right after a previous retrain), retrains per
series-year, forecast stability, and on the changed and early sets the detection delay (weeks of changed data
seen before the forecast came from parameters fitted on data including the change) and, per kind of change, how
many were adopted within 13 weeks.
"""

from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from arima_assets.config import ArimaConfig
from arima_assets.data import load_sales
from arima_assets.data.sample import SAMPLE_PATH
from benchmarks.changes import CHANGE_KINDS, plant_change
from benchmarks.m4_io import as_weekly, load_train
from benchmarks.parallel import parallel_map
from benchmarks.policies import POLICIES, PolicyRun, initial_model, origin_cuts, replay_schedule, replay_smart
from benchmarks.settings import preset_config

__all__ = ["DRIFT_TITLE", "bootstrap_ratio", "replay_series", "run_replay", "summarise_set"]

DRIFT_TITLE = "9781907734175"
_SEED = 20240720
#: The early-break set: every EARLY_EVERY-th M4 series, these kinds in turn, 1..EARLY_MAX_WEEKS weeks after training.
EARLY_EVERY = 3
EARLY_KINDS = ("level x0.4", "level x2.5")
EARLY_MAX_WEEKS = 3
#: A planted change counts as adopted when the served parameters include it within this many weeks.
ADOPTION_WEEKS = 13
CHANGE_SETS = ("changed", "early")


def _policy_runs(
    series_id: str, series: pd.Series, cuts: list[int], start: Any, config: ArimaConfig
) -> list[PolicyRun]:
    cap = config.max_train_weeks
    return [
        replay_schedule("always", series_id, series, cuts, start, 1, cap),
        replay_schedule("every 8", series_id, series, cuts, start, 8, cap),
        replay_schedule("every 13", series_id, series, cuts, start, 13, cap),
        replay_schedule("never", series_id, series, cuts, start, None, cap),
        replay_smart(series_id, series, cuts, start, config),
    ]


def replay_series(task: dict[str, Any]) -> dict[str, Any]:
    """Replay every policy on one series, and on its changed copies (a worker task).

    Task keys: id, index, values (np.ndarray), end (Timestamp), n_origins, preset, sets (list of
    "stable"/"changed"/"early"), change (kind, origin) or None, early (kind, origin) or None (M4 tasks only).
    """
    config = preset_config(task["preset"])
    series = pd.Series(task["values"], index=pd.date_range(end=task["end"], periods=len(task["values"]), freq="W-SAT"))
    cuts = origin_cuts(len(series), task["n_origins"])
    start = initial_model(task["id"], series, cuts[0], config)
    out: dict[str, Any] = {
        "id": task["id"],
        "initial_seconds": start.seconds,
        "initial_spec": start.model.spec.label(),
        "runs": {},
    }
    scale = float(np.mean(np.abs(np.diff(series.to_numpy()[: cuts[0]])))) or float("nan")
    if "stable" in task["sets"]:
        out["runs"]["stable"] = [r.summary(scale) for r in _policy_runs(task["id"], series, cuts, start, config)]
    for name in CHANGE_SETS:
        if name in task["sets"]:
            out["runs"][name], planted = _changed_runs(task, name, series, cuts, start, config, scale)
            if planted is not None:
                out.setdefault("planted", {})[name] = planted
                if name == "changed":
                    out["change"] = planted
    return out


def _changed_runs(
    task: dict[str, Any], name: str, series: pd.Series, cuts: list[int], start: Any, config: ArimaConfig, scale: float
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """The policies on the copy of `series` with the task's planted change of set `name` (none: as it is)."""
    change = task.get(name if name != "changed" else "change")
    changed, planted = series, None
    if change is not None:
        kind, origin = change
        offset = 0 if name == "changed" else 1_000_003  # an independent seed per set
        values, plant = plant_change(
            series.to_numpy(), cuts[origin], origin, kind, np.random.default_rng([_SEED, task["index"] + offset])
        )
        changed = pd.Series(values, index=series.index)
        planted = asdict(plant)
    runs = [r.summary(scale) for r in _policy_runs(task["id"], changed, cuts, start, config)]
    if change is not None:
        for run in runs:
            run["detection_delay"] = detection_delay(run["model_origins"], change[1])
            run["change_kind"] = change[0]
    return runs, planted


def detection_delay(model_origins: list[int], change_origin: int) -> int | None:
    """Weeks of changed data seen until the served parameters were fitted on data including the change.

    The change starts with the first week after the data of origin `change_origin`; at origin r the policy has
    seen r - change_origin changed weeks. None when no such model was served before the replay ended.
    """
    for origin in range(change_origin + 1, len(model_origins)):
        if model_origins[origin] > change_origin:
            return origin - change_origin
    return None


def bootstrap_ratio(
    policy: np.ndarray, reference: np.ndarray, n_boot: int = 2000, seed: int = _SEED
) -> tuple[float, float, float, int]:
    """Relative MASE: geometric mean over series of policy / reference, with a percentile bootstrap 95 % interval.

    Every series counts equally (a ratio of set means would be dominated by the series with the largest MASE).
    Equal values (including 0 and 0, a title that sells nothing) count as ratio 1; a series where only the
    reference is 0 has no ratio and is left out.

    Returns:
        (ratio, low, high, series left out)
    """
    keep = (reference > 0) | (policy == reference)
    ratios = np.where(policy == reference, 1.0, policy / np.where(reference > 0, reference, 1.0))[keep]
    logs = np.log(ratios)
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(logs), size=(n_boot, len(logs)))
    low, high = np.exp(np.percentile(logs[draws].mean(axis=1), [2.5, 97.5]))
    return float(np.exp(logs.mean())), float(low), float(high), int((~keep).sum())


def summarise_set(runs: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """One row per policy over the series of a set (each item: the four policy summaries of one series)."""
    by_policy = {p: [next(r for r in series if r["policy"] == p) for series in runs] for p in POLICIES}
    reference = np.array([r["mase"] for r in by_policy["always"]])
    rows = []
    for policy, items in by_policy.items():
        mases = np.array([r["mase"] for r in items])
        fits = int(sum(r["fits"] for r in items))
        bursts = int(sum(r["bursts"] for r in items))
        ratio, low, high, left_out = bootstrap_ratio(mases, reference)
        delays = [r["detection_delay"] for r in items if "detection_delay" in r]
        level_delays = [r["detection_delay"] for r in items if r.get("change_kind", "").startswith("level")]
        series_years = sum(len(r["statuses"]) - 1 for r in items) / (365.25 / 7)
        reused = sum(r.get("reused_steps", 0) for r in items)
        triggers: dict[str, int] = {}
        for r in items:
            for name, count in r["triggers"].items():
                triggers[name] = triggers.get(name, 0) + count
        errors = [f"{r['series_id']} {e}" for r in items for e in r["errors"]]
        rows.append(
            {
                "policy": policy,
                "errors": errors,
                "series": len(items),
                "fits": fits,
                "fit_seconds": float(sum(r["fit_seconds"] for r in items)),
                "filter_seconds": float(sum(r["filter_seconds"] for r in items)),
                "mase": float(mases.mean()),
                "smape": float(np.mean([r["smape"] for r in items])),
                "mase_ratio": ratio,
                "mase_ratio_ci": [low, high],
                "ratio_left_out": left_out,
                "bursts": bursts,
                "burst_share": bursts / fits if fits else 0.0,
                "triggers": triggers,
                "retrains_per_series_year": fits / series_years if series_years else float("nan"),
                "stability": float(np.nanmean([r["stability"] for r in items])),
                "decision_seconds": float(sum(r.get("decision_seconds", 0.0) for r in items)),
                "check_ms_per_week": 1000 * sum(r.get("reused_check_seconds", 0.0) for r in items) / reused
                if reused
                else float("nan"),
                "delay": _delay_summary(delays),
                "level_delay": _delay_summary(level_delays),
                "by_kind": _adoption_by_kind(items),
            }
        )
    always_cost = rows[0]["fit_seconds"] + rows[0]["filter_seconds"]
    for row in rows:
        row["cost_share"] = (row["fit_seconds"] + row["filter_seconds"]) / always_cost if always_cost else float("nan")
    return rows


def _delay_summary(delays: list[int | None]) -> dict[str, Any]:
    """Median and 90th percentile of the detection delays; undetected changes count as never (infinite)."""
    if not delays:
        return {}
    values = np.array([np.inf if d is None else d for d in delays], dtype=float)
    median, p90 = np.percentile(values, [50, 90], method="higher")
    return {"n": len(delays), "undetected": int(np.isinf(values).sum()), "median": float(median), "p90": float(p90)}


def _adoption_by_kind(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per kind of planted change: how many, how many adopted within ADOPTION_WEEKS, and the delays."""
    kinds: dict[str, list[int | None]] = {}
    for r in items:
        if "change_kind" in r:
            kinds.setdefault(r["change_kind"], []).append(r["detection_delay"])
    return {
        kind: {
            "n": len(delays),
            "adopted": sum(1 for d in delays if d is not None and d <= ADOPTION_WEEKS),
            **_delay_summary(delays),
        }
        for kind, delays in sorted(kinds.items())
    }


def _sample_series() -> dict[str, pd.Series]:
    sales = load_sales(SAMPLE_PATH, absent_weeks="zero")
    return {isbn: sales.weekly_series(isbn) for isbn in sales.isbns()}


def build_tasks(folder: Path, n_m4: int, n_origins: int, preset: str, with_sample: bool = True) -> list[dict[str, Any]]:
    """One task per series: the `n_m4` longest M4 series (stable + changed), then the sample titles."""
    train = load_train(folder)
    longest = sorted(train, key=lambda key: (-len(train[key]), int(key[1:])))[:n_m4]
    rng = np.random.default_rng(_SEED)
    kinds = [CHANGE_KINDS[i % len(CHANGE_KINDS)] for i in range(n_m4)]
    rng.shuffle(kinds)
    last_change_origin = max(1, n_origins // 2)
    early_rng = np.random.default_rng([_SEED, 1])  # its own stream: the changed set stays as it was
    tasks: list[dict[str, Any]] = []
    for index, key in enumerate(longest):
        origin = int(rng.integers(1, last_change_origin + 1))
        series = as_weekly(train[key])
        early = None
        if index % EARLY_EVERY == 0:
            kind = EARLY_KINDS[(index // EARLY_EVERY) % len(EARLY_KINDS)]
            early = (kind, int(early_rng.integers(1, min(EARLY_MAX_WEEKS, n_origins - 1) + 1)))
        tasks.append(
            {
                "id": key,
                "index": index,
                "values": series.to_numpy(),
                "end": series.index[-1],
                "n_origins": n_origins,
                "preset": preset,
                "sets": ["stable", "changed"] + (["early"] if early else []),
                "change": (kinds[index], origin),
                "early": early,
            }
        )
    if with_sample:
        for index, (isbn, series) in enumerate(_sample_series().items(), start=len(tasks)):
            tasks.append(
                {
                    "id": isbn,
                    "index": index,
                    "values": series.to_numpy(),
                    "end": series.index[-1],
                    "n_origins": n_origins,
                    "preset": preset,
                    "sets": ["changed"] if isbn == DRIFT_TITLE else ["stable"],
                    "change": None,
                }
            )
    return tasks


def run_replay(folder: Path, n_m4: int, n_origins: int, preset: str, jobs: int) -> dict[str, Any]:
    """The whole replay; returns the JSON-serialisable result (set tables, per-series rows, changes)."""
    tasks = build_tasks(folder, n_m4, n_origins, preset)
    started = time.perf_counter()
    results = parallel_map(replay_series, tasks, jobs, label="replay series")
    wall = time.perf_counter() - started
    sets: dict[str, list[list[dict[str, Any]]]] = {"stable": [], "changed": [], "early": []}
    for result in results:
        for name, runs in result["runs"].items():
            sets[name].append(runs)
    return {
        "preset": preset,
        "n_m4": n_m4,
        "n_origins": n_origins,
        "jobs": jobs,
        "wall_seconds": wall,
        "initial_tuning_seconds": float(sum(r["initial_seconds"] for r in results)),
        "sets": {name: summarise_set(runs) for name, runs in sets.items() if runs},
        "changes": [r["change"] | {"id": r["id"]} for r in results if "change" in r],
        "early_changes": [r["planted"]["early"] | {"id": r["id"]} for r in results if "early" in r.get("planted", {})],
        "series": [
            {
                "id": r["id"],
                "initial_spec": r["initial_spec"],
                "initial_seconds": r["initial_seconds"],
                "runs": r["runs"],
            }
            for r in results
        ],
    }
