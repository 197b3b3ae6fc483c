"""Forecast plot as a base64 PNG for Dagster markdown metadata.

matplotlib is imported when a plot is drawn, and only its object-oriented `Figure` (rendered by the Agg canvas,
never pyplot's global figure manager): the code location and every run that draws no plot skip its import, and one
that does skips pyplot's (about half of matplotlib's import time).

A batch draws one plot per ISBN every week, so the drawing is kept cheap: one `ForecastPlotter` per batch reuses its
figure (only the data, ticks and title change: about a third faster than a new figure per ISBN), weeks are drawn at
integer positions with a few month labels (matplotlib's date locator costs a fifth of the drawing), 576 x 216
pixels (about 35 KB, kept in each forecast materialization's metadata), fixed margins and the fastest zlib level.
"""

from __future__ import annotations

import base64
import io
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["ForecastPlotter", "forecast_markdown", "forecast_png"]

_BAND_COLOR = "#4C72B0"


class ForecastPlotter:
    """Draws forecast plots one after the other on one figure."""

    def __init__(self, history_weeks: int = 156):
        from matplotlib.figure import Figure  # heavy: only when a plot is drawn

        self.history_weeks = history_weeks
        self._figure = Figure(figsize=(8, 3), dpi=72)  # not registered with pyplot: freed with the object
        self._axes: Any = self._figure.subplots()
        self._history = self._axes.plot([], [], color="#333333", lw=1.1, label="weekly sales")[0]
        self._mean = self._axes.plot([], [], color="#C44E52", lw=1.6, label="forecast", zorder=3)[0]
        self._axes.set_ylabel("units / week")
        self._axes.grid(alpha=0.25)
        self._figure.subplots_adjust(left=0.08, right=0.99, top=0.9, bottom=0.12)  # tight_layout costs a third

    def png(self, history: pd.Series, forecast: pd.DataFrame, title: str) -> bytes:
        """PNG bytes of the last `history_weeks` of history with the forecast mean and its 80/95 % intervals."""
        ax = self._axes
        recent = history.iloc[-self.history_weeks :]
        weeks = list(recent.index) + list(forecast.index)
        future = np.arange(len(recent), len(weeks))
        for band in list(ax.collections):
            band.remove()
        for level, alpha in (("95", 0.15), ("80", 0.3)):
            if {f"lo-{level}", f"hi-{level}"} <= set(forecast.columns):
                low, high = forecast[f"lo-{level}"].to_numpy(), forecast[f"hi-{level}"].to_numpy()
                ax.fill_between(future, low, high, color=_BAND_COLOR, alpha=alpha, label=f"{level} %")
        self._history.set_data(np.arange(len(recent)), recent.to_numpy(dtype=float))
        self._mean.set_data(future, forecast["mean"].to_numpy(dtype=float))
        ax.relim()
        ax.autoscale_view()
        ticks = list(range(0, len(weeks), max(1, len(weeks) // 6)))
        ax.set_xticks(ticks, [pd.Timestamp(weeks[i]).strftime("%b %Y") for i in ticks], fontsize=8)
        ax.set_title(title, fontsize=10)
        ax.legend(loc="upper left", fontsize=8, frameon=False, ncol=4)
        buffer = io.BytesIO()
        self._figure.savefig(buffer, format="png", pil_kwargs={"compress_level": 1})
        return buffer.getvalue()

    def markdown(self, history: pd.Series, forecast: pd.DataFrame, title: str) -> str:
        """Markdown embedding the plot as a `data:image/png;base64` image."""
        encoded = base64.b64encode(self.png(history, forecast, title)).decode("ascii")
        return f"![{title}](data:image/png;base64,{encoded})"


def forecast_png(history: pd.Series, forecast: pd.DataFrame, title: str, history_weeks: int = 156) -> bytes:
    """PNG bytes of one forecast plot (see `ForecastPlotter.png`)."""
    return ForecastPlotter(history_weeks).png(history, forecast, title)


def forecast_markdown(history: pd.Series, forecast: pd.DataFrame, title: str) -> str:
    """Markdown embedding one forecast plot (see `ForecastPlotter.markdown`)."""
    return ForecastPlotter().markdown(history, forecast, title)
