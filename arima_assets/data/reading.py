"""Read Nielsen BookScan exports (csv or xlsx) into raw cell tables: find the files, the header, the data rows.

No validation of cell values here (that is :mod:`arima_assets.data.validation`); only file-level problems
raise :class:`SalesDataError`: a missing path, an unsupported extension, an empty file, missing columns.
"""

from __future__ import annotations

import csv
import io
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from arima_assets.data.sales import SalesDataError, source_label

__all__ = [
    "REQUIRED_COLUMNS",
    "SHEETS",
    "SUPPORTED_EXTENSIONS",
    "Table",
    "blank_cells",
    "read_tables",
    "resolve_paths",
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

_HEADER_SCAN_ROWS = 20


@dataclass
class Table:
    """One csv, or one sheet of an xlsx, with canonical column names."""

    path: Path
    sheet: str | None
    cells: pd.DataFrame  # REQUIRED_COLUMNS, raw cell values (object dtype)
    rows: np.ndarray  # Excel row number of each data row

    @property
    def source(self) -> str:
        return source_label(self.path.name, self.sheet)

    def where(self) -> str:
        return f"{self.path}" + (f", sheet {self.sheet!r}" if self.sheet is not None else "")


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


def blank_cells(column: pd.Series) -> np.ndarray:
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
        blank[candidates] = np.column_stack([blank_cells(sub[c]) for c in sub.columns]).all(axis=1)
    return blank


def resolve_paths(paths: str | Path | Sequence[str | Path]) -> list[Path]:
    """The sales files named by ``paths`` (files, directories of csv/xlsx files), in order, without repeats."""
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


def _table_from_grid(grid: pd.DataFrame, path: Path, sheet: str | None, first_row: int = 1) -> Table | None:
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
    return Table(path=path, sheet=sheet, cells=cells.reset_index(drop=True), rows=rows)


def read_tables(path: Path) -> list[Table]:
    """Read every table in a file; raise SalesDataError if the file holds no data rows."""
    tables: list[Table] = []
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
