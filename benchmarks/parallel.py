"""Run benchmark tasks in forked worker processes (single-threaded numerics in each, see run.py)."""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any

__all__ = ["parallel_map"]


def parallel_map(function: Callable[[Any], Any], items: list[Any], jobs: int, label: str = "") -> list[Any]:
    """`function` over `items` in `jobs` forked processes (inline when jobs == 1), results in input order.

    With a `label`, prints progress about every 5 % of the items.
    """
    if jobs < 1:
        raise ValueError(f"--jobs must be >= 1, got {jobs}")
    started = time.perf_counter()

    every = max(1, len(items) // 20)

    def report(done: int) -> None:
        if label and (done % every == 0 or done == len(items)):
            print(f"  {label}: {done}/{len(items)} done, {time.perf_counter() - started:.0f} s", flush=True)

    if jobs == 1 or len(items) <= 1:
        results = []
        for item in items:
            results.append(function(item))
            report(len(results))
        return results
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        futures = {pool.submit(function, item): i for i, item in enumerate(items)}
        out: list[Any] = [None] * len(items)
        for done, future in enumerate(as_completed(futures), start=1):
            out[futures[future]] = future.result()
            report(done)
    return out
