import numpy as np
import pytest

from arima_assets.forecasting import coverage, forecast_metrics, mae, mape, mase, msis, rmse, smape
from arima_assets.forecasting.metrics import bias, rmsse

Y = np.array([2.0, 0.0, 4.0, 0.0])
F = np.array([1.0, 0.0, 6.0, 2.0])
TRAIN = np.array([1.0, 3.0, 2.0, 4.0])  # lag-1 abs differences 2, 1, 2 -> scale 5/3


def test_exact_values_with_zero_actuals():
    assert mae(Y, F) == pytest.approx((1 + 0 + 2 + 2) / 4)
    assert rmse(Y, F) == pytest.approx(np.sqrt((1 + 0 + 4 + 4) / 4))
    # zero actuals are skipped: mean of |2-1|/2 and |4-6|/4, in percent
    assert mape(Y, F) == pytest.approx(100 * (0.5 + 0.5) / 2)
    # 0/0 counts as 0; |0-2|/(0+2) gives the maximum 200
    assert smape(Y, F) == pytest.approx((200 * 1 / 3 + 0 + 200 * 2 / 10 + 200) / 4)
    assert mase(Y, F, TRAIN) == pytest.approx(1.25 / (5 / 3))
    assert mase(Y, F, TRAIN, m=2) == pytest.approx(1.25 / 1.0)  # |2-1|, |4-3|


def test_forecast_metrics_keys_and_values():
    out = forecast_metrics(Y, F, TRAIN)
    assert set(out) == {"mae", "rmse", "mape", "smape", "mase", "rmsse"}
    assert out["mase"] == pytest.approx(mase(Y, F, TRAIN))


def test_rmsse_and_bias_exact_values():
    # RMSE sqrt(9/4) over the root mean squared lag-1 difference sqrt((4 + 1 + 4) / 3)
    assert rmsse(Y, F, TRAIN) == pytest.approx(1.5 / np.sqrt(3.0))
    assert bias(Y, F) == pytest.approx((9 - 6) / 6)  # forecast sells 9, actuals 6
    assert np.isnan(bias(np.zeros(2), np.ones(2)))
    with pytest.raises(ValueError, match="constant"):
        rmsse(Y, F, np.full(4, 3.0))


def test_rmsse_prefers_the_mean_where_mase_prefers_zero():
    # an intermittent series: a sale of 4 one week in four; the zero forecast wins on MASE, the mean on RMSSE
    train = np.tile([0.0, 0.0, 0.0, 4.0], 10)
    actual = np.tile([0.0, 4.0, 0.0, 0.0], 4)
    zero, mean = np.zeros_like(actual), np.full_like(actual, 1.0)
    assert mase(actual, zero, train) < mase(actual, mean, train)
    assert rmsse(actual, mean, train) < rmsse(actual, zero, train)


def test_mape_all_zero_actuals_is_nan_and_perfect_forecast_is_zero():
    assert np.isnan(mape(np.zeros(3), np.ones(3)))
    assert smape(np.zeros(3), np.zeros(3)) == 0.0
    assert mase(TRAIN, TRAIN, TRAIN) == 0.0


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: mae([1.0, 2.0], [1.0]), "y_true has 2 values but y_pred has 1"),
        (lambda: mae([], []), "empty"),
        (lambda: rmse([1.0, np.nan], [1.0, 1.0]), r"y_true contains NaN/inf at index 1"),
        (lambda: mase([1.0], [1.0], [3.0, 3.0, 3.0]), r"constant at lag m=1 \(naive scale 0\)"),
        (lambda: mase([1.0], [1.0], [3.0]), "needs more than m=1 values"),
        (lambda: mase([1.0], [1.0], [1.0, 2.0], m=0), "m must be a positive int"),
    ],
)
def test_bad_inputs(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_m4_naive_reference_values():
    """The M4 Naive forecast on M4 Weekly scores sMAPE 9.161 and MASE 2.777 (official figures)."""
    from pathlib import Path

    folder = Path("/work/shared/data/m4-weekly")
    if not (folder / "Weekly-test.csv").exists():
        pytest.skip("M4 Weekly data not available")

    def load(path: Path) -> list[np.ndarray]:
        rows = path.read_text().splitlines()[1:]
        return [np.array([float(c.strip('"')) for c in r.split(",")[1:] if c.strip('"')]) for r in rows]

    train, test = load(folder / "Weekly-train.csv"), load(folder / "Weekly-test.csv")
    naive = [np.repeat(y[-1], 13) for y in train]
    assert np.mean([smape(t, f) for t, f in zip(test, naive, strict=True)]) == pytest.approx(9.161, abs=5e-4)
    assert np.mean([mase(t, f, y) for t, f, y in zip(test, naive, train, strict=True)]) == pytest.approx(
        2.777, abs=5e-4
    )


def test_interval_coverage_and_msis_by_hand():
    y = np.array([10.0, 12.0, 20.0, 5.0])
    lower = np.array([8.0, 8.0, 8.0, 8.0])
    upper = np.array([14.0, 14.0, 14.0, 14.0])
    train = np.array([1.0, 3.0, 2.0, 4.0])  # naive scale (2 + 1 + 2) / 3
    assert coverage(y, lower, upper) == 0.5  # 20 above, 5 below
    # widths 6 each; penalties 2/0.05 * (20 - 14) = 240 and 40 * (8 - 5) = 120
    assert msis(y, lower, upper, train, alpha=0.05) == pytest.approx((24 + 240 + 120) / 4 / (5 / 3))
    with pytest.raises(ValueError, match="lower bound above upper bound at index 1"):
        coverage(y, lower, np.array([14.0, 7.0, 14.0, 14.0]))
    with pytest.raises(ValueError, match="alpha must be in"):
        msis(y, lower, upper, train, alpha=1.5)
