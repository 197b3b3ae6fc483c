"""Load Nielsen BookScan weekly sales exports (csv or xlsx) into one validated, tidy table.

Format: one row per ISBN and week with 13 columns (:data:`REQUIRED_COLUMNS`). An xlsx export has one
sheet per product class group (``F Adult Fiction``, ``S Adult Non-Fiction Specialist``, ``T Adult
Non-Fiction Trade``, ``Y Children's, YA & Educational``); every sheet is read. BookScan omits weeks
without sales. Reading is :mod:`~arima_assets.data.reading`, cell checks :mod:`~arima_assets.data.validation`,
the result :class:`~arima_assets.data.sales.SalesData`; this module holds the policy and :func:`load_sales`.

Validation policy (what :func:`load_sales` does with bad input):

* File-level problems raise :class:`SalesDataError` naming the file (and sheet): a path that does not
  exist, an unsupported extension, an empty file, missing required columns, a file with no valid ISBN
  in any row, and a load in which no ISBN survives validation. There is never an empty success.
* A row with an invalid ISBN is skipped and reported; other rows still load.
* A row of a valid ISBN with a bad ``Volume`` (missing, not a number, negative, or above
  ``max_weekly_volume``, default 10,000,000 units a week), a bad ``End Date`` (not a date, not a
  Saturday) or a bad ``Interval`` (not ``YYYYWW``, or more than 7 days away from the ``End Date``)
  rejects that whole ISBN: all its rows, in every file, are skipped. A series with a silently missing
  week would read as a week of zero sales and corrupt the model. The offending rows are reported in
  :attr:`SalesData.rejected`, the ISBN and the reason in :attr:`SalesData.rejected_isbns`.
* A row whose week cannot be real yet is skipped and reported; the ISBN's other rows load. That is a week
  ending after ``run_date`` (default: today, UTC), or a week more than 4 weeks after the newest week of
  most ISBNs (the median of the per-ISBN last weeks) with no row of any ISBN in the gap before it (a
  mistyped year). New weeks that continue the data without such a gap are kept, even for a few titles
  only. Kept, one such row would stretch every series of the load to its date.
* The same (ISBN, week) twice with the same ``Volume`` (an overlapping re-export) keeps the first row;
  with different volumes, in one file or across files, the ISBN is rejected and the problem names both
  sources.
* ``End Date`` is authoritative for the week. ``Interval`` only guards against typos: week numbering
  conventions differ at year ends (week 53 or week 1), so the Saturday of ISO week ``WW`` of ``YYYY``
  may differ from ``End Date`` by at most 7 days.
* A title whose series would be mostly invented is rejected, with a reason naming the file, sheet and rows:
  rows with an empty or invalid ISBN cell that continue the title's block (same or empty Title, a date in
  End Date: merged ISBN cells) for weeks it has no other row for; more of its rows skipped for an impossible
  week than kept; or a series of at least :data:`PADDING_CHECK_WEEKS` weeks with fewer than
  :data:`MIN_REPORTED_SHARE` of them reported (rows with sales or an explicit 0), the rest invented zero weeks.
  A title reported in a full export with some zero-sale weeks omitted is not affected.
* ``Value``, ``ASP`` and ``RRP`` are informational: an unparseable entry becomes NaN (counted in the
  log), it does not reject the row.

Where a title's series ends (``absent_weeks``, stored on :class:`SalesData`): a missing week inside a
title's reported range is always 0 sales. After the title's last row:

* ``absent_weeks="zero"``: absent from a full weekly export = 0 sales. A title missing from a week that
  its file covers sold nothing, so its series runs to the newest week of the file (the sheet, for an xlsx)
  holding its rows, with zeros. A later file that does not mention the title does not extend it.
* ``absent_weeks="unknown"`` (default): absent from a partial file = unknown. A title's series ends at its
  own last reported week; no trailing zeros are invented.

Why ``"unknown"`` is the default: when the caller has not said that the files are full exports, an
invented zero is worse than a deferred one. Invented zeros are trained on as a real collapse in sales,
fire the drift and performance checks and retrain the title for nothing (a partial file, or one mistyped
row, did that to every title). A deferred zero costs little: the skipped weeks become interior zeros as
soon as the title sells again, and a title that never sells again keeps its last model rather than a
wrong one; the load logs how many titles stop before their file's newest week. Pass ``"zero"`` for
complete weekly exports.

Row numbers are the ones a user sees when opening the file: 1-based and counting the header, i.e. the
Excel row number (for a csv, the line number).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd

from arima_assets.data.reading import REQUIRED_COLUMNS, SHEETS, SUPPORTED_EXTENSIONS, read_tables, resolve_paths
from arima_assets.data.sales import (
    ABSENT_WEEKS,
    DEFAULT_ABSENT_WEEKS,
    AbsentWeeks,
    RowProblem,
    SalesData,
    SalesDataError,
    check_absent_weeks,
    file_last_weeks,
)
from arima_assets.data.validation import (
    DEFAULT_MAX_WEEKLY_VOLUME,
    check_max_weekly_volume,
    drop_conflicts,
    drop_impossible_weeks,
    orphan_rows,
    validate_table,
)

__all__ = [
    "ABSENT_WEEKS",
    "DEFAULT_ABSENT_WEEKS",
    "DEFAULT_MAX_WEEKLY_VOLUME",
    "REQUIRED_COLUMNS",
    "SHEETS",
    "SUPPORTED_EXTENSIONS",
    "MIN_REPORTED_SHARE",
    "PADDING_CHECK_WEEKS",
    "AbsentWeeks",
    "RowProblem",
    "SalesData",
    "SalesDataError",
    "load_sales",
]

logger = logging.getLogger(__name__)

MIN_REPORTED_SHARE = 0.05
"""Share of a title's weeks that must be reported rows (sales or an explicit 0) once its series is
:data:`PADDING_CHECK_WEEKS` long: below it the series is mostly invented zero weeks, and the title is rejected."""
PADDING_CHECK_WEEKS = 52
"""Series length from which :data:`MIN_REPORTED_SHARE` applies (a shorter title gets the short-series fallback)."""


def _run_day(run_date: date | str | pd.Timestamp | None) -> pd.Timestamp:
    """The run date as a day without time zone (a zoned time is taken in UTC); today in UTC by default."""
    if isinstance(run_date, int | float):  # pd.Timestamp would read a number as nanoseconds since 1970
        raise ValueError(f"run_date={run_date!r} is not a date")
    try:
        stamp = pd.Timestamp(datetime.now(UTC) if run_date is None else run_date)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"run_date={run_date!r} is not a date") from exc
    if pd.isna(stamp):
        raise ValueError(f"run_date={run_date!r} is not a date")
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert(UTC).tz_localize(None)
    return stamp.normalize()


def _isbn_rejections(rows: pd.DataFrame) -> dict[str, str]:
    """ISBN -> why it is rejected, for the ISBNs with a problem row."""
    rejected: dict[str, str] = {}
    for isbn, group in rows[rows["problem"] != ""].groupby("isbn", sort=True):
        first = group.iloc[0]
        rejected[str(isbn)] = (
            f"{len(group)} bad row(s), first {first['source']} row {int(first['row'])}: {first['problem']}"
        )
    return rejected


def _emptied_isbns(before: pd.Series, after: pd.Series, first: dict[str, RowProblem]) -> dict[str, str]:
    """ISBN -> reason, for the ISBNs of ``before`` (a row's ISBN) that lost every row to a skipped week."""
    counts = before.value_counts()
    return {
        isbn: f"all {counts[isbn]} row(s) skipped, first {first[isbn]}" for isbn in sorted(set(before) - set(after))
    }


def _weeks_span(first: pd.Series, last: pd.Series) -> pd.Series:
    return (last - first).dt.days // 7 + 1


def _incomplete_titles(
    rows: pd.DataFrame, orphans: pd.DataFrame, skipped: pd.Series, absent_weeks: AbsentWeeks
) -> dict[str, RowProblem]:
    """ISBN -> why the title is rejected, for titles whose series would be mostly invented weeks.

    * Rows lost to their ISBN cell (`orphans`: merged or empty ISBN cells below the title's first row): any such
      row for a week the title has no other row for rejects it, since that week would read as zero sales.
    * Most rows skipped for an impossible week (`skipped`: ISBN -> rows skipped, more than it keeps).
    * Mostly padding: a series of :data:`PADDING_CHECK_WEEKS` weeks or more of which fewer than
      :data:`MIN_REPORTED_SHARE` are reported rows, the rest zeros invented for weeks without a row.
    """
    problems: dict[str, RowProblem] = {}
    if rows.empty:
        return problems
    groups = rows.groupby("isbn")
    kept = groups.size()
    firsts = rows.drop_duplicates("isbn").set_index("isbn")

    def where(isbn: str) -> str:
        return f"{firsts.at[isbn, 'source']} row {int(firsts.at[isbn, 'row'])}"

    def reject(isbn: str, text: str) -> None:
        first = firsts.loc[isbn]
        problems.setdefault(isbn, RowProblem(first["file"], first["sheet"], int(first["row"]), first["raw_isbn"], text))

    if not orphans.empty:
        known = set(zip(rows["isbn"], rows["week_end"], strict=True))
        lost = orphans[[(i, w) not in known for i, w in zip(orphans["isbn"], orphans["week_end"], strict=True)]]
        for isbn, group in lost[lost["isbn"].isin(kept.index)].groupby("isbn", sort=True):
            first = group.iloc[0]
            reject(
                str(isbn),
                f"title rejected: {len(group)} row(s) below its first row ({where(isbn)}) have an empty or invalid "
                f"ISBN cell but belong to it (same or empty Title; merged ISBN cells?), first {first['source']} row "
                f"{int(first['row'])}: {first['problem']}; kept with its {kept[isbn]} other row(s), it would read "
                f"those {len(group)} week(s) as zero sales",
            )
    for isbn, count in skipped[skipped.index.isin(kept.index)].items():
        if count > kept[isbn]:
            reject(
                str(isbn),
                f"title rejected: {count} of its {count + kept[isbn]} rows were skipped for an impossible week "
                f"(first row {where(isbn)}); the rest is too little to stand for the title",
            )
    first_week = groups["week_end"].min()
    if absent_weeks == "zero":
        last_week = file_last_weeks(rows).reindex(first_week.index)
    else:
        last_week = groups["week_end"].max()
    weeks = _weeks_span(first_week, last_week)
    padded = weeks[(weeks >= PADDING_CHECK_WEEKS) & (kept < MIN_REPORTED_SHARE * weeks)]
    for isbn, n_weeks in padded.items():
        reject(
            str(isbn),
            f"title rejected: its series is mostly padding: {kept[isbn]} reported row(s) (first {where(isbn)}) in "
            f"{n_weeks} weeks, the other {n_weeks - kept[isbn]} would be invented zero weeks (fewer than "
            f"{MIN_REPORTED_SHARE:.0%} of the weeks reported)",
        )
    return problems


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
    if data.absent_weeks == "unknown":
        own = frame.groupby("isbn")["week_end"].max()
        early = sorted(own.index[own < file_last_weeks(frame).reindex(own.index)])
        if early:
            logger.info(
                "%d ISBN(s) have no row in the last week(s) of their file (e.g. %s); with absent_weeks='unknown' "
                "their series end at their own last reported week (pass absent_weeks='zero' for full weekly exports)",
                len(early),
                ", ".join(early[:5]),
            )
    if data.rejected:
        by_kind: dict[str, int] = {}
        for p in data.rejected:
            kind = p.problem.split(":", 1)[0] if p.problem.startswith(("column", "title")) else "conflicting repeat"
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


def load_sales(
    paths: str | Path | Sequence[str | Path],
    *,
    run_date: date | str | pd.Timestamp | None = None,
    absent_weeks: AbsentWeeks = DEFAULT_ABSENT_WEEKS,
    max_weekly_volume: float = DEFAULT_MAX_WEEKLY_VOLUME,
) -> SalesData:
    """Load and validate Nielsen BookScan weekly sales exports.

    See the module docstring for the validation policy: invalid ISBNs skip their rows; a bad Volume,
    End Date or Interval, or a conflicting repeated week, rejects the whole ISBN; a week after the run
    date or far beyond the newest week of most ISBNs skips its row; file-level problems raise.

    Args:
        paths: a csv/xlsx file, a directory (all its ``*.csv`` and ``*.xlsx`` files, sorted by name), or
            a sequence of those. Files are concatenated in that order.
        run_date: the day of the run (a date, ``YYYY-MM-DD`` text or Timestamp; a zoned time is taken in
            UTC); rows of weeks ending after it are skipped. Default: today in UTC.
        absent_weeks: ``"unknown"`` (default): a title's series ends at its own last reported week;
            ``"zero"``: at the newest week of the file holding its rows (full weekly exports).
        max_weekly_volume: units a week above which a Volume is a data error (default 10,000,000).

    Returns:
        The validated data; :attr:`SalesData.rejected` lists every skipped problem row.

    Raises:
        SalesDataError: a path does not exist, has an unsupported extension, is empty, misses required
            columns, holds no valid ISBN, or nothing at all survives validation.
        ValueError: ``run_date``, ``absent_weeks`` or ``max_weekly_volume`` is not a valid value.
    """
    absent_weeks = check_absent_weeks(absent_weeks)
    max_weekly_volume = check_max_weekly_volume(max_weekly_volume)
    run_day = _run_day(run_date)
    files = resolve_paths(paths)
    parsed: list[pd.DataFrame] = []
    rejected: list[RowProblem] = []
    orphans: list[pd.DataFrame] = []
    for path in files:
        file_rows: list[pd.DataFrame] = []
        for table in read_tables(path):
            rows, isbn_problems, row_problems = validate_table(table, max_weekly_volume)
            rejected.extend(isbn_problems)
            rejected.extend(row_problems)
            file_rows.append(rows)
            orphans.append(orphan_rows(table, rows, isbn_problems))
        if sum(len(r) for r in file_rows) == 0:
            first = "; ".join(str(p) for p in rejected[-3:])
            raise SalesDataError(f"{path}: no row has a valid ISBN (e.g. {first})")
        parsed.extend(file_rows)

    rows = pd.concat(parsed, ignore_index=True)
    rejected_isbns = _isbn_rejections(rows)
    rows = rows[~rows["isbn"].isin(rejected_isbns)]
    before = rows["isbn"]
    rows, week_problems, first_week_problem = drop_impossible_weeks(rows, run_day)
    skipped = before.value_counts().sub(rows["isbn"].value_counts(), fill_value=0).astype(int)
    rejected.extend(week_problems)
    rejected_isbns.update(_emptied_isbns(before, rows["isbn"], first_week_problem))
    rows, conflicts, n_identical = drop_conflicts(rows)
    for isbn, problem in conflicts.items():
        rejected.append(problem)
        rejected_isbns[isbn] = (
            f"conflicting volumes for one week: {problem.source} row {problem.row}: {problem.problem}"
        )
    rows = rows[~rows["isbn"].isin(rejected_isbns)]
    incomplete = _incomplete_titles(rows, pd.concat(orphans, ignore_index=True), skipped[skipped > 0], absent_weeks)
    for isbn, problem in incomplete.items():
        rejected_isbns[isbn] = problem.problem.removeprefix("title rejected: ")
    rejected[:0] = incomplete.values()  # listed first: the metadata shows the first rows only
    rows = rows[~rows["isbn"].isin(incomplete)]
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
        absent_weeks=absent_weeks,
    )
    _log_summary(data, n_identical)
    return data
