import json

import numpy as np
import pandas as pd
import pytest

from arima_assets.forecasting import TuningSettings, make_checkpoint, track_new_weeks, tune_model
from arima_assets.forecasting.intermittent import (
    CROSTON_ALPHA,
    IntermittentModel,
    IntermittentSpec,
    model_from_dict,
)
from arima_assets.forecasting.metrics import mase, rmsse

WEEKS = pd.date_range("2019-01-05", periods=260, freq="W-SAT")


def intermittent_sales(seed: int = 0, n: int = 260, p: float = 0.25) -> pd.Series:
    """A slow seller: a sale in about one week of four, 1-4 copies."""
    rng = np.random.default_rng(seed)
    return pd.Series((rng.random(n) < p) * rng.integers(1, 5, n), index=WEEKS[:n], dtype=float)


@pytest.mark.parametrize("method", ["croston_sba", "tsb"])
def test_recursions_by_hand(method):
    y = pd.Series([0.0, 4.0, 0.0, 0.0, 2.0, 0.0] * 3, index=WEEKS[:18])
    model = IntermittentModel(IntermittentSpec(method)).fit(y)
    assert model.params["z0"] == pytest.approx(3.0)  # mean non-zero sale
    z, fitted = model.params["z0"], []
    if method == "tsb":
        a, b, p = model.params["alpha"], model.params["beta"], model.params["p0"]
        assert p == pytest.approx(1 / 3)
        for v in y:
            fitted.append(p * z)
            p += b * ((v > 0) - p)
            z += a * (v - z) if v > 0 else 0.0
        expected = p * z
    else:
        a, q, k = model.params["alpha"], model.params["q0"], 0
        assert a == CROSTON_ALPHA and q == pytest.approx(3.0)  # 18 weeks / 6 sales
        for v in y:
            fitted.append((1 - a / 2) * z / q)
            k += 1
            if v > 0:
                z, q, k = z + a * (v - z), q + a * (k - q), 0
        expected = (1 - a / 2) * z / q
    np.testing.assert_allclose(model.one_step_errors(y), y.to_numpy() - np.array(fitted))
    fc = model.forecast(4)
    np.testing.assert_allclose(fc["mean"], expected)
    assert list(fc.index) == list(pd.date_range(WEEKS[18], periods=4, freq="W-SAT"))
    assert (fc["lo-95"] >= 0).all() and (fc["lo-95"] <= fc["lo-80"]).all() and (fc["hi-80"] < fc["hi-95"]).all()
    assert np.all(np.diff(fc["hi-95"]) > 0)  # wider with the horizon


def test_tsb_weights_are_chosen_on_the_fitting_data():
    # a title that stops selling: TSB's probability must follow it down, so the grid's slowest beta loses
    y = pd.Series(np.r_[np.tile([0.0, 3.0], 60), np.zeros(20)], index=WEEKS[:140])
    model = IntermittentModel(IntermittentSpec("tsb")).fit(y)
    assert model.params["beta"] > 0.01
    assert model.forecast(1, level=())["mean"].iloc[0] < 0.6  # decayed from 1.5 a week towards zero
    croston = IntermittentModel(IntermittentSpec("croston_sba")).fit(y)
    assert croston.forecast(1, level=())["mean"].iloc[0] > 1.0  # Croston stays put


@pytest.mark.parametrize("method", ["croston_sba", "tsb"])
def test_stored_refreshed_and_checkpointed_like_an_arima_model(method):
    y = intermittent_sales(seed=2)
    model = IntermittentModel(IntermittentSpec(method)).fit(y.iloc[:220])
    payload = json.loads(model.to_json())
    assert payload["kind"] == "intermittent" and payload["label"] in ("Croston-SBA", "TSB")
    loaded = model_from_dict(payload)
    assert isinstance(loaded, IntermittentModel)
    pd.testing.assert_frame_equal(loaded.forecast(13), model.forecast(13))
    # refresh without refit: same parameters, recursion over the longer data
    refreshed = loaded.refresh(y)
    assert refreshed.params == model.params and refreshed.trained_until == model.trained_until
    assert refreshed.filtered_until == y.index[-1]
    # CV paths from one pass equal refresh-then-forecast
    paths = model.origin_forecasts(y, np.array([200, 230]), 13)
    np.testing.assert_allclose(paths[1], model.refresh(y.iloc[:230]).forecast(13, level=())["mean"])
    # the decision engine's checkpoint: the new weeks only, same numbers as a recursion over everything
    checkpoint = make_checkpoint(model, y)
    new = track_new_weeks(model_from_dict(payload, refilter=False), checkpoint, y, horizon=13)
    np.testing.assert_allclose(new.errors, model.one_step_errors(y)[220:])
    assert new.block_errors.shape == (40,)
    with pytest.raises(ValueError, match="parameters"):
        IntermittentModel.from_dict({**payload, "param_names": ["alpha"], "params": [0.1]})


def test_tuner_serves_an_unbiased_forecast_on_a_slow_seller():
    y = intermittent_sales(seed=4)
    settings = TuningSettings(n_trials=6, patience=10, max_train_weeks=156, cv_folds=2)
    result = tune_model(y, settings)
    assert result.demand_class is not None and result.demand_class.uses_intermittent_models
    labels = {t["label"] for t in result.trial_log}
    scored = {"Croston-SBA", "TSB"} | labels
    assert result.spec.label() in scored and result.objective == "rmsse"
    mean = result.model.forecast(13, level=())["mean"].to_numpy()
    # a mean forecast: near the average weekly sale, not the zero median
    assert 0.5 * y.iloc[-156:].mean() < mean.mean() < 2 * y.iloc[-156:].mean()
    assert result.cv_mase == pytest.approx(result.cv_mase) and np.isfinite(result.cv_score)
    holdout = y.iloc[-13:].to_numpy()
    assert np.isfinite(rmsse(holdout, result.holdout_model.forecast(13, level=())["mean"], y.iloc[:-13]))


def test_a_title_that_sold_recently_never_gets_a_flat_zero():
    # sold every fourth week for years, then nothing for 10 weeks, then one sale: a random walk would forecast 0
    values = np.r_[np.tile([0.0, 0.0, 0.0, 2.0], 40), np.zeros(10), [1.0], np.zeros(2)]
    y = pd.Series(values, index=WEEKS[: values.size])
    result = tune_model(y, TuningSettings(n_trials=6, patience=10, max_train_weeks=156, cv_folds=2))
    assert result.model.forecast(13, level=())["mean"].max() > 0.01


#: Weekly cases of r-cran-surveillance's `m1` (its first 170 weeks; week -> count, every other week 0): an outbreak,
#: then a case every few months, the last one 13 weeks before the end. Its three best specs all forecast zero.
OUTBREAK_THEN_RARE = {1: 3, 2: 1, 4: 5, 5: 1, 6: 6, 7: 15, 8: 11, 9: 9, 10: 10, 11: 8, 12: 6, 13: 13, 14: 11, 15: 13}
OUTBREAK_THEN_RARE |= {16: 17, 17: 12, 18: 5, 20: 1, 23: 1, 59: 1, 71: 1, 72: 1, 73: 1, 74: 1, 83: 1, 157: 1}


def test_when_every_best_spec_forecasts_zero_after_a_recent_sale_an_intermittent_model_is_served():
    values = np.zeros(170)
    values[list(OUTBREAK_THEN_RARE)] = list(OUTBREAK_THEN_RARE.values())
    y = pd.Series(values, index=WEEKS[: values.size])

    result = tune_model(y, TuningSettings(n_trials=8, patience=10))

    assert result.spec.label() in ("TSB", "Croston-SBA"), result.fallback_reason
    assert result.fallback_reason.count("forecasts zero although the title sold in the last 13 weeks") == 3
    assert result.model.forecast(13, level=())["mean"].min() > 1e-6
    assert np.isfinite(result.cv_score), "scored by the search's CV like any served spec"


def test_the_decision_engine_judges_an_intermittent_champion_from_its_checkpoint():
    from datetime import UTC, datetime

    from arima_assets.config import get_arima_config
    from arima_assets.decision import ModelRecord, Trigger, decide

    # sold in about one week of four for 4 years, then about every week at four times the size: drift
    rng = np.random.default_rng(7)
    values = np.r_[(rng.random(208) < 0.25) * rng.integers(1, 5, 208), rng.integers(4, 12, 30)].astype(float)
    y = pd.Series(values, index=pd.date_range(end="2024-07-20", periods=values.size, freq="W-SAT"))
    model = IntermittentModel(IntermittentSpec("tsb")).fit(y.iloc[:208])
    before = IntermittentModel(IntermittentSpec("tsb")).fit(y.iloc[:195])  # the record's holdout MASE, honestly
    holdout = mase(y.iloc[195:208], before.forecast(13, level=())["mean"], y.iloc[:195])
    trained_at = datetime(2024, 7, 1, tzinfo=UTC)
    fields = {
        "isbn": "9780000000002",
        "model": model.to_dict(),
        "spec_label": model.spec.label(),
        "trained_at": trained_at,
        "age_clock_start": trained_at,
        "data_start": str(y.index[0].date()),
        "data_end": str(y.index[207].date()),
        "data_version": "v1",
        "cv_mase": holdout,
        "holdout_mase": holdout,
    }
    light = ModelRecord(**fields, checkpoint=make_checkpoint(model, y).to_dict())
    assert isinstance(light.load_model(refilter=False), IntermittentModel)
    config = get_arima_config("testing", max_model_age_days=365)
    now = datetime(2024, 7, 25, tzinfo=UTC)
    fast, full = decide(light, y, config, now), decide(ModelRecord(**fields), y, config, now)
    assert Trigger.DRIFT in fast.fired and fast.retrain
    assert fast.get(Trigger.DRIFT).observed == pytest.approx(full.get(Trigger.DRIFT).observed, rel=1e-9)
    # no change after training: reused without a fit
    same = np.r_[values[:208], (rng.random(30) < 0.25) * rng.integers(1, 5, 30)]
    steady = decide(light, pd.Series(same, index=y.index), config, now)
    assert steady.action == "reuse", steady.to_dict()


def test_auto_objective_is_rmsse_for_intermittent_and_mase_for_smooth_series():
    from .conftest import make_weekly_sales

    settings = TuningSettings(n_trials=3, patience=10, max_train_weeks=156, cv_folds=2, objective="auto")
    slow = tune_model(intermittent_sales(seed=5), settings)
    assert slow.objective == "rmsse" and slow.demand_class.label in ("intermittent", "lumpy")
    smooth = tune_model(make_weekly_sales(n=200, seed=1), settings)
    assert smooth.objective == "mase" and smooth.demand_class.label == "smooth"
    assert smooth.cv_score == pytest.approx(smooth.cv_mase)
    with pytest.raises(ValueError, match="objective must be one of mase, rmsse, auto"):
        TuningSettings(objective="mse")


def test_a_record_keeps_its_demand_class():
    from datetime import UTC, datetime

    from arima_assets.decision import ModelRecord
    from arima_assets.forecasting import classify_demand

    y = intermittent_sales(seed=3)
    model = IntermittentModel(IntermittentSpec("croston_sba")).fit(y)
    now = datetime(2024, 7, 1, tzinfo=UTC)
    demand = classify_demand(y).to_dict()
    record = ModelRecord(
        isbn="9780000000002",
        model=model.to_dict(),
        spec_label=model.spec.label(),
        trained_at=now,
        age_clock_start=now,
        data_start=str(y.index[0].date()),
        data_end=str(y.index[-1].date()),
        data_version="v1",
        cv_mase=1.0,
        holdout_mase=1.0,
        demand_class=demand,
    )
    again = ModelRecord.from_dict(json.loads(json.dumps(record.to_dict())))
    assert again == record and again.demand_class["label"] in ("intermittent", "lumpy")
    old = record.to_dict()
    del old["demand_class"]  # a record written before the field existed
    assert ModelRecord.from_dict(old).demand_class == {}
