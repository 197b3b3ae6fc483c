"""Model specification: which SARIMAX model to fit (orders, yearly Fourier terms, trend, transform).

Trend semantics: the trend is a deterministic regression on the (transformed) *level* of the series,
`y_t = trend_t + fourier_t + u_t` with `u_t` the (S)ARIMA error, as in `statsmodels.tsa.arima.model.ARIMA`:

- ``"n"``: no trend; ``"c"``: intercept (the mean level); ``"t"``: linear time trend (slope per year);
  ``"ct"``: both.
- Differencing removes trend terms of lower order than ``d + D``: an intercept is meaningless when
  ``d + D >= 1`` and a linear trend when ``d + D >= 2``. Such combinations are rejected, so with ``d = 1``
  only ``"n"`` and ``"t"`` are valid, and ``"t"`` then means *drift* (a constant mean weekly change).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

__all__ = [
    "FALLBACK_SPEC",
    "MAX_FOURIER_K",
    "SEASONAL_PERIOD",
    "TRANSFORMS",
    "TRENDS",
    "YEAR_WEEKS",
    "ModelSpec",
]

SEASONAL_PERIOD = 52
YEAR_WEEKS = 365.25 / 7
MAX_FOURIER_K = 26  # harmonics above period/2 alias onto lower ones
TRENDS = ("n", "c", "t", "ct")
TRANSFORMS = ("none", "log1p")
_MAX_ORDER = 5
_TREND_LOWEST_ORDER = {"c": 0, "t": 1, "ct": 0}


def _as_order(field: str, value: object, maxima: tuple[int, int, int]) -> tuple[int, int, int]:
    try:
        items = tuple(value)  # type: ignore[arg-type]
    except TypeError:
        raise ValueError(f"ModelSpec.{field} must be a tuple of 3 ints, got {value!r}") from None
    if len(items) != 3 or not all(isinstance(v, int) and not isinstance(v, bool) for v in items):
        raise ValueError(f"ModelSpec.{field} must be a tuple of 3 ints, got {value!r}")
    for name, v, hi in zip(("first", "second", "third"), items, maxima, strict=True):
        if not 0 <= v <= hi:
            raise ValueError(f"ModelSpec.{field}: {name} entry {v} outside the allowed range 0..{hi}")
    return items  # type: ignore[return-value]


@dataclass(frozen=True)
class ModelSpec:
    """A SARIMAX model specification for weekly sales.

    Attributes:
        order: (p, d, q), p and q in 0..5, d in 0..2.
        seasonal_order: (P, D, Q) with period SEASONAL_PERIOD (52) when any is > 0; P, Q in 0..2, D in 0..1.
        fourier_k: K sine/cosine pairs of the yearly cycle (period 365.25/7 weeks) as regressors, 0..26.
        trend: "n" | "c" | "t" | "ct" on the level (see the module docstring for the d + D rule).
        transform: "none" | "log1p" (model log(1 + y); forecasts are back-transformed).
    """

    order: tuple[int, int, int] = (1, 1, 1)
    seasonal_order: tuple[int, int, int] = (0, 0, 0)
    fourier_k: int = 0
    trend: str = "n"
    transform: str = "none"

    def __post_init__(self) -> None:
        object.__setattr__(self, "order", _as_order("order", self.order, (_MAX_ORDER, 2, _MAX_ORDER)))
        object.__setattr__(self, "seasonal_order", _as_order("seasonal_order", self.seasonal_order, (2, 1, 2)))
        k = self.fourier_k
        if not isinstance(k, int) or isinstance(k, bool) or not 0 <= k <= MAX_FOURIER_K:
            raise ValueError(f"ModelSpec.fourier_k must be an int in 0..{MAX_FOURIER_K}, got {k!r}")
        if self.trend not in TRENDS:
            raise ValueError(f"ModelSpec.trend must be one of {', '.join(TRENDS)}; got {self.trend!r}")
        if self.transform not in TRANSFORMS:
            raise ValueError(f"ModelSpec.transform must be one of {', '.join(TRANSFORMS)}; got {self.transform!r}")
        n_diff = self.order[1] + self.seasonal_order[1]
        lowest = _TREND_LOWEST_ORDER.get(self.trend)
        if lowest is not None and lowest < n_diff:
            allowed = [t for t in TRENDS if _TREND_LOWEST_ORDER.get(t, n_diff) >= n_diff]
            raise ValueError(
                f"ModelSpec.trend={self.trend!r} is removed by differencing (d + D = {n_diff}); "
                f"allowed with this differencing: {', '.join(allowed)}"
            )

    @property
    def is_seasonal(self) -> bool:
        """True when the spec has a seasonal (s=52) ARIMA part."""
        return any(self.seasonal_order)

    @property
    def family(self) -> str:
        """ "seasonal" (s=52 part), else "fourier" (yearly Fourier regressors), else "arima"."""
        if self.is_seasonal:
            return "seasonal"
        return "fourier" if self.fourier_k > 0 else "arima"

    @property
    def exog_names(self) -> list[str]:
        """Names of the deterministic regressors, in column order."""
        names = {"n": [], "c": ["const"], "t": ["trend"], "ct": ["const", "trend"]}[self.trend]
        for j in range(1, self.fourier_k + 1):
            names += [f"sin{j}", f"cos{j}"]
        return names

    @property
    def burn_in(self) -> int:
        """Observations consumed by differencing (their one-step predictions are not informative)."""
        return self.order[1] + SEASONAL_PERIOD * self.seasonal_order[1]

    @property
    def min_obs(self) -> int:
        """Fewest observations this spec is fitted on: lags spanned + parameters + 4 (at least 10)."""
        p, d, q = self.order
        big_p, big_d, big_q = self.seasonal_order
        s = SEASONAL_PERIOD
        span = d + s * big_d + max(p + s * big_p, q + s * big_q)
        n_params = p + q + big_p + big_q + len(self.exog_names) + 1
        return max(10, span + n_params + 4)

    def label(self) -> str:
        """Short human label, e.g. ``ARIMA(1,1,1)+F2[log1p]`` or ``ARIMA(0,1,1)(0,1,0)[52]+t``."""
        text = "ARIMA({},{},{})".format(*self.order)
        if self.is_seasonal:
            text += "({},{},{})[{}]".format(*self.seasonal_order, SEASONAL_PERIOD)
        if self.trend != "n":
            text += f"+{self.trend}"
        if self.fourier_k:
            text += f"+F{self.fourier_k}"
        if self.transform != "none":
            text += f"[{self.transform}]"
        return text

    def to_dict(self) -> dict:
        """JSON-serialisable dict (tuples become lists)."""
        d = asdict(self)
        d["order"] = list(self.order)
        d["seasonal_order"] = list(self.seasonal_order)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> ModelSpec:
        """Inverse of `to_dict`; unknown keys raise ValueError."""
        unknown = set(d) - {"order", "seasonal_order", "fourier_k", "trend", "transform"}
        if unknown:
            raise ValueError(f"ModelSpec.from_dict: unknown key(s) {sorted(unknown)}")
        kwargs = dict(d)
        for key in ("order", "seasonal_order"):
            if key in kwargs and isinstance(kwargs[key], list):
                kwargs[key] = tuple(kwargs[key])
        return cls(**kwargs)


FALLBACK_SPEC = ModelSpec(order=(0, 1, 1))
"""Fitted when every tuning trial fails: ARIMA(0,1,1), no regressors, no transform (simple exponential
smoothing; two parameters, always estimable, a sane forecast for any non-negative series)."""
