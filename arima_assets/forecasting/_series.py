"""Validation and week bookkeeping for input series (private helpers of the forecasting core).

A series is either a `pd.Series` on a weekly `DatetimeIndex` (consecutive dates 7 days apart, normally
week ending Saturday, `W-SAT`) or positions: a `pd.Series` on consecutive integers, or a plain numpy array
(positions 0..n-1).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__: list[str] = []

WEEK = pd.Timedelta(days=7)
EPOCH = pd.Timestamp("1970-01-03")  # a Saturday; calendar week numbers for Fourier terms count from here
DATETIME = "datetime"
RANGE = "range"


@dataclass(frozen=True)
class WeeklySeries:
    """A validated series: float values plus either dates or integer positions (same length)."""

    values: np.ndarray
    kind: str  # DATETIME | RANGE
    dates: pd.DatetimeIndex | None
    positions: np.ndarray | None  # int64 positions when kind == RANGE

    def __len__(self) -> int:
        return len(self.values)

    @property
    def first(self) -> pd.Timestamp | int:
        return self.dates[0] if self.kind == DATETIME else int(self.positions[0])

    @property
    def last(self) -> pd.Timestamp | int:
        return self.dates[-1] if self.kind == DATETIME else int(self.positions[-1])

    def tail(self, n: int) -> WeeklySeries:
        """The last `n` observations (all when n >= len)."""
        if n >= len(self):
            return self
        return self.slice(len(self) - n, len(self))

    def slice(self, start: int, stop: int) -> WeeklySeries:
        """Observations start..stop-1 (integer locations)."""
        return WeeklySeries(
            values=self.values[start:stop],
            kind=self.kind,
            dates=None if self.dates is None else self.dates[start:stop],
            positions=None if self.positions is None else self.positions[start:stop],
        )

    def to_pandas(self) -> pd.Series:
        """The series as `pd.Series` (dates, or integer positions as index)."""
        if self.kind == DATETIME:
            return pd.Series(self.values, index=self.dates)
        return pd.Series(self.values, index=pd.Index(self.positions))


def _where(kind: str, dates: pd.DatetimeIndex | None, positions: np.ndarray | None, i: int) -> str:
    if kind == DATETIME:
        return f"date {dates[i].date()}"
    return f"position {int(positions[i])}"


def as_weekly_series(y: object, name: str = "y") -> WeeklySeries:
    """Validate `y` and return it as a WeeklySeries.

    Raises:
        ValueError: `y` is empty, not one-dimensional, has NaN/inf or negative values, a non-weekly or
            gapped DatetimeIndex, or a non-consecutive integer index (the message names the first offender).
    """
    if isinstance(y, WeeklySeries):
        return y
    if isinstance(y, pd.Series):
        index = y.index
        raw = y.to_numpy(dtype=float, na_value=np.nan)
        if isinstance(index, pd.DatetimeIndex):
            kind, dates, positions = DATETIME, index, None
            if len(index) > 1:
                steps = np.diff(index.asi8)
                bad = np.flatnonzero(steps != WEEK.value)
                if bad.size:
                    i = int(bad[0])
                    raise ValueError(
                        f"{name}: DatetimeIndex must hold consecutive weeks (7 days apart, freq W-SAT); "
                        f"found a step of {pd.Timedelta(int(steps[i]))} after {index[i].date()}"
                    )
            if index.tz is not None:
                raise ValueError(f"{name}: DatetimeIndex must be timezone-naive, got tz={index.tz}")
        elif pd.api.types.is_integer_dtype(index.dtype):
            kind, dates = RANGE, None
            positions = index.to_numpy(dtype=np.int64)
            if len(positions) > 1 and np.any(np.diff(positions) != 1):
                i = int(np.flatnonzero(np.diff(positions) != 1)[0])
                raise ValueError(
                    f"{name}: integer index must be consecutive (step 1); found {positions[i]} -> {positions[i + 1]}"
                )
        else:
            raise ValueError(
                f"{name}: index must be a weekly DatetimeIndex or consecutive integers, got {type(index).__name__}"
            )
    elif isinstance(y, np.ndarray | list | tuple):
        raw = np.asarray(y, dtype=float)
        if raw.ndim != 1:
            raise ValueError(f"{name}: must be one-dimensional, got shape {raw.shape}")
        kind, dates, positions = RANGE, None, np.arange(len(raw), dtype=np.int64)
    else:
        raise ValueError(f"{name}: expected a pd.Series or a 1-d numpy array, got {type(y).__name__}")

    if raw.size == 0:
        raise ValueError(f"{name}: series is empty")
    not_finite = np.flatnonzero(~np.isfinite(raw))
    if not_finite.size:
        i = int(not_finite[0])
        raise ValueError(
            f"{name}: {not_finite.size} NaN/inf value(s), first at {_where(kind, dates, positions, i)} "
            "(missing weeks must be 0)"
        )
    negative = np.flatnonzero(raw < 0)
    if negative.size:
        i = int(negative[0])
        raise ValueError(
            f"{name}: {negative.size} negative value(s), first {raw[i]:g} at "
            f"{_where(kind, dates, positions, i)} (sales must be >= 0)"
        )
    return WeeklySeries(values=raw.astype(float, copy=True), kind=kind, dates=dates, positions=positions)


def week_offsets(series: WeeklySeries, origin: pd.Timestamp | int) -> np.ndarray:
    """Whole weeks from `origin` to each observation (int64); dates must lie on the origin's weekday."""
    if series.kind == DATETIME:
        if not isinstance(origin, pd.Timestamp):
            raise ValueError(f"series has dates but the model was fitted on positions (origin {origin!r})")
        delta = series.dates.asi8 - origin.value
        if np.any(delta % WEEK.value):
            raise ValueError(
                f"series dates ({series.dates[0].day_name()}) are not whole weeks from the model origin "
                f"{origin.date()} ({origin.day_name()})"
            )
        return delta // WEEK.value
    if isinstance(origin, pd.Timestamp):
        raise ValueError(f"series has integer positions but the model was fitted on dates (origin {origin.date()})")
    return series.positions - int(origin)


def future_index(last: pd.Timestamp | int, h: int) -> pd.Index:
    """Index of the `h` weeks after `last` (dates with freq W-SAT when `last` is a Saturday)."""
    if isinstance(last, pd.Timestamp):
        freq = "W-SAT" if last.dayofweek == 5 else "7D"
        return pd.date_range(last + WEEK, periods=h, freq=freq)
    return pd.RangeIndex(last + 1, last + 1 + h)


def split_at_training_end(model: object, y: object) -> tuple[WeeklySeries, int]:
    """Validate `y` against a fitted ArimaModel: (series, number of observations up to `trained_until`)."""
    if not getattr(model, "is_fitted", False):
        raise ValueError(f"{model!r} is not fitted")
    series = as_weekly_series(y)
    offsets = week_offsets(series, model.trained_until)
    return series, int(np.count_nonzero(offsets <= 0))
