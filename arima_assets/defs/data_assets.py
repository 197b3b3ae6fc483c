"""Ingest: the sales files, and one weekly series per ISBN partition."""

import hashlib
from collections.abc import Callable, Mapping
from typing import Any

import dagster as dg
import pandas as pd

from arima_assets.config import ArimaConfig
from arima_assets.data.nielsen import SalesData, load_sales
from arima_assets.defs._dagster_internals import partition_metadata_writer
from arima_assets.defs.automation import SERIES_VERSION_METADATA_KEY, batch_policy, partition_refresh_condition
from arima_assets.defs.partitions import ISBN_PARTITIONS_NAME, isbn_partitions
from arima_assets.training import series_version

__all__ = [
    "book_sales",
    "build_weekly_sales",
    "frame_version",
    "output_by_partition",
    "titles_of",
    "series_by_partition",
    "series_from_frame",
    "frame_from_series",
]


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


def series_from_frame(frame: pd.DataFrame) -> pd.Series:
    """The weekly series stored by `weekly_sales` (a one-column `volume` frame) as a W-SAT Series."""
    series = frame["volume"].astype(float)
    series.index = pd.DatetimeIndex(series.index, freq="W-SAT", name="week_end")
    return series


def frame_from_series(series: pd.Series) -> pd.DataFrame:
    """Inverse of series_from_frame."""
    return series.rename("volume").to_frame()


def series_by_partition(
    partition_keys: list[str] | tuple[str, ...], loaded: pd.DataFrame | dict[str, pd.DataFrame]
) -> dict[str, pd.Series]:
    """The weekly series of each partition of a step, in partition order, from what the IO manager loaded (one
    frame for a single partition, a dict by partition for several).

    Raises:
        ValueError: a partition's series is missing (its weekly_sales was never materialized).
    """
    frames = loaded if isinstance(loaded, dict) else {partition_keys[0]: loaded}
    missing = [key for key in partition_keys if key not in frames]
    if missing:
        raise ValueError(f"weekly_sales is missing for ISBN(s) {missing[:10]}: materialize weekly_sales first")
    return {key: series_from_frame(frames[key]) for key in partition_keys}


def titles_of(instance: dg.DagsterInstance, isbns: list[str]) -> dict[str, str]:
    """ISBN -> "title (author)" from each ISBN's latest weekly_sales metadata (one query for the batch): shown
    beside the ISBN wherever a planner reads it."""
    from arima_assets.defs.automation import latest_metadata_values

    key = dg.AssetKey("weekly_sales")
    titles = latest_metadata_values(instance, key, set(isbns), "title")
    authors = latest_metadata_values(instance, key, set(isbns), "author")
    return {
        isbn: f"{title} ({authors[isbn]})" if authors.get(isbn) else str(title)
        for isbn, title in titles.items()
        if title
    }


def output_by_partition(partition_keys: list[str], values: dict[str, object]) -> object:
    """A batched step's output: the value for one partition, a dict by partition for several."""
    return values[partition_keys[0]] if len(partition_keys) == 1 else values


def build_weekly_sales(config: ArimaConfig) -> dg.AssetsDefinition:
    """The `weekly_sales` asset, in runs of at most `batch_size` ISBNs."""

    @dg.asset(
        name="weekly_sales",
        group_name="arima_assets",
        partitions_def=isbn_partitions,
        kinds={"pandas"},
        automation_condition=partition_refresh_condition("book_sales"),
        backfill_policy=batch_policy(config),
    )
    def weekly_sales(
        context: dg.AssetExecutionContext, arima_config: dg.ResourceParam[ArimaConfig], book_sales: pd.DataFrame
    ) -> dg.Output:
        """The ISBN's weekly unit sales on a W-SAT index, missing weeks as 0, for every ISBN of the run. Each
        partition's metadata holds the title and a hash of its series (`series_version`): re-ingesting unchanged
        data is not new data for the model."""
        keys = list(context.partition_keys)
        add_metadata = partition_metadata_writer(context)
        outputs = _weekly_frames(add_metadata, arima_config, book_sales, keys)
        for isbn in (key for key in keys if key not in outputs):  # an empty series: its model step reports it
            context.log.warning(f"ISBN {isbn} is not in the ingested sales files: its series is empty")
            empty = pd.Series([], index=pd.DatetimeIndex([], freq="W-SAT", name="week_end"), dtype=float)
            outputs[isbn] = frame_from_series(empty)
            add_metadata(isbn, {"title": "", SERIES_VERSION_METADATA_KEY: series_version(empty), "weeks": 0})
        return dg.Output(output_by_partition(keys, outputs))

    return weekly_sales


def _weekly_frames(
    add_metadata: Callable[[str, Mapping[str, Any]], None],
    config: ArimaConfig,
    book_sales: pd.DataFrame,
    keys: list[str],
) -> dict[str, pd.DataFrame]:
    """Each ISBN's weekly series as a frame (one pass over the table), its metadata added to its partition."""
    week_by_source = book_sales.groupby("source")["week_end"].max()
    outputs: dict[str, pd.DataFrame] = {}
    for isbn, rows in book_sales[book_sales["isbn"].isin(keys)].groupby("isbn", sort=False):
        titles = {isbn: str(rows["title"].iloc[-1])}
        data = SalesData(frame=rows, titles=titles, absent_weeks=config.absent_weeks)
        # a file reports every title it tracks up to its last week: the series runs to the newest week of the
        # files the ISBN appears in (a later file for other titles does not pad it)
        series = data.weekly_series(isbn, end=pd.Timestamp(week_by_source.loc[rows["source"].unique()].max()))
        outputs[isbn] = frame_from_series(series)
        add_metadata(
            isbn,
            {
                "title": titles[isbn],
                "author": str(rows["author"].iloc[-1]) if "author" in rows else "",
                SERIES_VERSION_METADATA_KEY: series_version(series),
                "weeks": len(series),
                "first_week": str(series.index[0].date()),
                "last_week": str(series.index[-1].date()),
                "total_units": float(series.sum()),
                "last_13_weeks_units": float(series.iloc[-13:].sum()),
                "zero_weeks_share": float((series == 0).mean()),
            },
        )
    return outputs
