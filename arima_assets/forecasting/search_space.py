"""The ranges an Optuna study samples ModelSpecs from (`SEARCH_SPACES`), and how specs map to trial parameters."""

from __future__ import annotations

from dataclasses import dataclass

import optuna

from arima_assets.forecasting.spec import SEASONAL_PERIOD, ModelSpec

__all__ = ["SEARCH_SPACES", "SearchSpace"]


@dataclass(frozen=True)
class SearchSpace:
    """Ranges a study samples from (fixed per study, so TPE sees one distribution per parameter)."""

    p_max: int
    q_max: int
    d_values: tuple[int, ...]
    fourier_ks: tuple[int, ...]
    transforms: tuple[str, ...]
    seasonal_orders: tuple[tuple[int, int, int], ...]
    min_weeks_for_seasonal: int = 3 * SEASONAL_PERIOD
    min_weeks_for_fourier: int = 2 * SEASONAL_PERIOD  # yearly Fourier terms need two full years of search window
    level_trend: bool = False  # allow "ct" (constant + linear trend) for d + D = 0

    def suggest(self, trial: optuna.Trial) -> ModelSpec:
        p = trial.suggest_int("p", 0, self.p_max)
        d = trial.suggest_categorical("d", list(self.d_values))
        q = trial.suggest_int("q", 0, self.q_max)
        k = trial.suggest_categorical("fourier_k", list(self.fourier_ks))
        transform = trial.suggest_categorical("transform", list(self.transforms))
        trend_shape = trial.suggest_categorical("trend", ["flat", "linear"])
        seasonal = self.seasonal_orders[0]
        if len(self.seasonal_orders) > 1:
            code = trial.suggest_categorical("seasonal", [_code(s) for s in self.seasonal_orders])
            seasonal = tuple(int(v) for v in code.split(","))
        return ModelSpec(
            order=(p, d, q),
            seasonal_order=seasonal,
            fourier_k=k,
            trend=_trend(d + seasonal[1], trend_shape, self.level_trend),
            transform=transform,
        )

    def encode(self, spec: ModelSpec) -> dict[str, object] | None:
        """Trial parameters that decode to `spec`, or None when the spec lies outside this space."""
        p, d, q = spec.order
        n_diff = d + spec.seasonal_order[1]
        shape = next((s for s in ("flat", "linear") if _trend(n_diff, s, self.level_trend) == spec.trend), None)
        inside = (
            p <= self.p_max
            and q <= self.q_max
            and d in self.d_values
            and spec.fourier_k in self.fourier_ks
            and spec.transform in self.transforms
            and spec.seasonal_order in self.seasonal_orders
            and shape is not None
        )
        if not inside:
            return None
        params: dict[str, object] = {
            "p": p,
            "d": d,
            "q": q,
            "fourier_k": spec.fourier_k,
            "transform": spec.transform,
            "trend": shape,
        }
        if len(self.seasonal_orders) > 1:
            params["seasonal"] = _code(spec.seasonal_order)
        return params


def _code(order: tuple[int, int, int]) -> str:
    return ",".join(str(v) for v in order)


def _trend(n_diff: int, shape: str, level_trend: bool) -> str:
    """Map a trend shape to the spec trend valid for the differencing (see spec.py).

    Without differencing the mean is always estimated ("c"); a deterministic linear trend ("ct") only when
    the space allows it (`level_trend`): extrapolating a fitted line 13 weeks out was the worst failure of the
    search on M4 Weekly validation windows. With d + D = 1 "linear" means drift ("t").
    """
    if n_diff == 0:
        return "ct" if shape == "linear" and level_trend else "c"
    if n_diff == 1:
        return "n" if shape == "flat" else "t"
    return "n"


_NON_SEASONAL = ((0, 0, 0),)
SEARCH_SPACES: dict[str, SearchSpace] = {
    # non-seasonal ARIMA + yearly Fourier terms + log1p + trend: every fit well under a second
    "default": SearchSpace(3, 3, (0, 1), (0, 1, 2, 3, 4), ("none", "log1p"), _NON_SEASONAL),
    # plain ARIMA orders only (the cheapest)
    "arima": SearchSpace(3, 3, (0, 1), (0,), ("none", "log1p"), _NON_SEASONAL),
    # default plus cheap s=52 parts ((0,1,0) ~0.1 s, (0,1,1) ~1-2 s a fit); only with >= 3 years of data
    # (any space: fourier_k > 0 only with a search window of >= 2 years, see tune_model)
    "seasonal": SearchSpace(2, 2, (0, 1), (0, 1, 2, 3, 4), ("none", "log1p"), ((0, 0, 0), (0, 1, 0), (0, 1, 1))),
}
