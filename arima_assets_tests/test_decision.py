"""The decision engine: each trigger, on real fitted models and real series."""

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from arima_assets.config import get_arima_config
from arima_assets.decision import ModelRecord, Trigger, age_verdict, decide, forced_verdict
from arima_assets.forecasting import ArimaModel, ModelSpec, make_checkpoint

NOW = datetime(2024, 8, 1, tzinfo=UTC)
CHAMPION_SPEC = ModelSpec(order=(1, 0, 1), fourier_k=2, trend="c")


def weekly(n: int, seed: int = 0, shift_at: int | None = None, factor: float = 2.5) -> pd.Series:
    """A seeded weekly sales series with a yearly cycle; optionally its level multiplied from `shift_at` on."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    level = 200 + 60 * np.sin(2 * np.pi * t / 52.18) + rng.normal(0, 12, n)
    if shift_at is not None:
        level[shift_at:] *= factor
    index = pd.date_range(end="2024-07-20", periods=n, freq="W-SAT", name="week_end")
    return pd.Series(np.maximum(level, 0), index=index, name="9780722532935")


def record_for(
    series: pd.Series,
    trained_weeks: int,
    age_days: float = 10.0,
    spec: ModelSpec = CHAMPION_SPEC,
) -> ModelRecord:
    """A champion with `spec` fitted on the first `trained_weeks` of `series`, trained `age_days` before NOW."""
    train = series.iloc[:trained_weeks]
    model = ArimaModel(spec).fit(train)
    trained_at = NOW - timedelta(days=age_days)
    return ModelRecord(
        isbn="9780722532935",
        model=model.to_dict(),
        spec_label=model.spec.label(),
        trained_at=trained_at,
        age_clock_start=trained_at,
        data_start=str(train.index[0].date()),
        data_end=str(train.index[-1].date()),
        data_version="v1",
        cv_mase=0.8,
        holdout_mase=0.8,
    )


@pytest.fixture(scope="module")
def config():
    return get_arima_config("testing", max_model_age_days=30)


def test_no_record_means_missing(config) -> None:
    decision = decide(None, weekly(200), config, NOW)
    assert decision.retrain and decision.fired == [Trigger.MISSING]
    assert decision.reasons == ["[missing] no champion model yet"]


def test_fresh_model_on_stable_data_is_reused(config) -> None:
    series = weekly(200)
    decision = decide(record_for(series, 188), series, config, NOW)
    assert decision.action == "reuse", decision.to_dict()
    assert {t.trigger for t in decision.triggers} == {Trigger.AGE, Trigger.DRIFT, Trigger.PERFORMANCE, Trigger.BREAK}
    assert all(not t.fired for t in decision.triggers)


def test_old_model_fires_age_with_value_and_threshold(config) -> None:
    series = weekly(200)
    decision = decide(record_for(series, 188, age_days=45), series, config, NOW)
    age = decision.get(Trigger.AGE)
    assert decision.retrain and age is not None and age.fired
    assert age.observed == pytest.approx(45.0) and age.threshold == 30.0
    assert "exceeds limit 30 d" in age.reason


def test_level_shift_after_training_fires_drift(config) -> None:
    series = weekly(220, shift_at=196)
    decision = decide(record_for(series, 196), series, config, NOW)
    assert Trigger.DRIFT in decision.fired, decision.to_dict()
    drift = decision.get(Trigger.DRIFT)
    assert drift.observed > drift.threshold


def test_without_series_only_clock_triggers_are_judged(config) -> None:
    series = weekly(200)
    decision = decide(record_for(series, 188), None, config, NOW)
    assert [t.trigger for t in decision.triggers] == [Trigger.AGE]


def test_force_retrain_always_trains() -> None:
    forced = get_arima_config("testing", force_retrain=True)
    series = weekly(200)
    decision = decide(record_for(series, 188), series, forced, NOW)
    assert decision.retrain and Trigger.FORCED in decision.fired


def test_unloadable_model_is_invalid(config) -> None:
    series = weekly(200)
    broken = record_for(series, 188)
    broken = ModelRecord(**{**broken.__dict__, "model": {"format_version": 999}})
    decision = decide(broken, series, config, NOW)
    assert Trigger.INVALID in decision.fired


def test_clock_verdicts_used_by_automation(config) -> None:
    assert not age_verdict(NOW - timedelta(days=29), config, NOW).fired
    assert age_verdict(NOW - timedelta(days=31), config, NOW).fired
    forced = get_arima_config("testing", force_retrain=True)
    assert forced_verdict(NOW - timedelta(days=1), forced, forced_since=NOW).fired
    assert not forced_verdict(NOW + timedelta(seconds=1), forced, forced_since=NOW).fired
    assert not forced_verdict(NOW - timedelta(days=1), config, forced_since=NOW).fired


def test_record_round_trip() -> None:
    record = record_for(weekly(120), 110)
    assert ModelRecord.from_dict(record.to_dict()) == record


def test_zero_holdout_baseline_is_floored_not_an_error(config) -> None:
    series = weekly(200)
    perfect = ModelRecord(**{**record_for(series, 188).__dict__, "holdout_mase": 0.0})
    decision = decide(perfect, series, config, NOW)
    performance = decision.get(Trigger.PERFORMANCE)
    assert performance is not None and performance.observed is not None


def _adopted(series: pd.Series, trained_weeks: int, cv_mase: float) -> ModelRecord:
    """A record as a change-driven step writes it: CV MASE only (no holdout), a checkpoint, the cool-down flag."""
    record = record_for(series, trained_weeks)
    model = record.load_model()
    checkpoint = make_checkpoint(model, series).to_dict()
    values = {**record.__dict__, "cv_mase": cv_mase, "holdout_mase": float("nan"), "checkpoint": checkpoint}
    return ModelRecord(**{**values, "adopted_on_change": True})


def test_adopted_model_is_judged_against_its_first_weeks_not_its_optimistic_cv_mase(config) -> None:
    series = weekly(200, seed=2)
    adopted = _adopted(series, 170, cv_mase=0.05)  # 30 weeks after training: 13 for the baseline, 17 judged
    performance = decide(adopted, series, config, NOW).get(Trigger.PERFORMANCE)
    assert not performance.fired and performance.observed < 1.5, performance
    optimistic = ModelRecord(**{**adopted.__dict__, "adopted_on_change": False})
    assert decide(optimistic, series, config, NOW).get(Trigger.PERFORMANCE).fired  # by construction, before
    early = decide(adopted, series.iloc[:190], config, NOW).get(Trigger.PERFORMANCE)
    assert not early.fired and "baseline re-estimated on the first 13 weeks" in early.reason, early.reason


def test_break_fires_one_week_after_training_whatever_the_evidence_rule(config) -> None:
    series = weekly(190, shift_at=189, factor=0.4)
    decision = decide(record_for(series, 188), series, config, NOW)
    assert decision.retrain and decision.fired == [Trigger.BREAK], decision.reasons
    assert "insufficient new data (2 < 8" in decision.get(Trigger.DRIFT).reason
