"""Reading the M4 Weekly data set (wide csv: ``V1`` id, quoted values, trailing empty cells).

``Weekly-test.csv`` is read only to score final forecasts (see :func:`load_test`); nothing that chooses a spec
or a setting may call it.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = [
    "M4_DIR_ENV",
    "M4_HORIZON",
    "NAIVE_MASE",
    "NAIVE_SMAPE",
    "SERIES_END",
    "as_weekly",
    "load_test",
    "load_train",
    "m4_dir",
    "read_wide_csv",
    "select_subset",
]

M4_DIR_ENV = "ARIMA_M4_DIR"
M4_HORIZON = 13
#: Official M4 Weekly Naive (last value) scores: the harness must reproduce them.
NAIVE_SMAPE = 9.161
NAIVE_MASE = 2.777
#: M4 series carry no dates; they are given consecutive weeks ending on this Saturday (W-SAT).
SERIES_END = pd.Timestamp("2024-07-20")

_REPO_ROOT = Path(__file__).resolve().parent.parent


def m4_dir(path: str | Path | None = None) -> Path:
    """The M4 Weekly folder: `path`, else env ``ARIMA_M4_DIR``, else ``../shared/data/m4-weekly`` from the repo root.

    Raises:
        ValueError: the folder does not hold ``Weekly-train.csv`` and ``Weekly-test.csv``.
    """
    if path is not None:
        folder, source = Path(path), "--m4-dir"
    elif os.environ.get(M4_DIR_ENV):
        folder, source = Path(os.environ[M4_DIR_ENV]), M4_DIR_ENV
    else:
        folder, source = (_REPO_ROOT.parent / "shared" / "data" / "m4-weekly").resolve(), "default"
    missing = [name for name in ("Weekly-train.csv", "Weekly-test.csv") if not (folder / name).is_file()]
    if missing:
        raise ValueError(f"M4 folder {folder} (from {source}) lacks {', '.join(missing)}")
    return folder


def read_wide_csv(path: str | Path) -> dict[str, np.ndarray]:
    """One float array per row of an M4 wide csv, keyed by the ``V1`` id, trailing empty cells dropped.

    Raises:
        ValueError: a bad header, a duplicate id, an empty cell before the last value, or a non-number
            (the message names the file, row and column).
    """
    path = Path(path)
    series: dict[str, np.ndarray] = {}
    with path.open(newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if not header or header[0] != "V1":
            raise ValueError(f"{path}: first header cell must be 'V1', got {header[:1] if header else 'no header'}")
        for row_number, row in enumerate(reader, start=2):
            if not row:
                continue
            key, cells = row[0], row[1:]
            if key in series:
                raise ValueError(f"{path} row {row_number}: duplicate id {key!r}")
            while cells and cells[-1] == "":
                cells.pop()
            values = np.empty(len(cells))
            for column, cell in enumerate(cells, start=2):
                try:
                    values[column - 2] = float(cell)
                except ValueError:
                    raise ValueError(
                        f"{path} row {row_number} ({key}), column V{column}: {cell!r} is not a number"
                    ) from None
            if values.size == 0:
                raise ValueError(f"{path} row {row_number} ({key}): no values")
            series[key] = values
    return series


def load_train(folder: Path) -> dict[str, np.ndarray]:
    """The training series ``W1..W359`` in file order."""
    return read_wide_csv(folder / "Weekly-train.csv")


def load_test(folder: Path, ids: list[str]) -> dict[str, np.ndarray]:
    """The 13-week holdout of `ids`: call only to score final forecasts.

    Raises:
        ValueError: an id is missing from the test file or its horizon is not 13.
    """
    test = read_wide_csv(folder / "Weekly-test.csv")
    missing = [key for key in ids if key not in test]
    if missing:
        raise ValueError(f"{folder / 'Weekly-test.csv'}: ids {missing[:5]} not found")
    bad = [key for key in ids if test[key].size != M4_HORIZON]
    if bad:
        raise ValueError(f"{folder / 'Weekly-test.csv'}: ids {bad[:5]} do not have {M4_HORIZON} values")
    return {key: test[key] for key in ids}


def select_subset(ids: list[str], n: int | None) -> list[str]:
    """A deterministic, evenly spread choice of `n` ids (every k-th; all when `n` is None or >= len(ids))."""
    if n is None or n >= len(ids):
        return list(ids)
    if n < 1:
        raise ValueError(f"--subset must be >= 1, got {n}")
    positions = np.linspace(0, len(ids) - 1, n).round().astype(int)
    return [ids[i] for i in positions]


def as_weekly(values: np.ndarray, end: pd.Timestamp = SERIES_END) -> pd.Series:
    """An M4 series on a W-SAT DatetimeIndex of consecutive weeks ending `end` (the project code wants dates)."""
    return pd.Series(values, index=pd.date_range(end=end, periods=len(values), freq="W-SAT"), dtype=float)
