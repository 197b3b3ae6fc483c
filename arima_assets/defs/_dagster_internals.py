"""The private Dagster names this project uses, in one place (pinned dagster 1.13.27).

Dagster 1.13 has no public export for these; each is used because the public API does not cover the need:

- `AutomationContext`: the argument of a custom `AutomationCondition.evaluate` (the per-ISBN age clock and the
  custom triggers are evaluated in `automation.ModelClockCondition`).
- `AssetRecordsFilter`, `DagsterEventType`: batched reads of the latest materialization per partition (the age
  clocks of thousands of partitions in one tick).
- `DATA_VERSION_TAG`: the tag holding a materialization's data version, read for every partition in one query
  (`EventLogStorage.get_latest_tags_by_partition`) when the Python API decides which ISBNs need a run.
- `PartitionKeyFilter`, `AssetCheckExecutionRecordStatus`: reading the failed check evaluations of one ISBN for
  the drift alerts.
- `ASSET_PARTITION_RANGE_START_TAG`, `ASSET_PARTITION_RANGE_END_TAG`: the Python API runs a range of ISBN
  partitions in one in-process run (what a backfill's run carries).
- `partition_metadata_writer`: per-partition materialization metadata in a step over many partitions. The public
  `context.add_asset_metadata(..., partition_key=...)` reloads every dynamic partition key from the instance on
  each call to validate the key (one query per ISBN, O(ISBNs) each); the writer validates against the step's
  partition keys once and adds to the same accumulator.

When Dagster moves or exports them, only this module changes.
"""

from collections.abc import Callable, Mapping
from typing import Any

import dagster as dg
from dagster._core.definitions.data_version import DATA_VERSION_TAG
from dagster._core.definitions.declarative_automation.automation_context import AutomationContext
from dagster._core.event_api import AssetRecordsFilter, PartitionKeyFilter
from dagster._core.events import DagsterEventType
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

__all__ = [
    "ASSET_PARTITION_RANGE_END_TAG",
    "ASSET_PARTITION_RANGE_START_TAG",
    "AssetCheckExecutionRecordStatus",
    "AssetRecordsFilter",
    "AutomationContext",
    "DATA_VERSION_TAG",
    "DagsterEventType",
    "PartitionKeyFilter",
    "partition_metadata_writer",
]


def partition_metadata_writer(context: dg.AssetExecutionContext) -> Callable[[str, Mapping[str, Any]], None]:
    """A function `(partition_key, metadata)` adding materialization metadata to one partition of the step's asset,
    as `context.add_asset_metadata(metadata, partition_key=...)` does, with the step's keys read once."""
    step = context.get_step_execution_context()
    asset_key = context.assets_def.key
    targeted = frozenset(context.partition_keys)

    def add(partition_key: str, metadata: Mapping[str, Any]) -> None:
        if partition_key not in targeted:
            raise dg.DagsterInvariantViolationError(
                f"metadata for partition {partition_key!r} of {asset_key.to_user_string()}, not targeted by this step"
            )
        step._metadata_accumulator = step._metadata_accumulator.with_additional_asset_metadata(  # noqa: SLF001
            asset_key=asset_key, metadata=metadata, partition_key=partition_key
        )

    return add
