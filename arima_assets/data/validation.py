"""Validate the cells of Nielsen BookScan tables: parse each row, and say what is wrong with it and where.

Three kinds of problem (the policy is in :mod:`arima_assets.data.nielsen`):

* per-row problems that reject the row's whole ISBN (bad Volume, End Date or Interval): :func:`validate_table`;
* conflicting repeats of an (ISBN, week), which also reject the ISBN: :func:`drop_conflicts`;
* impossible weeks (after the run date, or far beyond the newest week of most ISBNs), which skip the row
  only: :func:`drop_impossible_weeks`.
"""

from __future__ import annotations

import logging
import math
import numbers
import re
from collections.abc import Callable

import numpy as np
import pandas as pd

from arima_assets.data.isbn import InvalidIsbnError, normalize_isbn
from arima_assets.data.reading import REQUIRED_COLUMNS, Table, blank_cells
from arima_assets.data.sales import RowProblem

__all__ = [
    "DEFAULT_MAX_WEEKLY_VOLUME",
    "MAX_LEAD_WEEKS",
    "check_max_weekly_volume",
    "drop_conflicts",
    "drop_impossible_weeks",
    "orphan_rows",
    "validate_table",
]

logger = logging.getLogger(__name__)

DEFAULT_MAX_WEEKLY_VOLUME: float = 10_000_000
"""Units a week above which a Volume is a data error: no title sells ten million copies a week in one market."""
MAX_LEAD_WEEKS = 4
"""Weeks past the newest week of most ISBNs, and without data in between, after which a row's week is rejected."""

_TIDY_NAMES: dict[str, str] = {
    "ISBN": "isbn",
    "Title": "title",
    "Author": "author",
    "Interval": "interval",
    "End Date": "week_end",
    "Volume": "volume",
    "Value": "value",
    "ASP": "asp",
    "RRP": "rrp",
    "Binding": "binding",
    "Imprint": "imprint",
    "Publisher Group": "publisher_group",
    "Product Class": "product_class",
}
_TEXT_COLUMNS = ("Title", "Author", "Binding", "Imprint", "Publisher Group", "Product Class")
_MAX_INTERVAL_GAP = pd.Timedelta(days=7)
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d*)?$")
_CURRENCY = re.compile(r"^[£$€]|[£$€]$")
_INTERVAL = re.compile(r"^(\d{4})(\d{2})$")


def check_max_weekly_volume(value: object) -> float:
    """``value`` as a float if it is a number > 0 (inf allowed: no bound), else ValueError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or math.isnan(value) or value <= 0:
        raise ValueError(f"max_weekly_volume={value!r} must be a number > 0 (units a week)")
    return float(value)


def _number_text(cell: object) -> object:
    """Cell as something pd.to_numeric understands: thousands separators and currency signs removed."""
    if isinstance(cell, str):
        text = _CURRENCY.sub("", cell.strip()).strip()
        return text.replace(",", "") if _THOUSANDS.match(text) else text
    return cell


def _to_numbers(cells: pd.Series) -> pd.Series:
    """Floats of a column of cells (NaN where unparseable); '1,200' and '£9.99' are understood."""
    numbers = pd.to_numeric(cells, errors="coerce").astype(float)
    retry = numbers.isna() & cells.map(type).eq(str)
    if retry.any():
        numbers[retry] = pd.to_numeric(cells[retry].map(_number_text), errors="coerce").astype(float)
    return numbers


def _parse_date(cell: object) -> pd.Timestamp | None:
    """The date of an End Date cell (a date cell, ISO text or UK DD/MM/YYYY text), or None."""
    stamp = None
    if isinstance(cell, np.datetime64) or hasattr(cell, "isoformat"):
        stamp = pd.Timestamp(cell)
    elif isinstance(cell, str):
        for fmt in ("ISO8601", "%d/%m/%Y"):
            try:
                stamp = pd.to_datetime(cell.strip(), format=fmt)
                break
            except (ValueError, TypeError):
                continue
    if stamp is None or pd.isna(stamp):
        return None
    return (stamp.tz_localize(None) if stamp.tzinfo is not None else stamp).normalize()


def _interval_text(cell: object) -> str:
    if isinstance(cell, float) and cell.is_integer():
        cell = int(cell)
    text = str(cell).strip()
    return text[:-2] if text.endswith(".0") else text


def _interval_saturday(cell: object) -> pd.Timestamp | str:
    """Saturday of ISO week WW of year YYYY for an Interval cell, or the problem with it."""
    match = _INTERVAL.match(_interval_text(cell))
    if match is None:
        return "not in YYYYWW form"
    year, week = int(match.group(1)), int(match.group(2))
    if not 1 <= week <= 53 or not 1900 <= year <= 2200:
        return f"week {week} of year {year} is out of range (weeks 01-53)"
    jan4 = pd.Timestamp(year=year, month=1, day=4)
    return jan4 - pd.Timedelta(days=jan4.dayofweek) + pd.Timedelta(days=7 * (week - 1) + 5)


def _shown(cells: pd.Series) -> pd.Series:
    """Cell values as quoted in messages."""
    return cells.map(lambda c: repr(c) if isinstance(c, str) else repr(str(c)))


def _by_unique(cells: pd.Series, parse: Callable[[object], object]) -> pd.Series:
    """``parse`` applied once per distinct cell value (weeks and ISBNs repeat across many rows)."""
    parsed = {cell: parse(cell) for cell in cells.unique()}
    return cells.map(parsed)


def validate_table(
    table: Table, max_weekly_volume: float = DEFAULT_MAX_WEEKLY_VOLUME
) -> tuple[pd.DataFrame, list[RowProblem], list[RowProblem]]:
    """Parse one table; a Volume above ``max_weekly_volume`` is a bad Volume.

    Returns:
        (parsed rows of valid ISBNs with a ``problem`` column, empty where the row is fine,
        problems of rows with an invalid ISBN, problems of rows of valid ISBNs).
    """
    cells = table.cells
    isbn_cells = cells["ISBN"].where(~blank_cells(cells["ISBN"]), "")

    def isbn_or_error(cell: object) -> str | InvalidIsbnError:
        try:
            return normalize_isbn(cell)
        except InvalidIsbnError as exc:
            return exc

    resolved = _by_unique(isbn_cells, isbn_or_error)
    invalid = resolved.map(type).eq(InvalidIsbnError).to_numpy()
    raw_isbn = isbn_cells.astype(str).str.strip()
    isbn_problems = [
        RowProblem(table.path.name, table.sheet, int(table.rows[i]), raw_isbn.iat[i], f"column ISBN: {resolved.iat[i]}")
        for i in np.flatnonzero(invalid)
    ]

    valid = ~invalid
    cells, raw_isbn, rows = cells[valid], raw_isbn[valid], table.rows[valid]
    problems = pd.Series("", index=cells.index, dtype=object)

    def flag(mask: pd.Series, column: str, message: Callable[[pd.Series], pd.Series | str]) -> None:
        """Append ``column: message`` to the problems of the rows in ``mask`` (message built for those only)."""
        mask = mask.fillna(False).astype(bool)
        if mask.any():
            current = problems[mask]
            text = message(mask)
            problems[mask] = current.where(current == "", current + "; ") + f"column {column}: " + text

    volume = _to_numbers(cells["Volume"])
    blank_volume = pd.Series(blank_cells(cells["Volume"]), index=cells.index)
    flag(blank_volume, "Volume", lambda m: "missing value")
    flag(volume.isna() & ~blank_volume, "Volume", lambda m: "value " + _shown(cells["Volume"][m]) + " is not a number")
    flag(
        pd.Series(np.isinf(volume), index=cells.index),
        "Volume",
        lambda m: "value " + _shown(cells["Volume"][m]) + " is not finite",
    )
    flag(volume < 0, "Volume", lambda m: "value " + _shown(cells["Volume"][m]) + " is negative")
    bound = f" is above the sanity bound of {max_weekly_volume:,.0f} units a week"
    flag(
        np.isfinite(volume) & (volume > max_weekly_volume),
        "Volume",
        lambda m: "value " + _shown(cells["Volume"][m]) + bound,
    )

    week_end = pd.to_datetime(_by_unique(cells["End Date"], _parse_date))
    no_date = week_end.isna()
    flag(
        no_date,
        "End Date",
        lambda m: "value " + _shown(cells["End Date"][m]) + " is not a date (expected YYYY-MM-DD or DD/MM/YYYY)",
    )
    flag(
        ~no_date & (week_end.dt.dayofweek != 5),
        "End Date",
        lambda m: "value " + _shown(cells["End Date"][m]) + " is a " + week_end[m].dt.day_name() + ", not a Saturday",
    )

    interval = _by_unique(cells["Interval"], _interval_saturday)
    bad_interval = interval.map(type).eq(str)
    flag(bad_interval, "Interval", lambda m: "value " + _shown(cells["Interval"][m]) + " " + interval[m])
    interval_week = pd.to_datetime(interval.where(~bad_interval, pd.NaT))
    flag(
        ~bad_interval & ~no_date & ((interval_week - week_end).abs() > _MAX_INTERVAL_GAP),
        "Interval",
        lambda m: (
            "value "
            + _shown(cells["Interval"][m])
            + " (week ending "
            + interval_week[m].dt.strftime("%Y-%m-%d")
            + ") does not match End Date "
            + week_end[m].dt.strftime("%Y-%m-%d")
        ),
    )

    parsed = pd.DataFrame(
        {
            "isbn": resolved[valid].astype(str),
            "interval": pd.to_numeric(_by_unique(cells["Interval"], _interval_text), errors="coerce"),
            "week_end": week_end,
            "volume": volume,
            "value": _to_numbers(cells["Value"]),
            "asp": _to_numbers(cells["ASP"]),
            "rrp": _to_numbers(cells["RRP"]),
        }
    )
    for column in _TEXT_COLUMNS:
        parsed[_TIDY_NAMES[column]] = cells[column].where(cells[column].notna(), "").astype(str).str.strip()
    parsed = parsed[[_TIDY_NAMES[c] for c in REQUIRED_COLUMNS]]
    parsed["source"] = table.source
    parsed["row"] = rows
    parsed["problem"] = problems
    parsed["raw_isbn"] = raw_isbn
    parsed["file"] = table.path.name
    parsed["sheet"] = table.sheet
    row_problems = [
        RowProblem(r.file, r.sheet, int(r.row), r.raw_isbn, r.problem) for r in parsed[problems != ""].itertuples()
    ]
    for tidy, column in (("value", "Value"), ("asp", "ASP"), ("rrp", "RRP")):
        unparsed = int((parsed[tidy].isna() & ~blank_cells(cells[column])).sum())
        if unparsed:
            logger.warning("%s: %d %s cell(s) are not numbers; stored as NaN", table.where(), unparsed, column)
    return parsed.reset_index(drop=True), isbn_problems, row_problems


def orphan_rows(table: Table, parsed: pd.DataFrame, isbn_problems: list[RowProblem]) -> pd.DataFrame:
    """The rows with an empty or invalid ISBN cell that continue the block of the title above them.

    A sheet whose ISBN cells were merged over a title's rows (or whose ISBN was typed once per block) holds the
    ISBN in the block's first row only: the rows below are rejected for their ISBN, and the title would keep one
    week and read the others as zero sales. Such a row belongs to the nearest row above it with a valid ISBN
    when its Title cell is that row's title or empty (Title merged too) and its End Date is a date; a row with
    another title ends the block.

    Args:
        table: the table as read.
        parsed: :func:`validate_table`'s rows of valid ISBNs (``isbn``, ``title``, ``row``).
        isbn_problems: :func:`validate_table`'s problems of the rows with an invalid ISBN.

    Returns:
        One row per orphan: ``isbn`` (the owning title's ISBN), ``week_end`` (NaT if not a date), ``source``,
        ``row`` (the Excel row) and ``problem`` (why its ISBN was rejected).
    """
    columns = ["isbn", "week_end", "source", "row", "problem"]
    if not isbn_problems or parsed.empty:
        return pd.DataFrame(columns=columns)
    position = pd.Series(np.arange(len(table.rows)), index=table.rows)
    titles = table.cells["Title"].where(~blank_cells(table.cells["Title"]), "").astype(str).str.strip()
    owner = pd.Series(np.nan, index=titles.index, dtype=object)
    owner_title = pd.Series(np.nan, index=titles.index, dtype=object)
    at = position[parsed["row"].to_numpy()].to_numpy()
    owner.iloc[at] = parsed["isbn"].to_numpy()
    owner_title.iloc[at] = parsed["title"].to_numpy()
    bad = position[[p.row for p in isbn_problems]].to_numpy()
    above = owner_title.ffill().iloc[bad]
    row_titles = titles.iloc[bad]
    belongs = (row_titles == "") | (row_titles == above)
    breaker = "\x00"
    owner.iloc[bad[~belongs.to_numpy()]] = breaker  # another title ends the block above
    owners = owner.ffill().iloc[bad]
    weeks = pd.to_datetime(_by_unique(table.cells["End Date"].iloc[bad], _parse_date))
    keep = (belongs & owners.notna() & (owners != breaker) & weeks.notna()).to_numpy()
    problems = [p.problem for p in isbn_problems]
    return pd.DataFrame(
        {
            "isbn": owners.to_numpy()[keep],
            "week_end": weeks.to_numpy()[keep],
            "source": table.source,
            "row": table.rows[bad][keep],
            "problem": np.asarray(problems, dtype=object)[keep],
        },
        columns=columns,
    )


def drop_conflicts(rows: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, RowProblem], int]:
    """Drop identical repeats of an (isbn, week); report repeats whose volumes differ.

    Returns:
        (rows without repeats, ISBN -> first conflicting repeat, number of identical repeats dropped).
    """
    key = ["isbn", "week_end"]
    later_mask = rows.duplicated(key, keep="first")
    if not later_mask.any():
        return rows, {}, 0
    firsts = rows[~later_mask & rows.duplicated(key, keep=False)][[*key, "volume", "source", "row"]]
    pairs = rows[later_mask].merge(firsts, on=key, suffixes=("", "_first"))
    clash = pairs[pairs["volume"] != pairs["volume_first"]]
    problems: dict[str, RowProblem] = {}
    for r in clash.itertuples():
        problems.setdefault(
            r.isbn,
            RowProblem(
                r.file,
                r.sheet,
                int(r.row),
                r.raw_isbn,
                f"ISBN {r.isbn} week ending {r.week_end.date()} has Volume {r.volume:g} here but "
                f"{r.volume_first:g} in {r.source_first} row {int(r.row_first)}",
            ),
        )
    return rows[~later_mask], problems, len(pairs) - len(clash)


def _weeks_between(start: pd.Timestamp, stop: pd.Timestamp) -> int:
    return int((stop - start).days // 7)


def _first_isolated_week(rows: pd.DataFrame) -> tuple[pd.Timestamp, pd.Timestamp, pd.Timestamp] | None:
    """(reference, reach, cutoff): the weeks from ``cutoff`` on are far beyond the newest week of most ISBNs.

    ``reference`` is the median of the per-ISBN last weeks (the lower middle one for an even count, so it is
    a week of the data and one bad ISBN of two cannot move it). Walking the data's weeks after it, each week
    must follow the previous one within :data:`MAX_LEAD_WEEKS`; ``reach`` is the last week reached that way
    and ``cutoff`` the first week after a longer gap. A contiguous continuation (new weeks for some titles
    only) is therefore kept; an isolated far-off week (a mistyped year) is not. None if there is no cutoff.
    """
    if rows.empty:
        return None
    last_weeks = np.sort(rows.groupby("isbn")["week_end"].max().to_numpy())
    reference = pd.Timestamp(last_weeks[(len(last_weeks) - 1) // 2])
    reach = reference
    for week in np.sort(rows.loc[rows["week_end"] > reference, "week_end"].unique()):
        week = pd.Timestamp(week)
        if _weeks_between(reach, week) > MAX_LEAD_WEEKS:
            return reference, reach, week
        reach = week
    return None


def _skipped(rows: pd.DataFrame, problem: str | pd.Series) -> pd.DataFrame:
    """The rows with a ``message`` column: ``column End Date: week ending YYYY-MM-DD`` + ``problem``."""
    return rows.assign(message="column End Date: week ending " + rows["week_end"].dt.strftime("%Y-%m-%d") + problem)


def drop_impossible_weeks(
    rows: pd.DataFrame, run_date: pd.Timestamp
) -> tuple[pd.DataFrame, list[RowProblem], dict[str, RowProblem]]:
    """Skip rows whose week cannot be real yet; the ISBN's other rows stay.

    A week ending after ``run_date`` has not happened. A week more than :data:`MAX_LEAD_WEEKS` after the
    newest week of most ISBNs, with no data in between, is taken for a mistyped date (see
    :func:`_first_isolated_week`). Kept, such a row would stretch every series to its week.

    Args:
        rows: parsed rows of valid ISBNs (``validate_table`` output, without rejected ISBNs).
        run_date: the day of the run (a Timestamp without time zone).

    Returns:
        (the kept rows, one problem per skipped row: those after the run date first,
        ISBN -> its first skipped row's problem).
    """
    future = rows["week_end"] > run_date
    skipped = [_skipped(rows[future], f" is after the run date {run_date.date()}")]
    rows = rows[~future]
    isolated = _first_isolated_week(rows)
    if isolated is not None:
        reference, reach, cutoff = isolated
        far = rows["week_end"] >= cutoff
        lead = ((rows.loc[far, "week_end"] - reference).dt.days // 7).astype(str)
        gap = f"{_weeks_between(reach, cutoff) - 1} weeks without any row after {reach.date()}"
        text = f" weeks after {reference.date()}, the newest week of most ISBNs, past a gap of {gap} (a mistyped date?)"
        skipped.append(_skipped(rows[far], " is " + lead + text))
        rows = rows[~far]
    problems: list[RowProblem] = []
    first: dict[str, RowProblem] = {}
    for r in pd.concat(skipped).itertuples():
        problem = RowProblem(r.file, r.sheet, int(r.row), r.raw_isbn, r.message)
        problems.append(problem)
        first.setdefault(r.isbn, problem)
    return rows, problems, first
