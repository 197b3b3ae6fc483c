"""A SYNTHETIC weekly sales sample in Nielsen BookScan export format (not Nielsen data).

:func:`generate_sample` draws ~10 years of weekly unit sales for a small catalogue of titles, each with a
book-like behaviour (an evergreen, Christmas-gift peaks, a launch that decays, promotion spikes, a title
that goes out of print, a TV adaptation that doubles a title's level in the final 40 weeks). The result
is committed as :data:`SAMPLE_PATH`; ``python -m arima_assets.data.sample`` rewrites it byte for byte.

:func:`append_weeks` and :func:`drifted_copy` derive new data from a sample, for tests and demos where
"new sales weeks arrive" or "one ISBN's pattern changed".

Weeks without sales have no row, as in a real export (missing weeks mean zero sales).
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from dateutil.easter import easter

from arima_assets.data.isbn import normalize_isbn
from arima_assets.data.nielsen import REQUIRED_COLUMNS

__all__ = [
    "CATALOGUE",
    "DEFAULT_SEED",
    "LAST_WEEK",
    "N_WEEKS",
    "SAMPLE_PATH",
    "SampleTitle",
    "append_weeks",
    "drifted_copy",
    "generate_sample",
    "main",
    "sample_csv_text",
    "write_sample",
]

SAMPLE_PATH: Path = Path(__file__).resolve().parent / "sample" / "nielsen_weekly_sample.csv"
DEFAULT_SEED = 20240720
LAST_WEEK = pd.Timestamp("2024-07-20")
N_WEEKS = 530
_NOISE_SHAPE = 25.0  # gamma shape of the week-to-week demand noise (coefficient of variation 0.2)

Level = Callable[[pd.DatetimeIndex, np.random.Generator], np.ndarray]


@dataclass(frozen=True)
class SampleTitle:
    """One synthetic title: catalogue fields, price, and the expected weekly volume as a function."""

    isbn: str
    title: str
    author: str
    binding: str
    imprint: str
    publisher_group: str
    product_class: str
    rrp: float
    level: Level
    behaviour: str


# Seasonal and event shapes: multiplicative factors on a weekly DatetimeIndex (week-ending Saturdays).


def _years(weeks: pd.DatetimeIndex) -> np.ndarray:
    return np.asarray((weeks - weeks[0]).days / 365.25, dtype=float)


def _bump(weeks: pd.DatetimeIndex, month: int, day: int, width_days: float) -> np.ndarray:
    """Gaussian bump of height 1 around the same calendar day every year."""
    out = np.zeros(len(weeks))
    for year in range(weeks[0].year - 1, weeks[-1].year + 2):
        centre = pd.Timestamp(year=year, month=month, day=day)
        out = np.maximum(out, np.exp(-0.5 * (np.asarray((weeks - centre).days) / width_days) ** 2))
    return out


def _christmas(weeks: pd.DatetimeIndex, peak: float) -> np.ndarray:
    """Gift buying: rises through December to the week before Christmas, collapses after it."""
    days_to = np.asarray([(pd.Timestamp(year=w.year, month=12, day=24) - w).days for w in weeks])
    before = np.where((days_to >= 0) & (days_to <= 56), np.exp(-0.5 * (days_to / 14.0) ** 2), 0.0)
    after = np.where(days_to < 0, 0.25 * np.exp(days_to / 3.0), 0.0)
    january = np.where(np.asarray(weeks.month) == 1, -0.15, 0.0)
    return 1.0 + peak * (before + after) + january


def _launch(weeks: pd.DatetimeIndex, peak: float, decay_weeks: float) -> np.ndarray:
    return 1.0 + peak * np.exp(-np.arange(len(weeks)) / decay_weeks)


def _promotions(
    weeks: pd.DatetimeIndex, rng: np.random.Generator, per_year: float, factor: tuple[float, float]
) -> np.ndarray:
    """Retailer promotions: 2-4 week windows at random times lifting sales by a factor in ``factor``.

    Overlapping windows take the larger lift (they do not compound).
    """
    out = np.ones(len(weeks))
    n = rng.poisson(per_year * len(weeks) / 52.18)
    for start in rng.integers(0, len(weeks) - 4, size=n):
        length = int(rng.integers(2, 5))
        out[start : start + length] = np.maximum(out[start : start + length], rng.uniform(*factor))
    return out


def _step(weeks: pd.DatetimeIndex, at: str, factor: float) -> np.ndarray:
    return np.where(weeks >= pd.Timestamp(at), factor, 1.0)


def _evergreen(weeks: pd.DatetimeIndex, rng: np.random.Generator) -> np.ndarray:
    return (
        420
        * np.exp(0.03 * _years(weeks))
        * _christmas(weeks, 1.2)
        * (1 + 0.15 * _bump(weeks, 8, 1, 21))
        * _promotions(weeks, rng, 0.3, (1.5, 2.2))
    )


def _easter(weeks: pd.DatetimeIndex) -> np.ndarray:
    out = np.zeros(len(weeks))
    for year in range(weeks[0].year, weeks[-1].year + 1):
        days = np.asarray((weeks - pd.Timestamp(easter(year))).days)
        out = np.maximum(out, np.exp(-0.5 * (days / 8.0) ** 2))
    return out


def _childrens_classic(weeks: pd.DatetimeIndex, rng: np.random.Generator) -> np.ndarray:
    return 300 * _christmas(weeks, 3.5) * (1 + 0.6 * _easter(weeks)) * _promotions(weeks, rng, 0.2, (1.5, 2.0))


def _promoted_classic(weeks: pd.DatetimeIndex, rng: np.random.Generator) -> np.ndarray:
    return 180 * _christmas(weeks, 0.6) * _promotions(weeks, rng, 3.0, (2.5, 4.0))


def _launch_decay(weeks: pd.DatetimeIndex, rng: np.random.Generator) -> np.ndarray:
    return 60 * np.exp(-0.06 * _years(weeks)) * _launch(weeks, 40.0, 9.0) * _christmas(weeks, 0.8)


def _out_of_print(weeks: pd.DatetimeIndex, rng: np.random.Generator) -> np.ndarray:
    new_year = 1 + 1.5 * _bump(weeks, 1, 10, 12)
    fad = np.exp(-0.35 * _years(weeks))
    return 500 * fad * new_year * _christmas(weeks, 0.3) * _step(weeks, "2023-03-25", 0.0)


def _tv_adaptation(weeks: pd.DatetimeIndex, rng: np.random.Generator) -> np.ndarray:
    broadcast = pd.Timestamp("2023-10-21")
    since = np.asarray((weeks - broadcast).days / 7.0)
    buzz = np.where(since >= 0, 1 + 3.0 * np.exp(-since / 3.0), 1.0)
    return 140 * _christmas(weeks, 0.7) * _step(weeks, "2023-10-21", 2.2) * buzz


def _summer_read(weeks: pd.DatetimeIndex, rng: np.random.Generator) -> np.ndarray:
    return 90 * np.exp(-0.04 * _years(weeks)) * (1 + 1.5 * _bump(weeks, 7, 25, 21)) * _christmas(weeks, 0.3)


def _revision_guide(weeks: pd.DatetimeIndex, rng: np.random.Generator) -> np.ndarray:
    exams = 1 + 2.0 * _bump(weeks, 4, 20, 24)
    term = 1 + 0.8 * _bump(weeks, 9, 12, 10)
    summer = 1 - 0.5 * _bump(weeks, 8, 1, 14)
    return 600 * exams * term * summer * _christmas(weeks, -0.4)


def _niche_specialist(weeks: pd.DatetimeIndex, rng: np.random.Generator) -> np.ndarray:
    return 8 * (1 + 1.5 * _bump(weeks, 4, 25, 25)) * (1 - 0.8 * _bump(weeks, 1, 15, 35))


def _christmas_classic(weeks: pd.DatetimeIndex, rng: np.random.Generator) -> np.ndarray:
    return 150 * _christmas(weeks, 6.0) * (1 + 0.5 * _bump(weeks, 5, 10, 20))


def _halloween_classic(weeks: pd.DatetimeIndex, rng: np.random.Generator) -> np.ndarray:
    bicentenary = 1 + 1.0 * np.exp(-0.5 * (np.asarray((weeks - pd.Timestamp("2018-01-01")).days) / 35.0) ** 2)
    return 110 * (1 + 1.2 * _bump(weeks, 10, 28, 12)) * _christmas(weeks, 0.4) * bicentenary


def _growing_picture_book(weeks: pd.DatetimeIndex, rng: np.random.Generator) -> np.ndarray:
    world_book_day = 1 + 1.5 * _bump(weeks, 3, 5, 5)
    return 40 * np.exp(0.15 * _years(weeks)) * _christmas(weeks, 2.0) * world_book_day


CATALOGUE: tuple[SampleTitle, ...] = (
    SampleTitle(
        isbn="9780722532935",
        title="The Desert Alchemist",
        author="Aurelio Santos",
        binding="Paperback",
        imprint="Thornfield",
        publisher_group="Harbour House",
        product_class="F1.1 General & Literary Fiction",
        rrp=9.99,
        level=_evergreen,
        behaviour=(
            "Evergreen bestseller: ~420 a week growing 3 %/year, Christmas peak x2.2, small summer "
            "lift, occasional promotions."
        ),
    ),
    SampleTitle(
        isbn="9780241003008",
        title="The Tale of Peter Rabbit",
        author="Beatrix Potter",
        binding="Board Book",
        imprint="Puffling",
        publisher_group="Penwright",
        product_class="Y1.1 Picture Books",
        rrp=7.99,
        level=_childrens_classic,
        behaviour="Children's classic: ~300 a week, very strong Christmas peaks (x4.5), an Easter bump.",
    ),
    SampleTitle(
        isbn="9780141439518",
        title="Pride and Prejudice",
        author="Jane Austen",
        binding="Paperback",
        imprint="Quayside Classics",
        publisher_group="Penwright",
        product_class="F1.4 Classic Fiction",
        rrp=6.99,
        level=_promoted_classic,
        behaviour=("Promoted classic: ~180 a week with about three 2-4 week promotions a year (x2.5-x4 spikes)."),
    ),
    SampleTitle(
        isbn="9781841954127",
        title="The Ninth Lock",
        author="Maren Holt",
        binding="Paperback",
        imprint="Blackwater",
        publisher_group="Harbour House",
        product_class="F2.1 Crime, Thriller & Adventure",
        rrp=8.99,
        level=_launch_decay,
        behaviour=(
            "Launch then slow decay: ~2,400 in launch week, halving every ~6 weeks to a ~60 a week "
            "backlist that keeps declining 6 %/year, with Christmas peaks."
        ),
    ),
    SampleTitle(
        isbn="9780995812307",
        title="The Five-Minute Soup Diet",
        author="Lena Ortiz",
        binding="Paperback",
        imprint="Brightside",
        publisher_group="Meridian",
        product_class="T11.2 Diet & Fitness",
        rrp=12.99,
        level=_out_of_print,
        behaviour=(
            "Fad that stops selling: New Year diet peaks, fading 30 %/year, out of print from "
            "2023-03-25 (no sales in its last 70 weeks)."
        ),
    ),
    SampleTitle(
        isbn="9781907734175",
        title="The Lighthouse Keeper's Daughter",
        author="Isobel Crane",
        binding="Paperback",
        imprint="Saltmarsh",
        publisher_group="Meridian",
        product_class="F1.1 General & Literary Fiction",
        rrp=8.99,
        level=_tv_adaptation,
        behaviour=(
            "Structural break: steady ~140 a week until a TV adaptation airs 2023-10-21 (40 weeks "
            "before the end); a 4x burst then a lasting level x2.2."
        ),
    ),
    SampleTitle(
        isbn="9781783520695",
        title="Summer at Gull Cottage",
        author="Rosie Penhallow",
        binding="Paperback",
        imprint="Saltmarsh",
        publisher_group="Meridian",
        product_class="F1.3 Romance & Sagas",
        rrp=7.99,
        level=_summer_read,
        behaviour="Summer read: ~90 a week peaking x2.5 in late July, slow decline.",
    ),
    SampleTitle(
        isbn="9781912160020",
        title="GCSE Maths Revision Guide",
        author="A. Patel",
        binding="Paperback",
        imprint="Kestrel Study",
        publisher_group="Kestrel",
        product_class="Y3.2 Revision Guides",
        rrp=5.99,
        level=_revision_guide,
        behaviour=(
            "Exam cycle: ~600 a week, x3 before the spring exams, back-to-school lift in September, low"
            " in August and at Christmas."
        ),
    ),
    SampleTitle(
        isbn="9781844680337",
        title="Practical Beekeeping",
        author="Gwen Aldous",
        binding="Paperback",
        imprint="Fieldfare",
        publisher_group="Fieldfare",
        product_class="S8.2 Gardening",
        rrp=14.99,
        level=_niche_specialist,
        behaviour=(
            "Specialist, low volume: ~8 a week with a spring peak and a winter lull; some weeks sell "
            "nothing (no row in the file)."
        ),
    ),
    SampleTitle(
        isbn="9780141439471",
        title="A Christmas Carol",
        author="Charles Dickens",
        binding="Paperback",
        imprint="Quayside Classics",
        publisher_group="Penwright",
        product_class="F1.4 Classic Fiction",
        rrp=4.99,
        level=_christmas_classic,
        behaviour="Seasonal classic: ~150 a week, Christmas peak x7, a school set-text lift in May.",
    ),
    SampleTitle(
        isbn="9781782941033",
        title="Frankenstein",
        author="Mary Shelley",
        binding="Paperback",
        imprint="Quayside Classics",
        publisher_group="Penwright",
        product_class="F1.4 Classic Fiction",
        rrp=5.99,
        level=_halloween_classic,
        behaviour=(
            "Halloween classic: ~110 a week, x2.2 at Halloween, a one-off bicentenary bump around January 2018."
        ),
    ),
    SampleTitle(
        isbn="9780753326183",
        title="Monty the Moon Bear",
        author="Elsie Fairweather",
        binding="Paperback",
        imprint="Puffling",
        publisher_group="Penwright",
        product_class="Y1.1 Picture Books",
        rrp=6.99,
        level=_growing_picture_book,
        behaviour=(
            "Growing picture book: ~40 a week growing 15 %/year, Christmas peak x3, World Book Day "
            "spikes in early March."
        ),
    ),
)
"""The synthetic titles of the sample, in file order."""


def _weeks(n_weeks: int = N_WEEKS, last: pd.Timestamp = LAST_WEEK) -> pd.DatetimeIndex:
    return pd.date_range(end=last, periods=n_weeks, freq="W-SAT")


def _draw_volumes(level: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Integer weekly volumes around ``level``: Poisson with gamma-distributed demand noise."""
    noise = rng.gamma(_NOISE_SHAPE, 1.0 / _NOISE_SHAPE, size=len(level))
    return rng.poisson(np.clip(level, 0.0, None) * noise).astype(np.int64)


def _interval(weeks: pd.DatetimeIndex) -> np.ndarray:
    iso = weeks.isocalendar()
    return (iso["year"].to_numpy() * 100 + iso["week"].to_numpy()).astype(np.int64)


def _catalogue_fields(entry: SampleTitle) -> dict[str, str]:
    return {
        "ISBN": entry.isbn,
        "Title": entry.title,
        "Author": entry.author,
        "Binding": entry.binding,
        "Imprint": entry.imprint,
        "Publisher Group": entry.publisher_group,
        "Product Class": entry.product_class,
    }


def _priced_rows(
    fields: dict[str, str],
    weeks: pd.DatetimeIndex,
    volumes: np.ndarray,
    rrp: np.ndarray,
    discount: np.ndarray,
) -> pd.DataFrame:
    """Nielsen-format rows for the weeks with sales; Value from the discounted price, ASP = Value/Volume."""
    sold = volumes > 0
    weeks, volumes, rrp, discount = weeks[sold], volumes[sold], rrp[sold], discount[sold]
    value = np.round(volumes * rrp * (1.0 - discount), 2)
    numbers = {
        "Interval": _interval(weeks),
        "End Date": weeks,
        "Volume": volumes,
        "Value": value,
        "ASP": np.round(value / volumes, 2),
        "RRP": np.round(rrp, 2),
    }
    return pd.DataFrame({**fields, **numbers}, index=pd.RangeIndex(len(weeks))).loc[:, list(REQUIRED_COLUMNS)]


def generate_sample(seed: int = DEFAULT_SEED) -> pd.DataFrame:
    """Generate the synthetic sample in Nielsen export format.

    Args:
        seed: random seed; the same seed gives the same frame (and the same csv bytes).

    Returns:
        DataFrame with the 13 :data:`REQUIRED_COLUMNS` (ISBN str, Interval int, End Date Timestamp,
        Volume int, Value/ASP/RRP float rounded to 2 decimals), one row per title and week with sales,
        :data:`N_WEEKS` weeks ending :data:`LAST_WEEK`, sorted by catalogue order then week.
    """
    weeks = _weeks()
    frames = []
    for index, entry in enumerate(CATALOGUE):
        rng = np.random.default_rng([seed, index])
        level = entry.level(weeks, rng)
        volumes = _draw_volumes(level, rng)
        # Publishers raised many prices in 2022; retailers discount 10-30 % (20 % typical), more in busy weeks.
        rrp = np.where(weeks >= pd.Timestamp("2022-06-04"), math.floor(entry.rrp * 1.1) + 0.99, entry.rrp)
        relative = level / max(float(np.median(level[level > 0])), 1e-9)
        discount = np.clip(0.2 + 0.1 * np.tanh(relative - 1.0) + rng.normal(0.0, 0.02, len(weeks)), 0.0, 0.6)
        frames.append(_priced_rows(_catalogue_fields(entry), weeks, volumes, rrp, discount))
    return pd.concat(frames, ignore_index=True).loc[:, list(REQUIRED_COLUMNS)]


def sample_csv_text(frame: pd.DataFrame) -> str:
    """The csv text of a Nielsen-format frame as committed: ISO dates, 2-decimal money, LF line ends."""
    out = frame.loc[:, list(REQUIRED_COLUMNS)].copy()
    out["End Date"] = pd.to_datetime(out["End Date"]).dt.strftime("%Y-%m-%d")
    return out.to_csv(index=False, float_format="%.2f", lineterminator="\n")


def write_sample(path: str | Path = SAMPLE_PATH, seed: int = DEFAULT_SEED) -> Path:
    """Generate the sample and write it as csv to ``path`` (default: the committed :data:`SAMPLE_PATH`)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(sample_csv_text(generate_sample(seed)).encode("utf-8"))
    return target


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
        frame: a Nielsen-format frame, e.g. :func:`generate_sample` or the committed csv read with
            ``pd.read_csv(SAMPLE_PATH, dtype={"ISBN": str})``.
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
        volumes = _draw_volumes(expected * (level_factor if key == target else 1.0), rng)
        fields, rrp, discount = _last_row(frame, key)
        added.append(_priced_rows(fields, new_weeks, volumes, np.full(n_weeks, rrp), np.full(n_weeks, discount)))
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
    window = _weeks(weeks, last)
    original = _weekly_volumes(frame, target, window)
    if original.sum() == 0:
        raise ValueError(f"ISBN {target} sold nothing in its last {weeks} weeks; there is no level to drift")
    fields, rrp, discount = _last_row(frame, target)
    volumes = _draw_volumes(original * factor, np.random.default_rng(seed))
    redrawn = _priced_rows(fields, window, volumes, np.full(weeks, rrp), np.full(weeks, discount))
    dates = pd.to_datetime(frame["End Date"])
    keep = ~((frame["ISBN"].astype(str) == target) & (dates >= window[0]))
    return pd.concat([frame.loc[keep, list(REQUIRED_COLUMNS)], redrawn], ignore_index=True)


def main(argv: Sequence[str] | None = None) -> None:
    """Rewrite the committed sample csv (``python -m arima_assets.data.sample``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=SAMPLE_PATH, help="csv path (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed (default: %(default)s)")
    args = parser.parse_args(argv)
    path = write_sample(args.output, args.seed)
    print(f"wrote {path} ({path.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
