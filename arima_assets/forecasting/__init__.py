"""Pure forecasting core: model specs, SARIMAX fit/forecast/refresh, JSON (de)serialisation, Optuna tuning,
metrics, drift and performance statistics, Diebold-Mariano. Imports neither Dagster nor MLflow.

The tuner's names (``tune_model``, ``TuningSettings``, ``TuningResult``, ``SEARCH_SPACES``, ``holdout_errors``)
load lazily: fitting, refreshing and forecasting a kept model (the serving path of a registered model) never
import Optuna.

Importing the package limits the loaded OpenBLAS libraries to ``ARIMA_BLAS_THREADS`` threads (default 1;
``0`` leaves them alone): SARIMAX fits on tiny matrices are slower with multi-threaded BLAS on a busy machine
(see `threads.py`).
"""

from typing import TYPE_CHECKING as _TYPE_CHECKING
from typing import Any as _Any

from arima_assets.forecasting.comparison import DMResult, challenger_is_better, diebold_mariano
from arima_assets.forecasting.demand import DemandClass, classify_demand
from arima_assets.forecasting.drift import (
    DEFAULT_DRIFT_THRESHOLD,
    DriftResult,
    ErrorBaseline,
    assess_drift,
    drift_from_errors,
    insufficient_drift_data,
)
from arima_assets.forecasting.fallback import (
    BENCHMARK_SPECS,
    MEAN_SPEC,
    MIN_BENCHMARK_WEEKS,
    NAIVE_SPEC,
    benchmark_spec,
    fit_benchmark,
)
from arima_assets.forecasting.fourier import fourier_terms
from arima_assets.forecasting.intermittent import IntermittentModel, IntermittentSpec, model_from_dict
from arima_assets.forecasting.metrics import bias, coverage, forecast_metrics, mae, mape, mase, msis, rmse, rmsse, smape
from arima_assets.forecasting.model import MAX_FILTER_WEEKS, ArimaModel, FitError
from arima_assets.forecasting.monitor import Checkpoint, NewWeeks, make_checkpoint, track_new_weeks
from arima_assets.forecasting.performance import (
    PerformanceResult,
    assess_performance,
    insufficient_performance_data,
    performance_from_errors,
)
from arima_assets.forecasting.spec import FALLBACK_SPEC, SEASONAL_PERIOD, YEAR_WEEKS, ModelSpec
from arima_assets.forecasting.threads import limit_blas_threads, limit_blas_threads_from_env
from arima_assets.forecasting.validation import cv_score, cv_scores, rolling_origin_splits

if _TYPE_CHECKING:
    from arima_assets.forecasting.tuning import (
        SEARCH_SPACES,
        TuningResult,
        TuningSettings,
        holdout_errors,
        tune_model,
    )

#: Names loaded on first use from the tuner (which imports Optuna), not when the package is imported.
_TUNER_NAMES = frozenset({"SEARCH_SPACES", "TuningResult", "TuningSettings", "holdout_errors", "tune_model"})

__all__ = [
    "BENCHMARK_SPECS",
    "DEFAULT_DRIFT_THRESHOLD",
    "FALLBACK_SPEC",
    "MAX_FILTER_WEEKS",
    "MEAN_SPEC",
    "MIN_BENCHMARK_WEEKS",
    "NAIVE_SPEC",
    "SEARCH_SPACES",
    "SEASONAL_PERIOD",
    "YEAR_WEEKS",
    "ArimaModel",
    "Checkpoint",
    "DMResult",
    "DemandClass",
    "DriftResult",
    "ErrorBaseline",
    "FitError",
    "IntermittentModel",
    "IntermittentSpec",
    "ModelSpec",
    "NewWeeks",
    "PerformanceResult",
    "TuningResult",
    "TuningSettings",
    "assess_drift",
    "assess_performance",
    "benchmark_spec",
    "bias",
    "challenger_is_better",
    "classify_demand",
    "coverage",
    "cv_score",
    "cv_scores",
    "diebold_mariano",
    "drift_from_errors",
    "fit_benchmark",
    "forecast_metrics",
    "fourier_terms",
    "holdout_errors",
    "insufficient_drift_data",
    "insufficient_performance_data",
    "limit_blas_threads",
    "mae",
    "make_checkpoint",
    "mape",
    "mase",
    "model_from_dict",
    "msis",
    "performance_from_errors",
    "rmse",
    "rmsse",
    "rolling_origin_splits",
    "smape",
    "track_new_weeks",
    "tune_model",
]


def __getattr__(name: str) -> _Any:
    if name in _TUNER_NAMES:
        from arima_assets.forecasting import tuning

        return getattr(tuning, name)
    raise AttributeError(f"module 'arima_assets.forecasting' has no attribute {name!r}")


limit_blas_threads_from_env()
