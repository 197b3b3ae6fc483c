"""ArimaModel: fit a ModelSpec with statsmodels SARIMAX, forecast, re-filter kept parameters, (de)serialise.

Estimation differences the data first (``simple_differencing=True``, a smaller state space: faster for s=52
specs, same likelihood up to the diffuse start), with ``concentrate_scale=True`` and L-BFGS.
The estimated parameters are then applied to the undifferenced model (``SARIMAX(...).filter(params)``),
the one used for forecasting, refresh and deserialisation, so a saved model reloads to the same forecast.

Deterministic regressors (trend, yearly Fourier terms) are computed from the week of each observation:
trend time counts years from the model's origin (its first training week), Fourier terms use calendar
week numbers (dates) or positions (integer index), so forecasts and refreshes on longer data line up.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pandas as pd
from scipy.stats import t as student_t
from statsmodels.tools.sm_exceptions import ConvergenceWarning
from statsmodels.tsa.arima.estimators.hannan_rissanen import hannan_rissanen
from statsmodels.tsa.statespace.sarimax import SARIMAX
from statsmodels.tsa.statespace.tools import diff

from arima_assets.forecasting._series import (
    DATETIME,
    RANGE,
    WeeklySeries,
    as_weekly_series,
    future_index,
    week_offsets,
)
from arima_assets.forecasting.fourier import fourier_terms
from arima_assets.forecasting.spec import SEASONAL_PERIOD, YEAR_WEEKS, ModelSpec

__all__ = [
    "ESTIMATORS",
    "FORMAT_VERSION",
    "HANNAN_RISSANEN_FALLBACK_MAXITER",
    "INTERVAL_DF",
    "MAX_FILTER_WEEKS",
    "ArimaModel",
    "FitError",
    "interval_quantile",
]

ESTIMATORS = ("mle", "hannan_rissanen")
INTERVAL_DF = 4
"""Degrees of freedom of the forecast distribution behind prediction intervals: a Student-t scaled to the model's
forecast variance. Forecast errors are heavier-tailed than Gaussian: on the validation windows of the 359 M4
Weekly train series the Gaussian 50/80/90/95/99 % intervals covered 62/88/94/96/99 % of the next 13 weeks; with
4 degrees of freedom 53/82/92/96/99 % (3: 47/76/89/95/99 %, 6: 57/85/93/97/99 %)."""
HANNAN_RISSANEN_FALLBACK_MAXITER = 10
"""Optimiser iterations of the two-stage MLE that replaces a Hannan-Rissanen estimate that is not stationary and
invertible (a ranking estimate for the search, not a served model)."""

FORMAT_VERSION = 1
MAX_FILTER_WEEKS = 1560
"""fit/refresh use at most the last 1560 weeks (30 years); the saved model holds exactly the filtered data."""

_REQUIRED_KEYS = ("format_version", "spec", "params", "param_names", "trained_until", "n_obs", "index", "y_tail")


class FitError(RuntimeError):
    """A spec could not be fitted (or re-filtered) to a series: singular matrices, non-finite or explosive
    parameters, non-finite likelihood."""


@contextmanager
def _quiet_statsmodels() -> Iterator[None]:
    """Silence statsmodels' per-fit chatter (convergence, start-parameter and overflow warnings) locally."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.filterwarnings("ignore", category=UserWarning, module=r"statsmodels\.")
        warnings.filterwarnings("ignore", category=RuntimeWarning, module=r"statsmodels\.")
        warnings.filterwarnings("ignore", category=RuntimeWarning, module=r"numpy\.")
        warnings.filterwarnings("ignore", category=RuntimeWarning, module=r"scipy\.")
        yield


def _forward(spec: ModelSpec, values: np.ndarray) -> np.ndarray:
    return np.log1p(values) if spec.transform == "log1p" else values


def _inverse(spec: ModelSpec, values: np.ndarray) -> np.ndarray:
    """Back-transform of values on the model's scale (quantiles stay quantiles), clipped at 0."""
    # log-scale values above 700 (expm1 overflows near 709) only come from a diverging model: keep them finite
    out = np.expm1(np.minimum(values, 700.0)) if spec.transform == "log1p" else values
    return np.clip(out, 0.0, None)


def _inverse_mean(spec: ModelSpec, mean: np.ndarray, variance: np.ndarray | float) -> np.ndarray:
    """Mean of the sales given the mean and variance of a forecast on the model's scale, clipped at 0.

    With ``log1p`` the forecast of log(1 + y) is taken as Gaussian, so y + 1 is lognormal and
    E[y] = exp(mu + sigma^2 / 2) - 1 (`_inverse` of mu alone is the median, below the mean). Without a transform
    the mean is the mean.
    """
    if spec.transform != "log1p":
        return _inverse(spec, mean)
    half_var = 0.5 * np.clip(np.nan_to_num(np.asarray(variance, dtype=float), nan=0.0), 0.0, None)
    return _inverse(spec, np.asarray(mean, dtype=float) + half_var)


def _design(spec: ModelSpec, series: WeeklySeries, origin: pd.Timestamp | int) -> np.ndarray | None:
    """Regressor matrix (n, len(spec.exog_names)) for the weeks of `series`, or None without regressors."""
    columns: list[np.ndarray] = []
    n = len(series)
    if spec.trend in ("c", "ct"):
        columns.append(np.ones((n, 1)))
    if spec.trend in ("t", "ct"):
        columns.append((week_offsets(series, origin) / YEAR_WEEKS).reshape(-1, 1))
    if spec.fourier_k:
        time = series.dates if series.kind == DATETIME else series.positions
        columns.append(fourier_terms(time, spec.fourier_k))
    return np.hstack(columns) if columns else None


def _sarimax(spec: ModelSpec, endog: np.ndarray, exog: np.ndarray | None, *, differenced: bool) -> SARIMAX:
    seasonal = (*spec.seasonal_order, SEASONAL_PERIOD) if spec.is_seasonal else (0, 0, 0, 0)
    return SARIMAX(
        endog,
        exog=exog,
        order=spec.order,
        seasonal_order=seasonal,
        trend=None,
        concentrate_scale=True,
        simple_differencing=differenced,
        enforce_stationarity=True,
        enforce_invertibility=True,
    )


def interval_quantile(level: float) -> float:
    """Half-width of a central `level` % prediction interval in forecast standard errors (INTERVAL_DF)."""
    nu = INTERVAL_DF
    return float(student_t.ppf(0.5 + level / 200, nu) * np.sqrt((nu - 2) / nu))


def _ols_regressors(spec: ModelSpec, endog: np.ndarray, exog: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Regressor coefficients by OLS on the differenced data (empty without regressors), and the differenced data
    minus their fit (what the ARMA part is estimated on)."""
    big_d = spec.seasonal_order[1]
    z = diff(endog, spec.order[1], big_d, SEASONAL_PERIOD) if spec.burn_in else endog
    if exog is None:
        return np.empty(0), z
    x = diff(exog, spec.order[1], big_d, SEASONAL_PERIOD) if spec.burn_in else exog
    beta, *_ = np.linalg.lstsq(x, z, rcond=None)
    return beta, z - x @ beta


def _hannan_rissanen(spec: ModelSpec, endog: np.ndarray, exog: np.ndarray | None) -> np.ndarray | None:
    """Parameters in SARIMAX order (regressors, AR, MA) without an optimiser: regressors by OLS on the differenced
    data, the ARMA part by statsmodels' Hannan-Rissanen regressions on what is left. None when that does not
    apply (seasonal ARMA terms) or its estimate is not stationary and invertible."""
    if spec.seasonal_order[0] or spec.seasonal_order[2]:
        return None
    beta, z = _ols_regressors(spec, endog, exog)
    p, q = spec.order[0], spec.order[2]
    if not (p or q):
        return beta
    try:
        estimate, _ = hannan_rissanen(z, ar_order=p, ma_order=q, demean=False)
    except (ValueError, np.linalg.LinAlgError):
        return None
    if not (estimate.is_stationary and estimate.is_invertible):
        return None
    return np.concatenate([beta, np.asarray(estimate.ar_params, float), np.asarray(estimate.ma_params, float)])


def _param_names(spec: ModelSpec, model: SARIMAX) -> list[str]:
    """statsmodels' parameter names with the regressors named after the spec (trend, sin1, ...)."""
    names = list(model.param_names)
    k = len(spec.exog_names)
    return spec.exog_names + names[k:]


def _start_array(start_params: dict[str, float] | None, names: list[str]) -> np.ndarray | None:
    """`start_params` in the model's parameter order (None: statsmodels' own start values)."""
    if start_params is None:
        return None
    if list(start_params) != names:
        raise ValueError(f"fit: start_params names {list(start_params)} do not match the spec's {names}")
    return np.fromiter(start_params.values(), dtype=float, count=len(names))


def _label_where(value: pd.Timestamp | int) -> str:
    return str(value.date()) if isinstance(value, pd.Timestamp) else str(value)


def _propagate(result, origins: np.ndarray, h: int, variance: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
    """Mean paths (transformed scale) of `h` steps from the predicted states at `origins` of one filter pass:
    row i forecasts observations origins[i] .. origins[i] + h - 1; NaN past the filtered observations (their
    regressors are unknown to the filter). With `variance`, also the forecast variances of those paths (the
    filter's scale included, as ``get_forecast(...).se_mean ** 2``), else None."""
    ssm = result.model.ssm
    n = result.model.nobs
    design = np.asarray(ssm["design"]).reshape(-1)
    transition = np.asarray(ssm["transition"])
    obs_intercept = np.asarray(ssm["obs_intercept"]).reshape(-1)
    state_intercept = np.asarray(ssm["state_intercept"]).reshape(transition.shape[0], -1)
    if design.ndim != 1 or transition.ndim != 2:
        raise ValueError("time-varying design/transition matrices are not supported")
    state = np.asarray(result.filter_results.predicted_state)[:, origins]
    paths = np.full((origins.size, h), np.nan)
    variances = np.full((origins.size, h), np.nan) if variance else None
    if variance:
        # predicted covariances are reported times the concentrated scale; the state disturbance is at scale 1
        cov = np.moveaxis(np.asarray(result.filter_results.predicted_state_cov)[:, :, origins], 2, 0)
        selection = np.asarray(ssm["selection"]).reshape(transition.shape[0], -1)
        noise = selection @ np.asarray(ssm["state_cov"]).reshape(selection.shape[1], -1) @ selection.T
        noise = noise * float(result.scale)
    for step in range(h):
        t = np.minimum(origins + step, n - 1)
        inside = origins + step < n
        mean = design @ state + (obs_intercept[t] if obs_intercept.size > 1 else obs_intercept[0])
        paths[:, step] = np.where(inside, mean, np.nan)
        state = transition @ state + (state_intercept[:, t] if state_intercept.shape[1] > 1 else state_intercept)
        if variances is not None:
            variances[:, step] = np.where(inside, np.einsum("i,kij,j->k", design, cov, design), np.nan)
            cov = transition @ cov @ transition.T + noise
    return paths, variances


def _burn(result) -> int:
    """Observations at the start of a filter that its concentrated scale leaves out (diffuse start)."""
    return max(int(result.loglikelihood_burn), int(getattr(result.filter_results, "nobs_diffuse", 0) or 0))


def _scale_terms(result, burn: int) -> np.ndarray:
    """Squared one-step errors over their unscaled variance, 0 during the first `burn` weeks: their mean over the
    weeks after `_burn(result)` is the filter's concentrated scale."""
    filtered = result.filter_results
    errors = np.asarray(filtered.forecasts_error, dtype=float)[0]
    unscaled = np.asarray(filtered.forecasts_error_cov, dtype=float)[0, 0] / float(result.scale)
    terms = errors**2 / np.where(unscaled > 0, unscaled, np.inf)
    return np.where(np.arange(errors.size) >= burn, terms, 0.0)


def _prefix_scales(result, ends: np.ndarray, prior: tuple[float, int] = (0.0, 0)) -> np.ndarray:
    """The concentrated scale a filter of only the first `ends[i]` observations would estimate, for each i, from
    one filter over all of them. `prior` (sum of terms, count) adds the weeks a checkpoint's filter saw before
    this one; without any week behind it the scale is 0."""
    total, count = prior
    burn = 0 if count else _burn(result)  # a filter from a checkpoint's known state burns nothing
    cumulative = np.concatenate([[0.0], np.cumsum(_scale_terms(result, burn))])
    counts = count + np.maximum(np.asarray(ends) - burn, 0)
    return np.where(counts > 0, (total + cumulative[ends]) / np.maximum(counts, 1), 0.0)


def _one_step_means(spec: ModelSpec, result, prior: tuple[float, int] = (0.0, 0)) -> np.ndarray:
    """One-step-ahead predicted means (original scale) of a filter; with ``log1p`` each at its one-step variance
    scaled by the scale of the weeks before it (`_prefix_scales`: what a forecast made then would use)."""
    fitted = np.asarray(result.fittedvalues, dtype=float)
    if spec.transform != "log1p":
        return _inverse(spec, fitted)
    unscaled = np.asarray(result.forecasts_error_cov, dtype=float)[0, 0, :] / float(result.scale)
    return _inverse_mean(spec, fitted, unscaled * _prefix_scales(result, np.arange(fitted.size), prior))


class ArimaModel:
    """One SARIMAX model for one weekly series: fit, forecast, refresh with kept parameters, save as JSON.

    Attributes:
        spec: the ModelSpec.
        params: named parameters (ar.L1, ma.L1, trend, sin1, ...); the innovation variance is concentrated
            out and re-estimated in closed form by every filter (see `sigma2`).
        trained_until: last training observation (date or position). Unchanged by `refresh`.
        n_obs: number of training observations.
        converged: whether the optimiser reported convergence (a capped `maxiter` may stop it early; the
            parameters are still finite and usable).
    """

    def __init__(self, spec: ModelSpec):
        if not isinstance(spec, ModelSpec):
            raise ValueError(f"ArimaModel: spec must be a ModelSpec, got {type(spec).__name__}")
        self.spec = spec
        self.params: dict[str, float] = {}
        self.trained_until: pd.Timestamp | int | None = None
        self.n_obs: int = 0
        self.converged: bool | None = None
        self._origin: pd.Timestamp | int | None = None
        self._data: WeeklySeries | None = None
        self._result = None
        self._kept_scale: tuple[float, int] | None = None  # saved (scale * weeks, weeks) of a parameters-only model

    def __repr__(self) -> str:
        state = f"trained_until={_label_where(self.trained_until)}" if self.is_fitted else "unfitted"
        return f"ArimaModel({self.spec.label()}, {state})"

    # ----------------------------------------------------------------------------------------- state
    @property
    def is_fitted(self) -> bool:
        return self._data is not None

    @property
    def param_names(self) -> list[str]:
        return list(self.params)

    @property
    def filtered_until(self) -> pd.Timestamp | int:
        """Last observation the current state was filtered on (forecasts start the week after)."""
        self._require_fitted()
        return self._data.last

    @property
    def origin(self) -> pd.Timestamp | int:
        """First training week: time zero of the trend regressor."""
        self._require_fitted()
        return self._origin

    @property
    def sigma2(self) -> float:
        """Innovation variance (transformed scale) estimated by the last filter."""
        self._require_fitted()
        return float(self._filtered().scale)

    @property
    def aic(self) -> float:
        """AIC of the current filter (transformed scale)."""
        self._require_fitted()
        return float(self._filtered().aic)

    def _require_fitted(self) -> None:
        if self._data is None:
            raise RuntimeError(f"ArimaModel({self.spec.label()}) is not fitted; call fit() or from_dict()")

    def _filtered(self):
        """The SARIMAX results of the kept parameters on the current data (filtered now if `fit` deferred it)."""
        self._require_fitted()
        if self._result is None:
            self._result = self._filter(self._data)
        return self._result

    def _param_array(self) -> np.ndarray:
        return np.fromiter(self.params.values(), dtype=float, count=len(self.params))

    def _require_parameters(self) -> None:
        if self.trained_until is None or self._origin is None:
            raise RuntimeError(f"ArimaModel({self.spec.label()}) has no parameters; call fit() or from_dict()")

    def _filter_model(self, series: WeeklySeries) -> SARIMAX:
        """The undifferenced SARIMAX of `series` that the kept parameters are filtered with (weeks and parameter
        names checked against the model)."""
        week_offsets(series, self._origin)  # raises if dates/positions do not line up with the model's weeks
        exog = _design(self.spec, series, self._origin)
        model = _sarimax(self.spec, _forward(self.spec, series.values), exog, differenced=False)
        expected = _param_names(self.spec, model)
        if expected != self.param_names:
            raise ValueError(f"parameter names {self.param_names} do not match the spec's {expected}")
        return model

    def _filter(self, series: WeeklySeries):
        """SARIMAX results of the kept parameters on `series` (no optimisation)."""
        if len(series) <= self.spec.burn_in:
            raise ValueError(
                f"y has {len(series)} observations; {self.spec.label()} needs more than {self.spec.burn_in} to filter"
            )
        model = self._filter_model(series)
        try:
            with _quiet_statsmodels():
                result = model.filter(self._param_array(), cov_type="none")
        except (np.linalg.LinAlgError, ValueError, OverflowError) as exc:
            raise FitError(f"{self.spec.label()}: filtering failed: {exc}") from exc
        if not (np.isfinite(result.llf) and np.isfinite(result.scale)):
            raise FitError(f"{self.spec.label()}: non-finite likelihood when filtering the kept parameters")
        return result

    def _copy_fitted(self) -> ArimaModel:
        other = ArimaModel(self.spec)
        other.params = dict(self.params)
        other.trained_until = self.trained_until
        other.n_obs = self.n_obs
        other.converged = self.converged
        other._origin = self._origin
        other._kept_scale = self._kept_scale
        return other

    # ------------------------------------------------------------------------------------------- api
    def fit(
        self,
        y: pd.Series | np.ndarray,
        *,
        maxiter: int = 50,
        regression: str = "mle",
        start_params: dict[str, float] | None = None,
        estimator: str = "mle",
        defer_filter: bool = False,
    ) -> ArimaModel:
        """Estimate the parameters on `y` (its last MAX_FILTER_WEEKS weeks) by maximum likelihood.

        Args:
            y: weekly sales.
            maxiter: optimiser iterations (L-BFGS).
            regression: how regressor (trend, Fourier) coefficients are estimated: "mle" jointly with the
                ARMA part; "ols" by least squares on the differenced data first, then held fixed while the
                ARMA part is optimised (two-stage; faster with Fourier terms, used by the search).
            start_params: named parameters to start the optimiser from (a warm start, e.g. the same spec
                fitted on a shorter window: a few iterations instead of a full search); used by the joint
                "mle" estimation, ignored by "ols". Names must be the spec's parameter names.
            estimator: "mle" (L-BFGS on the exact likelihood, as set by `regression`) or "hannan_rissanen": no
                optimiser (regressors by OLS on the differenced data, the ARMA part by Hannan-Rissanen); where
                that does not apply or is not stationary and invertible, the two-stage MLE with at most
                HANNAN_RISSANEN_FALLBACK_MAXITER iterations. The search ranks specs with it; served models use "mle".
            defer_filter: do not filter the estimate on `y` now but when first needed (a caller that only filters
                other data, e.g. `origin_forecasts` on a longer series, saves a filter); a filter failure then
                surfaces there.

        Raises:
            ValueError: invalid series (empty, NaN, negative, gaps), shorter than `spec.min_obs`, or bad
                arguments.
            FitError: singular matrices, non-finite or explosive parameters, non-finite likelihood.
        """
        if not isinstance(maxiter, int) or maxiter < 1:
            raise ValueError(f"fit: maxiter must be a positive int, got {maxiter!r}")
        if regression not in ("mle", "ols"):
            raise ValueError(f"fit: regression must be 'mle' or 'ols', got {regression!r}")
        if estimator not in ESTIMATORS:
            raise ValueError(f"fit: estimator must be one of {', '.join(ESTIMATORS)}, got {estimator!r}")
        series = as_weekly_series(y).tail(MAX_FILTER_WEEKS)
        if len(series) < self.spec.min_obs:
            raise ValueError(
                f"y has {len(series)} observations; {self.spec.label()} needs at least {self.spec.min_obs}"
            )
        origin = series.first
        exog = _design(self.spec, series, origin)
        endog = _forward(self.spec, series.values)
        model = _sarimax(self.spec, endog, exog, differenced=self.spec.burn_in > 0)
        start = _start_array(start_params, _param_names(self.spec, model))
        try:
            with _quiet_statsmodels():
                params, converged = self._estimate(model, endog, exog, maxiter, regression, start, estimator)
        except (np.linalg.LinAlgError, ValueError, OverflowError, IndexError) as exc:
            raise FitError(f"{self.spec.label()}: estimation failed: {type(exc).__name__}: {exc}") from exc
        if not np.all(np.isfinite(params)):
            raise FitError(f"{self.spec.label()}: non-finite parameters {params.tolist()}")
        self.params = {name: float(v) for name, v in zip(_param_names(self.spec, model), params, strict=True)}
        self.trained_until = series.last
        self.n_obs = len(series)
        self.converged = converged
        self._origin = origin
        self._result = None
        if defer_filter:
            self._data = series
            return self
        self._result = self._filter(series)  # raises FitError before the model counts as fitted
        self._data = series
        return self

    def _estimate(
        self,
        model: SARIMAX,
        endog: np.ndarray,
        exog: np.ndarray | None,
        maxiter: int,
        regression: str,
        start: np.ndarray | None,
        estimator: str,
    ) -> tuple[np.ndarray, bool]:
        """Parameters in the model's order and whether the optimiser converged (True when nothing was optimised).

        Raises:
            FitError: an explosive or unit-root AR estimate.
        """
        if not model.param_names:  # e.g. ARIMA(0,1,0): nothing to estimate (the scale is concentrated)
            return np.empty(0), True
        if estimator == "hannan_rissanen":
            quick = _hannan_rissanen(self.spec, endog, exog)
            if quick is not None:
                return quick, True
            regression, maxiter = "ols", min(maxiter, HANNAN_RISSANEN_FALLBACK_MAXITER)
        if regression == "ols" and exog is not None:
            result = self._fit_two_stage(model, endog, exog, maxiter)
        else:
            result = model.fit(start_params=start, disp=False, maxiter=maxiter, method="lbfgs", cov_type="none")
        if self.spec.order[0] or self.spec.seasonal_order[0]:
            modulus = np.min(np.abs(np.asarray(result.arroots)))
            if modulus < 1.0 + 1e-6:
                raise FitError(
                    f"{self.spec.label()}: explosive or unit-root AR part (smallest root modulus {modulus:.6f})"
                )
        retvals = getattr(result, "mle_retvals", None) or {}
        return np.asarray(result.params, dtype=float), bool(retvals.get("converged", True))

    def _fit_two_stage(self, model: SARIMAX, endog: np.ndarray, exog: np.ndarray, maxiter: int):
        """Regressor coefficients by OLS on the differenced data, then the ARMA part by MLE with them fixed."""
        beta, _ = _ols_regressors(self.spec, endog, exog)
        k_exog = exog.shape[1]
        fixed = dict(zip(model.param_names[:k_exog], beta.tolist(), strict=True))
        if len(model.param_names) == k_exog:
            return model.filter(beta, cov_type="none")
        with model.fix_params(fixed):
            return model.fit(disp=False, maxiter=maxiter, method="lbfgs", cov_type="none")

    def forecast(self, h: int, level: tuple[int, ...] = (80, 95)) -> pd.DataFrame:
        """Forecast the `h` weeks after the last filtered observation.

        With ``log1p`` the mean column is the mean of the sales, ``exp(mu + sigma^2 / 2) - 1`` with mu and sigma^2
        the forecast mean and variance on the log scale (``expm1(mu)`` alone would be the median, biased low), and
        interval bounds are back-transformed quantiles. Everything is clipped at 0.
        Bounds are mean +- `interval_quantile(l)` x the forecast standard error (a Student-t with INTERVAL_DF
        degrees of freedom and the model's variance, not a Gaussian; see INTERVAL_DF).

        Returns:
            DataFrame indexed by the next `h` weeks (dates, or integer positions), columns "mean", then
            "lo-<l>", "hi-<l>" for each level l in `level` (percent).
        """
        self._require_fitted()
        if not isinstance(h, int | np.integer) or isinstance(h, bool) or h < 1:
            raise ValueError(f"forecast: h must be a positive int, got {h!r}")
        for lv in level:
            if not 0 < lv < 100:
                raise ValueError(f"forecast: level values must be in (0, 100) percent, got {lv!r}")
        index = future_index(self.filtered_until, int(h))
        future = WeeklySeries(
            values=np.zeros(h),
            kind=self._data.kind,
            dates=index if self._data.kind == DATETIME else None,
            positions=np.asarray(index, dtype=np.int64) if self._data.kind == RANGE else None,
        )
        exog = _design(self.spec, future, self._origin)
        with _quiet_statsmodels():
            prediction = self._filtered().get_forecast(steps=int(h), exog=exog)
            mean = np.asarray(prediction.predicted_mean)
            se = np.asarray(prediction.se_mean)
        columns = {"mean": _inverse_mean(self.spec, mean, se**2)}
        for lv in level:
            half = interval_quantile(lv) * se
            columns[f"lo-{lv:g}"] = _inverse(self.spec, mean - half)
            columns[f"hi-{lv:g}"] = _inverse(self.spec, mean + half)
        return pd.DataFrame(columns, index=index)

    def refresh(self, y: pd.Series | np.ndarray) -> ArimaModel:
        """A new model with the same spec and parameters, filtered on `y` (its last MAX_FILTER_WEEKS weeks).

        No optimisation, one filter. `y` is normally the full latest series (extending the
        training data); a shorter or earlier window works too (e.g. to score a holdout). `trained_until`
        and `n_obs` keep describing the training data. Works on a parameters-only model
        (``from_dict(..., refilter=False)``): one filter instead of two.
        """
        self._require_parameters()
        series = as_weekly_series(y).tail(MAX_FILTER_WEEKS)
        fresh = self._copy_fitted()
        fresh._data = series
        fresh._result = fresh._filter(series)
        return fresh

    def one_step_errors(self, y: pd.Series | np.ndarray) -> np.ndarray:
        """One-step-ahead prediction errors (actual - predicted mean, original scale) of the kept parameters.

        Returns:
            float array aligned with `y` (same length); the first `spec.burn_in` entries (weeks consumed
            by differencing, whose predictions only reflect the diffuse start) are NaN.
        """
        self._require_fitted()
        series = as_weekly_series(y)
        result = self._filter(series)
        predicted = _one_step_means(self.spec, result)
        errors = series.values - predicted
        errors[: self.spec.burn_in] = np.nan
        return errors

    def origin_forecasts(self, y: pd.Series | np.ndarray, origins: np.ndarray, h: int) -> np.ndarray:
        """Mean forecasts made at many origins inside `y` from ONE filter pass of the kept parameters.

        Row i holds the forecasts of observations ``origins[i] .. origins[i] + h - 1`` made from the
        observations before ``origins[i]`` (integer locations in `y`): the same numbers as
        ``refresh(y[:origin]).forecast(h)["mean"]`` (with ``log1p`` the variance of each path at the scale a filter
        of the weeks before its origin would estimate), at the cost of one filter instead of one per origin.

        Returns:
            array (len(origins), h), original scale, clipped at 0.
        """
        self._require_fitted()
        series = as_weekly_series(y)
        origins = np.asarray(origins, dtype=np.int64)
        if origins.ndim != 1 or origins.size == 0:
            raise ValueError("origin_forecasts: origins must be a non-empty 1-d array of integer locations")
        if h < 1 or origins.min() < 1 or origins.max() + h > len(series):
            raise ValueError(
                f"origin_forecasts: origins must lie in 1..{len(series) - h} for h={h} and {len(series)} weeks"
            )
        result = self._filter(series)
        paths, variances = _propagate(result, origins, h, variance=self.spec.transform == "log1p")
        if variances is None:
            return _inverse(self.spec, paths)
        scales = _prefix_scales(result, origins) / float(result.scale)
        return _inverse_mean(self.spec, paths, variances * scales[:, None])

    def filter_state(self) -> tuple[np.ndarray, np.ndarray]:
        """Predicted state mean and covariance for the week after the last filtered observation (the filter's
        checkpoint: `continue_filter` starts from it)."""
        self._require_fitted()
        result = self._filtered()
        # with the scale concentrated out the filter runs at scale 1 and results are reported times the scale:
        # the covariance to start another filter from is the unscaled one
        return (
            np.array(result.predicted_state[:, -1], dtype=float),
            np.array(result.predicted_state_cov[:, :, -1], dtype=float) / float(result.scale),
        )

    def continue_filter(
        self, state: np.ndarray, state_cov: np.ndarray, y_new: pd.Series | np.ndarray, horizon: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Filter only the weeks `y_new` that follow a checkpoint (`filter_state` of an earlier filter).

        Costs one filter over the new weeks (about a millisecond), not over the whole history; the numbers
        equal those of a filter over history + `y_new`.

        Returns:
            (one-step-ahead errors of the new weeks (actual - predicted, original scale),
             block forecasts: array (ceil(n / horizon), horizon) of the mean forecasts made at the origins
             0, horizon, 2 * horizon, ... of `y_new` for the new weeks that follow each origin, NaN past the
             last new week).
        """
        self._require_parameters()
        series = as_weekly_series(y_new, name="y_new")
        model = self._filter_model(series)
        state = np.asarray(state, dtype=float)
        state_cov = np.asarray(state_cov, dtype=float)
        if state.shape != (model.k_states,) or state_cov.shape != (model.k_states, model.k_states):
            raise ValueError(
                f"checkpoint state has shape {state.shape} / {state_cov.shape}; {self.spec.label()} needs "
                f"({model.k_states},) / ({model.k_states}, {model.k_states})"
            )
        model.ssm.initialize_known(state, state_cov)
        try:
            with _quiet_statsmodels():
                result = model.filter(self._param_array(), cov_type="none")
        except (np.linalg.LinAlgError, ValueError, OverflowError) as exc:
            raise FitError(f"{self.spec.label()}: filtering the new weeks failed: {exc}") from exc
        # the log1p mean needs the scale of all weeks before each forecast: the training filter's, then the new weeks
        prior = self._scale_prior()
        predicted = _one_step_means(self.spec, result, prior)
        errors = series.values - predicted
        origins = np.arange(0, len(series), horizon, dtype=np.int64)
        paths, variances = _propagate(result, origins, horizon, variance=self.spec.transform == "log1p")
        if variances is None:
            return errors, _inverse(self.spec, paths)
        scales = _prefix_scales(result, origins, prior) / float(result.scale)
        return errors, _inverse_mean(self.spec, paths, variances * scales[:, None])

    def _scale_prior(self) -> tuple[float, int]:
        """(sum of scale terms, count) of the filter this model was saved or fitted with: the training weeks behind
        a checkpoint (`continue_filter`)."""
        if self._kept_scale is not None:
            return self._kept_scale
        if self.is_fitted:
            result = self._filtered()
            count = max(len(self._data) - _burn(result), 0)
            return float(result.scale) * count, count
        return 0.0, 0

    # --------------------------------------------------------------------------------- serialisation
    def to_dict(self) -> dict:
        """JSON-serialisable state: spec, parameters, week bookkeeping and the filtered data (no pickle)."""
        self._require_fitted()
        data = self._data
        as_json = _label_where
        return {
            "format_version": FORMAT_VERSION,
            "spec": self.spec.to_dict(),
            "label": self.spec.label(),
            "family": self.spec.family,
            "params": [float(v) for v in self.params.values()],
            "param_names": self.param_names,
            "trained_until": as_json(self.trained_until),
            "n_obs": self.n_obs,
            "converged": self.converged,
            "sigma2": self.sigma2,
            "sigma2_weeks": self._scale_prior()[1],
            "index": {
                "kind": data.kind,
                "freq": "W-SAT" if data.kind == DATETIME else None,
                "origin": as_json(self._origin),
                "start": as_json(data.first),
                "end": as_json(data.last),
            },
            "y_tail": [int(v) if float(v).is_integer() else float(v) for v in data.values],
        }

    @classmethod
    def from_dict(cls, d: dict, refilter: bool = True) -> ArimaModel:
        """Rebuild a model saved by `to_dict` with ``SARIMAX(...).filter(params)`` on the saved data.

        With ``refilter=False`` only the spec and parameters are restored (no filter, no validation of the
        parameters against the data): enough for `continue_filter` from a checkpoint.

        Raises:
            ValueError: missing keys, unknown format_version, or parameters that do not fit the spec.
        """
        missing = [k for k in _REQUIRED_KEYS if k not in d]
        if missing:
            raise ValueError(f"ArimaModel.from_dict: missing key(s) {missing}")
        if d["format_version"] != FORMAT_VERSION:
            raise ValueError(
                f"ArimaModel.from_dict: format_version {d['format_version']!r} is not supported "
                f"(expected {FORMAT_VERSION})"
            )
        index = d["index"]
        kind = index.get("kind")
        if kind == DATETIME:

            def parse(v: object) -> pd.Timestamp | int:
                return pd.Timestamp(v)
        elif kind == RANGE:

            def parse(v: object) -> pd.Timestamp | int:
                return int(v)
        else:
            raise ValueError(f"ArimaModel.from_dict: index.kind must be 'datetime' or 'range', got {kind!r}")
        names, values = list(d["param_names"]), list(d["params"])
        if len(names) != len(values):
            raise ValueError(f"ArimaModel.from_dict: {len(names)} param_names but {len(values)} params")
        model = cls(ModelSpec.from_dict(d["spec"]))
        model.params = {str(n): float(v) for n, v in zip(names, values, strict=True)}
        model.trained_until = parse(d["trained_until"])
        model.n_obs = int(d["n_obs"])
        model.converged = d.get("converged")
        model._origin = parse(index["origin"])
        if not refilter:
            sigma2, weeks = d.get("sigma2"), d.get("sigma2_weeks", model.n_obs - model.spec.burn_in)
            if sigma2 is not None and np.isfinite(sigma2) and sigma2 >= 0 and weeks:
                model._kept_scale = (float(sigma2) * int(weeks), int(weeks))
            return model
        start = parse(index["start"])
        y = np.asarray(d["y_tail"], dtype=float)
        if kind == DATETIME:
            y_series: pd.Series | np.ndarray = pd.Series(y, index=pd.date_range(start, periods=len(y), freq="7D"))
        else:
            y_series = pd.Series(y, index=pd.RangeIndex(start, start + len(y)))
        model._data = as_weekly_series(y_series, name="y_tail")
        model._result = model._filter(model._data)
        return model

    def to_json(self) -> str:
        """`to_dict` as a compact JSON string."""
        return json.dumps(self.to_dict(), separators=(",", ":"))

    @classmethod
    def from_json(cls, s: str) -> ArimaModel:
        """Inverse of `to_json`."""
        return cls.from_dict(json.loads(s))
