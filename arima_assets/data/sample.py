"""A SYNTHETIC weekly sales sample in Nielsen BookScan export format (not Nielsen data).

:func:`generate_sample` draws ~10 years of weekly unit sales for the titles of
:data:`~arima_assets.data.catalogue.CATALOGUE`. The result is committed as :data:`SAMPLE_PATH`;
``python -m arima_assets.data.sample`` rewrites it byte for byte.

Weeks without sales have no row, as in a real export (missing weeks mean zero sales).
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from arima_assets.data.catalogue import CATALOGUE, SampleTitle
from arima_assets.data.nielsen import REQUIRED_COLUMNS

__all__ = [
    "DEFAULT_SEED",
    "LAST_WEEK",
    "N_WEEKS",
    "SAMPLE_PATH",
    "draw_volumes",
    "generate_sample",
    "main",
    "nielsen_rows",
    "sample_csv_text",
    "week_ends",
    "write_sample",
]

SAMPLE_PATH: Path = Path(__file__).resolve().parent / "sample" / "nielsen_weekly_sample.csv"
DEFAULT_SEED = 20240720
LAST_WEEK = pd.Timestamp("2024-07-20")
N_WEEKS = 530
_NOISE_SHAPE = 25.0  # gamma shape of the week-to-week demand noise (coefficient of variation 0.2)


def week_ends(n_weeks: int = N_WEEKS, last: pd.Timestamp = LAST_WEEK) -> pd.DatetimeIndex:
    """The `n_weeks` week-ending Saturdays up to `last`."""
    return pd.date_range(end=last, periods=n_weeks, freq="W-SAT")


def draw_volumes(level: np.ndarray, rng: np.random.Generator) -> np.ndarray:
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


def nielsen_rows(
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
    weeks = week_ends()
    frames = []
    for index, entry in enumerate(CATALOGUE):
        rng = np.random.default_rng([seed, index])
        level = entry.level(weeks, rng)
        volumes = draw_volumes(level, rng)
        # Publishers raised many prices in 2022; retailers discount 10-30 % (20 % typical), more in busy weeks.
        rrp = np.where(weeks >= pd.Timestamp("2022-06-04"), math.floor(entry.rrp * 1.1) + 0.99, entry.rrp)
        relative = level / max(float(np.median(level[level > 0])), 1e-9)
        discount = np.clip(0.2 + 0.1 * np.tanh(relative - 1.0) + rng.normal(0.0, 0.02, len(weeks)), 0.0, 0.6)
        frames.append(nielsen_rows(_catalogue_fields(entry), weeks, volumes, rrp, discount))
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
