"""Ingest: the sales files, and one weekly series per ISBN partition."""

import hashlib

import dagster as dg
import pandas as pd

from arima_assets.config import ArimaConfig
from arima_assets.data.nielsen import SalesData, load_sales
from arima_assets.defs.automation import partition_refresh_condition
from arima_assets.defs.partitions import ISBN_PARTITIONS_NAME, isbn_partitions
from arima_assets.training import series_version

__all__ = ["book_sales", "weekly_sales", "coverage_end", "frame_version", "series_from_frame", "frame_from_series"]


@dg.asset(group_name="arima_assets", kinds={"pandas"})
def book_sales(
    context: dg.AssetExecutionContext, arima_config: dg.ResourceParam[ArimaConfig]
) -> dg.Output[pd.DataFrame]:
    """Nielsen BookScan weekly sales (csv/xlsx) from `sales_path`, validated; adds every valid ISBN as a
    partition of `isbn` (partitions are never deleted). Skipped rows are listed in the metadata."""
    data = load_sales(
        arima_config.sales_path,
        absent_weeks=arima_config.absent_weeks,
        max_weekly_volume=arima_config.max_weekly_volume,
    )
    known = set(context.instance.get_dynamic_partitions(ISBN_PARTITIONS_NAME))
    new = [isbn for isbn in data.isbns() if isbn not in known]
    if new:
        context.instance.add_dynamic_partitions(ISBN_PARTITIONS_NAME, new)
    frame = data.frame
    rejected = "\n".join(f"- {problem}" for problem in data.rejected[:50]) or "none"
    return dg.Output(
        frame,
        data_version=dg.DataVersion(frame_version(frame)),
        metadata={
            "isbns": len(data.isbns()),
            "new_isbns": len(new),
            "rows": len(frame),
            "rejected_rows": len(data.rejected),
            "rejected": dg.MetadataValue.md(rejected),
            "first_week": str(frame["week_end"].min().date()),
            "last_week": str(frame["week_end"].max().date()),
            "files": dg.MetadataValue.json(data.files),
        },
    )


def frame_version(frame: pd.DataFrame) -> str:
    """Content hash of the ingested table."""
    hashes = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    return hashlib.sha256(hashes.tobytes()).hexdigest()[:16]


def coverage_end(frame: pd.DataFrame, isbn: str) -> pd.Timestamp:
    """Last week covered for an ISBN: the latest week of any source file the ISBN appears in.

    A file reports every title it tracks up to its last week, so weeks without a row in that span are zero
    sales; a later file that does not mention the ISBN (e.g. an update for other titles) does not extend it.
    """
    week_by_source = frame.groupby("source")["week_end"].max()
    sources = frame.loc[frame["isbn"] == isbn, "source"].unique()
    return pd.Timestamp(week_by_source.loc[sources].max())


def series_from_frame(frame: pd.DataFrame) -> pd.Series:
    """The weekly series stored by `weekly_sales` (a one-column `volume` frame) as a W-SAT Series."""
    series = frame["volume"].astype(float)
    series.index = pd.DatetimeIndex(series.index, freq="W-SAT", name="week_end")
    return series


def frame_from_series(series: pd.Series) -> pd.DataFrame:
    """Inverse of series_from_frame."""
    return series.rename("volume").to_frame()


@dg.asset(
    group_name="arima_assets",
    partitions_def=isbn_partitions,
    kinds={"pandas"},
    automation_condition=partition_refresh_condition("book_sales"),
)
def weekly_sales(
    context: dg.AssetExecutionContext, arima_config: dg.ResourceParam[ArimaConfig], book_sales: pd.DataFrame
) -> dg.Output[pd.DataFrame]:
    """The ISBN's weekly unit sales on a W-SAT index, missing weeks as 0. Its data version is a hash of the
    series, so re-ingesting unchanged data is not new data."""
    isbn = context.partition_key
    rows = book_sales[book_sales["isbn"] == isbn]  # one ISBN's rows: no per-partition work over the whole table
    titles = {isbn: str(rows["title"].iloc[-1])} if len(rows) else {}
    data = SalesData(frame=rows, titles=titles, absent_weeks=arima_config.absent_weeks)
    series = data.weekly_series(isbn, end=coverage_end(book_sales, isbn))
    return dg.Output(
        frame_from_series(series),
        data_version=dg.DataVersion(series_version(series)),
        metadata={
            "title": titles.get(isbn, ""),
            "weeks": len(series),
            "first_week": str(series.index[0].date()),
            "last_week": str(series.index[-1].date()),
            "total_units": float(series.sum()),
            "last_13_weeks_units": float(series.iloc[-13:].sum()),
            "zero_weeks_share": float((series == 0).mean()),
        },
    )
