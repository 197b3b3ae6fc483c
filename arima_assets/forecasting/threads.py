"""Limit the threads of the OpenBLAS libraries loaded by numpy and scipy (stdlib ctypes only).

SARIMAX works on tiny matrices; multi-threaded OpenBLAS only adds synchronisation, and on a busy machine
its spinning threads oversubscribe the cores (figures in benchmarks/RESULTS.md, History). Call
``limit_blas_threads(1)`` once at process start (Dagster code location, benchmarks, tests), or set
``OPENBLAS_NUM_THREADS=1`` before numpy is imported.
"""

from __future__ import annotations

import ctypes
import glob
import os
import sys

__all__ = ["BLAS_THREADS_VARIABLE", "limit_blas_threads", "limit_blas_threads_from_env"]

BLAS_THREADS_VARIABLE = "ARIMA_BLAS_THREADS"

_SETTERS = (
    "openblas_set_num_threads",
    "openblas_set_num_threads64_",
    "scipy_openblas_set_num_threads",
    "scipy_openblas_set_num_threads64_",
)


def _loaded_openblas_paths() -> list[str]:
    paths: set[str] = set()
    try:
        with open("/proc/self/maps") as maps:
            for line in maps:
                path = line.split()[-1] if len(line.split()) >= 6 else ""
                if "openblas" in os.path.basename(path).lower():
                    paths.add(path)
    except OSError:  # not Linux: look next to the numpy / scipy packages instead
        for name in ("numpy", "scipy"):
            module = sys.modules.get(name)
            if module is not None and module.__file__:
                site = os.path.dirname(os.path.dirname(module.__file__))
                paths.update(glob.glob(os.path.join(site, f"{name}*libs", "*openblas*")))
    return sorted(paths)


def limit_blas_threads(n: int = 1) -> list[str]:
    """Set the thread count of every loaded OpenBLAS library to `n`.

    Returns:
        the library files that were changed (empty when no OpenBLAS is loaded, e.g. MKL or Accelerate).
    """
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"limit_blas_threads: n must be a positive int, got {n!r}")
    import numpy  # noqa: F401  (load the libraries first)
    import scipy.linalg  # noqa: F401

    changed = []
    for path in _loaded_openblas_paths():
        try:
            library = ctypes.CDLL(path)
        except OSError:
            continue
        for symbol in _SETTERS:
            setter = getattr(library, symbol, None)
            if setter is not None:
                setter(ctypes.c_int(n))
                changed.append(path)
                break
    return changed


def limit_blas_threads_from_env() -> list[str]:
    """Apply ``ARIMA_BLAS_THREADS`` (default 1; ``0`` leaves BLAS alone) with :func:`limit_blas_threads`.

    Raises:
        ValueError: The variable is not a non-negative integer.
    """
    raw = os.environ.get(BLAS_THREADS_VARIABLE, "1").strip()
    if not raw.isdigit():
        raise ValueError(f"{BLAS_THREADS_VARIABLE} must be a non-negative int (0: leave BLAS alone), got {raw!r}")
    return limit_blas_threads(int(raw)) if int(raw) > 0 else []
