"""The validated sales table: :class:`SalesData` and its weekly series, :class:`RowProblem`, :class:`SalesDataError`.

Where a title's series ends is the ``absent_weeks`` rule (see :mod:`arima_assets.data.nielsen` for why the
default is ``"unknown"``):

* ``"zero"``: absent from a full weekly export = 0 sales. A title's series runs to the newest week of the
  file (the sheet, for an xlsx) holding its rows, with zeros for the weeks it has no row in.
* ``"unknown"``: absent from a partial file = unknown. A title's series ends at its own last reported week;
  no trailing zeros are invented.

Under both rules a missing week inside a title's reported range is 0 (BookScan omits zero-sale weeks).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, get_args

import pandas as pd

from arima_assets.data.isbn import normalize_isbn

__all__ = [
    "ABSENT_WEEKS",
    "DEFAULT_ABSENT_WEEKS",
    "AbsentWeeks",
    "RowProblem",
    "SalesData",
    "SalesDataError",
    "check_absent_weeks",
    "file_last_weeks",
    "source_label",
]

AbsentWeeks = Literal["zero", "unknown"]
ABSENT_WEEKS: tuple[str, ...] = get_args(AbsentWeeks)
"""The values of ``absent_weeks``."""
DEFAULT_ABSENT_WEEKS: AbsentWeeks = "unknown"
"""A week that is not reported is not invented as a zero unless the caller says the files are full exports."""


class SalesDataError(ValueError):
    """A sales file (or the whole load) cannot be used; the message names the file and the problem."""


def check_absent_weeks(value: object) -> AbsentWeeks:
    """``value`` if it is one of :data:`ABSENT_WEEKS`, else ValueError naming the choices."""
    if value not in ABSENT_WEEKS:
        raise ValueError(
            f"absent_weeks={value!r} must be 'zero' (absent from a full weekly export = 0 sales) "
            "or 'unknown' (absent from a partial file = unknown)"
        )
    return value  # type: ignore[return-value]


def source_label(file: str, sheet: str | None) -> str:
    """``file`` or ``file:sheet``."""
    return file if sheet is None else f"{file}:{sheet}"


def file_last_weeks(frame: pd.DataFrame) -> pd.Series:
    """ISBN -> newest week of the files (sheets) holding its rows; the data's newest week without a ``source``."""
    if "source" not in frame.columns:
        return pd.Series(frame["week_end"].max(), index=frame["isbn"].unique())
    coverage = frame["source"].map(frame.groupby("source")["week_end"].max())
    return coverage.groupby(frame["isbn"]).max()


@dataclass(frozen=True)
class RowProblem:
    """One skipped row of a sales file and why.

    Attributes:
        file: the file name.
        sheet: the sheet name for an xlsx, None for a csv.
        row: the row number as the user sees it (1-based, header included: the Excel row).
        isbn: the ISBN cell as found (before normalisation), as text.
        problem: what is wrong, naming the column and the value.
    """

    file: str
    sheet: str | None
    row: int
    isbn: str
    problem: str

    @property
    def source(self) -> str:
        """``file`` or ``file:sheet``."""
        return source_label(self.file, self.sheet)

    def __str__(self) -> str:
        return f"{self.source} row {self.row} (ISBN {self.isbn!r}): {self.problem}"


@dataclass
class SalesData:
    """Validated weekly sales of many ISBNs.

    Attributes:
        frame: tidy table, one row per ISBN and week with a sale, sorted by isbn and week_end. Columns:
            isbn (ISBN-13 str), title, author, interval (int YYYYWW), week_end (Timestamp, a Saturday),
            volume (float >= 0), value, asp, rrp (float, NaN if unparseable), binding, imprint,
            publisher_group, product_class, source (``file`` or ``file:sheet``), row (Excel row number).
        titles: ISBN -> title (as in the ISBN's latest week).
        rejected: the skipped rows and why (invalid ISBNs, bad values, bad dates, conflicting duplicates).
        rejected_isbns: ISBN -> why all of its rows were skipped.
        files: the files read, in order.
        absent_weeks: where a series ends (module docstring): ``"zero"`` at the newest week of the ISBN's
            files, ``"unknown"`` (default) at the ISBN's own last reported week.
    """

    frame: pd.DataFrame
    titles: dict[str, str]
    rejected: list[RowProblem] = field(default_factory=list)
    rejected_isbns: dict[str, str] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    absent_weeks: AbsentWeeks = DEFAULT_ABSENT_WEEKS
    _volumes: dict[str, pd.Series] | None = field(default=None, init=False, repr=False, compare=False)
    _ends: dict[str, pd.Timestamp] | None = field(default=None, init=False, repr=False, compare=False)
    _calendar: pd.DatetimeIndex | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.absent_weeks = check_absent_weeks(self.absent_weeks)

    def isbns(self) -> list[str]:
        """The loaded ISBN-13s, sorted."""
        return sorted(self.titles)

    @property
    def last_week(self) -> pd.Timestamp:
        """The last week (Saturday) in the whole data set."""
        return pd.Timestamp(self.frame["week_end"].max())

    def series_end(self, isbn: str) -> pd.Timestamp:
        """The last week of an ISBN's series under :attr:`absent_weeks` (KeyError/ValueError as weekly_series)."""
        key = self._known(isbn)
        return self._end_map()[key]

    def weekly_series(self, isbn: str, end: pd.Timestamp | None = None) -> pd.Series:
        """Weekly unit sales of one ISBN, with zero for weeks without a row inside its series.

        Args:
            isbn: the ISBN (any form :func:`normalize_isbn` accepts).
            end: last week to include (a Saturday); default :meth:`series_end`. An earlier ``end``
                truncates the series (useful for backtests). A later one pads zero weeks up to ``end``
                under ``absent_weeks="zero"``; under ``"unknown"`` the series still stops at the ISBN's
                last reported week (weeks after it are unknown, not zero).

        Returns:
            float Series named ``isbn`` on a ``W-SAT`` DatetimeIndex from the ISBN's first week in the
            data to its end.

        Raises:
            KeyError: the ISBN is not in the data (the message says if it was rejected, and why).
            ValueError: ``isbn`` is not a valid ISBN, or ``end`` is not a Saturday or precedes the
                ISBN's first week.
        """
        key = self._known(isbn)
        series = self._volume_map()[key]
        last = self._end_map()[key]
        stop = last if end is None else pd.Timestamp(end).normalize()
        if stop.dayofweek != 5:
            raise ValueError(f"end={stop.date()} is a {stop.day_name()}; weeks end on a Saturday")
        if stop < series.index[0]:
            raise ValueError(f"end={stop.date()} is before ISBN {key}'s first week {series.index[0].date()}")
        if self.absent_weeks == "unknown":
            stop = min(stop, last)
        return series.reindex(self._weeks(series.index[0], stop), fill_value=0.0).rename(key)

    def _known(self, isbn: str) -> str:
        """The ISBN-13 of ``isbn`` if it is loaded, else KeyError saying why it is not."""
        key = normalize_isbn(isbn)
        volumes = self._volume_map()
        if key not in volumes:
            if key in self.rejected_isbns:
                raise KeyError(f"ISBN {key} was rejected while loading: {self.rejected_isbns[key]}")
            raise KeyError(
                f"ISBN {key} is not in the sales data ({len(volumes)} ISBNs loaded): absent from the sales files, or "
                "rejected while loading (the ingest's rejected rows say why)"
            )
        return key

    def _weeks(self, first: pd.Timestamp, stop: pd.Timestamp) -> pd.DatetimeIndex:
        """W-SAT index first..stop, sliced from a cached calendar (building a W-SAT range costs ~10 us a week)."""
        if self._calendar is None:
            self._calendar = pd.date_range(self.frame["week_end"].min(), self.last_week, freq="W-SAT", name="week_end")
        calendar = self._calendar
        if calendar[0] <= first and stop <= calendar[-1]:
            return calendar[calendar.get_loc(first) : calendar.get_loc(stop) + 1]
        return pd.date_range(first, stop, freq="W-SAT", name="week_end")

    def _volume_map(self) -> dict[str, pd.Series]:
        if self._volumes is None:
            self._volumes = {
                str(isbn): pd.Series(group["volume"].to_numpy(dtype=float), index=pd.DatetimeIndex(group["week_end"]))
                for isbn, group in self.frame.groupby("isbn", sort=True)
            }
        return self._volumes

    def _end_map(self) -> dict[str, pd.Timestamp]:
        """ISBN -> last week of its series under :attr:`absent_weeks`."""
        if self._ends is None:
            if self.absent_weeks == "zero":
                ends = file_last_weeks(self.frame)
            else:
                ends = self.frame.groupby("isbn")["week_end"].max()
            self._ends = {str(isbn): pd.Timestamp(week) for isbn, week in ends.items()}
        return self._ends
