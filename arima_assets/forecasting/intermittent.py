"""Intermittent-demand models (Croston-SBA, TSB) behind the interface of `ArimaModel`.

For titles that sell in few weeks (demand.py: intermittent and lumpy), an ARIMA on the sales either forecasts
the median (log1p: zero on a mostly-zero series) or chases single sales. These models forecast a flat mean
demand per week from two exponentially smoothed quantities:

- **Croston-SBA** (Syntetos-Boylan approximation): the size of the non-zero sales ``z`` and the interval between
  them ``q``, both updated only in weeks with a sale with the same ``alpha`` (0.1, the usual fixed value);
  forecast ``(1 - alpha / 2) z / q`` (the factor removes Croston's upward bias).
- **TSB** (Teunter-Syntetos-Babai): the size ``z`` (updated in weeks with a sale, ``alpha``) and the probability
  of a sale ``p`` (updated every week, ``beta``); forecast ``p z``. It decays towards zero through a run of
  weeks without sales (obsolescence, a title going out of print), where Croston's forecast stays put.
  ``alpha`` and ``beta`` are chosen on the fitting data by the one-step mean squared error over a grid
  (`ALPHAS` x `BETAS`).

Both start from the mean non-zero sale and the average inter-demand interval (or sale probability) of the
fitting data; those starting values are parameters like the smoothing weights, so a model is stored as spec +
parameters (JSON, no pickle) and `refresh` re-runs the recursion on longer data without refitting.

A model's "filter state" is its recursion state after the last week (Croston: ``z, q, weeks since the last
sale``; TSB: ``z, p``), with a zero covariance matrix: `filter_state` / `continue_filter` give the decision
engine's checkpoint (monitor.py) the same numbers as a recursion over the whole series.

Prediction intervals: the forecast is flat; the h-step error variance is taken as ``sigma2 (1 + (h - 1) w^2)``,
``sigma2`` the mean squared one-step error of the filtered data and ``w`` the largest smoothing weight (the
variance of simple exponential smoothing's h-step forecast), with the Student-t quantiles of `ArimaModel`
(`interval_quantile`) and bounds clipped at 0.

Why not statsforecast (which ships CrostonSBA, TSB and ADIDA): importing its models costs 2.4-2.6 s per process
(numba), more than a whole tuning of a weekly series; these recursions are a few lines of numpy and cost
milliseconds (benchmarks/RESULTS.md).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pandas as pd

from arima_assets.forecasting._series import DATETIME, RANGE, WeeklySeries, as_weekly_series, future_index
from arima_assets.forecasting.model import MAX_FILTER_WEEKS, ArimaModel, interval_quantile

__all__ = [
    "ALPHAS",
    "BETAS",
    "CROSTON_ALPHA",
    "INTERMITTENT_METHODS",
    "INTERMITTENT_SPECS",
    "IntermittentModel",
    "IntermittentSpec",
    "model_from_dict",
]

FORMAT_VERSION = 1
KIND = "intermittent"
INTERMITTENT_METHODS = ("croston_sba", "tsb")
CROSTON_ALPHA = 0.1
ALPHAS = (0.02, 0.05, 0.1, 0.2, 0.3, 0.5)
"""TSB size-smoothing weights searched on the fitting data."""
BETAS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.3)
"""TSB probability-smoothing weights searched on the fitting data."""
_MIN_OBS = 10
_PARAM_NAMES = {"croston_sba": ["alpha", "z0", "q0"], "tsb": ["alpha", "beta", "z0", "p0"]}
_LABELS = {"croston_sba": "Croston-SBA", "tsb": "TSB"}
_STATE_SIZE = {"croston_sba": 3, "tsb": 2}  # (z, q, weeks since the last sale) / (z, p)


@dataclass(frozen=True)
class IntermittentSpec:
    """Which intermittent-demand model: ``method`` in INTERMITTENT_METHODS. Mirrors the parts of `ModelSpec` the
    rest of the code reads (label, family, min_obs, burn_in, to_dict)."""

    method: str = "tsb"

    def __post_init__(self) -> None:
        if self.method not in INTERMITTENT_METHODS:
            raise ValueError(
                f"IntermittentSpec.method must be one of {', '.join(INTERMITTENT_METHODS)}, got {self.method!r}"
            )

    family = "intermittent"
    transform = "none"
    burn_in = 0
    min_obs = _MIN_OBS
    is_seasonal = False

    def label(self) -> str:
        """``Croston-SBA`` or ``TSB``."""
        return _LABELS[self.method]

    def to_dict(self) -> dict:
        return {"method": self.method}

    @classmethod
    def from_dict(cls, d: dict) -> IntermittentSpec:
        unknown = set(d) - {"method"}
        if unknown:
            raise ValueError(f"IntermittentSpec.from_dict: unknown key(s) {sorted(unknown)}")
        return cls(**d)


INTERMITTENT_SPECS = tuple(IntermittentSpec(m) for m in INTERMITTENT_METHODS)
"""The candidates the tuner scores for intermittent and lumpy series."""


def _run(
    method: str, params: np.ndarray, y: np.ndarray, state: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """One-step forecasts of `y` (made before each week) and the state after it, for G parameter sets at once.

    Args:
        params: (G, n_params) in `_PARAM_NAMES[method]` order.
        state: (G, n_state) to start from (a checkpoint), else the starting values in `params`.

    Returns:
        (forecasts (G, len(y)), final state (G, n_state)).
    """
    alpha = params[:, 0]
    n = y.size
    out = np.empty((params.shape[0], n))
    if method == "tsb":
        beta = params[:, 1]
        z, p = (params[:, 2].copy(), params[:, 3].copy()) if state is None else (state[:, 0].copy(), state[:, 1].copy())
        for t in range(n):
            out[:, t] = p * z
            sold = y[t] > 0
            p += beta * (float(sold) - p)
            if sold:
                z += alpha * (y[t] - z)
        return out, np.stack([z, p], axis=1)
    if state is None:
        z, q, k = params[:, 1].copy(), params[:, 2].copy(), np.zeros(params.shape[0])
    else:
        z, q, k = state[:, 0].copy(), state[:, 1].copy(), state[:, 2].copy()
    factor = 1 - alpha / 2
    for t in range(n):
        out[:, t] = factor * z / q
        k += 1
        if y[t] > 0:
            z += alpha * (y[t] - z)
            q += alpha * (k - q)
            k[:] = 0
    return out, np.stack([z, q, k], axis=1)


def _starting_values(y: np.ndarray) -> tuple[float, float, float]:
    """(mean non-zero sale, average inter-demand interval, share of weeks with a sale) of `y` (0, len, 0 when
    nothing sold)."""
    sold = y[y > 0]
    if sold.size == 0:
        return 0.0, float(y.size), 0.0
    return float(sold.mean()), float(y.size / sold.size), float(sold.size / y.size)


class IntermittentModel:
    """A Croston-SBA or TSB model of one weekly series with the methods `ArimaModel` offers the rest of the code:
    fit, forecast, refresh, one_step_errors, origin_forecasts, filter_state, continue_filter, to_dict/from_dict.

    Attributes:
        spec: the IntermittentSpec.
        params: named parameters (smoothing weights and starting values).
        trained_until / n_obs / converged: as ArimaModel (converged is always True: a grid, no optimiser).
    """

    def __init__(self, spec: IntermittentSpec):
        if not isinstance(spec, IntermittentSpec):
            raise ValueError(f"IntermittentModel: spec must be an IntermittentSpec, got {type(spec).__name__}")
        self.spec = spec
        self.params: dict[str, float] = {}
        self.trained_until: pd.Timestamp | int | None = None
        self.n_obs = 0
        self.converged: bool | None = None
        self._origin: pd.Timestamp | int | None = None
        self._data: WeeklySeries | None = None
        self._state: np.ndarray | None = None
        self._sigma2: float | None = None

    def __repr__(self) -> str:
        return f"IntermittentModel({self.spec.label()}, trained_until={self.trained_until})"

    # ----------------------------------------------------------------------------------------- state
    @property
    def is_fitted(self) -> bool:
        return self._data is not None

    @property
    def param_names(self) -> list[str]:
        return list(self.params)

    @property
    def filtered_until(self) -> pd.Timestamp | int:
        self._require_fitted()
        return self._data.last

    @property
    def origin(self) -> pd.Timestamp | int:
        self._require_fitted()
        return self._origin

    @property
    def sigma2(self) -> float:
        """Mean squared one-step error of the filtered data (the interval variance of a one-step forecast)."""
        self._require_fitted()
        return float(self._sigma2)

    def _require_fitted(self) -> None:
        if self._data is None:
            raise RuntimeError(f"IntermittentModel({self.spec.label()}) is not fitted; call fit() or from_dict()")

    def _require_parameters(self) -> None:
        if not self.params:
            raise RuntimeError(f"IntermittentModel({self.spec.label()}) has no parameters; call fit() or from_dict()")

    def _param_array(self) -> np.ndarray:
        return np.fromiter(self.params.values(), dtype=float, count=len(self.params))[None, :]

    def _weight(self) -> float:
        """Largest smoothing weight (the h-step variance factor, module docstring)."""
        return max(self.params["alpha"], self.params.get("beta", 0.0))

    def _set_data(self, series: WeeklySeries) -> None:
        forecasts, state = _run(self.spec.method, self._param_array(), series.values)
        self._data = series
        self._state = state[0]
        self._sigma2 = float(np.mean((series.values - forecasts[0]) ** 2))

    def _copy_parameters(self) -> IntermittentModel:
        other = IntermittentModel(self.spec)
        other.params = dict(self.params)
        other.trained_until = self.trained_until
        other.n_obs = self.n_obs
        other.converged = self.converged
        other._origin = self._origin
        other._sigma2 = self._sigma2
        return other

    # ------------------------------------------------------------------------------------------- api
    def fit(self, y: pd.Series | np.ndarray, **_ignored: object) -> IntermittentModel:
        """Choose the parameters on `y` (its last MAX_FILTER_WEEKS weeks): starting values from the data, TSB's
        weights by one-step MSE over the grid (Croston-SBA: alpha = CROSTON_ALPHA). Keyword arguments of
        `ArimaModel.fit` (maxiter, regression, estimator, start_params, defer_filter) are accepted and ignored.

        Raises:
            ValueError: invalid series or fewer than `spec.min_obs` weeks.
        """
        series = as_weekly_series(y).tail(MAX_FILTER_WEEKS)
        if len(series) < self.spec.min_obs:
            raise ValueError(
                f"y has {len(series)} observations; {self.spec.label()} needs at least {self.spec.min_obs}"
            )
        z0, q0, p0 = _starting_values(series.values)
        if self.spec.method == "croston_sba":
            chosen = [CROSTON_ALPHA, z0, max(q0, 1.0)]
        else:
            grid = np.array([[a, b, z0, p0] for a in ALPHAS for b in BETAS])
            forecasts, _ = _run("tsb", grid, series.values)
            mse = np.mean((series.values[None, :] - forecasts) ** 2, axis=1)
            chosen = grid[int(np.argmin(mse))].tolist()
        self.params = dict(zip(_PARAM_NAMES[self.spec.method], (float(v) for v in chosen), strict=True))
        self.trained_until = series.last
        self.n_obs = len(series)
        self.converged = True
        self._origin = series.first
        self._set_data(series)
        return self

    def forecast(self, h: int, level: tuple[int, ...] = (80, 95)) -> pd.DataFrame:
        """Flat mean forecast of the `h` weeks after the last filtered week, with intervals (module docstring).

        Returns:
            DataFrame indexed by the next `h` weeks, columns "mean", "lo-<l>", "hi-<l>" (as ArimaModel.forecast).
        """
        self._require_fitted()
        if not isinstance(h, int | np.integer) or isinstance(h, bool) or h < 1:
            raise ValueError(f"forecast: h must be a positive int, got {h!r}")
        for lv in level:
            if not 0 < lv < 100:
                raise ValueError(f"forecast: level values must be in (0, 100) percent, got {lv!r}")
        index = future_index(self.filtered_until, int(h))
        mean = np.full(int(h), max(self._point(self._state[None, :])[0], 0.0))
        se = np.sqrt(self.sigma2 * (1 + np.arange(int(h)) * self._weight() ** 2))
        columns = {"mean": mean}
        for lv in level:
            half = interval_quantile(lv) * se
            columns[f"lo-{lv:g}"] = np.clip(mean - half, 0.0, None)
            columns[f"hi-{lv:g}"] = mean + half
        return pd.DataFrame(columns, index=index)

    def _point(self, state: np.ndarray) -> np.ndarray:
        """The forecast made from recursion states (rows)."""
        if self.spec.method == "tsb":
            return state[:, 0] * state[:, 1]
        return (1 - self.params["alpha"] / 2) * state[:, 0] / state[:, 1]

    def refresh(self, y: pd.Series | np.ndarray) -> IntermittentModel:
        """A new model with the same parameters, the recursion re-run on `y` (its last MAX_FILTER_WEEKS weeks) from
        the starting values: no refit. `trained_until` and `n_obs` keep describing the training data."""
        self._require_parameters()
        fresh = self._copy_parameters()
        fresh._set_data(as_weekly_series(y).tail(MAX_FILTER_WEEKS))
        return fresh

    def one_step_errors(self, y: pd.Series | np.ndarray) -> np.ndarray:
        """One-step-ahead errors (actual - forecast) of the kept parameters over `y` (same length, no NaN)."""
        self._require_parameters()
        series = as_weekly_series(y)
        forecasts, _ = _run(self.spec.method, self._param_array(), series.values)
        return series.values - forecasts[0]

    def origin_forecasts(self, y: pd.Series | np.ndarray, origins: np.ndarray, h: int) -> np.ndarray:
        """Forecasts made at `origins` (integer locations in `y`) for the `h` weeks from each, from one pass:
        the same numbers as ``refresh(y[:origin]).forecast(h)["mean"]``."""
        self._require_parameters()
        series = as_weekly_series(y)
        origins = np.asarray(origins, dtype=np.int64)
        if origins.ndim != 1 or origins.size == 0:
            raise ValueError("origin_forecasts: origins must be a non-empty 1-d array of integer locations")
        if h < 1 or origins.min() < 1 or origins.max() + h > len(series):
            raise ValueError(
                f"origin_forecasts: origins must lie in 1..{len(series) - h} for h={h} and {len(series)} weeks"
            )
        forecasts, _ = _run(self.spec.method, self._param_array(), series.values)
        return np.repeat(np.clip(forecasts[0, origins], 0.0, None)[:, None], h, axis=1)

    def filter_state(self) -> tuple[np.ndarray, np.ndarray]:
        """Recursion state after the last filtered week and a zero covariance (a deterministic state)."""
        self._require_fitted()
        return self._state.copy(), np.zeros((self._state.size, self._state.size))

    def continue_filter(
        self, state: np.ndarray, state_cov: np.ndarray, y_new: pd.Series | np.ndarray, horizon: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Run the recursion over the weeks `y_new` after a checkpoint (`filter_state`); as ArimaModel.continue_filter:
        (one-step errors of the new weeks, block forecasts (ceil(n / horizon), horizon), NaN past the last week)."""
        self._require_parameters()
        series = as_weekly_series(y_new, name="y_new")
        state = np.asarray(state, dtype=float)
        size = _STATE_SIZE[self.spec.method]
        if state.shape != (size,):
            raise ValueError(f"checkpoint state has shape {state.shape}; {self.spec.label()} needs ({size},)")
        forecasts, _ = _run(self.spec.method, self._param_array(), series.values, state[None, :])
        errors = series.values - forecasts[0]
        origins = np.arange(0, len(series), horizon, dtype=np.int64)
        blocks = np.repeat(np.clip(forecasts[0, origins], 0.0, None)[:, None], horizon, axis=1)
        steps = origins[:, None] + np.arange(horizon)
        blocks[steps >= len(series)] = np.nan
        return errors, blocks

    # --------------------------------------------------------------------------------- serialisation
    def to_dict(self) -> dict:
        """JSON-serialisable state (the `ArimaModel.to_dict` layout plus ``"kind": "intermittent"``)."""
        self._require_fitted()
        data = self._data

        def as_json(v: pd.Timestamp | int) -> str | int:
            return str(v.date()) if isinstance(v, pd.Timestamp) else int(v)

        return {
            "format_version": FORMAT_VERSION,
            "kind": KIND,
            "spec": self.spec.to_dict(),
            "label": self.spec.label(),
            "family": self.spec.family,
            "params": [float(v) for v in self.params.values()],
            "param_names": self.param_names,
            "trained_until": as_json(self.trained_until),
            "n_obs": self.n_obs,
            "converged": self.converged,
            "sigma2": self.sigma2,
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
    def from_dict(cls, d: dict, refilter: bool = True) -> IntermittentModel:
        """Rebuild a model saved by `to_dict` (the recursion re-run on the saved weeks; ``refilter=False``: the
        parameters only, enough for `continue_filter`).

        Raises:
            ValueError: not an intermittent model, missing keys, an unknown format, or parameters that do not fit.
        """
        if d.get("kind") != KIND:
            raise ValueError(f"IntermittentModel.from_dict: kind must be {KIND!r}, got {d.get('kind')!r}")
        missing = [
            k
            for k in ("format_version", "spec", "params", "param_names", "trained_until", "n_obs", "index", "y_tail")
            if k not in d
        ]
        if missing:
            raise ValueError(f"IntermittentModel.from_dict: missing key(s) {missing}")
        if d["format_version"] != FORMAT_VERSION:
            raise ValueError(f"IntermittentModel.from_dict: format_version {d['format_version']!r} is not supported")
        model = cls(IntermittentSpec.from_dict(d["spec"]))
        names = [str(n) for n in d["param_names"]]
        if names != _PARAM_NAMES[model.spec.method] or len(d["params"]) != len(names):
            raise ValueError(
                f"IntermittentModel.from_dict: parameters {names} do not match {model.spec.label()}'s "
                f"{_PARAM_NAMES[model.spec.method]}"
            )
        model.params = {n: float(v) for n, v in zip(names, d["params"], strict=True)}
        index = d["index"]
        kind = index.get("kind")
        if kind not in (DATETIME, RANGE):
            raise ValueError(f"IntermittentModel.from_dict: index.kind must be 'datetime' or 'range', got {kind!r}")

        def parse(v: object) -> pd.Timestamp | int:
            return pd.Timestamp(v) if kind == DATETIME else int(v)

        model.trained_until = parse(d["trained_until"])
        model.n_obs = int(d["n_obs"])
        model.converged = d.get("converged", True)
        model._origin = parse(index["origin"])
        model._sigma2 = float(d["sigma2"]) if d.get("sigma2") is not None else None
        if not refilter:
            return model
        y = np.asarray(d["y_tail"], dtype=float)
        start = parse(index["start"])
        if kind == DATETIME:
            y_series = pd.Series(y, index=pd.date_range(start, periods=len(y), freq="7D"))
        else:
            y_series = pd.Series(y, index=pd.RangeIndex(start, start + len(y)))
        model._set_data(as_weekly_series(y_series, name="y_tail"))
        return model

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"))

    @classmethod
    def from_json(cls, s: str) -> IntermittentModel:
        return cls.from_dict(json.loads(s))


def model_from_dict(d: dict, refilter: bool = True) -> ArimaModel | IntermittentModel:
    """Load any stored model: an `IntermittentModel` when ``d["kind"] == "intermittent"``, else an `ArimaModel`
    (what `ModelRecord.load_model` and the registered pyfunc should call)."""
    if d.get("kind") == KIND:
        return IntermittentModel.from_dict(d, refilter=refilter)
    return ArimaModel.from_dict(d, refilter=refilter)
