import numpy as np
import pytest

from arima_assets.forecasting import DEFAULT_DRIFT_THRESHOLD, FALLBACK_SPEC, ArimaModel, ModelSpec, assess_drift

from .conftest import make_weekly_sales

FOURIER = ModelSpec(order=(1, 1, 1), fourier_k=2)


@pytest.mark.parametrize("spec", [FOURIER, FALLBACK_SPEC])
def test_no_drift_on_stable_seasonal_series(spec):
    scores = []
    for seed in range(20):
        y = make_weekly_sales(n=234, seed=seed)
        result = assess_drift(ArimaModel(spec).fit(y.iloc[:208]), y, DEFAULT_DRIFT_THRESHOLD)
        assert result.n_recent == 26
        scores.append(result.score)
    false_alarms = sum(s > DEFAULT_DRIFT_THRESHOLD for s in scores)
    assert false_alarms == 0, scores
    assert np.median(scores) < 2.5


@pytest.mark.parametrize("spec", [FOURIER, FALLBACK_SPEC])
@pytest.mark.parametrize("shift", [25.0, -25.0])
def test_drift_fires_on_a_level_shift(spec, shift):
    for seed in range(3):
        y = make_weekly_sales(n=234, seed=seed, shift_at=214, shift=shift)
        result = assess_drift(ArimaModel(spec).fit(y.iloc[:208]), y)
        assert result.drifted, result
        assert result.score > 2 * DEFAULT_DRIFT_THRESHOLD
        assert result.reason.startswith("drift: score")
        # the model-free component sees it even when an adaptive model (ARIMA(0,1,1)) absorbs the shift
        assert result.details["z_level"] > DEFAULT_DRIFT_THRESHOLD


def test_wandering_level_rarely_fires():
    """A random-walk level is not drift; measured false-alarm rate ~5-10 % at threshold 4."""
    fired = 0
    for seed in range(20):
        y = make_weekly_sales(n=234, seed=seed, walk=1.5)
        fired += assess_drift(ArimaModel(FOURIER).fit(y.iloc[:208]), y).drifted
    assert fired <= 3


def test_insufficient_new_data(weekly_sales):
    model = ArimaModel(FOURIER).fit(weekly_sales.iloc[:200])
    result = assess_drift(model, weekly_sales.iloc[:205], threshold=4.0, min_recent_weeks=8)
    assert not result.drifted and result.n_recent == 5 and np.isnan(result.score)
    assert result.reason == "insufficient new data (5 < 8 weeks after training)"


def test_details_and_bad_inputs(weekly_sales):
    model = ArimaModel(FOURIER).fit(weekly_sales.iloc[:200])
    result = assess_drift(model, weekly_sales)
    assert {"z_bias", "z_scale", "z_level", "sigma_train", "level_ratio", "ks_pvalue_levels"} <= set(result.details)
    assert result.score == max(result.details["z_bias"], result.details["z_scale"], result.details["z_level"])
    with pytest.raises(ValueError, match="usable training weeks"):
        assess_drift(model, weekly_sales.iloc[190:])
    with pytest.raises(ValueError, match="threshold must be > 0"):
        assess_drift(model, weekly_sales, threshold=0)
    with pytest.raises(ValueError, match="is not fitted"):
        assess_drift(ArimaModel(FOURIER), weekly_sales)
