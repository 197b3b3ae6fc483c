import logging
import re
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from arima_assets.data.nielsen import REQUIRED_COLUMNS, SalesData, SalesDataError, load_sales

ALCHEMIST = "9780722532935"
CATERPILLAR = "9780241003008"
CLASSIC = "9780141439518"


def _row(isbn: str, week_end: str, volume: object, **overrides: object) -> dict[str, object]:
    end = pd.Timestamp(week_end)
    iso = end.isocalendar()
    row: dict[str, object] = {
        "ISBN": isbn,
        "Title": f"Title {isbn[-4:]}",
        "Author": "A. Writer",
        "Interval": iso.year * 100 + iso.week,
        "End Date": end.strftime("%Y-%m-%d"),
        "Volume": volume,
        "Value": 10.0,
        "ASP": 7.5,
        "RRP": 9.99,
        "Binding": "Paperback",
        "Imprint": "Imprint",
        "Publisher Group": "Group",
        "Product Class": "F1.1 General & Literary Fiction",
    }
    row.update(overrides)
    return row


def _csv(path: Path, rows: list[dict[str, object]], columns: tuple[str, ...] = REQUIRED_COLUMNS) -> Path:
    pd.DataFrame(rows, columns=list(columns)).to_csv(path, index=False)
    return path


def _good_rows() -> list[dict[str, object]]:
    """Two ISBNs; the Alchemist has no row for 2024-07-13 (zero sales)."""
    return [
        _row(ALCHEMIST, "2024-07-06", 120),
        _row(ALCHEMIST, "2024-07-20", 95),
        _row(CATERPILLAR, "2024-06-29", 40),
        _row(CATERPILLAR, "2024-07-06", 41),
        _row(CATERPILLAR, "2024-07-13", 0),
        _row(CATERPILLAR, "2024-07-20", 38),
    ]


def test_csv_loads_into_a_tidy_frame(tmp_path):
    data = load_sales(_csv(tmp_path / "week.csv", _good_rows()))
    frame = data.frame
    assert list(frame.columns[:13]) == [
        "isbn",
        "title",
        "author",
        "interval",
        "week_end",
        "volume",
        "value",
        "asp",
        "rrp",
        "binding",
        "imprint",
        "publisher_group",
        "product_class",
    ]
    assert data.isbns() == [CATERPILLAR, ALCHEMIST]
    assert data.titles == {ALCHEMIST: "Title 2935", CATERPILLAR: "Title 3008"}
    assert len(frame) == 6
    assert (frame["week_end"].dt.dayofweek == 5).all()
    assert frame["volume"].dtype == float
    assert frame.loc[frame["isbn"] == CATERPILLAR, "volume"].tolist() == [40.0, 41.0, 0.0, 38.0]
    assert set(frame["source"]) == {"week.csv"}
    # Excel row numbers: header is row 1, so the Alchemist's rows are 2 and 3, the Caterpillar's 4..7.
    assert frame.loc[frame["isbn"] == ALCHEMIST, "row"].tolist() == [2, 3]
    assert data.last_week == pd.Timestamp("2024-07-20")
    assert data.rejected == []
    assert data.files == [str(tmp_path / "week.csv")]


def test_weekly_series_fills_missing_weeks_with_zero(tmp_path):
    data = load_sales(_csv(tmp_path / "week.csv", _good_rows()))
    series = data.weekly_series(ALCHEMIST)
    assert series.name == ALCHEMIST
    assert series.index.freqstr == "W-SAT"
    assert series.index[0] == pd.Timestamp("2024-07-06")
    assert series.tolist() == [120.0, 0.0, 95.0]
    # absent_weeks="zero": a series runs to the last week of its file, even if its own rows stop earlier.
    path = _csv(tmp_path / "week.csv", [*_good_rows(), _row(CLASSIC, "2024-08-03", 5)])
    data = load_sales(path, absent_weeks="zero")
    assert data.weekly_series(ALCHEMIST).tolist() == [120.0, 0.0, 95.0, 0.0, 0.0]
    assert data.weekly_series("978-0-7225-3293-5", end=pd.Timestamp("2024-07-13")).tolist() == [120.0, 0.0]
    # The default "unknown": it ends at its own last reported week; the interior week stays 0.
    assert load_sales(path).weekly_series(ALCHEMIST).tolist() == [120.0, 0.0, 95.0]


def test_weekly_series_rejects_bad_arguments(tmp_path):
    data = load_sales(_csv(tmp_path / "week.csv", _good_rows()))
    with pytest.raises(KeyError, match=f"ISBN {CLASSIC} is not in the sales data"):
        data.weekly_series(CLASSIC)
    with pytest.raises(ValueError, match="bad check digit"):
        data.weekly_series("9780722532936")
    with pytest.raises(ValueError, match="2024-07-19 is a Friday; weeks end on a Saturday"):
        data.weekly_series(ALCHEMIST, end=pd.Timestamp("2024-07-19"))
    with pytest.raises(ValueError, match="before ISBN 9780722532935's first week 2024-07-06"):
        data.weekly_series(ALCHEMIST, end=pd.Timestamp("2024-06-29"))


def test_sales_data_built_from_a_frame_alone(tmp_path):
    """The Dagster layer rebuilds SalesData from the stored frame; weekly_series must work on it."""
    frame = load_sales(_csv(tmp_path / "week.csv", _good_rows())).frame
    data = SalesData(frame=frame, titles={ALCHEMIST: "x", CATERPILLAR: "y"})
    assert data.weekly_series(CATERPILLAR).tolist() == [40.0, 41.0, 0.0, 38.0]


def test_xlsx_reads_every_sheet(tmp_path):
    path = tmp_path / "bookscan.xlsx"
    fiction = pd.DataFrame([_row(ALCHEMIST, "2024-07-13", 100), _row(ALCHEMIST, "2024-07-20", 110)])
    fiction["ISBN"] = fiction["ISBN"].astype("int64")  # Excel turned the ISBN column into numbers
    fiction["End Date"] = pd.to_datetime(fiction["End Date"])  # real date cells
    children = pd.DataFrame([_row("0-241-00300-8", "2024-07-20", 7)])  # an ISBN-10 in text
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        fiction.to_excel(writer, sheet_name="F Adult Fiction", index=False)
        # A report title above the table: the header is found on Excel row 3, data from row 4.
        pd.DataFrame([["Weekly sales report"]]).to_excel(
            writer, sheet_name="Y Children's, YA & Educational", index=False, header=False
        )
        children.to_excel(writer, sheet_name="Y Children's, YA & Educational", index=False, startrow=2)
        pd.DataFrame().to_excel(writer, sheet_name="S Adult Non-Fiction Specialist", index=False)
    data = load_sales(path)
    assert data.isbns() == [CATERPILLAR, ALCHEMIST]
    assert data.weekly_series(ALCHEMIST).tolist() == [100.0, 110.0]
    child = data.frame[data.frame["isbn"] == "9780241003008"].iloc[0]
    assert child["source"] == "bookscan.xlsx:Y Children's, YA & Educational"
    assert child["row"] == 4
    assert child["volume"] == 7.0


def test_xlsx_sheet_missing_columns_names_the_sheet(tmp_path):
    path = tmp_path / "bookscan.xlsx"
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        pd.DataFrame([_row(ALCHEMIST, "2024-07-20", 1)]).to_excel(writer, sheet_name="F Adult Fiction", index=False)
        pd.DataFrame([_row(ALCHEMIST, "2024-07-20", 1)]).drop(columns=["RRP", "Volume"]).to_excel(
            writer, sheet_name="T Adult Non-Fiction Trade", index=False
        )
    with pytest.raises(SalesDataError, match=r"bookscan.xlsx, sheet 'T Adult Non-Fiction Trade'.*Volume, RRP"):
        load_sales(path)


def test_missing_columns_named(tmp_path):
    path = _csv(tmp_path / "short.csv", [_row(ALCHEMIST, "2024-07-20", 1)], columns=REQUIRED_COLUMNS[:5])
    with pytest.raises(
        SalesDataError,
        match=r"short.csv: missing required column\(s\) Volume, Value, ASP, RRP, Binding, Imprint, "
        r"Publisher Group, Product Class in the header \(row 1\)",
    ):
        load_sales(path)


def test_unrelated_csv_names_every_missing_column(tmp_path):
    path = tmp_path / "other.csv"
    path.write_text("date,units\n2024-07-20,5\n")
    with pytest.raises(SalesDataError, match=r"other.csv: missing required column\(s\) ISBN, Title, .*Product Class"):
        load_sales(path)


def test_dates_with_time_or_timezone_are_read_as_the_day(tmp_path):
    rows = [
        _row(ALCHEMIST, "2024-07-13", 1, **{"End Date": "2024-07-13T00:00:00+01:00"}),
        _row(ALCHEMIST, "2024-07-20", 2, **{"End Date": "2024-07-20 18:30:00"}),
    ]
    data = load_sales(_csv(tmp_path / "week.csv", rows))
    assert data.weekly_series(ALCHEMIST).index.tolist() == [pd.Timestamp("2024-07-13"), pd.Timestamp("2024-07-20")]


def test_header_names_match_loosely_and_uk_formats_parse(tmp_path):
    """Case, spacing and underscores in headers, DD/MM/YYYY dates, '1,200' volumes and £ prices, ';' files."""
    rows = [
        _row(ALCHEMIST, "2024-07-13", "1,200", **{"End Date": "13/07/2024", "Value": "£9,000.00"}),
        _row(ALCHEMIST, "2024-07-20", "950", **{"End Date": "20/07/2024"}),
    ]
    frame = pd.DataFrame(rows)
    frame.columns = [c.upper().replace(" ", "_") for c in frame.columns]
    path = tmp_path / "uk.csv"
    frame.to_csv(path, index=False, sep=";")
    data = load_sales(path)
    assert data.weekly_series(ALCHEMIST).tolist() == [1200.0, 950.0]
    assert data.frame["value"].iloc[0] == 9000.0


def test_windows_1252_file_loads(tmp_path, caplog):
    path = tmp_path / "legacy.csv"
    pd.DataFrame([_row(ALCHEMIST, "2024-07-20", 3, Title="Café £")]).to_csv(path, index=False, encoding="cp1252")
    with caplog.at_level(logging.WARNING, logger="arima_assets.data"):
        data = load_sales(path)
    assert data.titles[ALCHEMIST] == "Café £"
    assert "not UTF-8" in caplog.text


@pytest.mark.parametrize(
    ("volume", "match"),
    [
        ("abc", r"column Volume: value 'abc' is not a number"),
        (-4, r"column Volume: value '-4' is negative"),
        ("", r"column Volume: missing value"),
        (25_000_000, r"column Volume: value '25000000' is above the sanity bound of 10,000,000 units a week"),
        ("12,500,000", r"column Volume: value '12,500,000' is above the sanity bound of 10,000,000 units a week"),
    ],
)
def test_bad_volume_rejects_that_isbn_only(tmp_path, volume, match):
    rows = _good_rows()
    rows.insert(1, _row(ALCHEMIST, "2024-07-13", volume))
    data = load_sales(_csv(tmp_path / "week.csv", rows))
    assert data.isbns() == [CATERPILLAR]
    assert len(data.rejected) == 1
    problem = data.rejected[0]
    assert (problem.file, problem.sheet, problem.row, problem.isbn) == ("week.csv", None, 3, ALCHEMIST)
    assert re.search(match, problem.problem)
    assert re.search(match, str(problem))
    assert str(problem).startswith("week.csv row 3 (ISBN '9780722532935'): ")
    # The ISBN's good rows are skipped too, and the reason is kept per ISBN.
    assert ALCHEMIST not in set(data.frame["isbn"])
    assert data.rejected_isbns[ALCHEMIST].startswith("1 bad row(s), first week.csv row 3: column Volume")
    with pytest.raises(KeyError, match="was rejected while loading: 1 bad row"):
        data.weekly_series(ALCHEMIST)


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"End Date": "last week"}, r"column End Date: value 'last week' is not a date"),
        ({"End Date": "2024-07-12", "Interval": 202428}, r"column End Date: value '2024-07-12' is a Friday, not a Sat"),
        ({"Interval": "2024-28"}, r"column Interval: value '2024-28' not in YYYYWW form"),
        ({"Interval": 202460}, r"column Interval: value '202460' week 60 of year 2024 is out of range"),
        (
            {"Interval": 202328},
            r"Interval: value '202328' \(week ending 2023-07-15\) does not match End Date 2024-07-13",
        ),
    ],
)
def test_bad_dates_and_intervals_reject_the_isbn(tmp_path, overrides, match):
    rows = [*_good_rows(), _row(ALCHEMIST, "2024-07-13", 5, **overrides)]
    data = load_sales(_csv(tmp_path / "week.csv", rows))
    assert data.isbns() == [CATERPILLAR]
    [problem] = data.rejected
    assert problem.row == 8
    assert re.search(match, problem.problem), problem.problem


def test_interval_one_week_off_at_year_end_is_accepted(tmp_path):
    """Week numbering conventions differ at year ends; End Date decides the week."""
    rows = [_row(ALCHEMIST, "2021-01-02", 5, Interval=202101), _row(ALCHEMIST, "2021-01-09", 6, Interval=202102)]
    data = load_sales(_csv(tmp_path / "week.csv", rows))
    assert data.weekly_series(ALCHEMIST).tolist() == [5.0, 6.0]


def test_invalid_isbn_rows_are_skipped_and_reported(tmp_path):
    rows = [*_good_rows(), _row("9780722532936", "2024-07-20", 3), _row("", "2024-07-20", 3)]
    data = load_sales(_csv(tmp_path / "week.csv", rows))
    assert data.isbns() == [CATERPILLAR, ALCHEMIST]
    assert [(p.row, p.isbn) for p in data.rejected] == [(8, "9780722532936"), (9, "")]
    assert "bad check digit 6 (expected 5)" in data.rejected[0].problem
    assert "empty" in data.rejected[1].problem
    assert data.rejected_isbns == {}


def test_identical_repeats_are_dropped_across_files(tmp_path):
    first = _csv(tmp_path / "a.csv", _good_rows())
    second = _csv(tmp_path / "b.csv", [_row(ALCHEMIST, "2024-07-20", 95), _row(ALCHEMIST, "2024-07-27", 80)])
    data = load_sales([first, second])
    assert data.weekly_series(ALCHEMIST).tolist() == [120.0, 0.0, 95.0, 80.0]
    assert data.frame.loc[data.frame["isbn"] == ALCHEMIST, "source"].tolist() == ["a.csv", "a.csv", "b.csv"]
    assert data.rejected == []


def test_conflicting_repeat_rejects_the_isbn_naming_both_sources(tmp_path):
    _csv(tmp_path / "a.csv", _good_rows())
    _csv(tmp_path / "b.csv", [_row(ALCHEMIST, "2024-07-20", 99)])
    data = load_sales(tmp_path)
    assert data.isbns() == [CATERPILLAR]
    [problem] = data.rejected
    assert (problem.file, problem.row) == ("b.csv", 2)
    assert problem.problem == ("ISBN 9780722532935 week ending 2024-07-20 has Volume 99 here but 95 in a.csv row 3")
    assert "conflicting volumes" in data.rejected_isbns[ALCHEMIST]


def test_conflicting_repeat_within_one_file(tmp_path):
    rows = [*_good_rows(), _row(CATERPILLAR, "2024-07-13", 12)]
    data = load_sales(_csv(tmp_path / "week.csv", rows))
    assert data.isbns() == [ALCHEMIST]
    assert "has Volume 12 here but 0 in week.csv row 6" in data.rejected[0].problem


def test_directory_reads_csv_and_xlsx_sorted(tmp_path):
    _csv(tmp_path / "b.csv", [_row(CATERPILLAR, "2024-07-20", 2)])
    pd.DataFrame([_row(ALCHEMIST, "2024-07-13", 1)]).to_excel(tmp_path / "a.xlsx", index=False, sheet_name="F")
    (tmp_path / "notes.txt").write_text("ignored")
    data = load_sales(tmp_path)
    assert [Path(f).name for f in data.files] == ["a.xlsx", "b.csv"]
    # b.csv does not mention the Alchemist: its week 2024-07-20 does not extend the Alchemist (any rule).
    assert data.weekly_series(ALCHEMIST).tolist() == [1.0]
    assert load_sales(tmp_path, absent_weeks="zero").weekly_series(ALCHEMIST).tolist() == [1.0]


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ("", r"empty.csv: file is empty"),
        ("\n\n  \n", r"empty.csv: file is empty"),
        (",".join(REQUIRED_COLUMNS) + "\n", r"empty.csv: no data rows below the header"),
    ],
)
def test_empty_files_raise(tmp_path, content, match):
    path = tmp_path / "empty.csv"
    path.write_text(content)
    with pytest.raises(SalesDataError, match=match):
        load_sales(path)


def test_empty_xlsx_raises(tmp_path):
    path = tmp_path / "empty.xlsx"
    pd.DataFrame().to_excel(path, index=False)
    with pytest.raises(SalesDataError, match=r"empty.xlsx: file is empty \(no sheet has any cells\)"):
        load_sales(path)


def test_corrupt_xlsx_raises(tmp_path):
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"not a zip file")
    with pytest.raises(SalesDataError, match=r"broken.xlsx: cannot be read as an xlsx workbook"):
        load_sales(path)


def test_file_without_any_valid_isbn_raises(tmp_path):
    path = _csv(tmp_path / "wrong.csv", [_row("123", "2024-07-20", 1), _row("9780722532936", "2024-07-20", 1)])
    with pytest.raises(SalesDataError, match=r"wrong.csv: no row has a valid ISBN \(e.g. wrong.csv row 2"):
        load_sales(path)


def test_load_where_every_isbn_is_rejected_raises(tmp_path):
    path = _csv(tmp_path / "bad.csv", [_row(ALCHEMIST, "2024-07-20", -1)])
    with pytest.raises(SalesDataError, match=r"no ISBN could be loaded from .*bad.csv: 1 problem row\(s\), e.g. bad"):
        load_sales(path)


def test_path_errors(tmp_path):
    with pytest.raises(SalesDataError, match=r"sales path does not exist: .*nowhere.csv"):
        load_sales(tmp_path / "nowhere.csv")
    (tmp_path / "sales.xls").write_bytes(b"x")
    with pytest.raises(SalesDataError, match=r"unsupported sales file type '.xls'.*expected one of .csv, .xlsx"):
        load_sales(tmp_path / "sales.xls")
    (tmp_path / "empty_dir").mkdir()
    with pytest.raises(SalesDataError, match=r"sales directory .*empty_dir holds no .csv or .xlsx files"):
        load_sales(tmp_path / "empty_dir")
    with pytest.raises(SalesDataError, match="no sales paths given"):
        load_sales([])


def test_rejections_are_logged(tmp_path, caplog):
    rows = [*_good_rows(), _row("9780722532936", "2024-07-20", 3), _row(ALCHEMIST, "2024-07-27", "x")]
    with caplog.at_level(logging.INFO, logger="arima_assets.data"):
        load_sales(_csv(tmp_path / "week.csv", rows))
    assert "Loaded 4 weekly rows of 1 ISBNs from 1 file(s), weeks 2024-06-29 .. 2024-07-20" in caplog.text
    assert "Rejected 2 row(s) (column ISBN: 1, column Volume: 1); 1 ISBN(s) skipped entirely: 9780722532935" in (
        caplog.text
    )


# Impossible weeks, where a series ends (absent_weeks), and the Volume sanity bound.


def _today() -> str:
    return pd.Timestamp.now(tz="UTC").strftime("%Y-%m-%d")


@pytest.mark.parametrize("absent_weeks", ["unknown", "zero"])
def test_a_row_dated_in_the_future_is_skipped_and_pads_no_series(tmp_path, absent_weeks, caplog):
    """Problem 1: one row dated 2099 used to pad every ISBN of the file with ~3,900 zero weeks."""
    rows = [*_good_rows(), _row(ALCHEMIST, "2099-07-25", 3)]
    with caplog.at_level(logging.WARNING, logger="arima_assets.data"):
        data = load_sales(_csv(tmp_path / "week.csv", rows), absent_weeks=absent_weeks)
    assert data.last_week == pd.Timestamp("2024-07-20")
    assert data.weekly_series(CATERPILLAR).tolist() == [40.0, 41.0, 0.0, 38.0]
    assert data.weekly_series(ALCHEMIST).tolist() == [120.0, 0.0, 95.0], "the ISBN's other rows load"
    [problem] = data.rejected
    assert (problem.file, problem.sheet, problem.row, problem.isbn) == ("week.csv", None, 8, ALCHEMIST)
    assert problem.problem == f"column End Date: week ending 2099-07-25 is after the run date {_today()}"
    assert data.rejected_isbns == {}
    assert "Rejected 1 row(s) (column End Date: 1); 0 ISBN(s) skipped entirely. First: week.csv row 8" in caplog.text


def test_run_date_is_a_keyword(tmp_path):
    path = _csv(tmp_path / "week.csv", [*_good_rows(), _row(CATERPILLAR, "2024-07-27", 9)])
    early = load_sales(path, run_date="2024-07-26")
    assert early.weekly_series(CATERPILLAR).index[-1] == pd.Timestamp("2024-07-20")
    assert str(early.rejected[0]) == (
        "week.csv row 8 (ISBN '9780241003008'): "
        "column End Date: week ending 2024-07-27 is after the run date 2024-07-26"
    )
    for on_time in (date(2024, 7, 27), pd.Timestamp("2024-07-27 23:30", tz="America/New_York")):  # 28th in UTC
        data = load_sales(path, run_date=on_time)
        assert data.rejected == [] and data.last_week == pd.Timestamp("2024-07-27")
    for bad in ("soon", 20240727):
        with pytest.raises(ValueError, match=rf"run_date={bad!r} is not a date"):
            load_sales(path, run_date=bad)


def test_a_future_row_in_an_xlsx_names_the_sheet(tmp_path):
    path = tmp_path / "bookscan.xlsx"
    rows = pd.DataFrame([_row(ALCHEMIST, "2024-07-20", 1), _row(ALCHEMIST, "2099-07-25", 2)])
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        rows.to_excel(writer, sheet_name="F Adult Fiction", index=False)
    data = load_sales(path, run_date="2025-01-01")
    assert str(data.rejected[0]) == (
        "bookscan.xlsx:F Adult Fiction row 3 (ISBN '9780722532935'): "
        "column End Date: week ending 2099-07-25 is after the run date 2025-01-01"
    )
    assert data.weekly_series(ALCHEMIST).tolist() == [1.0]


@pytest.mark.parametrize("run_date", ["2025-06-01", "2100-01-01"])
def test_a_week_far_beyond_most_isbns_is_skipped(tmp_path, run_date):
    """A mistyped date before the run date: 32 weeks after the last week of the other ISBN, nothing in between."""
    week = "2025-03-01" if run_date == "2025-06-01" else "2099-07-25"
    rows = [*_good_rows(), _row(CATERPILLAR, week, 7)]
    data = load_sales(_csv(tmp_path / "week.csv", rows), run_date=run_date, absent_weeks="zero")
    assert data.last_week == pd.Timestamp("2024-07-20")
    assert data.weekly_series(ALCHEMIST).tolist() == [120.0, 0.0, 95.0]
    assert data.weekly_series(CATERPILLAR).tolist() == [40.0, 41.0, 0.0, 38.0]
    [problem] = data.rejected
    assert (problem.file, problem.row, problem.isbn) == ("week.csv", 8, CATERPILLAR)
    weeks = (pd.Timestamp(week) - pd.Timestamp("2024-07-20")).days // 7
    assert problem.problem == (
        f"column End Date: week ending {week} is {weeks} weeks after 2024-07-20, the newest week of most ISBNs, "
        f"past a gap of {weeks - 1} weeks without any row after 2024-07-20 (a mistyped date?)"
    )


def test_new_weeks_for_some_titles_are_kept_up_to_a_gap(tmp_path):
    """The far-beyond rule must not reject a real update that continues the data for one title of two
    (a plain "4 weeks after the median of the last weeks" rule would reject its weeks 5..13)."""
    update = [_row(ALCHEMIST, str(week.date()), 10) for week in pd.date_range("2024-07-27", periods=13, freq="W-SAT")]
    # After the 13 new weeks: 4 weeks without a row is still a continuation, 5 are a gap.
    update += [_row(ALCHEMIST, "2024-11-16", 11), _row(ALCHEMIST, "2024-12-21", 12)]
    data = load_sales([_csv(tmp_path / "a.csv", _good_rows()), _csv(tmp_path / "b.csv", update)])
    assert data.weekly_series(ALCHEMIST).index[-1] == pd.Timestamp("2024-11-16")
    assert data.weekly_series(ALCHEMIST).iloc[-5:].tolist() == [10.0, 0.0, 0.0, 0.0, 11.0]
    [problem] = data.rejected
    assert (problem.file, problem.row) == ("b.csv", 16)
    assert "week ending 2024-12-21 is 22 weeks after 2024-07-20" in problem.problem
    assert "past a gap of 4 weeks without any row after 2024-11-16" in problem.problem


def test_an_isbn_whose_every_row_is_in_the_future_is_reported(tmp_path):
    rows = [*_good_rows(), _row(CLASSIC, "2099-07-25", 1), _row(CLASSIC, "2099-08-01", 1)]
    data = load_sales(_csv(tmp_path / "week.csv", rows), run_date="2025-01-01")
    assert data.isbns() == [CATERPILLAR, ALCHEMIST]
    assert [p.row for p in data.rejected] == [8, 9]
    reason = (
        "all 2 row(s) skipped, first week.csv row 8 (ISBN '9780141439518'): column End Date: week ending 2099-07-25"
    )
    assert data.rejected_isbns[CLASSIC].startswith(reason)
    with pytest.raises(KeyError, match="was rejected while loading: all 2 row"):
        data.weekly_series(CLASSIC)
    with pytest.raises(SalesDataError, match=r"no ISBN could be loaded .*: 1 problem row\(s\), .*after the run date"):
        load_sales(_csv(tmp_path / "future.csv", [_row(CLASSIC, "2099-07-25", 1)]))


@pytest.mark.parametrize("absent_weeks", ["unknown", "zero"])
def test_an_update_for_some_titles_adds_no_zero_weeks_to_the_others(tmp_path, absent_weeks):
    """Problem 2: new weeks for one title in a second file used to give every other title trailing zeros."""
    first = _csv(tmp_path / "a.csv", _good_rows())
    second = _csv(tmp_path / "b.csv", [_row(ALCHEMIST, "2024-07-27", 3), _row(ALCHEMIST, "2024-08-03", 4)])
    data = load_sales([first, second], absent_weeks=absent_weeks)
    assert data.weekly_series(CATERPILLAR).tolist() == [40.0, 41.0, 0.0, 38.0]
    assert data.weekly_series(ALCHEMIST).tolist() == [120.0, 0.0, 95.0, 3.0, 4.0]
    assert data.series_end(CATERPILLAR) == pd.Timestamp("2024-07-20")


def test_absent_weeks_decides_where_a_series_ends_within_one_file(tmp_path, caplog):
    """One file, the Caterpillar's rows stop two weeks before the file's last week."""
    rows = [*_good_rows(), _row(ALCHEMIST, "2024-08-03", 7)]
    path = _csv(tmp_path / "week.csv", rows)
    with caplog.at_level(logging.INFO, logger="arima_assets.data"):
        unknown = load_sales(path)
    assert unknown.absent_weeks == "unknown", "the default invents no trailing zeros"
    assert "1 ISBN(s) have no row in the last week(s) of their file (e.g. 9780241003008)" in caplog.text
    assert unknown.weekly_series(CATERPILLAR).tolist() == [40.0, 41.0, 0.0, 38.0]
    assert unknown.weekly_series(ALCHEMIST).tolist() == [120.0, 0.0, 95.0, 0.0, 7.0], "interior weeks are 0"
    # An explicit later end does not invent weeks under "unknown"; an earlier one truncates.
    assert unknown.weekly_series(CATERPILLAR, end=pd.Timestamp("2024-08-10")).index[-1] == pd.Timestamp("2024-07-20")
    assert unknown.weekly_series(CATERPILLAR, end=pd.Timestamp("2024-07-06")).tolist() == [40.0, 41.0]

    zero = load_sales(path, absent_weeks="zero")
    assert zero.absent_weeks == "zero"
    assert zero.weekly_series(CATERPILLAR).tolist() == [40.0, 41.0, 0.0, 38.0, 0.0, 0.0]
    assert zero.weekly_series(ALCHEMIST).tolist() == [120.0, 0.0, 95.0, 0.0, 7.0]
    assert zero.weekly_series(CATERPILLAR, end=pd.Timestamp("2024-08-10")).tolist()[-3:] == [0.0, 0.0, 0.0]
    # A SalesData rebuilt from the stored frame keeps the rule it is given.
    rebuilt = SalesData(frame=zero.frame, titles=zero.titles, absent_weeks="zero")
    assert rebuilt.weekly_series(CATERPILLAR).index[-1] == pd.Timestamp("2024-08-03")


def test_absent_weeks_must_be_a_known_rule(tmp_path):
    path = _csv(tmp_path / "week.csv", _good_rows())
    with pytest.raises(ValueError, match=r"absent_weeks='ignore' must be 'zero' \(absent from a full weekly export"):
        load_sales(path, absent_weeks="ignore")
    with pytest.raises(ValueError, match=r"absent_weeks='Zero' must be"):
        SalesData(frame=load_sales(path).frame, titles={}, absent_weeks="Zero")


def test_max_weekly_volume_is_a_keyword(tmp_path):
    """Problem 3: a volume beyond the bound is reported and its ISBN is not trained on."""
    path = _csv(tmp_path / "week.csv", _good_rows())
    data = load_sales(path, max_weekly_volume=100)
    assert data.isbns() == [CATERPILLAR]
    [problem] = data.rejected
    assert str(problem) == (
        "week.csv row 2 (ISBN '9780722532935'): "
        "column Volume: value '120' is above the sanity bound of 100 units a week"
    )
    assert load_sales(path, max_weekly_volume=120).rejected == [], "the bound itself is allowed"
    for bad in (0, -1, float("nan"), "10", True):
        with pytest.raises(ValueError, match=r"max_weekly_volume=.* must be a number > 0"):
            load_sales(path, max_weekly_volume=bad)
