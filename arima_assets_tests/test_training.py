"""One ISBN's model step: reuse, promotion, and a champion kept against a weaker challenger."""

from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest

from arima_assets.config import get_arima_config
from arima_assets.decision import ModelRecord, Trigger, decide
from arima_assets.forecasting import ModelSpec
from arima_assets.training import _confirm_champion, run_model_step, series_version
from arima_assets_tests.test_decision import NOW, record_for, weekly


@pytest.fixture(scope="module")
def config():
    return get_arima_config("testing", n_trials=2)


def test_missing_champion_trains_and_records_everything(config) -> None:
    series = weekly(200)
    step = run_model_step("9780722532935", series, None, config, NOW)
    assert step.status == "trained" and step.promotion_reason == "no champion yet"
    record = step.champion
    assert record.trained_at == NOW == record.age_clock_start
    assert record.data_end == "2024-07-20" and record.data_version == series_version(series)
    assert record.trials_run >= 1 and record.fit_seconds > 0
    assert record.holdout_mase > 0 and len(record.holdout_errors) == config.holdout_weeks


def test_valid_champion_is_reused_without_a_fit(config) -> None:
    series = weekly(200)
    champion = record_for(series, 188)
    step = run_model_step("9780722532935", series, champion, config, NOW)
    assert step.status == "reused" and step.tuning is None and step.fit_seconds == 0.0
    assert step.champion is champion


def test_champion_kept_against_a_challenger_that_is_not_better(config) -> None:
    series = weekly(200, seed=4)
    champion = record_for(series, 200, age_days=400)  # in-sample on the comparison window: hard to beat
    later = datetime(2024, 8, 2, tzinfo=UTC)
    step = run_model_step("9780722532935", series, champion, config, later)
    assert Trigger.AGE in step.decision.fired
    assert step.status == "kept", step.promotion_reason
    kept = step.champion
    assert kept.model["params"] == champion.model["params"], "the champion's parameters are unchanged"
    assert kept.age_clock_start == later and kept.trained_at == champion.trained_at
    assert step.challenger is not None and step.challenger.spec_label
    assert not decide(kept, series, config, later).retrain, "the same evidence does not fire again"


def test_challenger_replaces_a_champion_broken_by_a_level_shift(config) -> None:
    series = weekly(240, shift_at=150, factor=3.0)
    champion = record_for(series, 150)  # trained before the shift, never saw it
    step = run_model_step("9780722532935", series, champion, config, NOW)
    assert Trigger.DRIFT in step.decision.fired
    assert step.status == "trained", step.promotion_reason
    assert "better" in step.promotion_reason.lower()
    assert step.champion.data_end == str(pd.Timestamp("2024-07-20").date())


def test_pending_challenger_is_promoted_without_a_fit_when_it_wins_later(config) -> None:
    series = weekly(240, shift_at=150, factor=3.0)
    stale = record_for(series, 150, spec=ModelSpec(order=(1, 0, 0), trend="c"))  # pre-shift level, mean-reverting
    champion = _confirm_champion(stale, series.iloc[:200], NOW)  # kept at week 200: drift reference moved on
    candidate = record_for(series, 200, age_days=0, spec=ModelSpec(order=(1, 1, 1)))
    step = run_model_step("9780722532935", series, champion, config, NOW, candidate=candidate)
    assert step.decision.action == "promote", step.decision.to_dict()
    assert step.status == "promoted" and step.fit_seconds == 0.0 and step.tuning is None
    assert step.champion.model == candidate.model and step.candidate is None
    assert "on 40 new weeks: challenger better" in step.promotion_reason


def test_pending_challenger_that_never_wins_expires(config) -> None:
    series = weekly(240, seed=7)
    champion = record_for(series, 200)
    step_fresh = run_model_step("9780722532935", series.iloc[:205], champion, config, NOW, candidate=champion)
    assert step_fresh.status == "reused" and step_fresh.candidate is champion, "too little evidence yet: pending"
    step_late = run_model_step("9780722532935", series, champion, config, NOW, candidate=champion)
    assert step_late.status == "reused" and step_late.candidate is None, "40 weeks without winning: dropped"


def _weekly_steps(series: pd.Series, first: int, champion, config, weeks: range) -> list:
    """The model step once a week on growing data (weeks: data lengths), carrying champion and candidate."""
    steps, candidate = [], None
    for length in weeks:
        now = NOW + pd.Timedelta(days=7 * (length - first))
        step = run_model_step("9780722532935", series.iloc[:length], champion, config, now, candidate=candidate)
        champion, candidate = step.champion, step.candidate
        steps.append(step)
    return steps


@pytest.fixture(scope="module")
def replay_config():
    return get_arima_config("testing", n_trials=3, max_model_age_days=3650)


@pytest.fixture(scope="module")
def collapse_steps(replay_config):
    """A x0.4 sales collapse at week 260, a champion trained at week 250, then one step a week to week 300."""
    series = weekly(300, seed=3, shift_at=260, factor=0.4)
    first = run_model_step("9780722532935", series.iloc[:250], None, replay_config, NOW)
    assert first.status == "trained" and first.champion.checkpoint, "a trained champion carries its checkpoint"
    return series, _weekly_steps(series, 250, first.champion, replay_config, range(251, 301))


def test_a_collapse_is_served_by_a_model_that_saw_it_within_min_evidence_weeks(collapse_steps, replay_config) -> None:
    series, steps = collapse_steps
    change = series.index[260]
    adopted = next(i for i, step in enumerate(steps) if pd.Timestamp(step.champion.data_end) >= change)
    changed_weeks_seen = (251 + adopted) - 260
    assert changed_weeks_seen <= replay_config.min_evidence_weeks + 1
    step = steps[adopted]
    assert step.status == "trained" and set(step.decision.fired) & {Trigger.DRIFT, Trigger.PERFORMANCE}
    assert step.promotion_reason.startswith("change detected: challenger trained on the change adopted")
    assert step.champion.adopted_on_change and step.champion.regime_start is not None
    assert pd.Timestamp(step.champion.regime_start) <= change
    assert all(s.status == "reused" for s in steps[:adopted]), "no retrain before the change"


def test_no_retrain_in_the_13_weeks_after_a_change_was_adopted(collapse_steps) -> None:
    series, steps = collapse_steps
    adopted = next(i for i, step in enumerate(steps) if step.status == "trained")
    after = steps[adopted + 1 : adopted + 14]
    assert len(after) == 13
    assert [s.status for s in after] == ["reused"] * 13
    cooling = after[0].decision.get(Trigger.DRIFT).reason
    assert "cool-down after an adopted change" in cooling
    fits = sum(1 for s in steps if s.status in ("trained", "kept"))
    assert fits == 1, [s.status for s in steps]


def test_an_unchanged_series_is_not_retrained(replay_config) -> None:
    series = weekly(300, seed=3)
    first = run_model_step("9780722532935", series.iloc[:250], None, replay_config, NOW)
    steps = _weekly_steps(series, 250, first.champion, replay_config, range(251, 301))
    assert [s.status for s in steps] == ["reused"] * 50
    last = steps[-1].decision
    assert last.get(Trigger.DRIFT).observed is not None and last.get(Trigger.PERFORMANCE).observed is not None


def test_a_trained_record_keeps_the_demand_class_of_its_training_data(config) -> None:
    smooth = run_model_step("9780722532935", weekly(200), None, config, NOW).champion
    assert smooth.demand_class["label"] == "smooth" and smooth.demand_class["zero_share"] == 0.0
    rng = np.random.default_rng(3)
    index = pd.date_range("2020-01-04", periods=160, freq="W-SAT")
    sparse = pd.Series(rng.poisson(0.3, 160).astype(float), index=index)  # a long-tail title: most weeks zero
    record = run_model_step("9780722532935", sparse, None, config, NOW).champion
    assert record.demand_class["label"] in ("intermittent", "lumpy"), record.demand_class
    assert record.demand_class["zero_share"] > 0.5
    assert ModelRecord.from_dict(record.to_dict()).demand_class == record.demand_class
