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

When Dagster moves or exports them, only this module changes.
"""

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
]
