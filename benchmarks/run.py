"""Run the benchmarks and write benchmarks/RESULTS.md and benchmarks/out/*.json.

    .venv/bin/python benchmarks/run.py --mode quick --jobs 2  # about 10 min on 2 cores
    .venv/bin/python benchmarks/run.py --mode full --jobs 2   # about 1-2 h: all 359 M4 series, 60-series replay

Options: --subset N (M4 series), --preset NAME, --jobs K, --repeats R (M4 timing repeats, default 3),
--parts m4,replay,automation, --m4-dir PATH
(or env ARIMA_M4_DIR), --replay-series N, --origins N, --isbns N, --render (rebuild RESULTS.md only).
"""

from __future__ import annotations

import os

# Single-threaded numerics in every process (ours and statsforecast alike): set before numpy is imported.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

_REPO = Path(__file__).resolve().parent.parent
if str(_REPO) not in sys.path:
    sys.path.insert(0, str(_REPO))

from benchmarks.report import environment, render_results, with_history  # noqa: E402
from benchmarks.settings import OUT_DIR  # noqa: E402

MODES: dict[str, dict[str, Any]] = {
    "quick": {"subset": 24, "replay_series": 6, "origins": 27, "isbns": 1000, "repeats": 3},
    "full": {"subset": None, "replay_series": 60, "origins": 27, "isbns": 1000, "repeats": 3},
}
PARTS = ("m4", "replay", "automation")


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mode", choices=sorted(MODES), default="quick")
    parser.add_argument("--subset", type=int, help="M4 series (every k-th); default quick 24, full all 359")
    parser.add_argument("--preset", default="production", help="project config preset for our core")
    parser.add_argument("--jobs", type=int, default=1, help="processes for ours and for statsforecast (default 1)")
    parser.add_argument("--parts", default=",".join(PARTS), help="comma-separated subset of m4,replay,automation")
    parser.add_argument("--m4-dir", help="M4 Weekly folder (default env ARIMA_M4_DIR, else ../shared/data/m4-weekly)")
    parser.add_argument("--replay-series", type=int, help="longest M4 series in the replay (quick 6, full 60)")
    parser.add_argument("--origins", type=int, help="weekly replay origins (default 27)")
    parser.add_argument("--isbns", type=int, help="ISBN partitions in the automation benchmark (default 1000)")
    parser.add_argument("--repeats", type=int, help="M4 timing repeats of AutoARIMA and ours (default 3)")
    parser.add_argument("--no-statsforecast", action="store_true", help="skip AutoARIMA (e.g. not installed)")
    parser.add_argument(
        "--render",
        action="store_true",
        help="only rebuild RESULTS.md from the last quick run's out/*.json (and out/m4_full.json), computing nothing",
    )
    args = parser.parse_args(argv)
    parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    unknown = sorted(set(parts) - set(PARTS))
    if unknown:
        parser.error(f"--parts: unknown {unknown}; allowed: {', '.join(PARTS)}")
    args.parts = parts
    for key, value in MODES[args.mode].items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.jobs < 1:
        parser.error(f"--jobs must be >= 1, got {args.jobs}")
    return args


def _cpu_seconds() -> float:
    """User + system CPU seconds of this process and its finished workers (the CPU is shared: wall time alone
    overstates the cost when other work competes)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _write_json(name: str, payload: dict[str, Any]) -> Path:
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    path = OUT_DIR / f"{name}.json"
    path.write_text(json.dumps(payload, indent=1, default=str))
    return path


def _write_results(text: str) -> None:
    """Write RESULTS.md, keeping the History section of the file it replaces."""
    path = Path(__file__).resolve().parent / "RESULTS.md"
    path.write_text(with_history(text, path.read_text() if path.is_file() else ""))


def _saved_profile() -> dict[str, Any] | None:
    """The last `benchmarks/profile_tuning.py` result (out/profile.json), rendered into RESULTS.md when present."""
    path = OUT_DIR / "profile.json"
    return json.loads(path.read_text()) if path.is_file() else None


def _render_saved() -> dict[str, Any]:
    """RESULTS.md from the saved JSON of the last quick run (e.g. after a later full M4 run)."""
    path = OUT_DIR / "run_quick.json"
    if not path.is_file():
        raise SystemExit(f"--render: {path} not found; run --mode quick first")
    results = json.loads(path.read_text())
    for part, name in (("m4", "m4"), ("replay", "replay"), ("automation", "automation")):
        fresh = part in results.get("parts", PARTS) and part not in results.get("failed_parts", {})
        if fresh and (OUT_DIR / f"{name}.json").is_file():
            results[part] = json.loads((OUT_DIR / f"{name}.json").read_text())
    full_path = OUT_DIR / "m4_full.json"
    full_m4 = json.loads(full_path.read_text()) if full_path.is_file() else None
    results["profile"] = _saved_profile()
    _write_results(render_results(results, full_m4))
    print("rebuilt benchmarks/RESULTS.md from benchmarks/out/*.json")
    return results


def _run_m4(args: argparse.Namespace, results: dict[str, Any]) -> dict[str, Any]:
    from benchmarks.m4 import run_m4
    from benchmarks.m4_io import m4_dir

    part = time.perf_counter()
    m4 = run_m4(
        m4_dir(args.m4_dir),
        args.subset,
        args.preset,
        args.jobs,
        with_statsforecast=not args.no_statsforecast,
        repeats=args.repeats,
    )
    m4.update(part_seconds=time.perf_counter() - part, mode=args.mode, date=results["environment"]["date"])
    print(m4["self_check"], flush=True)
    for method in m4["methods"]:
        print(
            f"  {method['method']:<34} sMAPE {method['smape']:7.3f}  MASE {method['mase']:6.3f}  "
            f"{method['seconds_per_series']:6.2f} s/series",
            flush=True,
        )
    ratio = m4["timing"].get("ratio")
    if ratio:
        print(
            f"  tuning time ratio ours / AutoARIMA over {args.repeats} repeat(s): min {ratio['min']:.2f}, "
            f"median {ratio['median']:.2f}, max {ratio['max']:.2f}",
            flush=True,
        )
    for row in m4.get("claim", []):
        print(
            f"  {row['subset']:<32} n={row['n']:3d} MASE {row['ours']:.3f} vs {row['reference']:.3f} "
            f"diff {row['difference']:+.3f} [{row['low']:+.3f}, {row['high']:+.3f}]",
            flush=True,
        )
    if "tail" in m4:
        print(f"  worse than Naive by > 50 %: {m4['tail']['count']} of {m4['tail']['n']}", flush=True)
    _write_json("m4" if args.mode == "quick" else "m4_full", m4)
    return m4


def _run_replay(args: argparse.Namespace, results: dict[str, Any]) -> dict[str, Any]:
    from benchmarks.m4_io import m4_dir
    from benchmarks.replay import run_replay

    replay = run_replay(m4_dir(args.m4_dir), args.replay_series, args.origins, args.preset, args.jobs)
    for name, rows in replay["sets"].items():
        for row in rows:
            print(
                f"  replay {name:<8} {row['policy']:<9} fits {row['fits']:4d}  "
                f"cost {row['cost_share']:6.1%}  MASE {row['mase']:.3f} (rel. {row['mase_ratio']:.3f}x always)  "
                f"bursts {row['bursts']}",
                flush=True,
            )
    _write_json("replay", replay)
    return replay


def _run_automation(args: argparse.Namespace, results: dict[str, Any]) -> dict[str, Any]:
    from benchmarks.automation_scale import run_automation_scale

    part = time.perf_counter()
    automation = run_automation_scale(args.isbns)
    automation["part_seconds"] = time.perf_counter() - part
    _write_json("automation", automation)
    return automation


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the selected parts, write out/*.json and RESULTS.md; returns the results dict."""
    args = _parse(argv)
    if args.render:
        return _render_saved()
    # statsmodels warns from outside the core's local filters (np.roots in SARIMAX.arroots): not a result
    warnings.filterwarnings("ignore", message="divide by zero encountered in reciprocal", category=RuntimeWarning)
    command = "benchmarks/run.py " + " ".join(argv if argv is not None else sys.argv[1:])
    started = time.perf_counter()
    results: dict[str, Any] = {
        "mode": args.mode,
        "command": command.strip(),
        "parts": args.parts,
        "environment": environment(),
    }
    print(f"mode {args.mode}: parts {', '.join(args.parts)}; jobs {args.jobs}; preset {args.preset}", flush=True)

    runners = {"m4": _run_m4, "replay": _run_replay, "automation": _run_automation}
    for part in args.parts:
        try:
            results[part] = runners[part](args, results)
        except Exception as exc:  # one broken part must not lose the others' results: recorded and reported
            print(f"part {part} FAILED:\n{traceback.format_exc()}", flush=True)
            results.setdefault("failed_parts", {})[part] = f"{type(exc).__name__}: {exc}"

    results["wall_seconds"] = time.perf_counter() - started
    results["cpu_seconds"] = _cpu_seconds()
    full_m4 = None
    full_path = OUT_DIR / "m4_full.json"
    if args.mode == "quick" and full_path.is_file():
        full_m4 = json.loads(full_path.read_text())
    results["profile"] = _saved_profile()
    _write_results(render_results(results, full_m4))
    _write_json(
        f"run_{args.mode}", {k: v for k, v in results.items() if k not in ("m4", "replay", "automation", "profile")}
    )
    print(f"wrote benchmarks/RESULTS.md and benchmarks/out/*.json in {results['wall_seconds']:.0f} s", flush=True)
    if results.get("failed_parts"):
        raise SystemExit(f"failed parts: {', '.join(results['failed_parts'])} (see RESULTS.md)")
    return results


if __name__ == "__main__":
    main()
