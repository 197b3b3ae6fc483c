"""The sequential break test: fires on large level changes within two weeks, quiet on stable series."""

import numpy as np
import pandas as pd
import pytest

from arima_assets.forecasting import ArimaModel, ModelSpec, make_checkpoint, track_new_weeks
from arima_assets.forecasting.drift import ErrorBaseline
from arima_assets.forecasting.sequential import (
    LEVEL_THRESHOLD,
    SCALE_THRESHOLD,
    break_from_errors,
    calibrate_thresholds,
    cusum_statistics,
    standardized_errors,
)
from arima_assets_tests.forecasting.conftest import make_weekly_sales

SPEC = ModelSpec(order=(1, 0, 1), fourier_k=2, trend="c")
UNIT = ErrorBaseline(sigma=1.0, rho=0.0, n=104)


def _errors_after(series: pd.Series, trained: int) -> tuple[np.ndarray, ErrorBaseline]:
    """One-step errors of the weeks after `trained`, from a real fit and its filter checkpoint."""
    model = ArimaModel(SPEC).fit(series.iloc[:trained])
    checkpoint = make_checkpoint(model, series)
    new = track_new_weeks(model, checkpoint, series, horizon=13)
    return new.errors, checkpoint.baseline


def _weeks_to_fire(errors: np.ndarray, baseline: ErrorBaseline) -> int | None:
    for week in range(1, errors.size + 1):
        if break_from_errors(errors[:week], baseline).fired:
            return week
    return None


@pytest.mark.parametrize("factor", [0.4, 2.5])
def test_large_level_change_fires_within_two_weeks(factor: float) -> None:
    series = make_weekly_sales(n=220, level=200.0, amplitude=40.0, noise=12.0)
    changed = series.copy()
    changed.iloc[201:] = (changed.iloc[201:] * factor).round()  # one normal week after training, then the change
    errors, baseline = _errors_after(changed, 200)
    fired_at = _weeks_to_fire(errors, baseline)
    assert fired_at is not None and fired_at - 1 <= 2, fired_at  # weeks of changed data seen
    result = break_from_errors(errors[:fired_at], baseline)
    assert result.component == ("level down" if factor < 1 else "level up")
    assert result.statistic > result.threshold == LEVEL_THRESHOLD
    assert "break (level" in result.reason


def test_stable_arima_series_stay_quiet_at_the_calibrated_rate() -> None:
    rng = np.random.default_rng(7)
    looks = fires = 0
    for seed in range(30):
        n = 226
        shocks = rng.standard_t(5, n) * 8.0 if seed % 2 else rng.normal(0, 8.0, n)
        noise = np.zeros(n)
        for t in range(1, n):  # ARMA(1,1) errors around a seasonal level
            noise[t] = 0.5 * noise[t - 1] + shocks[t] + 0.3 * shocks[t - 1]
        level = 150 + 30 * np.sin(2 * np.pi * np.arange(n) / 52.18) + noise
        series = pd.Series(np.maximum(level, 0), index=pd.date_range("2019-01-05", periods=n, freq="W-SAT"))
        errors, baseline = _errors_after(series, 200)
        for week in range(1, errors.size + 1):
            looks += 1
            fires += break_from_errors(errors[:week], baseline).fired
    assert looks == 30 * 26
    # calibrated at <= 0.001 per look (two statistics at 0.0005) under t(4) errors: about 0.8 expected here
    assert fires <= 3, f"{fires} false alarms in {looks} looks"


def test_one_outlier_does_not_fire_two_weeks_in_a_row_do() -> None:
    assert not break_from_errors(np.array([0.3, -0.5, 5.4]), UNIT).fired
    assert not break_from_errors(np.array([0.3, 3.4, -3.4]), UNIT).fired  # large but opposite signs
    assert not break_from_errors(np.array([0.3, -3.4, -3.4]), UNIT).fired
    down = break_from_errors(np.array([0.3, -3.6, -3.6]), UNIT)
    assert down.fired and down.component == "level down"
    scale = break_from_errors(np.array([0.2, 3.7, -3.7]), UNIT)
    assert scale.fired and scale.component == "scale up" and scale.threshold == SCALE_THRESHOLD


def test_standardization_uses_long_run_sd_and_rejects_nan() -> None:
    baseline = ErrorBaseline(sigma=2.0, rho=0.5, n=104)
    assert standardized_errors(np.array([6.0]), baseline)[0] == pytest.approx(6.0 / (2.0 * np.sqrt(3.0)))
    with pytest.raises(ValueError, match="finite"):
        standardized_errors(np.array([1.0, np.nan]), baseline)
    assert break_from_errors(np.empty(0), UNIT).reason == "no new week after training yet"


def test_cusum_paths_follow_the_recursion() -> None:
    paths = cusum_statistics(np.array([3.0, 3.0, -1.0]))
    np.testing.assert_allclose(paths["level up"], [1.5, 3.0, 0.5])
    np.testing.assert_allclose(paths["level down"], [0.0, 0.0, 0.0])


def test_thresholds_are_the_calibrated_quantiles() -> None:
    level, scale = calibrate_thresholds(n_paths=100_000, seed=1)
    assert level == pytest.approx(LEVEL_THRESHOLD, rel=0.1)
    assert scale == pytest.approx(SCALE_THRESHOLD, rel=0.1)
    with pytest.raises(ValueError, match="alpha"):
        calibrate_thresholds(level_alpha=0.7)


def test_wider_sd_after_an_adoption_needs_a_larger_break() -> None:
    errors = np.array([-3.6, -3.6])
    assert break_from_errors(errors, UNIT).fired
    assert not break_from_errors(errors, UNIT, sd_factor=2.0).fired
    assert break_from_errors(np.array([-12.0]), UNIT, sd_factor=2.0).fired
    with pytest.raises(ValueError, match="sd_factor"):
        break_from_errors(errors, UNIT, sd_factor=0.5)
