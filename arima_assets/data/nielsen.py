"""Load Nielsen BookScan weekly sales exports (csv or xlsx) into one validated, tidy table.

Format: one row per ISBN and week with 13 columns (:data:`REQUIRED_COLUMNS`). An xlsx export has one
sheet per product class group (``F Adult Fiction``, ``S Adult Non-Fiction Specialist``, ``T Adult
Non-Fiction Trade``, ``Y Children's, YA & Educational``); every sheet is read. A week without a row
means zero sales.

Validation policy (what :func:`load_sales` does with bad input):

* File-level problems raise :class:`SalesDataError` naming the file (and sheet): a path that does not
  exist, an unsupported extension, an empty file, missing required columns, a file with no valid ISBN
  in any row, and a load in which no ISBN survives validation. There is never an empty success.
* A row with an invalid ISBN is skipped and reported; other rows still load.
* A row of a valid ISBN with a bad ``Volume`` (missing, not a number, negative), a bad ``End Date``
  (not a date, not a Saturday) or a bad ``Interval`` (not ``YYYYWW``, or more than 7 days away from
  the ``End Date``) rejects that whole ISBN: all its rows, in every file, are skipped. A series with a
  silently missing week would read as a week of zero sales and corrupt the model. The offending rows
  are reported in :attr:`SalesData.rejected`, the ISBN and the reason in
  :attr:`SalesData.rejected_isbns`.
* The same (ISBN, week) twice with the same ``Volume`` (an overlapping re-export) keeps the first row;
  with different volumes, in one file or across files, the ISBN is rejected and the problem names both
  sources.
* ``End Date`` is authoritative for the week. ``Interval`` only guards against typos: week numbering
  conventions differ at year ends (week 53 or week 1), so the Saturday of ISO week ``WW`` of ``YYYY``
  may differ from ``End Date`` by at most 7 days.
* ``Value``, ``ASP`` and ``RRP`` are informational: an unparseable entry becomes NaN (counted in the
  log), it does not reject the row.

Row numbers are the ones a user sees when opening the file: 1-based and counting the header, i.e. the
Excel row number (for a csv, the line number).
"""

from __future__ import annotations

import csv
import io
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from arima_assets.data.isbn import InvalidIsbnError, normalize_isbn

__all__ = [
    "REQUIRED_COLUMNS",
    "SHEETS",
    "SUPPORTED_EXTENSIONS",
    "RowProblem",
    "SalesData",
    "SalesDataError",
    "load_sales",
]

logger = logging.getLogger(__name__)

REQUIRED_COLUMNS: tuple[str, ...] = (
    "ISBN",
    "Title",
    "Author",
    "Interval",
    "End Date",
    "Volume",
    "Value",
    "ASP",
    "RRP",
    "Binding",
    "Imprint",
    "Publisher Group",
    "Product Class",
)
"""The 13 columns of a BookScan weekly export, in export order."""

SHEETS: tuple[str, ...] = (
    "F Adult Fiction",
    "S Adult Non-Fiction Specialist",
    "T Adult Non-Fiction Trade",
    "Y Children's, YA & Educational",
)
"""Sheet names of a BookScan xlsx export (informational: every sheet of an xlsx is read)."""

SUPPORTED_EXTENSIONS: tuple[str, ...] = (".csv", ".xlsx")

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
_HEADER_SCAN_ROWS = 20
_MAX_INTERVAL_GAP = pd.Timedelta(days=7)
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d*)?$")
_CURRENCY = re.compile(r"^[£$€]|[£$€]$")
_INTERVAL = re.compile(r"^(\d{4})(\d{2})$")


class SalesDataError(ValueError):
    """A sales file (or the whole load) cannot be used; the message names the file and the problem."""


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
        return _source_label(self.file, self.sheet)

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
        rejected: the skipped rows and why (invalid ISBNs, bad values, conflicting duplicates).
        rejected_isbns: ISBN -> why all of its rows were skipped.
        files: the files read, in order.
    """

    frame: pd.DataFrame
    titles: dict[str, str]
    rejected: list[RowProblem] = field(default_factory=list)
    rejected_isbns: dict[str, str] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    _volumes: dict[str, pd.Series] | None = field(default=None, init=False, repr=False, compare=False)
    _calendar: pd.DatetimeIndex | None = field(default=None, init=False, repr=False, compare=False)

    def isbns(self) -> list[str]:
        """The loaded ISBN-13s, sorted."""
        return sorted(self.titles)

    @property
    def last_week(self) -> pd.Timestamp:
        """The last week (Saturday) in the whole data set."""
        return pd.Timestamp(self.frame["week_end"].max())

    def weekly_series(self, isbn: str, end: pd.Timestamp | None = None) -> pd.Series:
        """Weekly unit sales of one ISBN, with zero for weeks without a row.

        Args:
            isbn: the ISBN (any form :func:`normalize_isbn` accepts).
            end: last week to include (a Saturday); default :attr:`last_week`. An earlier ``end``
                truncates the series (useful for backtests).

        Returns:
            float Series named ``isbn`` on a ``W-SAT`` DatetimeIndex from the ISBN's first week in the
            data to ``end``.

        Raises:
            KeyError: the ISBN is not in the data (the message says if it was rejected, and why).
            ValueError: ``isbn`` is not a valid ISBN, or ``end`` is not a Saturday or precedes the
                ISBN's first week.
        """
        key = normalize_isbn(isbn)
        volumes = self._volume_map()
        if key not in volumes:
            if key in self.rejected_isbns:
                raise KeyError(f"ISBN {key} was rejected while loading: {self.rejected_isbns[key]}")
            raise KeyError(f"ISBN {key} is not in the sales data ({len(volumes)} ISBNs loaded)")
        series = volumes[key]
        stop = self.last_week if end is None else pd.Timestamp(end).normalize()
        if stop.dayofweek != 5:
            raise ValueError(f"end={stop.date()} is a {stop.day_name()}; weeks end on a Saturday")
        if stop < series.index[0]:
            raise ValueError(f"end={stop.date()} is before ISBN {key}'s first week {series.index[0].date()}")
        return series.reindex(self._weeks(series.index[0], stop), fill_value=0.0).rename(key)

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


@dataclass
class _Table:
    """One csv, or one sheet of an xlsx, with canonical column names."""

    path: Path
    sheet: str | None
    cells: pd.DataFrame  # REQUIRED_COLUMNS, raw cell values (object dtype)
    rows: np.ndarray  # Excel row number of each data row

    @property
    def source(self) -> str:
        return _source_label(self.path.name, self.sheet)

    def where(self) -> str:
        return f"{self.path}" + (f", sheet {self.sheet!r}" if self.sheet is not None else "")


def _source_label(file: str, sheet: str | None) -> str:
    return file if sheet is None else f"{file}:{sheet}"


def _header_key(cell: object) -> str:
    """Header name reduced to lowercase letters and digits: 'End Date', 'end_date', 'ENDDATE' agree."""
    if cell is None or (isinstance(cell, float) and np.isnan(cell)):
        return ""
    return re.sub(r"[^0-9a-z]", "", str(cell).lower())


_REQUIRED_KEYS = {_header_key(name): name for name in REQUIRED_COLUMNS}


def _is_blank(cell: object) -> bool:
    if isinstance(cell, str):
        return not cell.strip()
    return cell is None or (not isinstance(cell, list | tuple) and bool(pd.isna(cell)))


def _blank_cells(column: pd.Series) -> np.ndarray:
    """Boolean mask of cells that are None, NaN or only whitespace."""
    blank = (column.isna() | column.eq("")).to_numpy(dtype=bool, copy=True)
    maybe_space = ~blank & column.map(type).eq(str).to_numpy()
    if maybe_space.any():
        blank[maybe_space] = [not cell.strip() for cell in column[maybe_space]]
    return blank


def _blank_rows(grid: pd.DataFrame) -> np.ndarray:
    """Boolean mask of rows whose cells are all empty (None, NaN or whitespace)."""
    if grid.shape[1] == 0:
        return np.ones(len(grid), dtype=bool)
    # Cheap test first: a row with any non-empty, non-whitespace-looking cell is not blank.
    quick = (grid.isna() | grid.eq("")).to_numpy()
    candidates = np.flatnonzero(quick.any(axis=1))
    blank = np.zeros(len(grid), dtype=bool)
    if len(candidates):
        sub = grid.iloc[candidates]
        blank[candidates] = np.column_stack([_blank_cells(sub[c]) for c in sub.columns]).all(axis=1)
    return blank


def _resolve_paths(paths: str | Path | Sequence[str | Path]) -> list[Path]:
    items = [paths] if isinstance(paths, str | Path) else list(paths)
    if not items:
        raise SalesDataError("no sales paths given")
    files: list[Path] = []
    for item in items:
        path = Path(item)
        if not path.exists():
            raise SalesDataError(f"sales path does not exist: {path}")
        if path.is_dir():
            found = sorted(
                p
                for p in path.iterdir()
                if p.is_file() and p.suffix.lower() in SUPPORTED_EXTENSIONS and not p.name.startswith("~$")
            )
            if not found:
                raise SalesDataError(f"sales directory {path} holds no {' or '.join(SUPPORTED_EXTENSIONS)} files")
            files.extend(found)
        elif path.suffix.lower() not in SUPPORTED_EXTENSIONS:
            raise SalesDataError(
                f"unsupported sales file type {path.suffix or '(none)'!r}: {path}; "
                f"expected one of {', '.join(SUPPORTED_EXTENSIONS)}"
            )
        else:
            files.append(path)
    unique: list[Path] = []
    for path in files:
        if path.resolve() not in {p.resolve() for p in unique}:
            unique.append(path)
    return unique


def _read_csv_grid(path: Path) -> tuple[pd.DataFrame, int]:
    """Cells of a csv from its header line on, and the line number of that header line.

    The header is the first of the first 20 non-empty lines with an ``ISBN`` cell (else the first
    non-empty line); lines above it (a report title) are skipped. ``,``, ``;`` and tab delimiters are
    recognised from the header line.
    """
    raw = path.read_bytes()
    if not raw.strip():
        raise SalesDataError(f"{path}: file is empty")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")
        logger.warning("%s is not UTF-8; read as Windows-1252", path)
    lines = text.splitlines()
    non_blank = [i for i, line in enumerate(lines[:1000]) if line.strip()][:_HEADER_SCAN_ROWS]
    header_at = non_blank[0] if non_blank else 0
    for i in non_blank:
        delimiter = max((",", ";", "\t"), key=lines[i].count)
        if "isbn" in {_header_key(c) for c in next(csv.reader([lines[i]], delimiter=delimiter))}:
            header_at = i
            break
    delimiter = max((",", ";", "\t"), key=lines[header_at].count)
    try:
        grid = pd.read_csv(
            io.StringIO(text),
            sep=delimiter,
            header=None,
            skiprows=header_at,
            dtype=str,
            keep_default_na=False,
            skip_blank_lines=False,
        )
    except pd.errors.ParserError as exc:
        raise SalesDataError(f"{path}: not a well-formed csv below the header (line {header_at + 1}): {exc}") from exc
    return grid, header_at + 1


def _table_from_grid(grid: pd.DataFrame, path: Path, sheet: str | None, first_row: int = 1) -> _Table | None:
    """Locate the header row in a raw cell grid and return the table, or None if the grid is empty.

    The header is the first of the first 20 non-empty rows that has an ``ISBN`` cell (exports may put a
    report title above the table), else the first non-empty row. ``first_row`` is the user-visible row
    number of the grid's first row.
    """
    blank = _blank_rows(grid)
    non_blank = np.flatnonzero(~blank)
    if len(non_blank) == 0:
        return None
    header_at = next(
        (int(i) for i in non_blank[:_HEADER_SCAN_ROWS] if "isbn" in {_header_key(c) for c in grid.iloc[i]}),
        int(non_blank[0]),
    )
    header_row = header_at + first_row
    where = f"{path}" + (f", sheet {sheet!r}" if sheet is not None else "")
    positions: dict[str, int] = {}
    for position, cell in enumerate(grid.iloc[header_at]):
        name = _REQUIRED_KEYS.get(_header_key(cell))
        if name is None:
            continue
        if name in positions:
            raise SalesDataError(f"{where}: column {name!r} appears twice in the header (row {header_row})")
        positions[name] = position
    missing = [name for name in REQUIRED_COLUMNS if name not in positions]
    if missing:
        found = [str(c) for c in grid.iloc[header_at] if not _is_blank(c)]
        raise SalesDataError(
            f"{where}: missing required column(s) {', '.join(missing)} in the header (row {header_row}); found {found}"
        )
    keep = ~blank[header_at + 1 :]
    cells = grid.iloc[header_at + 1 :, [positions[name] for name in REQUIRED_COLUMNS]][keep]
    cells.columns = list(REQUIRED_COLUMNS)
    rows = (np.arange(len(keep)) + header_row + 1)[keep]
    return _Table(path=path, sheet=sheet, cells=cells.reset_index(drop=True), rows=rows)


def _read_tables(path: Path) -> list[_Table]:
    """Read every table in a file; raise SalesDataError if the file holds no data rows."""
    tables: list[_Table] = []
    if path.suffix.lower() == ".csv":
        grid, first_row = _read_csv_grid(path)
        table = _table_from_grid(grid.astype(object), path, None, first_row)
        if table is None:
            raise SalesDataError(f"{path}: file is empty")
        tables.append(table)
    else:
        if path.stat().st_size == 0:
            raise SalesDataError(f"{path}: file is empty")
        try:
            sheets = pd.read_excel(path, sheet_name=None, header=None, dtype=object, engine="openpyxl")
        except Exception as exc:  # openpyxl raises several unrelated types for corrupt files
            raise SalesDataError(f"{path}: cannot be read as an xlsx workbook: {exc}") from exc
        for sheet, grid in sheets.items():
            table = _table_from_grid(grid, path, str(sheet))
            if table is None:
                logger.info("%s: sheet %r is empty; skipped", path, sheet)
            else:
                tables.append(table)
        if not tables:
            raise SalesDataError(f"{path}: file is empty (no sheet has any cells)")
    if sum(len(t.cells) for t in tables) == 0:
        raise SalesDataError(f"{path}: no data rows below the header")
    return tables


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


def _validate_table(table: _Table) -> tuple[pd.DataFrame, list[RowProblem], list[RowProblem]]:
    """Parse one table.

    Returns:
        (parsed rows of valid ISBNs with a ``problem`` column, empty where the row is fine,
        problems of rows with an invalid ISBN, problems of rows of valid ISBNs).
    """
    cells = table.cells
    isbn_cells = cells["ISBN"].where(~_blank_cells(cells["ISBN"]), "")

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
    blank_volume = pd.Series(_blank_cells(cells["Volume"]), index=cells.index)
    flag(blank_volume, "Volume", lambda m: "missing value")
    flag(volume.isna() & ~blank_volume, "Volume", lambda m: "value " + _shown(cells["Volume"][m]) + " is not a number")
    flag(
        pd.Series(np.isinf(volume), index=cells.index),
        "Volume",
        lambda m: "value " + _shown(cells["Volume"][m]) + " is not finite",
    )
    flag(volume < 0, "Volume", lambda m: "value " + _shown(cells["Volume"][m]) + " is negative")

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
        unparsed = int((parsed[tidy].isna() & ~_blank_cells(cells[column])).sum())
        if unparsed:
            logger.warning("%s: %d %s cell(s) are not numbers; stored as NaN", table.where(), unparsed, column)
    return parsed.reset_index(drop=True), isbn_problems, row_problems


def _conflicts(rows: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, RowProblem], int]:
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


def _log_summary(data: SalesData, n_identical: int) -> None:
    frame = data.frame
    logger.info(
        "Loaded %d weekly rows of %d ISBNs from %d file(s), weeks %s .. %s",
        len(frame),
        len(data.titles),
        len(data.files),
        frame["week_end"].min().date(),
        frame["week_end"].max().date(),
    )
    if n_identical:
        logger.info("Dropped %d identical repeated (ISBN, week) rows", n_identical)
    if data.rejected:
        by_kind: dict[str, int] = {}
        for p in data.rejected:
            kind = p.problem.split(":", 1)[0] if p.problem.startswith("column") else "conflicting repeat"
            by_kind[kind] = by_kind.get(kind, 0) + 1
        skipped = sorted(data.rejected_isbns)
        logger.warning(
            "Rejected %d row(s) (%s); %d ISBN(s) skipped entirely%s. First: %s",
            len(data.rejected),
            ", ".join(f"{k}: {v}" for k, v in sorted(by_kind.items())),
            len(skipped),
            (": " + ", ".join(skipped[:10]) + (" ..." if len(skipped) > 10 else "")) if skipped else "",
            "; ".join(str(p) for p in data.rejected[:5]),
        )


def load_sales(paths: str | Path | Sequence[str | Path]) -> SalesData:
    """Load and validate Nielsen BookScan weekly sales exports.

    See the module docstring for the validation policy: invalid ISBNs skip their rows; a bad Volume,
    End Date or Interval, or a conflicting repeated week, rejects the whole ISBN; file-level problems
    raise.

    Args:
        paths: a csv/xlsx file, a directory (all its ``*.csv`` and ``*.xlsx`` files, sorted by name), or
            a sequence of those. Files are concatenated in that order.

    Returns:
        The validated data; :attr:`SalesData.rejected` lists every skipped problem row.

    Raises:
        SalesDataError: a path does not exist, has an unsupported extension, is empty, misses required
            columns, holds no valid ISBN, or nothing at all survives validation.
    """
    files = _resolve_paths(paths)
    parsed: list[pd.DataFrame] = []
    rejected: list[RowProblem] = []
    for path in files:
        tables = _read_tables(path)
        file_rows: list[pd.DataFrame] = []
        for table in tables:
            rows, isbn_problems, row_problems = _validate_table(table)
            rejected.extend(isbn_problems)
            rejected.extend(row_problems)
            file_rows.append(rows)
        if sum(len(r) for r in file_rows) == 0:
            first = "; ".join(str(p) for p in rejected[-3:])
            raise SalesDataError(f"{path}: no row has a valid ISBN (e.g. {first})")
        parsed.extend(file_rows)

    rows = pd.concat(parsed, ignore_index=True)
    rejected_isbns: dict[str, str] = {}
    for isbn, group in rows[rows["problem"] != ""].groupby("isbn", sort=True):
        first = group.iloc[0]
        rejected_isbns[str(isbn)] = (
            f"{len(group)} bad row(s), first {first['source']} row {int(first['row'])}: {first['problem']}"
        )
    rows = rows[~rows["isbn"].isin(rejected_isbns)]
    rows, conflicts, n_identical = _conflicts(rows)
    for isbn, problem in conflicts.items():
        rejected.append(problem)
        rejected_isbns[isbn] = (
            f"conflicting volumes for one week: {problem.source} row {problem.row}: {problem.problem}"
        )
    rows = rows[~rows["isbn"].isin(rejected_isbns)]
    if rows.empty:
        raise SalesDataError(
            f"no ISBN could be loaded from {', '.join(str(f) for f in files)}: "
            f"{len(rejected)} problem row(s), e.g. {'; '.join(str(p) for p in rejected[:3])}"
        )

    frame = (
        rows.drop(columns=["problem", "raw_isbn", "file", "sheet"])
        .sort_values(["isbn", "week_end"], kind="stable")
        .reset_index(drop=True)
    )
    frame["interval"] = frame["interval"].astype(int)
    frame["row"] = frame["row"].astype(int)
    titles = {str(isbn): str(title) for isbn, title in frame.groupby("isbn")["title"].last().items()}
    data = SalesData(
        frame=frame,
        titles=titles,
        rejected=rejected,
        rejected_isbns=rejected_isbns,
        files=[str(f) for f in files],
    )
    _log_summary(data, n_identical)
    return data
