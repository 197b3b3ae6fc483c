"""The titles of the SYNTHETIC sample: catalogue fields, price and behaviour of each, with its expected weekly
volume as a function of the weeks (an evergreen, Christmas-gift peaks, a launch that decays, promotion spikes, a
title that goes out of print, a TV adaptation that doubles a title's level in the final 40 weeks).

:mod:`arima_assets.data.sample` draws the weekly sales from these expected volumes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from dateutil.easter import easter

__all__ = ["CATALOGUE", "LONG_TAIL", "Level", "SampleTitle"]

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


def _long_tail(
    rate: float,
    *,
    christmas: float = 0.0,
    yearly_change: float = 0.0,
    peak: tuple[int, int, float] | None = None,
    wakes_up: tuple[str, float] | None = None,
) -> Level:
    """A slow seller: `rate` copies a week on average (most weeks sell none below about 1 a week), a Christmas
    lift, a yearly growth or decline, a yearly peak (month, day, height) and a lasting change from a date."""

    def level(weeks: pd.DatetimeIndex, rng: np.random.Generator) -> np.ndarray:
        out = rate * np.exp(np.log1p(yearly_change) * _years(weeks)) * _christmas(weeks, christmas)
        if peak is not None:
            out = out * (1 + peak[2] * _bump(weeks, peak[0], peak[1], 21))
        if wakes_up is not None:
            out = out * _step(weeks, *wakes_up)
        return out

    return level


def _slow(
    isbn: str, title: str, author: str, imprint: str, product_class: str, rrp: float, level: Level, behaviour: str
) -> SampleTitle:
    """A long-tail paperback of the sample (publisher group Fieldfare for the Fieldfare and Hollin Press imprints,
    else Meridian)."""
    group = "Fieldfare" if imprint in ("Fieldfare", "Hollin Press") else "Meridian"
    return SampleTitle(isbn, title, author, "Paperback", imprint, group, product_class, rrp, level, behaviour)


#: The long tail: most titles of a real catalogue sell a few copies a week or fewer, with many weeks of none.
LONG_TAIL: tuple[SampleTitle, ...] = (
    _slow(
        "9781915304124",
        "Salt and Heather: Poems",
        "Morag Lennie",
        "Hollin Press",
        "P1.1 Poetry",
        9.99,
        _long_tail(0.6, christmas=1.0),
        "Poetry backlist: ~0.6 a week, doubling before Christmas.",
    ),
    _slow(
        "9781846231179",
        "A History of Wrexley Parish",
        "Canon T. Hale",
        "Hollin Press",
        "H4.1 Local History",
        12.99,
        _long_tail(0.3, peak=(8, 5, 2.0)),
        "Local history: ~0.3 a week, a summer-visitor peak x3.",
    ),
    _slow(
        "9781915478030",
        "Ordinal Methods in Sheaf Theory",
        "R. Okonkwo",
        "Hollin Press",
        "S5.1 Mathematics",
        45.00,
        _long_tail(0.12),
        "Academic monograph: a handful of copies a year.",
    ),
    _slow(
        "9781784712068",
        "The Allotment Kitchen",
        "Jean Bartle",
        "Fieldfare",
        "T9.1 Cookery",
        16.99,
        _long_tail(1.6, christmas=0.6, yearly_change=-0.10),
        "Cookbook backlist: ~1.6 a week falling 10 %/year, a Christmas lift.",
    ),
    _slow(
        "9781909356634",
        "Dead Reckoning",
        "Cal Maddox",
        "Saltmarsh",
        "F2.1 Crime, Thriller & Adventure",
        8.99,
        _long_tail(2.5, yearly_change=-0.25),
        "Faded thriller: ~2.5 a week falling 25 %/year, so the last years are mostly weeks without a sale.",
    ),
    _slow(
        "9781857445305",
        "Fair Isle Knitting Patterns",
        "Ailsa Ross",
        "Fieldfare",
        "T8.2 Crafts",
        14.99,
        _long_tail(0.8, peak=(11, 1, 1.5)),
        "Craft title: ~0.8 a week, an autumn knitting season x2.5.",
    ),
    _slow(
        "9781845139025",
        "Walks in the Marcher Hills",
        "D. Price",
        "Fieldfare",
        "W3.2 Walking Guides",
        10.99,
        _long_tail(0.5, peak=(5, 20, 2.5)),
        "Walking guide: ~0.5 a week, a late-spring peak x3.5.",
    ),
    _slow(
        "9781783440160",
        "Little Otter Can't Sleep",
        "Pip Merriman",
        "Saltmarsh",
        "Y1.1 Picture Books",
        6.99,
        _long_tail(1.0, christmas=2.0),
        "Picture book backlist: ~1 a week, x3 before Christmas.",
    ),
    _slow(
        "9781907794186",
        "Chess Openings for Club Players",
        "Viktor Amsel",
        "Fieldfare",
        "W5.4 Games",
        17.99,
        _long_tail(0.4),
        "Hobby title: ~0.4 a week all year round.",
    ),
    _slow(
        "9781910523735",
        "The Glass Orchard",
        "Ilse Varga (tr. N. Hart)",
        "Saltmarsh",
        "F1.1 General & Literary Fiction",
        9.99,
        _long_tail(0.25, wakes_up=("2024-03-02", 8.0)),
        "Translated novel that wakes up: ~0.25 a week until a prize longlisting on 2024-03-02, then ~2 a week.",
    ),
    _slow(
        "9781851246083",
        "Introductory Economics (2nd ed.)",
        "H. Whitlow",
        "Hollin Press",
        "J1.1 Textbooks",
        24.99,
        _long_tail(4.0, yearly_change=-0.35, peak=(9, 20, 2.0)),
        "Superseded textbook: ~4 a week at first with a September term peak, falling 35 %/year.",
    ),
    _slow(
        "9781845947217",
        "Field Notes on British Birds",
        "E. Marsh",
        "Fieldfare",
        "W2.1 Natural History",
        11.99,
        _long_tail(0.2, peak=(4, 15, 2.0)),
        "Nature backlist: ~0.2 a week, a spring peak.",
    ),
    _slow(
        "9781845230760",
        "Welsh Phrases for Travellers",
        "Siân Pugh",
        "Fieldfare",
        "W4.1 Phrasebooks",
        6.99,
        _long_tail(0.35, peak=(7, 15, 2.5)),
        "Phrasebook: ~0.35 a week, a summer-holiday peak x3.5.",
    ),
    _slow(
        "9781906214586",
        "Model Railway Layouts",
        "Gordon Pike",
        "Hollin Press",
        "W5.2 Model Making",
        19.99,
        _long_tail(0.5, christmas=1.5),
        "Hobby gift: ~0.5 a week, x2.5 before Christmas.",
    ),
)

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
    *LONG_TAIL,
)
"""The synthetic titles of the sample, in file order: twelve steady sellers, then the long tail."""
