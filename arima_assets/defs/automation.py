"""Automation conditions, composed once and named: what makes each asset partition stale.

- weekly_sales[isbn]: missing, or the sales files were re-ingested (every ISBN: one contiguous request).
- arima_model[isbn]: missing, its series requested in the same tick (a new file: decided inside the batch), its
  series changed (the `series_version` digest on its weekly_sales partition differs from the one its model step
  decided on, e.g. a series materialized by hand), too old or forced or a calendar trigger due, or its last step
  failed and the retry backoff has passed; never while running, right after being requested, or again after a
  failed run until new data arrives. The model step decides each ISBN itself (reuse, promote, or train).
- sales_forecast[isbn]: missing, or its model step ran (re-filter, no refit).

Per-ISBN staleness rests on digests in each partition's metadata, not on Dagster data versions: a step over many
partitions gives them all one data version. Every per-ISBN asset runs in runs of at most `batch_size` ISBNs
(`batch_policy`), so a weekly file is a handful of runs, not one per ISBN.
"""

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import dagster as dg

from arima_assets.config import ArimaConfig
from arima_assets.decision import age_verdict, custom_trigger_results, forced_verdict
from arima_assets.defs._dagster_internals import (
    AssetRecordsFilter,
    AutomationContext,
    DagsterEventType,
)
from arima_assets.store import open_model_store

__all__ = [
    "AGE_CLOCK_METADATA_KEY",
    "FAILURES_METADATA_KEY",
    "SERIES_VERSION_METADATA_KEY",
    "ModelClockCondition",
    "SeriesChangedCondition",
    "batch_policy",
    "latest_metadata_values",
    "partition_refresh_condition",
    "model_condition",
    "forecast_condition",
    "report_condition",
    "retry_backoff",
]

AC = dg.AutomationCondition

#: Metadata key on arima_model materializations: when the champion's age clock started (unix seconds).
AGE_CLOCK_METADATA_KEY = "age_clock_start_ts"
#: Metadata key on weekly_sales and arima_model materializations: the hash of the ISBN's series (on the model: the
#: series its step decided on).
SERIES_VERSION_METADATA_KEY = "series_version"
#: Metadata key on arima_model materializations: consecutive failed steps of the ISBN (0 after a success).
FAILURES_METADATA_KEY = "consecutive_failures"
#: Retry backoff of an ISBN whose model step failed: doubles with each consecutive failure, up to a day.
RETRY_BASE = timedelta(minutes=5)
RETRY_CAP = timedelta(days=1)


def batch_policy(config: ArimaConfig) -> dg.BackfillPolicy:
    """Runs of at most `batch_size` ISBN partitions (the same policy on every per-ISBN asset, so that one run
    carries an ISBN's series, model and forecast)."""
    return dg.BackfillPolicy.multi_run(max_partitions_per_run=config.batch_size)


def retry_backoff(failures: int) -> timedelta:
    """How long after its last failed step an ISBN is tried again."""
    return min(RETRY_BASE * (2 ** min(max(failures - 1, 0), 16)), RETRY_CAP)


class ModelClockCondition(dg.AutomationCondition):
    """True for model partitions whose champion is past `max_model_age_days`, whose custom triggers that need
    no series fire (e.g. a release calendar), under force_retrain whose clock started before the definitions were
    loaded, or whose last model step failed and whose retry backoff has passed (`retry_backoff`).

    Reads each partition's latest materialization metadata (`age_clock_start_ts`, `consecutive_failures`) and asks
    the decision engine. Not serializable: evaluate it with a sensor that uses the user code server.
    """

    def __init__(self, config: ArimaConfig, forced_since: datetime | None = None):
        self._config = config
        self._forced_since = forced_since or datetime.now(UTC)

    @property
    def name(self) -> str:
        return "model_clock"

    @property
    def description(self) -> str:
        return f"model older than {self._config.max_model_age_days:g} days, forced, or a failed step to retry"

    def evaluate(self, context: AutomationContext) -> dg.AutomationResult:  # type: ignore[override]
        candidates = context.candidate_subset.expensively_compute_partition_keys()
        instance = context.asset_graph_view.instance
        clocks = latest_age_clocks(instance, context.key, candidates)
        failures = latest_metadata_values(instance, context.key, candidates, FAILURES_METADATA_KEY)
        now = context.evaluation_time
        forced_since = self._force_episode(now)
        stale = {
            key
            for key, clock in clocks.items()
            if age_verdict(clock, self._config, now).fired
            or forced_verdict(clock, self._config, forced_since).fired
            or any(r.fired for r in custom_trigger_results(key, clock, self._config, now))
        }
        materialized_at = latest_metadata_values(instance, context.key, candidates, _TIMESTAMP)
        for key, count in failures.items():
            if count and key in materialized_at:
                if now - datetime.fromtimestamp(materialized_at[key], tz=UTC) >= retry_backoff(int(count)):
                    stale.add(key)
        true_subset = context.candidate_subset.compute_intersection_with_partition_keys(stale)
        return dg.AutomationResult(context=context, true_subset=true_subset)

    def _force_episode(self, now: datetime) -> datetime:
        """The force episode's start from the model store (it survives code-server reloads: each model is forced
        once), else when the definitions were loaded."""
        if not self._config.force_retrain or not self._config.state_dir:
            return self._forced_since
        try:
            store = open_model_store(self._config.state_dir, self._config.mlflow_tracking_uri)
            return store.force_episode(True, min(now, self._forced_since)) or self._forced_since
        except OSError:
            return self._forced_since


class SeriesChangedCondition(dg.AutomationCondition):
    """True for model partitions whose series changed since their model step: the `series_version` digest of the
    latest weekly_sales materialization differs from the one on the latest arima_model materialization.

    Per ISBN, whatever the batch: a weekly file that adds a week to every title requests every model partition
    (one contiguous request, split into runs of `batch_size`), a re-ingest of unchanged files requests none.
    """

    @property
    def name(self) -> str:
        return "series changed"

    @property
    def description(self) -> str:
        return "the ISBN's weekly series changed since its model step"

    def evaluate(self, context: AutomationContext) -> dg.AutomationResult:  # type: ignore[override]
        candidates = context.candidate_subset.expensively_compute_partition_keys()
        instance = context.asset_graph_view.instance
        series = latest_metadata_values(instance, dg.AssetKey("weekly_sales"), candidates, SERIES_VERSION_METADATA_KEY)
        seen = latest_metadata_values(instance, context.key, candidates, SERIES_VERSION_METADATA_KEY)
        changed = {key for key, version in series.items() if key in seen and seen[key] != version}
        true_subset = context.candidate_subset.compute_intersection_with_partition_keys(changed)
        return dg.AutomationResult(context=context, true_subset=true_subset)


#: Metadata values already read, per (event store, asset, key): partition -> (storage id of its latest
#: materialization, value). Materializations never change, so a tick of the long-lived code server reads only those
#: that are new since its previous tick instead of deserialising every partition's latest event again.
_METADATA_CACHE: dict[tuple[str, dg.AssetKey], dict[str, tuple[int, dict[str, Any]]]] = {}
_CACHE_LOCK = threading.Lock()
#: Pseudo metadata key: the materialization's own timestamp (unix seconds).
_TIMESTAMP = "__timestamp__"
#: The metadata the conditions and the Python API read, kept per partition in one cache entry.
_TRACKED = (
    AGE_CLOCK_METADATA_KEY,
    FAILURES_METADATA_KEY,
    SERIES_VERSION_METADATA_KEY,
    "record_digest",
    "title",
    "author",
)


def _event_store_identity(instance: dg.DagsterInstance) -> str | None:
    """What identifies the instance's event store across instance objects (the code server builds one per tick):
    its configuration and, for Postgres, the resolved URL. None (no caching) for an ephemeral instance, whose
    storage ids restart with every new instance."""
    if instance.is_ephemeral:
        return None
    ref = instance.get_ref()
    url = getattr(instance.event_log_storage, "postgres_url", "")
    return f"{ref.storage_data}|{ref.event_storage_data}|{url}"


def _values(record: Any, keys: tuple[str, ...]) -> dict[str, Any]:
    metadata = record.asset_materialization.metadata
    values = {key: metadata[key].value for key in keys if key in metadata}
    values[_TIMESTAMP] = float(record.timestamp)
    return values


def latest_metadata_values(
    instance: dg.DagsterInstance, asset_key: dg.AssetKey, partitions: set[str], key: str
) -> dict[str, Any]:
    """Partition -> the value of metadata `key` on its latest materialization (None where absent).

    One query finds the latest materialization of every partition; only those not read by an earlier call on the
    same event store are fetched and deserialised (in batches of 500), and every tracked key of a record is kept
    from that one read. Partitions never materialized are absent.
    """
    if not partitions:
        return {}
    keys = _TRACKED if key in _TRACKED or key == _TIMESTAMP else (*_TRACKED, key)
    storage_ids = instance.get_latest_storage_id_by_partition(
        asset_key, DagsterEventType.ASSET_MATERIALIZATION, partitions
    )
    identity = _event_store_identity(instance) if keys == _TRACKED else None
    with _CACHE_LOCK:
        known = dict(_METADATA_CACHE.get((identity, asset_key), {})) if identity is not None else {}
    values: dict[str, Any] = {}
    unread: list[int] = []
    for partition, storage_id in storage_ids.items():
        hit = known.get(partition)
        if hit is not None and hit[0] == storage_id:
            values[partition] = hit[1].get(key)
        else:
            unread.append(storage_id)
    for start in range(0, len(unread), 500):
        batch = unread[start : start + 500]
        records = instance.fetch_materializations(
            AssetRecordsFilter(asset_key=asset_key, storage_ids=batch), limit=len(batch)
        ).records
        for record in records:
            partition = record.asset_materialization.partition if record.asset_materialization else None
            if partition is None:
                continue
            read = _values(record, keys)
            values[partition] = read.get(key)
            known[partition] = (record.storage_id, read)
    if identity is not None and unread:
        with _CACHE_LOCK:
            _METADATA_CACHE[(identity, asset_key)] = known
    return values


def latest_age_clocks(
    instance: dg.DagsterInstance, asset_key: dg.AssetKey, partitions: set[str]
) -> dict[str, datetime]:
    """Age clock start of each materialized partition, from its latest materialization's metadata (the
    materialization time where the metadata has none)."""
    clocks = latest_metadata_values(instance, asset_key, partitions, AGE_CLOCK_METADATA_KEY)
    missing = {key for key, value in clocks.items() if value is None}
    stamps = latest_metadata_values(instance, asset_key, missing, _TIMESTAMP) if missing else {}
    return {
        key: datetime.fromtimestamp(float(value if value is not None else stamps[key]), tz=UTC)
        for key, value in clocks.items()
    }


def _ready() -> dg.AutomationCondition:
    return (~AC.in_progress() & ~AC.any_deps_in_progress() & ~AC.any_deps_missing()).with_label("ready")


def _missing_once() -> dg.AutomationCondition:
    return (AC.missing() & ~AC.newly_requested()).with_label("missing")


def _failed_awaiting_data() -> dg.AutomationCondition:
    return (AC.execution_failed() & ~AC.any_deps_match(AC.data_version_changed())).with_label(
        "last run failed, no new data since"
    )


#: How often a partition that is still missing after a failed run is requested again (a run can fail for reasons
#: that pass: a code server that timed out on a busy machine, an MLflow outage, a killed worker).
MISSING_RETRY_CRON = "*/10 * * * *"


def _missing_after_failure() -> dg.AutomationCondition:
    """Missing, its last run failed, and a retry slot (every 10 minutes) has passed: a missing model is retried
    until it exists, never skipped for good."""
    return (AC.missing() & AC.execution_failed() & AC.cron_tick_passed(MISSING_RETRY_CRON)).with_label(
        "still missing after a failed run: retried every 10 minutes"
    )


def partition_refresh_condition(parent: str) -> dg.AutomationCondition:
    """For weekly_sales: missing, or `parent` (the ingest) materialized again; missing after a failed run, retried."""
    updated = AC.any_deps_updated().since_last_handled().with_label(f"{parent} updated")
    stale = ((_missing_once() | updated) & ~_failed_awaiting_data()) | _missing_after_failure()
    return (stale & _ready() & ~AC.newly_requested()).with_label("series stale")


def model_condition(config: ArimaConfig, forced_since: datetime | None = None) -> dg.AutomationCondition:
    """For arima_model: missing | its series requested this tick | series changed | too old, forced or a failed
    step to retry, when ready and not after a failed run; a model still missing, or still due, after a failed run
    is retried every 10 minutes.

    A model is requested with its series (a new file): one run carries each range's series, models and forecasts,
    and the model step decides inside the batch, per ISBN, whether the new weeks call for a fit (a title whose series
    did not change is reused at the cost of a decision). A weekly file is then N / batch_size runs, not a run set
    for the series and another, cut into as many pieces as there are unchanged titles, for the models."""
    series = dg.AssetSelection.assets("weekly_sales")
    with_series = AC.any_deps_match(AC.will_be_requested()).allow(series).with_label("series requested this tick")
    triggers = _missing_once() | with_series | SeriesChangedCondition() | ModelClockCondition(config, forced_since)
    # a run that failed before its model step could record the failure (e.g. MLflow down while its resources
    # started) leaves no failure count for the backoff: while its trigger still holds, it is retried every 10 minutes
    still_due = SeriesChangedCondition() | ModelClockCondition(config, forced_since)
    failed_retry = (AC.execution_failed() & AC.cron_tick_passed(MISSING_RETRY_CRON) & still_due).with_label(
        "last run failed, a trigger still holds: retried every 10 minutes"
    )
    stale = (triggers & ~_failed_awaiting_data()) | _missing_after_failure() | failed_retry
    return (stale & _ready() & ~AC.newly_requested()).with_label("model stale")


def forecast_condition() -> dg.AutomationCondition:
    """For sales_forecast: missing, its model requested this tick (then both run in one run, model first), or its
    model materialized since (a model run by hand)."""
    model = dg.AssetSelection.assets("arima_model")
    with_model = AC.any_deps_match(AC.will_be_requested()).allow(model).with_label("model requested this tick")
    model_ran = AC.any_deps_match(AC.newly_updated()).allow(model).since_last_handled().with_label("model updated")
    stale = ((_missing_once() | model_ran) & ~_failed_awaiting_data()) | with_model | _missing_after_failure()
    return (stale & _ready()).with_label("forecast stale")


def report_condition() -> dg.AutomationCondition:
    """For the retraining report: any model partition updated, once nothing is running."""
    return (AC.any_deps_updated().since_last_handled() & ~AC.in_progress() & ~AC.any_deps_in_progress()).with_label(
        "models updated"
    )
