"""Pure forecasting core: model specs, SARIMAX fit/forecast/refresh, JSON (de)serialisation, Optuna tuning,
metrics, drift and performance statistics, Diebold-Mariano. Imports neither Dagster nor MLflow.

Importing the package limits the loaded OpenBLAS libraries to ``ARIMA_BLAS_THREADS`` threads (default 1;
``0`` leaves them alone): SARIMAX fits on tiny matrices are slower with multi-threaded BLAS on a busy machine
(see `threads.py`).
"""

import os as _os

from arima_assets.forecasting.comparison import DMResult, challenger_is_better, diebold_mariano
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
from arima_assets.forecasting.metrics import coverage, forecast_metrics, mae, mape, mase, msis, rmse, smape
from arima_assets.forecasting.model import MAX_FILTER_WEEKS, ArimaModel, FitError
from arima_assets.forecasting.monitor import Checkpoint, NewWeeks, make_checkpoint, track_new_weeks
from arima_assets.forecasting.performance import (
    PerformanceResult,
    assess_performance,
    insufficient_performance_data,
    performance_from_errors,
)
from arima_assets.forecasting.spec import FALLBACK_SPEC, SEASONAL_PERIOD, YEAR_WEEKS, ModelSpec
from arima_assets.forecasting.threads import limit_blas_threads
from arima_assets.forecasting.tuning import SEARCH_SPACES, TuningResult, TuningSettings, holdout_errors, tune_model
from arima_assets.forecasting.validation import cv_score, rolling_origin_splits

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
    "DriftResult",
    "ErrorBaseline",
    "FitError",
    "ModelSpec",
    "NewWeeks",
    "PerformanceResult",
    "TuningResult",
    "TuningSettings",
    "assess_drift",
    "assess_performance",
    "benchmark_spec",
    "challenger_is_better",
    "coverage",
    "cv_score",
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
    "msis",
    "performance_from_errors",
    "rmse",
    "rolling_origin_splits",
    "smape",
    "track_new_weeks",
    "tune_model",
]


def _apply_blas_thread_limit() -> None:
    raw = _os.environ.get("ARIMA_BLAS_THREADS", "1").strip()
    if not raw.isdigit():
        raise ValueError(f"ARIMA_BLAS_THREADS must be a non-negative int (0: leave BLAS alone), got {raw!r}")
    if int(raw) > 0:
        limit_blas_threads(int(raw))


_apply_blas_thread_limit()
