"""Where a champion lives: one record of truth per ISBN, and caches of it.

- **The record of truth is the MLflow registry.** The ``champion`` alias of ``arima-<isbn>`` names the
  champion version; the run named by the version's ``record_run_id`` tag (default: the version's own run)
  holds ``champion_record.json``, the whole `ModelRecord` (model parameters, errors, filter checkpoint, regime,
  age clock) that the decision engine reads.
- **Commit points are single registry writes.** A new champion: its record is logged, then the alias moves.
  A kept (re-anchored) or promoted champion: its new record is logged to this attempt's run, then one tag write
  (``record_run_id``) and, for a promotion, the alias move. A crash before the commit point leaves the old
  champion in force, after it the new one; never a mix.
- **Caches, rebuilt when missing, stale or unreadable:** the model store's ``champions/<isbn>.json`` (keyed by
  version and record run), Dagster materialization metadata (an observation, shown in the UI), the tables.
  A pending challenger (``candidates/<isbn>.json``) is a local hint only: losing it costs a later promotion
  without a fit, never correctness.

Every model step reads the record at its start, inside the ISBN's lease (`ModelStore.isbn_lock`).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from arima_assets.decision import ModelRecord, StepStatus
from arima_assets.registry import ModelRegistry
from arima_assets.registry.records import model_name, version_uri
from arima_assets.store import ModelStore, Outcome, StoreError
from arima_assets.training import ModelStepResult

__all__ = [
    "cached_champion",
    "commit_step",
    "current_champion",
    "is_current",
    "pending_challenger",
    "record_for_registry",
    "record_from_registry",
]

logger = logging.getLogger(__name__)


def record_for_registry(record: ModelRecord) -> dict[str, Any]:
    """The record as the registry keeps it (without the MLflow links, which the reader derives)."""
    return replace(record, mlflow={}).to_dict()


def record_from_registry(data: dict[str, Any], isbn: str, version: int, record_run_id: str) -> ModelRecord:
    """The cached form of a registry record: the record with its MLflow links filled in."""
    record = ModelRecord.from_dict(data)
    if record.isbn != isbn:
        raise ValueError(f"the registry record of {model_name(isbn)} v{version} belongs to ISBN {record.isbn}")
    links = {
        "version": str(version),
        "model_uri": version_uri(isbn, version),
        "record_run_id": record_run_id,
    }
    return replace(record, mlflow=links)


def cached_champion(store: ModelStore, isbn: str) -> ModelRecord | None:
    """The locally cached champion record, or None when there is none or its file is unreadable (it is rebuilt
    from the registry then)."""
    try:
        return store.get_champion(isbn)
    except StoreError as exc:  # unreadable cache: rebuilt from the registry
        logger.warning("ISBN %s: local champion record unreadable (%s); rebuilding it from the registry", isbn, exc)
        return None


def is_current(record: ModelRecord | None, pointer: tuple[int, str | None] | None) -> bool:
    """True when `record` (a cached champion) is the one the registry's `pointer` (version, record run) names."""
    if record is None or pointer is None:
        return False
    version, record_run_id = pointer
    return record.mlflow.get("version") == str(version) and record.mlflow.get("record_run_id") == record_run_id


def current_champion(store: ModelStore, registry: ModelRegistry, isbn: str) -> ModelRecord | None:
    """The ISBN's champion as the registry has it, through the local cache.

    The cache is used when it holds the registry's version and record run (one alias read, a few ms);
    otherwise the record is read from the registry and the cache rewritten. A registry without a champion
    (first training, or versions from before records were kept) leaves the cache in charge: the next
    training registers it.

    Raises:
        RegistryError: MLflow failed.
    """
    cached = cached_champion(store, isbn)
    pointer = registry.champion_pointer(isbn)
    if pointer is None or is_current(cached, pointer):
        return cached
    version, record_run_id = pointer
    data = registry.load_record(record_run_id) if record_run_id else None
    if data is None:
        logger.warning("ISBN %s: %s v%s has no champion record; keeping the local one", isbn, model_name(isbn), version)
        return cached
    record = record_from_registry(data, isbn, version, record_run_id)
    store.put_champion(record)
    if cached is not None:
        logger.warning(
            "ISBN %s: local champion (v%s) differed from the registry's (v%s, record run %s); cache rebuilt",
            isbn,
            cached.mlflow.get("version"),
            version,
            record_run_id,
        )
    return record


def pending_challenger(store: ModelStore, isbn: str, champion: ModelRecord | None) -> ModelRecord | None:
    """The locally kept pending challenger; None without a champion or when its file is unreadable (it is a hint
    only, see the module docstring)."""
    if champion is None:
        return None
    try:
        return store.get_candidate(isbn)
    except StoreError:
        return None


def commit_step(
    store: ModelStore, isbn: str, step: ModelStepResult, candidate: ModelRecord | None, run_id: str
) -> Outcome:
    """Write a finished step to the local store, inside the ISBN's lease and after the registry commit: a changed
    champion (the cache), the pending challenger if it changed from `candidate`, and the outcome of `run_id`."""
    if step.status != StepStatus.REUSED:
        store.put_champion(step.champion)
    if step.candidate != candidate:
        store.put_candidate(isbn, step.candidate)
    outcome = Outcome(
        isbn=isbn,
        status=step.status,
        decision=step.decision.to_dict(),
        run_id=run_id,
        fit_seconds=step.fit_seconds,
        fit_seconds_saved=step.fit_seconds_saved,
        promotion=step.promotion_reason,
    )
    store.put_outcome(outcome)
    return outcome
