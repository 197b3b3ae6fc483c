"""Demand class of a weekly sales series (Syntetos-Boylan): smooth, erratic, intermittent or lumpy.

Two statistics of the series:

- ADI, the average inter-demand interval: weeks per week with a sale (number of weeks / number of weeks with
  sales > 0; 1.0 when every week sold, infinite when none did);
- CV², the squared coefficient of variation of the non-zero sales (variance / mean², population variance; 0 with
  a single non-zero week).

With the thresholds of Syntetos, Boylan & Croston (2005), ADI 1.32 and CV² 0.49:

=============  ============  ============
               CV² < 0.49    CV² >= 0.49
=============  ============  ============
ADI < 1.32     smooth        erratic
ADI >= 1.32    intermittent  lumpy
=============  ============  ============

A series with no sale at all is "intermittent" (ADI infinite, CV² 0). The tuner searches the intermittent-demand
models of intermittent.py (Croston-SBA, TSB) besides ARIMA for the two classes with ADI >= 1.32
(`uses_intermittent_models`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from arima_assets.forecasting._series import WeeklySeries, as_weekly_series

__all__ = ["ADI_THRESHOLD", "CV2_THRESHOLD", "DEMAND_CLASSES", "DemandClass", "classify_demand"]

ADI_THRESHOLD = 1.32
CV2_THRESHOLD = 0.49
DEMAND_CLASSES = ("smooth", "erratic", "intermittent", "lumpy")


@dataclass(frozen=True)
class DemandClass:
    """Syntetos-Boylan class of a series and the statistics behind it.

    Attributes:
        label: "smooth" | "erratic" | "intermittent" | "lumpy".
        adi: average inter-demand interval in weeks (inf without a sale).
        cv2: squared coefficient of variation of the non-zero sales.
        zero_share: share of weeks without a sale.
        weeks: number of weeks classified.
    """

    label: str
    adi: float
    cv2: float
    zero_share: float
    weeks: int

    @property
    def uses_intermittent_models(self) -> bool:
        """True for intermittent and lumpy series (ADI >= 1.32): Croston-type models are candidates."""
        return self.label in ("intermittent", "lumpy")

    def to_dict(self) -> dict[str, object]:
        """JSON-serialisable form (an infinite ADI becomes None)."""
        return {
            "label": self.label,
            "adi": self.adi if np.isfinite(self.adi) else None,
            "cv2": self.cv2,
            "zero_share": self.zero_share,
            "weeks": self.weeks,
        }


def classify_demand(y: pd.Series | np.ndarray | WeeklySeries) -> DemandClass:
    """The Syntetos-Boylan class of the weekly sales `y` (module docstring).

    Raises:
        ValueError: invalid series (empty, NaN/inf, negative values, gaps).
    """
    values = as_weekly_series(y).values
    sold = values[values > 0]
    n = int(values.size)
    adi = n / sold.size if sold.size else float("inf")
    cv2 = float(np.var(sold) / np.mean(sold) ** 2) if sold.size else 0.0
    frequent = adi < ADI_THRESHOLD
    if cv2 < CV2_THRESHOLD:
        label = "smooth" if frequent else "intermittent"
    else:
        label = "erratic" if frequent else "lumpy"
    return DemandClass(label=label, adi=float(adi), cv2=cv2, zero_share=float(1 - sold.size / n), weeks=n)
