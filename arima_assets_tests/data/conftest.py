"""Fixtures of the data tests: the generated sample, and titles of it with a known behaviour."""

import pandas as pd
import pytest

from arima_assets.data.sample import generate_sample

ALCHEMIST = "9780722532935"
CHILDRENS_CLASSIC = "9780241003008"
OUT_OF_PRINT = "9780995812307"
TV_ADAPTATION = "9781907734175"


@pytest.fixture(scope="session")
def sample() -> pd.DataFrame:
    """The synthetic sample as `generate_sample()` draws it (do not modify it in place)."""
    return generate_sample()
