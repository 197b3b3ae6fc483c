"""Forecast plot as a base64 PNG for Dagster markdown metadata.

matplotlib is imported when a plot is drawn, and only its object-oriented `Figure` (rendered by the Agg canvas,
never pyplot's global figure manager): the code location and every run that draws no plot skip its import, and one
that does skips pyplot's (about half of matplotlib's import time).
"""

from __future__ import annotations

import base64
import io

import numpy as np
import pandas as pd

__all__ = ["forecast_png", "forecast_markdown"]


def forecast_png(history: pd.Series, forecast: pd.DataFrame, title: str, history_weeks: int = 156) -> bytes:
    """PNG bytes of the last `history_weeks` of history with the forecast mean and its 80/95 % intervals.

    A batch draws one per ISBN every week, so the figure is kept cheap: weeks are drawn at integer positions with a
    few month labels (matplotlib's date locator costs a fifth of the drawing), 576 x 216 pixels (about 30 KB, kept
    in each forecast materialization's metadata), fixed margins and the fastest zlib level.
    """
    from matplotlib.figure import Figure  # heavy: only when a plot is drawn

    fig = Figure(figsize=(8, 3), dpi=72)  # not registered with pyplot: freed with the object, nothing to close
    ax = fig.subplots()
    recent = history.iloc[-history_weeks:]
    weeks = list(recent.index) + list(forecast.index)
    past = np.arange(len(recent))
    future = np.arange(len(recent), len(weeks))
    ax.plot(past, recent.to_numpy(), color="#333333", lw=1.1, label="weekly sales")
    for level, alpha in (("95", 0.15), ("80", 0.3)):
        if {f"lo-{level}", f"hi-{level}"} <= set(forecast.columns):
            low, high = forecast[f"lo-{level}"].to_numpy(), forecast[f"hi-{level}"].to_numpy()
            ax.fill_between(future, low, high, color="#4C72B0", alpha=alpha, label=f"{level} %")
    ax.plot(future, forecast["mean"].to_numpy(), color="#C44E52", lw=1.6, label="forecast")
    ticks = list(range(0, len(weeks), max(1, len(weeks) // 6)))
    ax.set_xticks(ticks, [pd.Timestamp(weeks[i]).strftime("%b %Y") for i in ticks], fontsize=8)
    ax.set_title(title, fontsize=10)
    ax.set_ylabel("units / week")
    ax.legend(loc="upper left", fontsize=8, frameon=False, ncol=4)
    ax.grid(alpha=0.25)
    fig.subplots_adjust(left=0.08, right=0.99, top=0.9, bottom=0.12)  # fixed margins: tight_layout costs a third
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", pil_kwargs={"compress_level": 1})
    return buffer.getvalue()


def forecast_markdown(history: pd.Series, forecast: pd.DataFrame, title: str) -> str:
    """Markdown embedding the forecast plot as a `data:image/png;base64` image."""
    encoded = base64.b64encode(forecast_png(history, forecast, title)).decode("ascii")
    return f"![{title}](data:image/png;base64,{encoded})"
