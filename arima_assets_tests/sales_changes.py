"""New sales data derived from a Nielsen-format frame, for tests: "new weeks arrive and one title drifted"
(:func:`append_weeks`) and "one title's last weeks changed" (:func:`drifted_copy`)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from arima_assets.data.isbn import normalize_isbn
from arima_assets.data.nielsen import REQUIRED_COLUMNS
from arima_assets.data.sample import draw_volumes, nielsen_rows, week_ends

__all__ = ["append_weeks", "drifted_copy"]


def _weekly_volumes(frame: pd.DataFrame, isbn: str, weeks: pd.DatetimeIndex) -> np.ndarray:
    rows = frame[frame["ISBN"].astype(str) == isbn]
    by_week = pd.Series(rows["Volume"].to_numpy(dtype=float), index=pd.to_datetime(rows["End Date"]))
    return by_week.groupby(level=0).sum().reindex(weeks, fill_value=0.0).to_numpy()


def _frame_isbns(frame: pd.DataFrame) -> list[str]:
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"frame is not in Nielsen format: missing column(s) {', '.join(missing)}")
    return list(dict.fromkeys(frame["ISBN"].astype(str)))


def _check_isbn(isbn: str, known: Sequence[str]) -> str:
    key = normalize_isbn(isbn)
    if key not in known:
        shown = ", ".join(known[:5]) + (", ..." if len(known) > 5 else "")
        raise ValueError(f"ISBN {key} is not in the frame; it holds {len(known)} ISBNs: {shown}")
    return key


def _last_row(frame: pd.DataFrame, isbn: str) -> tuple[dict[str, str], float, float]:
    """Catalogue fields, RRP and discount of an ISBN's latest row."""
    rows = frame[frame["ISBN"].astype(str) == isbn]
    last = rows.loc[pd.to_datetime(rows["End Date"]).idxmax()]
    fields = {c: str(last[c]) for c in ("Title", "Author", "Binding", "Imprint", "Publisher Group", "Product Class")}
    rrp = float(last["RRP"])
    discount = 1.0 - float(last["ASP"]) / rrp if rrp > 0 else 0.0
    return {"ISBN": isbn, **fields}, rrp, discount


def _seasonal_continuation(history: np.ndarray, n_weeks: int, max_years: int = 5) -> np.ndarray:
    """Expected volumes of the ``n_weeks`` weeks after ``history`` (zero-filled weekly volumes).

    A seasonal index per week of the year (the median over up to ``max_years`` past years of volume
    relative to that year's mean, so one-off spikes do not repeat) times the current deseasonalised
    level (the last 13 weeks' mean divided by their seasonal index).
    """
    years = min(max_years, len(history) // 52)
    if years < 1:
        raise ValueError(f"need at least 52 weeks of history to continue a series, got {len(history)}")
    ratios = []
    for year in range(years):
        window = history[len(history) - 52 * (year + 1) : len(history) - 52 * year]
        if window.mean() > 0:
            ratios.append(window / window.mean())
    if not ratios:
        return np.zeros(n_weeks)
    index = np.median(np.vstack(ratios), axis=0)
    recent_index = index[-13:].mean()
    level = history[-13:].mean() / recent_index if recent_index > 0 else history[-52:].mean()
    return level * index[:n_weeks]


def append_weeks(
    frame: pd.DataFrame,
    isbn: str,
    n_weeks: int = 13,
    level_factor: float = 2.0,
    seed: int = 0,
    *,
    continue_others: bool = True,
) -> pd.DataFrame:
    """Append ``n_weeks`` new weeks after the frame's last week, with a level shift for one ISBN.

    Every ISBN continues its own pattern: its yearly cycle (the median over up to five past years of each
    week relative to that year's mean, so last year's one-off spikes do not repeat) at its current level
    (the last 13 weeks, deseasonalised), with the sample's demand noise. ``isbn``'s expected volumes are
    then multiplied by ``level_factor``. Use it to simulate "new sales weeks arrive and one title drifted".

    Args:
        frame: a Nielsen-format frame, e.g. :func:`arima_assets.data.sample.generate_sample` or the committed
            csv read with ``pd.read_csv(SAMPLE_PATH, dtype={"ISBN": str})``.
        isbn: the ISBN whose level shifts.
        n_weeks: number of weeks to append (1..52).
        level_factor: multiplier of ``isbn``'s level (> 0; 1.0 appends undrifted weeks).
        seed: random seed of the noise.
        continue_others: also append weeks for every other ISBN (default). With False only ``isbn``
            gets rows. Loaded together with the original rows, a missing week means zero sales, so the
            other ISBNs would then read as having sold nothing in the new weeks; written to a separate
            file (``result.iloc[len(frame):]``) the new rows are an update for ``isbn`` alone.

    Returns:
        A new frame: the input rows followed by the new rows (weeks without sales have no row).

    Raises:
        ValueError: a parameter is out of range, the ISBN is not in the frame, or it sold nothing in the
            last 13 weeks (a level factor cannot shift zero sales).
    """
    if not 1 <= n_weeks <= 52:
        raise ValueError(f"n_weeks={n_weeks} must be between 1 and 52")
    if not (level_factor > 0 and math.isfinite(level_factor)):
        raise ValueError(f"level_factor={level_factor} must be a finite number > 0")
    known = _frame_isbns(frame)
    target = _check_isbn(isbn, known)
    dates = pd.to_datetime(frame["End Date"])
    weeks = pd.date_range(dates.min(), dates.max(), freq="W-SAT")
    new_weeks = pd.date_range(weeks[-1] + pd.Timedelta(weeks=1), periods=n_weeks, freq="W-SAT")
    if _weekly_volumes(frame, target, weeks[-13:]).sum() == 0:
        raise ValueError(f"ISBN {target} sold nothing in the last 13 weeks; a level factor cannot shift it")
    rng = np.random.default_rng(seed)
    added = []
    for key in known:
        if key != target and not continue_others:
            continue
        expected = _seasonal_continuation(_weekly_volumes(frame, key, weeks), n_weeks)
        volumes = draw_volumes(expected * (level_factor if key == target else 1.0), rng)
        fields, rrp, discount = _last_row(frame, key)
        added.append(nielsen_rows(fields, new_weeks, volumes, np.full(n_weeks, rrp), np.full(n_weeks, discount)))
    return pd.concat([frame.loc[:, list(REQUIRED_COLUMNS)], *added], ignore_index=True)


def drifted_copy(frame: pd.DataFrame, isbn: str, weeks: int = 52, factor: float = 2.0, seed: int = 0) -> pd.DataFrame:
    """Copy of ``frame`` whose last ``weeks`` weeks of one ISBN are redrawn at ``factor`` times the level.

    The weeks are the frame's last calendar weeks (ending at its last week); the expected volume of each
    is its original volume times ``factor``, with the sample's demand noise. Other ISBNs are unchanged.

    Args:
        frame: a Nielsen-format frame.
        isbn: the ISBN to drift.
        weeks: how many final weeks to redraw (1..520).
        factor: level multiplier (>= 0, finite, != 1).
        seed: random seed of the noise.

    Returns:
        A new frame with the same columns.

    Raises:
        ValueError: a parameter is out of range, or the ISBN is not in the frame or sold nothing in the
            redrawn weeks.
    """
    if not 1 <= weeks <= 520:
        raise ValueError(f"weeks={weeks} must be between 1 and 520")
    if not (factor >= 0 and math.isfinite(factor)) or factor == 1:
        raise ValueError(f"factor={factor} must be a finite number >= 0 and != 1 (1 is no drift)")
    known = _frame_isbns(frame)
    target = _check_isbn(isbn, known)
    last = pd.to_datetime(frame["End Date"]).max()
    window = week_ends(weeks, last)
    original = _weekly_volumes(frame, target, window)
    if original.sum() == 0:
        raise ValueError(f"ISBN {target} sold nothing in its last {weeks} weeks; there is no level to drift")
    fields, rrp, discount = _last_row(frame, target)
    volumes = draw_volumes(original * factor, np.random.default_rng(seed))
    redrawn = nielsen_rows(fields, window, volumes, np.full(weeks, rrp), np.full(weeks, discount))
    dates = pd.to_datetime(frame["End Date"])
    keep = ~((frame["ISBN"].astype(str) == target) & (dates >= window[0]))
    return pd.concat([frame.loc[keep, list(REQUIRED_COLUMNS)], redrawn], ignore_index=True)
