"""Decide before launching: which ISBNs of a pipeline call need a Dagster run, and the reuse outcomes of the rest.

An ISBN's run (series -> model -> forecast) has nothing to do when all of these hold, read in a few batched
queries rather than one run per ISBN:

- its series, rebuilt from the sales files, hashes to the `series_version` of its last `weekly_sales`
  materialization and of its last `arima_model` materialization (no new weeks, no revised ones, and its model
  step saw this very series);
- its locally cached champion is the one the MLflow registry names (version and record run, read for every ISBN
  in one paged search: `ModelRegistry.champion_pointers`), and it is the model its last `arima_model`
  materialization reported (`record_digest`);
- its last `sales_forecast` materialization came after both;
- the decision engine (`decision.decide`, the same call the model step makes) reuses the champion.

Such an ISBN is decided here, inside its lease, by the lifecycle's reuse path
(`ChampionLifecycle.reuse_if_kept`); every other ISBN goes to a run, which decides again on the record it reads
inside its lease. Anything this module cannot vouch for (a stale or unreadable cache, a busy or unavailable lease, an
unreachable registry) sends the ISBN to a run, never to a guess.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

import dagster as dg
from filelock import Timeout

from arima_assets.config import ArimaConfig
from arima_assets.data.sales import SalesData
from arima_assets.defs._dagster_internals import DATA_VERSION_TAG, DagsterEventType
from arima_assets.defs.automation import SERIES_VERSION_METADATA_KEY, latest_metadata_values
from arima_assets.defs.data_assets import frame_version
from arima_assets.lifecycle import ChampionLifecycle
from arima_assets.registry import ModelRegistry, RegistryError
from arima_assets.store import ModelStore, Outcome
from arima_assets.store_backends import LeaseError
from arima_assets.training import series_version

__all__ = ["Triage", "ingest_is_current", "open_registry", "triage"]

logger = logging.getLogger(__name__)

_SERIES, _MODEL, _FORECAST = (dg.AssetKey(name) for name in ("weekly_sales", "arima_model", "sales_forecast"))
_MATERIALIZATION = DagsterEventType.ASSET_MATERIALIZATION


@dataclass(frozen=True)
class Triage:
    """A call's ISBNs split before anything is launched.

    Attributes:
        reused: ISBN -> the committed outcome of the ISBNs decided here (status "reused", no run id).
        work: ISBN -> why it needs a run, in the call's order.
    """

    reused: dict[str, Outcome]
    work: dict[str, str]


def ingest_is_current(instance: dg.DagsterInstance, data: SalesData) -> bool:
    """True when the last `book_sales` materialization ingested this very table (same data version)."""
    event = instance.get_latest_materialization_event(dg.AssetKey("book_sales"))
    materialization = event.asset_materialization if event is not None else None
    return materialization is not None and materialization.tags.get(DATA_VERSION_TAG) == frame_version(data.frame)


def triage(
    instance: dg.DagsterInstance,
    store: ModelStore,
    config: ArimaConfig,
    data: SalesData,
    isbns: list[str],
    registry: ModelRegistry | None = None,
    now: datetime | None = None,
) -> Triage:
    """Split `isbns` into those reused without a run (decided and committed here) and those that need a run.

    Args:
        instance: the Dagster instance the call's runs use.
        store: the model store (champion cache, pending challengers, outcomes, leases): `open_model_store`'s, whose
            leases the runs share when the registry is shared.
        config: the call's settings (decision thresholds, MLflow URI).
        data: the sales files as loaded for this call.
        isbns: the ISBNs in scope.
        registry: the MLflow registry (default: one on `config.mlflow_tracking_uri`).
        now: the decision time (default: now, UTC).
    """
    now = now or datetime.now(UTC)
    try:
        registry = registry or open_registry(config)
        pointers = registry.champion_pointers()
    except RegistryError as exc:  # the runs report the failure per ISBN, as the model step does
        return Triage({}, {isbn: f"registry unavailable: {exc}" for isbn in isbns})
    wanted = set(isbns)
    series_versions = latest_metadata_values(instance, _SERIES, wanted, SERIES_VERSION_METADATA_KEY)
    decided_on = latest_metadata_values(instance, _MODEL, wanted, SERIES_VERSION_METADATA_KEY)
    digests = latest_metadata_values(instance, _MODEL, wanted, "record_digest")
    stamps = {key: instance.get_latest_storage_id_by_partition(key, _MATERIALIZATION) for key in (_SERIES, _MODEL)}
    forecasts = instance.get_latest_storage_id_by_partition(_FORECAST, _MATERIALIZATION)
    lifecycle = ChampionLifecycle(store, registry, config)
    loaded = set(data.isbns())
    reused: dict[str, Outcome] = {}
    work: dict[str, str] = {}
    for isbn in isbns:
        if isbn not in loaded:
            work[isbn] = "not in the sales files"
            continue
        series = data.weekly_series(isbn)
        version = series_version(series)
        if series_versions.get(isbn) != version or decided_on.get(isbn) != version:
            work[isbn] = "series new or changed"
            continue
        last_update = max(stamps[_SERIES].get(isbn, 0), stamps[_MODEL].get(isbn, 0))
        if forecasts.get(isbn, -1) < last_update:
            work[isbn] = "forecast missing or older than its series or model"
            continue
        try:
            with store.isbn_lock(isbn, timeout=0):  # a busy lease: another run is deciding this ISBN
                outcome, why = lifecycle.reuse_if_kept(isbn, series, now, pointers.get(isbn), digests.get(isbn))
        except Timeout:
            outcome, why = None, "another run holds the ISBN's lease"
        except LeaseError as exc:  # the lease service failed (database, bucket): the run reports it
            outcome, why = None, f"lease unavailable: {exc}"
        if outcome is None:
            work[isbn] = why
        else:
            reused[isbn] = outcome
    logger.info("decided before launching: %d reused, %d need a run", len(reused), len(work))
    return Triage(reused, work)


def open_registry(config: ArimaConfig) -> ModelRegistry:
    """The registry the model step uses, its local store created (first time) under the same file lock as the
    runs' (concurrent first creation of a sqlite store fails in its migrations).

    Raises:
        RegistryError: MLflow is unavailable.
    """
    from arima_assets.defs.tracking import EXPERIMENT_NAME, prepare_tracking_store

    prepare_tracking_store(config.mlflow_tracking_uri)
    return ModelRegistry(config.mlflow_tracking_uri, experiment_name=EXPERIMENT_NAME)
