"""Checks from a filter checkpoint: the new weeks alone give the numbers a filter over the whole series gives."""

import json

import numpy as np
import pytest

from arima_assets.forecasting import (
    ArimaModel,
    Checkpoint,
    ModelSpec,
    assess_drift,
    assess_performance,
    drift_from_errors,
    make_checkpoint,
    performance_from_errors,
    track_new_weeks,
)
from arima_assets_tests.forecasting.conftest import make_weekly_sales

SPECS = [
    ModelSpec(order=(1, 1, 1), fourier_k=2, transform="log1p"),
    ModelSpec(order=(2, 0, 1), fourier_k=3, trend="c"),
    ModelSpec(order=(1, 1, 0), trend="t"),
    ModelSpec(order=(0, 1, 1)),
]


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.label())
def test_continue_filter_equals_a_filter_over_the_whole_series(spec: ModelSpec) -> None:
    series = make_weekly_sales(n=230, seed=11, walk=0.8)
    model = ArimaModel(spec).fit(series.iloc[:200])
    state, state_cov = model.filter_state()
    errors, blocks = model.continue_filter(state, state_cov, series.iloc[200:], horizon=13)
    np.testing.assert_allclose(errors, model.one_step_errors(series)[200:], rtol=0, atol=1e-8)
    expected = model.origin_forecasts(series, np.array([200, 213]), 13)
    np.testing.assert_allclose(blocks[:2], expected, rtol=0, atol=1e-8)
    assert blocks.shape == (3, 13) and np.isnan(blocks[2, 4:]).all() and np.isfinite(blocks[2, :4]).all()


def test_checkpoint_gives_the_full_filter_drift_and_performance() -> None:
    series = make_weekly_sales(n=240, seed=5, shift_at=215, shift=25.0)
    model = ArimaModel(ModelSpec(order=(1, 0, 1), fourier_k=2, trend="c")).fit(series.iloc[:200])
    checkpoint = Checkpoint.from_dict(json.loads(json.dumps(make_checkpoint(model, series).to_dict())))
    light = ArimaModel.from_dict(model.to_dict(), refilter=False)
    new = track_new_weeks(light, checkpoint, series, horizon=13)
    assert new.n_new == 40

    full = assess_drift(model, series, threshold=4.0)
    fast = drift_from_errors(checkpoint.baseline, new.errors, new.values, threshold=4.0)
    assert fast.drifted and full.drifted
    assert fast.score == pytest.approx(full.score, rel=1e-9)
    assert fast.details["z_level"] == pytest.approx(full.details["z_level"], rel=1e-9)

    full_perf = assess_performance(model, series, baseline_mase=0.6, threshold=0.25)
    fast_perf = performance_from_errors(new.block_errors, checkpoint.scale, 0.6, 0.25)
    assert fast_perf.recent_mase == pytest.approx(full_perf.recent_mase, rel=1e-9)
    assert fast_perf.degraded == full_perf.degraded is True


def test_regime_start_removes_the_year_over_year_changes_across_an_adopted_change() -> None:
    series = make_weekly_sales(n=300, seed=2, amplitude=5.0, noise=3.0, shift_at=250, shift=30.0)
    model = ArimaModel(ModelSpec(order=(0, 1, 1))).fit(series.iloc[:262])  # an adaptive model, fitted after it
    across = assess_drift(model, series, threshold=4.0)
    after = assess_drift(model, series, threshold=4.0, regime_start=250)
    assert across.details["z_level"] > 4.0, "the year-over-year changes still see the shift"
    assert np.isnan(after.details["z_level"]) or after.details["z_level"] < 4.0
    assert not after.drifted


def test_a_malformed_checkpoint_or_state_is_named() -> None:
    with pytest.raises(ValueError, match="checkpoint is malformed: KeyError"):
        Checkpoint.from_dict({"until": "2024-01-06"})
    series = make_weekly_sales(n=120)
    model = ArimaModel(ModelSpec(order=(1, 1, 1))).fit(series.iloc[:100])
    with pytest.raises(ValueError, match=r"checkpoint state has shape \(5,\)"):
        model.continue_filter(np.zeros(5), np.eye(5), series.iloc[100:], horizon=13)


def test_the_series_must_reach_the_checkpoint() -> None:
    series = make_weekly_sales(n=150)
    model = ArimaModel(ModelSpec(order=(0, 1, 1))).fit(series.iloc[:120])
    checkpoint = make_checkpoint(model, series)
    with pytest.raises(ValueError, match="starts after the checkpoint week"):
        track_new_weeks(model, checkpoint, series.iloc[125:], horizon=13)
    nothing_new = track_new_weeks(model, checkpoint, series.iloc[:120], horizon=13)
    assert nothing_new.n_new == 0
