"""Automation conditions, composed once and named: what makes each asset partition stale.

- weekly_sales[isbn]: missing, or the sales files were re-ingested.
- arima_model[isbn]: missing, too old (custom per-partition condition over the decision engine), a failed
  drift/performance/age check, or forced; never while running, right after being requested, or again after a
  failed run until new data arrives.
- sales_forecast[isbn]: missing, or its series or model changed data version (re-filter, no refit).
- checks: run when the ISBN's series or model changes data version.
"""

import threading
from datetime import UTC, datetime

import dagster as dg

from arima_assets.config import ArimaConfig
from arima_assets.decision import age_verdict, custom_trigger_results, forced_verdict
from arima_assets.defs._dagster_internals import (
    AssetCheckExecutionRecordStatus,
    AssetRecordsFilter,
    AutomationContext,
    DagsterEventType,
)

__all__ = [
    "AGE_CLOCK_METADATA_KEY",
    "ModelClockCondition",
    "FailedCheckCondition",
    "partition_refresh_condition",
    "model_condition",
    "forecast_condition",
    "check_condition",
    "report_condition",
]

AC = dg.AutomationCondition

#: Metadata key on arima_model materializations: when the champion's age clock started (unix seconds).
AGE_CLOCK_METADATA_KEY = "age_clock_start_ts"


class ModelClockCondition(dg.AutomationCondition):
    """True for model partitions whose champion is past `max_model_age_days`, whose custom triggers that need
    no series fire (e.g. a release calendar), or, under force_retrain, whose clock started before the
    definitions were loaded.

    Reads each partition's latest materialization metadata (`age_clock_start_ts`) and asks the decision
    engine. Not serializable: evaluate it with a sensor that uses the user code server.
    """

    def __init__(self, config: ArimaConfig, forced_since: datetime | None = None):
        self._config = config
        self._forced_since = forced_since or datetime.now(UTC)

    @property
    def name(self) -> str:
        return "model_clock"

    @property
    def description(self) -> str:
        return f"model older than {self._config.max_model_age_days:g} days, or forced"

    def evaluate(self, context: AutomationContext) -> dg.AutomationResult:  # type: ignore[override]
        candidates = context.candidate_subset.expensively_compute_partition_keys()
        clocks = latest_age_clocks(context.asset_graph_view.instance, context.key, candidates)
        now = context.evaluation_time
        stale = {
            key
            for key, clock in clocks.items()
            if age_verdict(clock, self._config, now).fired
            or forced_verdict(clock, self._config, self._forced_since).fired
            or any(r.fired for r in custom_trigger_results(key, clock, self._config, now))
        }
        true_subset = context.candidate_subset.compute_intersection_with_partition_keys(stale)
        return dg.AutomationResult(context=context, true_subset=true_subset)


class FailedCheckCondition(dg.AutomationCondition):
    """True for model partitions where any check of the asset failed against the partition's latest
    materialization: `any_checks_match(check_failed())`, computed in one pass over the check records.

    Dagster 1.13 rebuilds every check's state on every tick with one set union per partition record, which is
    quadratic (measured: about 9 s of a 10,000-ISBN tick with 5 checks). This reads the same records
    (`get_asset_check_partition_info`: the latest execution per partition and whether it targets the latest
    materialization) and builds the subset once. A new materialization clears a failure, as with check_failed().
    """

    @property
    def name(self) -> str:
        return "a check failed"

    @property
    def description(self) -> str:
        return "a check of the ISBN failed against its latest model"

    def evaluate(self, context: AutomationContext) -> dg.AutomationResult:  # type: ignore[override]
        check_keys = context.asset_graph.get_check_keys_for_assets({context.key})
        storage = context.asset_graph_view.instance.event_log_storage
        infos = storage.get_asset_check_partition_info(sorted(check_keys)) if check_keys else []
        failed = {
            info.partition_key
            for info in infos
            if info.partition_key is not None
            and info.latest_execution_status == AssetCheckExecutionRecordStatus.FAILED
            and info.is_current
        }
        true_subset = context.candidate_subset.compute_intersection_with_partition_keys(failed)
        return dg.AutomationResult(context=context, true_subset=true_subset)


#: Age clocks already read, per (event store, asset): partition -> (storage id of its latest materialization,
#: clock). Materializations never change, so a tick of the long-lived code server reads only those that are new
#: since its previous tick instead of deserialising every partition's latest event again.
_CLOCK_CACHE: dict[tuple[str, dg.AssetKey], dict[str, tuple[int, datetime]]] = {}
_CLOCK_CACHE_LOCK = threading.Lock()


def _event_store_identity(instance: dg.DagsterInstance) -> str | None:
    """What identifies the instance's event store across instance objects (the code server builds one per tick):
    its configuration and, for Postgres, the resolved URL. None (no caching) for an ephemeral instance, whose
    storage ids restart with every new instance."""
    if instance.is_ephemeral:
        return None
    ref = instance.get_ref()
    url = getattr(instance.event_log_storage, "postgres_url", "")
    return f"{ref.storage_data}|{ref.event_storage_data}|{url}"


def latest_age_clocks(
    instance: dg.DagsterInstance, asset_key: dg.AssetKey, partitions: set[str]
) -> dict[str, datetime]:
    """Age clock start of each materialized partition, from its latest materialization's metadata.

    One query finds the latest materialization of every partition; only those not read by an earlier call on the
    same event store are fetched and deserialised (in batches of 500).
    """
    if not partitions:
        return {}
    storage_ids = instance.get_latest_storage_id_by_partition(
        asset_key, DagsterEventType.ASSET_MATERIALIZATION, partitions
    )
    identity = _event_store_identity(instance)
    with _CLOCK_CACHE_LOCK:
        known = dict(_CLOCK_CACHE.get((identity, asset_key), {})) if identity is not None else {}
    clocks: dict[str, datetime] = {}
    unread: list[int] = []
    for partition, storage_id in storage_ids.items():
        hit = known.get(partition)
        if hit is not None and hit[0] == storage_id:
            clocks[partition] = hit[1]
        else:
            unread.append(storage_id)
    for start in range(0, len(unread), 500):
        batch = unread[start : start + 500]
        records = instance.fetch_materializations(
            AssetRecordsFilter(asset_key=asset_key, storage_ids=batch), limit=len(batch)
        ).records
        for record in records:
            materialization = record.asset_materialization
            if materialization is None or materialization.partition is None:
                continue
            entry = materialization.metadata.get(AGE_CLOCK_METADATA_KEY)
            timestamp = entry.value if entry is not None else record.timestamp
            clock = datetime.fromtimestamp(float(timestamp), tz=UTC)
            clocks[materialization.partition] = clock
            known[materialization.partition] = (record.storage_id, clock)
    if identity is not None and unread:
        with _CLOCK_CACHE_LOCK:
            _CLOCK_CACHE[(identity, asset_key)] = known
    return clocks


def _ready() -> dg.AutomationCondition:
    return (~AC.in_progress() & ~AC.any_deps_in_progress() & ~AC.any_deps_missing()).with_label("ready")


def _missing_once() -> dg.AutomationCondition:
    return (AC.missing() & ~AC.newly_requested()).with_label("missing")


def _new_data() -> dg.AutomationCondition:
    return AC.any_deps_match(AC.data_version_changed()).since_last_handled().with_label("dependency data changed")


def _failed_awaiting_data() -> dg.AutomationCondition:
    return (AC.execution_failed() & ~AC.any_deps_match(AC.data_version_changed())).with_label(
        "last run failed, no new data since"
    )


def partition_refresh_condition(parent: str) -> dg.AutomationCondition:
    """For weekly_sales: missing, or `parent` (the ingest) materialized again."""
    updated = AC.any_deps_updated().since_last_handled().with_label(f"{parent} updated")
    return ((_missing_once() | updated) & _ready() & ~_failed_awaiting_data()).with_label("series stale")


def model_condition(config: ArimaConfig, forced_since: datetime | None = None) -> dg.AutomationCondition:
    """For arima_model: missing | too old or forced | a failed check, when ready and not after a failure."""
    triggers = _missing_once() | ModelClockCondition(config, forced_since) | FailedCheckCondition()
    return (triggers & _ready() & ~AC.newly_requested() & ~_failed_awaiting_data()).with_label("model stale")


def forecast_condition() -> dg.AutomationCondition:
    """For sales_forecast: missing, its series or model changed, or its model is requested this tick (then both
    run in one run, model first: a forecast written between two ticks cannot mask its model's change)."""
    with_model = (
        AC.any_deps_match(AC.will_be_requested())
        .allow(dg.AssetSelection.assets("arima_model"))
        .with_label("model requested this tick")
    )
    return ((_missing_once() | _new_data() | with_model) & _ready() & ~_failed_awaiting_data()).with_label(
        "forecast stale"
    )


def check_condition() -> dg.AutomationCondition:
    """For the model checks: on the tick the ISBN's series or model changed data version.

    Not `since_last_handled()`: on check keys its reset (`initial_evaluation`) is true on every tick in 1.13,
    so it would never fire (and `since(newly_updated())` does not reset on check keys either). Without
    in-progress guards a change is never skipped; a run against data being recomputed is followed by another
    when the new data version lands.
    """
    changed = AC.any_deps_match(AC.data_version_changed()).with_label("series or model changed")
    return (changed & ~AC.any_deps_missing()).with_label("new evidence")


def report_condition() -> dg.AutomationCondition:
    """For the retraining report: any model partition updated, once nothing is running."""
    return (AC.any_deps_updated().since_last_handled() & ~AC.in_progress() & ~AC.any_deps_in_progress()).with_label(
        "models updated"
    )
