"""The champion lifecycle of many ISBNs at once: read each record, decide, fit what must be fitted, commit.

One plain-Python home (no Dagster) used alike by the batched Dagster model step and by the Python API's triage:

- **The record of truth is the MLflow registry.** The ``champion`` alias of ``arima-<isbn>`` names the champion
  version; the run named by the version's ``record_run_id`` tag holds ``champion_record.json``, the whole
  `ModelRecord` the decision engine reads.
- **Commit points are single registry writes**, made after the record is logged: the alias move (a new or a
  promoted champion) or the version's ``record_run_id`` tag (a kept, re-anchored champion). A crash before the
  commit point leaves the old champion in force, after it the new one; never a mix. Only then is the local cache
  (`ModelStore`) written.
- **Caches** (the store's ``champions/<isbn>.json``, keyed by version and record run and checked by a content
  digest on read; Dagster metadata) are rebuilt from the registry when missing, stale, damaged or unreadable.
- **One ISBN at a time inside its lease** (`ModelStore.isbn_lock`): the record is read inside the lease, so
  concurrent runs train an ISBN at most once. A failure of one ISBN is recorded as its outcome and never stops
  the others of the batch.
- **MLflow layout**: one parent run per Dagster run (given by the caller), a nested run for each ISBN that did
  work (trained, kept, promoted), and the reused ones summarised on the parent run (``reused_decisions.json``).
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from arima_assets.config import ArimaConfig, redact_uri
from arima_assets.decision import ModelRecord, StepStatus, decide
from arima_assets.registry import ModelRegistry
from arima_assets.registry.records import RECORD_RUN_TAG, model_name, version_uri
from arima_assets.registry.runs import ISBN_DAGSTER_RUN_TAG
from arima_assets.store import ModelStore, Outcome, StoreError
from arima_assets.store_backends import ensure_held
from arima_assets.training import ModelStepResult, record_digest, reused_step, run_model_step

__all__ = [
    "BatchResult",
    "ChampionLifecycle",
    "IsbnResult",
    "cached_champion",
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
    links = {"version": str(version), "model_uri": version_uri(isbn, version), "record_run_id": record_run_id}
    return replace(record, mlflow=links)


def cached_champion(store: ModelStore, isbn: str) -> ModelRecord | None:
    """The locally cached champion record; None when there is none, or when its file is unreadable or damaged (its
    content digest does not match): it is rebuilt from the registry then."""
    try:
        return store.get_champion(isbn)
    except StoreError as exc:
        logger.warning("ISBN %s: local champion record unusable (%s); rebuilding it from the registry", isbn, exc)
        return None


def is_current(record: ModelRecord | None, pointer: tuple[int, str | None] | None) -> bool:
    """True when `record` (a cached champion) is the one the registry's `pointer` (version, record run) names."""
    if record is None or pointer is None:
        return False
    version, record_run_id = pointer
    return record.mlflow.get("version") == str(version) and record.mlflow.get("record_run_id") == record_run_id


def pending_challenger(store: ModelStore, isbn: str, champion: ModelRecord | None) -> ModelRecord | None:
    """The locally kept pending challenger; None without a champion or when its file is unreadable (it is a hint
    only: losing it costs a later promotion without a fit, never correctness)."""
    if champion is None:
        return None
    try:
        return store.get_candidate(isbn)
    except StoreError:
        return None


@dataclass(frozen=True)
class IsbnResult:
    """What the lifecycle did for one ISBN: the committed outcome, and the step (None when it failed)."""

    isbn: str
    outcome: Outcome
    step: ModelStepResult | None = None
    judged: ModelRecord | None = None  # the champion the decision judged (None: there was none)

    @property
    def failed(self) -> bool:
        """True when the ISBN's step raised (its champion, if any, is unchanged)."""
        return self.outcome.status == StepStatus.FAILED


@dataclass
class BatchResult:
    """A batch's results by ISBN, in the batch's order, and where the time went."""

    results: dict[str, IsbnResult] = field(default_factory=dict)
    seconds: float = 0.0

    def count(self, status: str) -> int:
        """How many ISBNs ended with `status`."""
        return sum(1 for result in self.results.values() if result.outcome.status == status)


class ChampionLifecycle:
    """Reads, decides, trains and commits the champions of many ISBNs; the only place that changes a champion.

    Args:
        store: the local model store (champion cache, pending challengers, outcomes, leases).
        registry: the MLflow registry, the record of truth.
        config: the settings (thresholds, tuning).
    """

    def __init__(self, store: ModelStore, registry: ModelRegistry, config: ArimaConfig):
        self.store = store
        self.registry = registry
        self.config = config

    # -- reading -------------------------------------------------------------------------------------------------

    def champion(self, isbn: str, pointer: tuple[int, str | None] | None | bool = True) -> ModelRecord | None:
        """The ISBN's champion as the registry has it, through the local cache.

        The cache is used when it holds the registry's version and record run (and its content digest holds);
        otherwise the record is read from the registry and the cache rewritten. A registry without a champion
        (first training, or versions from before records were kept) leaves the cache in charge.

        Args:
            isbn: the ISBN.
            pointer: the registry's (version, record run) if the caller read it already (None: no champion);
                True (default) reads it now.

        Raises:
            RegistryError: MLflow failed.
        """
        cached = cached_champion(self.store, isbn)
        if pointer is True:
            pointer = self.registry.champion_pointer(isbn)
        if pointer is None or pointer is False or is_current(cached, pointer):
            return cached
        version, record_run_id = pointer
        data = self.registry.load_record(record_run_id) if record_run_id else None
        if data is None:
            logger.warning(
                "ISBN %s: %s v%s has no champion record; keeping the local one", isbn, model_name(isbn), version
            )
            return cached
        record = record_from_registry(data, isbn, version, record_run_id)
        self.store.put_champion(record)
        if cached is not None:
            logger.warning(
                "ISBN %s: local champion (v%s) differed from the registry's (v%s, record run %s); cache rebuilt",
                isbn,
                cached.mlflow.get("version"),
                version,
                record_run_id,
            )
        return record

    def settings_for(self, champion: ModelRecord | None, episode: datetime | None) -> ArimaConfig:
        """The settings to decide `champion` with: `force_retrain` counts only for a champion whose age clock
        started before the current force episode (`ModelStore.force_episode`): each model is forced once."""
        if not self.config.force_retrain or champion is None or episode is None:
            return self.config
        if champion.age_clock_start < episode:
            return self.config
        return self.config.model_copy(update={"force_retrain": False})

    # -- deciding without a fit (the Python API's triage) --------------------------------------------------------

    def reuse_if_kept(
        self,
        isbn: str,
        series: pd.Series,
        now: datetime,
        pointer: tuple[int, str | None] | None,
        shown_digest: str | None,
    ) -> tuple[Outcome | None, str]:
        """Inside the ISBN's lease (the caller holds it): commit a reuse outcome when the cached champion is the
        registry's (`pointer`) and the one its last materialization showed (`shown_digest`), and the decision
        engine keeps it; else None and why a run is needed."""
        champion = cached_champion(self.store, isbn)
        if champion is None or not is_current(champion, pointer):
            return None, "local champion cache missing, damaged or not the registry's champion"
        if record_digest(champion) != shown_digest:
            return None, "champion differs from the last arima_model materialization"
        candidate = pending_challenger(self.store, isbn, champion)
        episode = self.store.force_episode(self.config.force_retrain, now)
        decision = decide(champion, series, self.settings_for(champion, episode), now, candidate)
        if decision.action != "reuse":
            return None, f"decision: {decision.action} ({'; '.join(decision.reasons)})"
        step = reused_step(decision, champion, series, self.config, candidate)
        return self._commit_local(isbn, step, candidate, run_id=""), "reused"

    # -- the batch -----------------------------------------------------------------------------------------------

    def run_batch(
        self,
        series_by_isbn: Mapping[str, pd.Series],
        run_id: str,
        parent_run_id: str,
        tags: Mapping[str, str] | None = None,
        now: datetime | None = None,
        on_result: Callable[[IsbnResult], None] | None = None,
    ) -> BatchResult:
        """Decide, train where stale, and commit each ISBN of the batch, one at a time inside its lease.

        Args:
            series_by_isbn: ISBN -> its latest weekly series, in the order to process.
            run_id: the Dagster run (outcomes are kept under it).
            parent_run_id: the MLflow run of this Dagster run; ISBNs that did work get a nested run under it.
            tags: extra tags for the nested runs.
            now: the decision time (default: now, UTC, read per ISBN).
            on_result: called after each ISBN is committed (progress, metadata).

        Returns:
            The batch's results. An ISBN whose step raised is recorded as failed with its error; the others go on.
        """
        started = time.perf_counter()
        batch = BatchResult()
        episode = self.store.force_episode(self.config.force_retrain, now or datetime.now(UTC))
        for isbn, series in series_by_isbn.items():
            result = self._run_one(isbn, series, run_id, parent_run_id, dict(tags or {}), now, episode)
            batch.results[isbn] = result
            if on_result is not None:
                on_result(result)
        batch.seconds = time.perf_counter() - started
        self._log_batch_summary(batch, parent_run_id)
        return batch

    def _run_one(
        self,
        isbn: str,
        series: pd.Series,
        run_id: str,
        parent_run_id: str,
        tags: dict[str, str],
        now: datetime | None,
        episode: datetime | None,
    ) -> IsbnResult:
        champion: ModelRecord | None = None
        try:
            if len(series) == 0:
                raise ValueError(
                    f"ISBN {isbn} is not in the ingested sales files: its rows may have been rejected while loading "
                    "(see book_sales' rejected rows)"
                )
            with self.store.isbn_lock(isbn) as lease:  # one model step per ISBN at a time; record read inside it
                champion = self.champion(isbn)
                candidate = pending_challenger(self.store, isbn, champion)
                settings = self.settings_for(champion, episode)
                step = run_model_step(isbn, series, champion, settings, now or datetime.now(UTC), candidate)
                ensure_held(lease)  # a lease lost during the fit: another process may commit; this one must not
                if step.status != StepStatus.REUSED:
                    isbn_tags = {**tags, ISBN_DAGSTER_RUN_TAG: run_id, "isbn": isbn, "partition_key": isbn}
                    step = self._commit_registry(step, isbn, isbn_tags, parent_run_id)
                outcome = self._commit_local(isbn, step, candidate, run_id)
            return IsbnResult(isbn, outcome, step, champion)
        except Exception as exc:  # one ISBN's failure is its outcome; the batch goes on
            logger.error("ISBN %s: model step failed:\n%s", isbn, traceback.format_exc())
            outcome = Outcome(
                isbn=isbn,
                status=StepStatus.FAILED,
                decision={},
                run_id=run_id,
                error=redact_uri(f"{type(exc).__name__}: {exc}"),
            )
            self.store.put_outcome(outcome)
            return IsbnResult(isbn, outcome, None, champion)

    # -- commits -------------------------------------------------------------------------------------------------

    def _commit_registry(
        self, step: ModelStepResult, isbn: str, tags: dict[str, str], parent_run_id: str
    ) -> ModelStepResult:
        """Log the step as a nested run and commit a changed champion record to the registry: the record is logged
        first, then one registry write commits it (the alias move, or the version's `record_run_id` tag). A
        promoted challenger gets the `champion` alias; a losing one is registered without it. Returns the step
        with the champion record's `mlflow` links filled in.

        Raises:
            RegistryError: MLflow failed (nothing is committed to the local store then).
        """
        registry, config = self.registry, self.config
        challenger = step.challenger
        params = {
            "config": {k: v for k, v in config.public_dict().items() if k not in ("state_dir", "mlflow_tracking_uri")},
            "spec": (challenger or step.champion).spec_label,
            "model_params": (challenger or step.champion).model.get("params", {}),
        }
        run_id = registry.log_isbn_run(
            isbn,
            parent_run_id=parent_run_id,
            payload=challenger.model if challenger else None,
            params=params,
            metrics=_metrics(step),
            tags={**tags, "status": step.status},
            decision={**step.decision.to_dict(), "promotion": step.promotion_reason},
        )
        links = {
            "parent_run_id": parent_run_id,
            "run_id": run_id,
            "tracking_uri": redact_uri(config.mlflow_tracking_uri),
        }
        champion = step.champion
        if step.status == StepStatus.TRAINED and challenger is not None:
            registry.log_record(run_id, record_for_registry(challenger))
            version = registry.promote_challenger(
                isbn, run_id, challenger.model, reason=step.promotion_reason or "", tags={RECORD_RUN_TAG: run_id}
            )
            links.update(version=str(version.version), model_uri=version.uri, record_run_id=run_id)
        elif step.status == StepStatus.KEPT and challenger is not None:
            pointer = registry.champion_pointer(isbn)
            if pointer is None:  # store champion predates this registry: register it first
                info = registry.promote_challenger(
                    isbn, run_id, champion.model, reason="champion registered from the store"
                )
                pointer = (info.version, run_id)
            champion_version = pointer[0]
            version = registry.record_kept_champion(isbn, run_id, challenger.model, reason=step.promotion_reason or "")
            registry.log_record(run_id, record_for_registry(champion))
            registry.set_record_run(isbn, champion_version, run_id)  # commit point of the re-anchored champion
            links.update(
                rejected_version=str(version.version),
                version=str(champion_version),
                model_uri=version_uri(isbn, champion_version),
                record_run_id=run_id,
            )
            if step.candidate is not None:
                pending = {"version": str(version.version), "model_uri": version.uri, "run_id": run_id}
                step = replace(step, candidate=replace(challenger, mlflow={**challenger.mlflow, **pending}))
        elif step.status == StepStatus.PROMOTED and champion.mlflow.get("version"):
            registry.log_record(run_id, record_for_registry(champion))
            registry.set_record_run(isbn, int(champion.mlflow["version"]), run_id)
            registry.set_champion(isbn, int(champion.mlflow["version"]))  # commit point
            links.update({k: v for k, v in champion.mlflow.items() if k in ("version", "model_uri")})
            links["record_run_id"] = run_id
        else:
            links.update({k: v for k, v in champion.mlflow.items() if k in ("version", "model_uri", "record_run_id")})
        return replace(step, champion=replace(champion, mlflow={**champion.mlflow, **links}))

    def _commit_local(self, isbn: str, step: ModelStepResult, candidate: ModelRecord | None, run_id: str) -> Outcome:
        """After the registry commit: the changed champion (the cache), the pending challenger if it changed from
        `candidate`, and the outcome of `run_id`."""
        if step.status != StepStatus.REUSED:
            self.store.put_champion(step.champion)
        if step.candidate != candidate:
            self.store.put_candidate(isbn, step.candidate)
        outcome = Outcome(
            isbn=isbn,
            status=step.status,
            decision=step.decision.to_dict(),
            run_id=run_id,
            fit_seconds=step.fit_seconds,
            fit_seconds_saved=step.fit_seconds_saved,
            promotion=step.promotion_reason,
        )
        self.store.put_outcome(outcome)
        return outcome

    def _log_batch_summary(self, batch: BatchResult, parent_run_id: str) -> None:
        """The batch's summary on its parent MLflow run: counts, fit seconds spent and saved, and the reused ISBNs'
        decisions (they get no nested run). A failure to log is reported, never fails the committed batch."""
        results = list(batch.results.values())
        trained = batch.count(StepStatus.TRAINED) + batch.count(StepStatus.KEPT)
        reused = [r for r in results if r.outcome.status == StepStatus.REUSED]
        succeeded = len(results) - batch.count(StepStatus.FAILED)
        metrics = {
            "reused_models": float(len(reused)),
            "newly_trained_models": float(trained),
            "reuse_rate": len(reused) / succeeded if succeeded else 0.0,
            "fit_seconds_saved": sum(r.outcome.fit_seconds_saved for r in results),
            "fit_seconds": sum(r.outcome.fit_seconds for r in results),
            "failed_models": float(batch.count(StepStatus.FAILED)),
            "isbns": float(len(results)),
            "batch_seconds": batch.seconds,
        }
        try:
            self.registry.log_summary(parent_run_id, metrics)
            if reused:
                self.registry.log_reused_decisions(parent_run_id, {r.isbn: r.outcome.decision for r in reused})
        except Exception as exc:  # noqa: BLE001 - the models are committed; the summary is an observation
            logger.warning("could not log the batch summary on MLflow run %s: %s", parent_run_id, exc)


def _metrics(step: ModelStepResult) -> dict[str, float]:
    record = step.challenger or step.champion
    metrics = {
        "cv_mase": record.cv_mase,
        "holdout_mase": record.holdout_mase,
        "trials_run": float(step.tuning.trials_run if step.tuning else 0),
        "fit_seconds": step.fit_seconds,
        "fit_seconds_saved": step.fit_seconds_saved,
    }
    if step.tuning is not None:
        metrics.update({f"holdout_{k}": float(v) for k, v in step.tuning.holdout_metrics.items()})
    return {k: float(v) for k, v in metrics.items() if v == v}  # drop NaN
