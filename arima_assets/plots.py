"""Forecast plot as a base64 PNG for Dagster markdown metadata.

matplotlib is imported when a plot is drawn, and only its object-oriented `Figure` (rendered by the Agg canvas,
never pyplot's global figure manager): the code location and every run that draws no plot skip its import, and one
that does skips pyplot's (about half of matplotlib's import time).
"""

from __future__ import annotations

import base64
import io

import pandas as pd

__all__ = ["forecast_png", "forecast_markdown"]


def forecast_png(history: pd.Series, forecast: pd.DataFrame, title: str, history_weeks: int = 156) -> bytes:
    """PNG bytes of the last `history_weeks` of history with the forecast mean and its 80/95 % intervals."""
    from matplotlib.figure import Figure  # heavy: only when a plot is drawn

    fig = Figure(figsize=(9, 3.6), dpi=90)  # not registered with pyplot: freed with the object, nothing to close
    ax = fig.subplots()
    recent = history.iloc[-history_weeks:]
    ax.plot(recent.index, recent.to_numpy(), color="#333333", lw=1.1, label="weekly sales")
    if {"lo-95", "hi-95"} <= set(forecast.columns):
        ax.fill_between(
            forecast.index,
            forecast["lo-95"],
            forecast["hi-95"],
            color="#4C72B0",
            alpha=0.15,
            label="95 %",
        )
    if {"lo-80", "hi-80"} <= set(forecast.columns):
        ax.fill_between(forecast.index, forecast["lo-80"], forecast["hi-80"], color="#4C72B0", alpha=0.3, label="80 %")
    ax.plot(forecast.index, forecast["mean"], color="#C44E52", lw=1.6, label="forecast")
    ax.set_title(title, fontsize=10)
    ax.set_ylabel("units / week")
    ax.legend(loc="upper left", fontsize=8, frameon=False)
    ax.grid(alpha=0.25)
    fig.subplots_adjust(left=0.07, right=0.99, top=0.9, bottom=0.12)  # fixed margins: tight_layout costs a third
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", pil_kwargs={"compress_level": 1})  # a batch draws one per ISBN: fast zlib
    return buffer.getvalue()


def forecast_markdown(history: pd.Series, forecast: pd.DataFrame, title: str) -> str:
    """Markdown embedding the forecast plot as a `data:image/png;base64` image."""
    encoded = base64.b64encode(forecast_png(history, forecast, title)).decode("ascii")
    return f"![{title}](data:image/png;base64,{encoded})"
