import dataclasses
import re

import numpy as np
import pandas as pd
import pytest

from arima_assets.forecasting import (
    BENCHMARK_SPECS,
    FALLBACK_SPEC,
    NAIVE_SPEC,
    SEARCH_SPACES,
    ArimaModel,
    FitError,
    ModelSpec,
    TuningSettings,
    cv_score,
    holdout_errors,
    make_checkpoint,
    track_new_weeks,
    tune_model,
    tuning,
)

from .conftest import make_weekly_sales

FAST = TuningSettings(n_trials=5, patience=10, max_train_weeks=156, cv_folds=2)


@pytest.fixture(scope="module")
def sales():
    return make_weekly_sales(n=200, seed=1)


@pytest.fixture(scope="module")
def tuned(sales):
    return tune_model(sales, FAST)


def test_result_is_complete_and_model_ready(sales, tuned):
    assert isinstance(tuned.model, ArimaModel) and tuned.model.spec == tuned.spec
    assert tuned.model.trained_until == sales.index[-1]
    assert tuned.model.n_obs == 156  # refit on the last max_train_weeks weeks of all data
    assert tuned.trials_run == 5 and tuned.stopped_by == "n_trials"
    assert tuned.trials_failed == 0 and not tuned.used_fallback and tuned.fallback_reason is None
    assert set(tuned.holdout_metrics) == {"mae", "rmse", "mape", "smape", "mase", "rmsse"}
    assert tuned.holdout_errors.shape == (13,)
    assert 0 < tuned.cv_mase < 2 and tuned.fit_seconds > 0
    assert tuned.cv_folds == 2 and len(tuned.trial_log) == 5
    # the anchors are evaluated first
    assert [t["label"] for t in tuned.trial_log[:3]] == ["ARIMA(0,1,1)", "ARIMA(1,1,1)+F2", "ARIMA(0,1,0)"]
    assert tuned.model.forecast(13)["mean"].between(0, 200).all()


def test_holdout_errors_follow_the_holdout_fit(sales, tuned):
    model = tuned.holdout_model
    assert model.trained_until == sales.index[-14] and model.n_obs == 156
    expected = sales.iloc[-13:].to_numpy() - model.forecast(13, level=())["mean"].to_numpy()
    np.testing.assert_allclose(tuned.holdout_errors, expected)
    # warm-started from the search: the same optimum as a cold fit, up to the optimiser's tolerance
    cold = ArimaModel(tuned.spec).fit(sales.iloc[-13 - 156 : -13])
    np.testing.assert_allclose(model.forecast(13)["mean"], cold.forecast(13)["mean"], rtol=0.02)


def test_same_data_and_seed_give_the_same_spec(sales, tuned):
    again = tune_model(sales, FAST)
    assert again.spec == tuned.spec and again.cv_mase == tuned.cv_mase
    assert [t["label"] for t in again.trial_log] == [t["label"] for t in tuned.trial_log]


def test_holdout_is_never_seen_by_the_search(sales, tuned):
    changed = sales.copy()
    changed.iloc[-13:] = changed.iloc[-13:] * 5 + 300
    other = tune_model(changed, FAST)
    assert other.spec == tuned.spec
    assert other.cv_mase == tuned.cv_mase
    assert [t["value"] for t in other.trial_log] == [t["value"] for t in tuned.trial_log]
    assert other.holdout_metrics["mase"] > 5 * tuned.holdout_metrics["mase"]


def test_patience_stops_the_study(sales):
    settings = dataclasses.replace(FAST, n_trials=30, patience=2, min_improvement=0.99)
    result = tune_model(sales, settings)
    assert result.stopped_by == "patience"
    assert result.trials_run == 3  # the first sets the best, two more cannot improve it by 99 %


def test_time_budget_stops_the_study(sales):
    result = tune_model(sales, dataclasses.replace(FAST, n_trials=30, time_budget_s=1e-3))
    assert result.stopped_by == "time_budget" and result.trials_run < 30


def test_warm_start_is_the_first_trial(sales):
    warm = ModelSpec(order=(2, 1, 0), fourier_k=3, trend="t")
    result = tune_model(sales, dataclasses.replace(FAST, n_trials=3), warm_start=warm)
    assert result.trial_log[0]["label"] == warm.label()
    # a warm spec outside the search space (seasonal) is evaluated as it is
    seasonal = ModelSpec(order=(0, 1, 1), seasonal_order=(0, 1, 0))
    result = tune_model(make_weekly_sales(n=260), dataclasses.replace(FAST, n_trials=2), warm_start=seasonal)
    assert result.trial_log[0]["label"] == seasonal.label()
    assert result.trial_log[0]["state"] == "COMPLETE"


def test_all_trials_failing_falls_back(sales, monkeypatch):
    # a space of seasonal specs needing more weeks than the first CV fold holds: every trial fails
    broken = dataclasses.replace(SEARCH_SPACES["default"], seasonal_orders=((0, 1, 1),), min_weeks_for_seasonal=0)
    monkeypatch.setitem(SEARCH_SPACES, "too_long", broken)
    settings = dataclasses.replace(FAST, n_trials=3, search_space="too_long", max_train_weeks=100)
    # the benchmarks are scored by the same CV: the best of them is served
    result = tune_model(sales, settings)
    assert result.used_fallback and result.spec in BENCHMARK_SPECS
    assert result.cv_mase == min(cv_score(s, sales.iloc[-113:-13], 13, 2, regression="ols") for s in BENCHMARK_SPECS)
    assert result.fallback_reason.startswith(f"benchmark {result.spec.label()} served (CV MASE ")
    assert result.fallback_reason.endswith("no searched spec could be scored")
    # without benchmarks: FALLBACK_SPEC
    monkeypatch.setattr(tuning, "BENCHMARK_SPECS", ())
    result = tune_model(sales, settings)
    assert result.used_fallback and result.spec == FALLBACK_SPEC
    assert result.trials_failed == 3 and result.trials_pruned == 0
    assert result.fallback_reason.startswith("all 3 trials failed; reasons: ValueError: cv_score: first fold")
    assert np.isfinite(result.cv_mase) and result.model.spec == FALLBACK_SPEC
    assert all(t["fail_reason"] for t in result.trial_log)


def test_runner_up_when_the_best_spec_fails_on_the_full_data(sales, tuned, monkeypatch):
    real = tuning._holdout_and_final

    def best_fails(candidate, *args):
        if candidate.spec == tuned.spec:
            raise FitError(f"{candidate.spec.label()}: simulated unit root")
        return real(candidate, *args)

    monkeypatch.setattr(tuning, "_holdout_and_final", best_fails)
    result = tune_model(sales, FAST)
    assert result.used_fallback and result.spec != tuned.spec
    # the runner-up of the refined ranking: the best refine_top quick-scored specs, scored again with MLE fits
    complete = sorted((t for t in tuned.trial_log if t["state"] == "COMPLETE"), key=lambda t: t["value"])
    labels = list(dict.fromkeys(t["label"] for t in complete))
    assert result.spec.label() in labels[: FAST.refine_top]
    window = sales.iloc[-13 - 156 : -13]
    assert result.cv_mase == cv_score(result.spec, window, 13, 2, maxiter=FAST.maxiter, regression="ols")
    assert result.fallback_reason == (
        f"runner-up {result.spec.label()} used: {tuned.spec.label()} failed on the full data: "
        f"{tuned.spec.label()}: simulated unit root"
    )


def test_invalid_inputs(sales):
    # too short or constant series get a benchmark instead (test_fallback.py); invalid values still raise
    with pytest.raises(ValueError, match=r"y: 1 NaN/inf value\(s\)"):
        tune_model(sales.where(sales.index != sales.index[5]), FAST)
    with pytest.raises(ValueError, match=r"y: 1 negative value\(s\), first -1"):
        tune_model(sales.where(sales.index != sales.index[5], -1.0), FAST)
    with pytest.raises(ValueError, match="y: series is empty"):
        tune_model(sales.iloc[:0], FAST)
    with pytest.raises(ValueError, match=r"y has 1 week; needs at least 2 for a benchmark forecast and 52"):
        tune_model(sales.iloc[:1], FAST)
    with pytest.raises(ValueError, match="TuningSettings.search_space must be one of default, arima, seasonal"):
        TuningSettings(search_space="everything")
    with pytest.raises(ValueError, match="TuningSettings.n_trials must be a positive int"):
        TuningSettings(n_trials=0)
    with pytest.raises(ValueError, match="TuningSettings.holdout_weeks must be an int >= 0"):
        TuningSettings(holdout_weeks=-1)
    with pytest.raises(ValueError, match="TuningSettings.refine_top must be an int >= 0"):
        TuningSettings(refine_top=-1)
    with pytest.raises(ValueError, match="TuningSettings.search_estimator must be one of mle, hannan_rissanen"):
        TuningSettings(search_estimator="css")


def test_holdout_errors_of_a_kept_model(sales):
    model = ArimaModel(ModelSpec(order=(1, 1, 1), fourier_k=2)).fit(sales.iloc[:150])
    errors = holdout_errors(model, sales, 13)
    expected = sales.iloc[-13:].to_numpy() - model.refresh(sales.iloc[:-13]).forecast(13)["mean"].to_numpy()
    np.testing.assert_allclose(errors, expected)
    with pytest.raises(ValueError, match="holdout_weeks must be a positive int"):
        holdout_errors(model, sales, 0)


def test_a_benchmark_is_served_when_every_searched_spec_loses_to_it_in_cv(monkeypatch):
    # a trending random walk, searched over moving averages around a level: each reverts to it, the naive follows
    rng = np.random.default_rng(3)
    weeks = pd.date_range("2020-01-04", periods=200, freq="W-SAT")
    y = pd.Series(500 + np.cumsum(rng.normal(4, 5, 200)), index=weeks)
    levels = dataclasses.replace(SEARCH_SPACES["default"], p_max=0, d_values=(0,), fourier_ks=(0,))
    monkeypatch.setitem(SEARCH_SPACES, "levels", levels)
    result = tune_model(y, dataclasses.replace(FAST, n_trials=6, search_space="levels"))
    assert result.spec == NAIVE_SPEC and result.used_fallback
    # the best searched spec after the refinement (its score from MLE fits on the same CV windows)
    reason = re.fullmatch(
        r"benchmark ARIMA\(0,1,0\) served: CV MASE ([\d.]+) vs ([\d.]+) of the best searched spec (\S+) "
        r"\(more than 10% better\)",
        result.fallback_reason,
    )
    assert reason and reason[1] == f"{result.cv_score:.3f}" and result.objective == "mase"  # a smooth series
    assert reason[3] in {t["label"] for t in result.trial_log if t["state"] == "COMPLETE"}
    assert result.cv_score < 0.9 * float(reason[2])  # chosen on the search's own CV windows
    # a parameters-only model like any other: stored, reloaded, refreshed (the pyfunc), checkpointed (the monitor)
    reloaded = ArimaModel.from_dict(result.model.to_dict())
    np.testing.assert_allclose(reloaded.forecast(13, level=())["mean"], y.iloc[-1])
    longer = pd.concat([y, pd.Series([900.0, 910.0], index=pd.date_range(weeks[-1], periods=3, freq="W-SAT")[1:])])
    np.testing.assert_allclose(reloaded.refresh(longer).forecast(4, level=())["mean"], 910.0)
    params_only = ArimaModel.from_dict(result.model.to_dict(), refilter=False)
    new = track_new_weeks(params_only, make_checkpoint(result.model, y), longer, horizon=13)
    np.testing.assert_allclose(new.errors, [900.0 - y.iloc[-1], 10.0])
    assert result.holdout_errors.shape == (13,)
    np.testing.assert_allclose(result.holdout_errors, y.iloc[-13:].to_numpy() - y.iloc[-14])
