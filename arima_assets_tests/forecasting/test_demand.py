import numpy as np
import pandas as pd
import pytest

from arima_assets.forecasting.demand import classify_demand


@pytest.mark.parametrize(
    ("values", "label"),
    [
        ([5, 6, 5, 6, 5, 6, 5, 6], "smooth"),  # every week, sizes alike
        ([1, 9, 1, 9, 1, 9, 1, 9], "erratic"),  # every week, sizes vary (CV^2 0.64)
        ([0, 5, 0, 6, 0, 5, 0, 6], "intermittent"),  # every other week (ADI 2), sizes alike
        ([0, 1, 0, 9, 0, 1, 0, 9], "lumpy"),  # every other week, sizes vary
        ([0, 0, 0, 0], "intermittent"),  # nothing sold
    ],
)
def test_syntetos_boylan_classes(values, label):
    assert classify_demand(np.array(values, dtype=float)).label == label


def test_statistics_and_thresholds():
    # 4 sales in 5 weeks: ADI 1.25 < 1.32; sizes 2, 2, 2, 6: mean 3, variance 3, CV^2 1/3 < 0.49
    demand = classify_demand(pd.Series([2.0, 0.0, 2.0, 2.0, 6.0]))
    assert demand.adi == pytest.approx(1.25) and demand.cv2 == pytest.approx(1 / 3)
    assert demand.label == "smooth" and demand.zero_share == pytest.approx(0.2) and demand.weeks == 5
    assert not demand.uses_intermittent_models
    # 3 sales in 4 weeks would be ADI 1.33 >= 1.32: intermittent
    assert classify_demand(np.array([2.0, 0.0, 2.0, 2.0])).uses_intermittent_models
    assert classify_demand(np.zeros(3)).to_dict()["adi"] is None


def test_invalid_series_are_rejected():
    with pytest.raises(ValueError, match="sales must be >= 0"):
        classify_demand(np.array([1.0, -1.0]))
