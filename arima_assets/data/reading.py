"""Read Nielsen BookScan exports (csv or xlsx) into raw cell tables: find the files, the header, the data rows.

No validation of cell values here (that is :mod:`arima_assets.data.validation`); only file-level problems
raise :class:`SalesDataError`: a missing path, an unsupported extension, an empty file, missing columns, a file
whose content is not what its extension says (a zip/xlsx or an old .xls named .csv, a csv named .xlsx, a binary
file), a text encoding that cannot be read, and workbook formulas without a computed value. A csv in UTF-8,
UTF-16 or UTF-32 (with a byte-order mark, or UTF-16 recognised by its NUL bytes) or Windows-1252 is read.
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


#: Leading bytes of file types that are sometimes renamed .csv, and what to do about each.
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"PK\x03\x04", "a zip/xlsx archive, not a csv: rename it .xlsx if it is an Excel workbook, else unzip it"),
    (b"PK\x05\x06", "an empty zip archive, not a csv"),
    (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
        "an old Excel .xls (or encrypted) workbook, not a csv: save it from Excel as .xlsx or csv",
    ),
    (b"\x1f\x8b", "a gzip archive, not a csv: decompress it"),
    (b"%PDF", "a PDF document, not a csv"),
)
_BOMS: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
    (b"\xef\xbb\xbf", "utf-8"),
)


def _refuse_binary(path: Path, raw: bytes) -> None:
    """SalesDataError when the bytes of a .csv are a known binary format (what it is, and what to do)."""
    for signature, what in _SIGNATURES:
        if raw.startswith(signature):
            raise SalesDataError(f"{path}: file is {what}")


def _utf16_without_bom(raw: bytes) -> str | None:
    """'utf-16-le' / 'utf-16-be' when NUL bytes sit at the odd / even offsets of the start, as in UTF-16 text."""
    head = raw[:4096]
    even, odd = head[0::2], head[1::2]
    if not head or head.count(0) < len(head) // 4:
        return None
    if odd.count(0) >= 0.9 * len(odd) and even.count(0) < 0.1 * len(even):
        return "utf-16-le"
    if even.count(0) >= 0.9 * len(even) and odd.count(0) < 0.1 * len(odd):
        return "utf-16-be"
    return None


def _decode(path: Path, raw: bytes) -> str:
    """The text of a csv: UTF-32/16/8 by byte-order mark, UTF-16 by its NUL bytes, else UTF-8, else Windows-1252.

    Raises:
        SalesDataError: the bytes are not valid in the encoding they announce, or hold NUL bytes (a binary file).
    """
    encoding = next((name for bom, name in _BOMS if raw.startswith(bom)), None)
    bom = encoding is not None
    encoding = encoding or _utf16_without_bom(raw)
    if encoding is not None:
        try:
            text = raw.decode(encoding).removeprefix("\ufeff")
        except UnicodeDecodeError as exc:
            how = "its byte-order mark" if bom else "its NUL bytes"
            raise SalesDataError(
                f"{path}: looks like {encoding.upper()} text ({how}) but cannot be decoded as such at byte "
                f"{exc.start}: save it as UTF-8 csv"
            ) from None
        if encoding != "utf-8":
            logger.info("%s is %s text; read as such", path, encoding.upper())
    else:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("cp1252", errors="replace")
            logger.warning("%s is not UTF-8; read as Windows-1252", path)
    if "\x00" in text:
        at = text.index("\x00")
        raise SalesDataError(
            f"{path}: holds NUL bytes (first at character {at}): not a text csv; a binary file named .csv, or an "
            "encoding without a byte-order mark (save it as UTF-8 csv)"
        )
    return text


def _read_csv_grid(path: Path) -> tuple[pd.DataFrame, int]:
    """Cells of a csv from its header line on, and the line number of that header line.

    The header is the first of the first 20 non-empty lines with an ``ISBN`` cell (else the first
    non-empty line); lines above it (a report title) are skipped. ``,``, ``;`` and tab delimiters are
    recognised from the header line.
    """
    raw = path.read_bytes()
    if not raw.strip(b" \t\r\n\x00"):
        raise SalesDataError(f"{path}: file is empty")
    _refuse_binary(path, raw)
    text = _decode(path, raw)
    if not text.strip():
        raise SalesDataError(f"{path}: file is empty")
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


def _refuse_non_workbook(path: Path) -> None:
    """SalesDataError when an .xlsx is not a zip archive: an old .xls, a csv or another file under that name."""
    with open(path, "rb") as handle:
        head = handle.read(4096)
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        raise SalesDataError(
            f"{path}: cannot be read as an xlsx workbook: it is an old Excel .xls workbook (or a password-protected "
            "one): save it from Excel as .xlsx (without a password) or csv"
        )
    text = head.decode("utf-8", errors="replace")
    if "isbn" in text.lower() or (b"\x00" not in head and ("," in text or ";" in text or "\t" in text)):
        raise SalesDataError(
            f"{path}: cannot be read as an xlsx workbook: it is text (a csv?), not a zip archive: rename it .csv"
        )
    raise SalesDataError(f"{path}: cannot be read as an xlsx workbook: it is not a zip archive (no zip signature)")


#: Cells named at most in an uncomputed-formulas error.
_SHOWN_CELLS = 5


def _refuse_uncomputed_formulas(path: Path, tables: list[Table]) -> None:
    """SalesDataError naming sheet and cells when data rows hold formulas without a stored result.

    A workbook written by a program that does not calculate (a script, some exporters) stores formulas without
    their values; read for values, those cells are empty, and the rows would be rejected as missing values.
    Looked for only when a table's data rows have empty cells (a second read of the workbook, with formulas).
    """
    suspects = {t.sheet: set(int(r) for r in t.rows) for t in tables if _blank_cells_in(t)}
    if not suspects:
        return
    import openpyxl

    try:
        formulas = openpyxl.load_workbook(path, read_only=True, data_only=False)
        values = openpyxl.load_workbook(path, read_only=False, data_only=True)
    except Exception:  # noqa: BLE001 - the values were read already; this is a diagnosis only
        logger.debug("%s: formulas not checked", path, exc_info=True)
        return
    try:
        for sheet, rows in suspects.items():
            if sheet not in formulas.sheetnames:
                continue
            found = [
                (cell.coordinate, str(cell.value))
                for row in formulas[sheet].iter_rows()
                for cell in row
                if getattr(cell, "data_type", None) == "f"
                and getattr(cell, "row", None) in rows
                and values[sheet][cell.coordinate].value is None
            ]
            if found:
                shown = ", ".join(f"{where} {formula!r}" for where, formula in found[:_SHOWN_CELLS])
                more = f" and {len(found) - _SHOWN_CELLS} more" if len(found) > _SHOWN_CELLS else ""
                raise SalesDataError(
                    f"{path}, sheet {sheet!r}: uncomputed formulas: {len(found)} cell(s) hold a formula without a "
                    f"stored value ({shown}{more}); the file was saved by a program that does not calculate "
                    "formulas: open and save it in Excel (or LibreOffice), or paste the values"
                )
    finally:
        formulas.close()
        values.close()


def _blank_cells_in(table: Table) -> bool:
    return bool(table.cells.isna().to_numpy().any())


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
        _refuse_non_workbook(path)
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
        _refuse_uncomputed_formulas(path, tables)
        if not tables:
            raise SalesDataError(f"{path}: file is empty (no sheet has any cells)")
    if sum(len(t.cells) for t in tables) == 0:
        raise SalesDataError(f"{path}: no data rows below the header")
    return tables
