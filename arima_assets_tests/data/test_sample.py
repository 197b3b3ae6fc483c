import numpy as np
import pandas as pd
import pytest

from arima_assets.data.catalogue import CATALOGUE, LONG_TAIL
from arima_assets.data.isbn import is_valid_isbn13
from arima_assets.data.nielsen import REQUIRED_COLUMNS, load_sales
from arima_assets.data.sample import SAMPLE_PATH, generate_sample, main, sample_csv_text
from arima_assets.forecasting.demand import classify_demand
from arima_assets_tests.data.conftest import ALCHEMIST, CHILDRENS_CLASSIC, OUT_OF_PRINT, TV_ADAPTATION


@pytest.fixture(scope="module")
def loaded():
    """The sample is a full weekly export: a title without a row in a week sold nothing that week."""
    return load_sales(SAMPLE_PATH, absent_weeks="zero")


def test_generation_is_deterministic(sample):
    pd.testing.assert_frame_equal(generate_sample(), sample)
    assert not generate_sample(seed=1)["Volume"].equals(sample["Volume"])


def test_committed_file_is_the_generated_one(sample):
    assert SAMPLE_PATH.read_bytes() == sample_csv_text(sample).encode("utf-8")


def test_main_rewrites_the_same_bytes(tmp_path, capsys):
    target = tmp_path / "sample.csv"
    main(["--output", str(target)])
    assert target.read_bytes() == SAMPLE_PATH.read_bytes()
    assert "wrote" in capsys.readouterr().out


def test_sample_is_small_and_in_nielsen_format(sample):
    assert SAMPLE_PATH.stat().st_size < 1_500_000
    assert list(sample.columns) == list(REQUIRED_COLUMNS)
    assert (sample["Volume"] > 0).all()  # weeks without sales have no row
    np.testing.assert_allclose(sample["ASP"], (sample["Value"] / sample["Volume"]).round(2), atol=0.006)
    assert (sample["ASP"] <= sample["RRP"]).all()


def test_sample_loads_with_the_promised_content(loaded):
    isbns = loaded.isbns()
    assert len(isbns) >= 12
    assert {ALCHEMIST, CHILDRENS_CLASSIC} <= set(isbns)
    assert all(is_valid_isbn13(isbn) for isbn in isbns)
    assert loaded.rejected == []
    assert loaded.last_week == pd.Timestamp("2024-07-20")
    for isbn in isbns:
        series = loaded.weekly_series(isbn)
        assert len(series) >= 500, isbn  # from its first sale: a slow seller's first copy may come weeks in
        assert series.index[-1] == pd.Timestamp("2024-07-20")
    steady = [title.isbn for title in CATALOGUE if title not in LONG_TAIL]
    medians = [loaded.weekly_series(isbn).median() for isbn in steady]
    assert min(medians) >= 5 and max(medians) <= 5000


def test_most_of_the_sample_is_a_long_tail_of_slow_sellers(loaded):
    """As in a real export, most titles sell a few copies a week or fewer and most of their weeks none."""
    classes = {isbn: classify_demand(loaded.weekly_series(isbn).to_numpy()).label for isbn in loaded.isbns()}
    slow = {isbn for isbn, label in classes.items() if label in ("intermittent", "lumpy")}
    assert slow == {title.isbn for title in LONG_TAIL}, classes
    assert len(slow) > len(classes) / 2
    for isbn in slow:
        series = loaded.weekly_series(isbn)
        assert series.mean() < 3 and (series == 0).mean() > 0.3, isbn
    # and among them titles that sell a few copies a year, and one that wakes up (a prize longlisting)
    assert min(loaded.weekly_series(isbn).mean() for isbn in slow) < 0.2
    woke = loaded.weekly_series("9781910523735")
    assert woke.iloc[-20:].mean() > 4 * woke.iloc[:-30].mean()


def test_sample_behaviours(loaded):
    # A title that stops selling: zeros for its last year or more.
    tail = loaded.weekly_series(OUT_OF_PRINT)
    assert (tail.iloc[-52:] == 0).all() and tail.iloc[:-70].sum() > 0
    # Structural break ~40 weeks before the end: the level at least doubles.
    tv = loaded.weekly_series(TV_ADAPTATION)
    assert tv.iloc[-40:].median() > 2 * tv.iloc[-92:-40].median()
    # Strong Christmas peaks for the children's classic, milder for the evergreen.
    for isbn, ratio in ((CHILDRENS_CLASSIC, 3.0), (ALCHEMIST, 1.6)):
        series = loaded.weekly_series(isbn)
        december = series[(series.index.month == 12) & (series.index.day >= 10) & (series.index.day <= 24)]
        assert december.mean() > ratio * series[series.index.month.isin([3, 6, 9])].mean(), isbn
    # Launch then decay: the first weeks sell far more than a year later.
    launch = loaded.weekly_series("9781841954127")
    assert launch.iloc[:4].mean() > 10 * launch.iloc[52:56].mean()
    # Some title has weeks without a row (zero sales) before its end.
    assert any((loaded.weekly_series(i).iloc[:-70] == 0).any() for i in loaded.isbns() if i != OUT_OF_PRINT)


def test_default_rule_ends_the_stopped_title_at_its_last_sale(loaded, sample):
    """absent_weeks="unknown" (default) invents no trailing zeros: a title ends at its own last reported week."""
    default = load_sales(SAMPLE_PATH)
    assert default.absent_weeks == "unknown"
    assert default.weekly_series(OUT_OF_PRINT).index[-1] == pd.Timestamp("2023-03-18")
    last_sale = pd.to_datetime(sample["End Date"]).groupby(sample["ISBN"]).max()
    for isbn in default.isbns():
        series = default.weekly_series(isbn)
        assert series.index[-1] == last_sale[isbn], isbn
        pd.testing.assert_series_equal(series, loaded.weekly_series(isbn).loc[: last_sale[isbn]])


@pytest.mark.parametrize("absent_weeks", ["unknown", "zero"])
def test_one_mistyped_future_row_leaves_every_sample_series_intact(sample, loaded, tmp_path, absent_weeks):
    """One row dated 2099 used to pad all twelve titles with ~3,900 zero weeks."""
    typo = sample[sample["ISBN"] == ALCHEMIST].tail(1).assign(**{"End Date": "2099-07-25", "Interval": 209930})
    path = tmp_path / "typo.csv"
    path.write_text(sample_csv_text(pd.concat([sample, typo], ignore_index=True)))
    data = load_sales(path, absent_weeks=absent_weeks)
    assert [(p.row, p.isbn) for p in data.rejected] == [(len(sample) + 2, ALCHEMIST)]
    assert "week ending 2099-07-25 is after the run date" in data.rejected[0].problem
    assert data.last_week == pd.Timestamp("2024-07-20")
    for isbn in data.isbns():
        assert data.weekly_series(isbn).index[-1] <= pd.Timestamp("2024-07-20"), isbn
    pd.testing.assert_series_equal(data.weekly_series(ALCHEMIST), loaded.weekly_series(ALCHEMIST))


def test_readme_documents_every_title():
    readme = (SAMPLE_PATH.parent / "README.md").read_text()
    assert "SYNTHETIC" in readme and "not Nielsen BookScan data" in readme
    for entry in CATALOGUE:
        assert entry.isbn in readme and entry.title in readme
