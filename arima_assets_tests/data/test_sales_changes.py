"""The test helpers that derive new sales data from the sample (arima_assets_tests.sales_changes)."""

import pandas as pd
import pytest

from arima_assets.data.catalogue import CATALOGUE, LONG_TAIL
from arima_assets.data.nielsen import load_sales
from arima_assets.data.sample import sample_csv_text
from arima_assets_tests.data.conftest import ALCHEMIST, OUT_OF_PRINT, TV_ADAPTATION
from arima_assets_tests.sales_changes import append_weeks, drifted_copy


def _weekly(frame: pd.DataFrame, isbn: str) -> pd.Series:
    rows = frame[frame["ISBN"] == isbn]
    return pd.Series(rows["Volume"].to_numpy(float), index=pd.to_datetime(rows["End Date"]))


def test_append_weeks_shifts_one_isbn(sample, tmp_path):
    drifted = append_weeks(sample, TV_ADAPTATION, n_weeks=13, level_factor=2.0, seed=3)
    pd.testing.assert_frame_equal(drifted.iloc[: len(sample)], sample)
    new = drifted.iloc[len(sample) :]
    assert pd.to_datetime(new["End Date"]).min() == pd.Timestamp("2024-07-27")
    assert pd.to_datetime(new["End Date"]).max() == pd.Timestamp("2024-10-19")
    steady = {e.isbn for e in CATALOGUE if e not in LONG_TAIL}
    assert steady - {OUT_OF_PRINT} <= set(new["ISBN"]) <= {e.isbn for e in CATALOGUE} - {OUT_OF_PRINT}  # it is over
    before = _weekly(sample, TV_ADAPTATION).iloc[-13:].mean()
    assert _weekly(new, TV_ADAPTATION).mean() > 1.6 * before
    for isbn in (ALCHEMIST, "9781782941033"):
        ratio = _weekly(new, isbn).mean() / _weekly(sample, isbn).iloc[-13:].mean()
        assert 0.6 < ratio < 1.6, isbn
    # The result is a valid export: it loads, and the series grow by 13 weeks.
    path = tmp_path / "drifted.csv"
    path.write_text(sample_csv_text(drifted))
    data = load_sales(path)
    assert data.last_week == pd.Timestamp("2024-10-19")
    assert len(data.weekly_series(ALCHEMIST)) == sample["End Date"].nunique() + 13


def test_append_weeks_for_one_isbn_only(sample):
    drifted = append_weeks(sample, "978-1-907734-17-5", n_weeks=4, continue_others=False)
    assert set(drifted.iloc[len(sample) :]["ISBN"]) == {TV_ADAPTATION}
    undrifted = append_weeks(sample, TV_ADAPTATION, n_weeks=4, level_factor=1.0, seed=1, continue_others=False)
    assert (
        _weekly(undrifted.iloc[len(sample) :], TV_ADAPTATION).sum()
        < _weekly(drifted.iloc[len(sample) :], TV_ADAPTATION).sum()
    )


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"isbn": "9780140449136"}, r"ISBN 9780140449136 is not in the frame"),
        ({"isbn": OUT_OF_PRINT}, r"ISBN 9780995812307 sold nothing in the last 13 weeks"),
        ({"isbn": ALCHEMIST, "n_weeks": 0}, r"n_weeks=0 must be between 1 and 52"),
        ({"isbn": ALCHEMIST, "level_factor": 0.0}, r"level_factor=0.0 must be a finite number > 0"),
        ({"isbn": "978072253293"}, r"wrong length"),
    ],
)
def test_append_weeks_rejects_bad_arguments(sample, kwargs, match):
    with pytest.raises(ValueError, match=match):
        append_weeks(sample, **kwargs)


def test_append_weeks_needs_nielsen_columns(sample):
    with pytest.raises(ValueError, match=r"missing column\(s\) Volume"):
        append_weeks(sample.drop(columns=["Volume"]), ALCHEMIST)


def test_drifted_copy_redraws_the_last_weeks_of_one_isbn(sample):
    drifted = drifted_copy(sample, ALCHEMIST, weeks=26, factor=0.5, seed=2)
    before, after = _weekly(sample, ALCHEMIST), _weekly(drifted.sort_values("End Date"), ALCHEMIST)
    assert len(after) == len(before)
    pd.testing.assert_series_equal(after.iloc[:-26], before.iloc[:-26])
    assert 0.4 < after.iloc[-26:].sum() / before.iloc[-26:].sum() < 0.6
    others = sample[sample["ISBN"] != ALCHEMIST].reset_index(drop=True)
    pd.testing.assert_frame_equal(drifted[drifted["ISBN"] != ALCHEMIST].reset_index(drop=True), others)
    with pytest.raises(ValueError, match=r"factor=1 must be a finite number >= 0 and != 1"):
        drifted_copy(sample, ALCHEMIST, factor=1)
    with pytest.raises(ValueError, match=r"sold nothing in its last 52 weeks"):
        drifted_copy(sample, OUT_OF_PRINT)
