"""The per-ISBN model: decide, train a challenger if stale, keep the better of champion and challenger."""

import traceback

import dagster as dg
import pandas as pd
from dagster_mlflow.resources import MlFlow

from arima_assets.champions import commit_step, current_champion, pending_challenger
from arima_assets.config import ArimaConfig
from arima_assets.decision import ModelRecord, StepStatus
from arima_assets.defs.automation import AGE_CLOCK_METADATA_KEY, model_condition
from arima_assets.defs.data_assets import series_from_frame
from arima_assets.defs.deployment import FIT_POOL
from arima_assets.defs.partitions import isbn_partitions
from arima_assets.defs.resources import ModelStoreResource
from arima_assets.defs.tracking import EXPERIMENT_NAME, end_mlflow_on_run_finished, track_model_step
from arima_assets.registry import ModelRegistry
from arima_assets.store import ModelStore, Outcome
from arima_assets.training import ModelStepResult, record_digest, run_model_step

__all__ = ["build_model_asset", "model_metadata"]


def model_metadata(step: ModelStepResult) -> dict[str, object]:
    """Materialization metadata: the champion's spec and errors, the decision and its reasons, the cost.

    Errors and seconds are rounded to 3 decimals for reading (NaN stays a float NaN); `decision_detail` keeps
    the decision at full precision.
    """

    def readable(value: float) -> float:
        return round(float(value), 3)

    champion: ModelRecord = step.champion
    decision = step.decision
    metadata: dict[str, object] = {
        "status": str(step.status),
        "decision": str(decision.action),
        "reasons": dg.MetadataValue.md("\n".join(f"- {reason}" for reason in decision.reasons)),
        "triggers_fired": ", ".join(str(t) for t in decision.fired) or "none",
        "spec": champion.spec_label,
        "cv_mase": readable(champion.cv_mase),
        "holdout_mase": readable(champion.holdout_mase),
        "trained_at": champion.trained_at.isoformat(),
        AGE_CLOCK_METADATA_KEY: dg.MetadataValue.timestamp(champion.age_clock_start.timestamp()),
        "data_start": champion.data_start,
        "data_end": champion.data_end,
        "trials_run": step.tuning.trials_run if step.tuning else 0,
        "fit_seconds": readable(step.fit_seconds),
        "fit_seconds_saved": readable(step.fit_seconds_saved),
        "used_fallback": champion.used_fallback,
        "decision_detail": dg.MetadataValue.json(decision.to_dict()),
    }
    links = champion.mlflow
    if links.get("run_id"):
        metadata["mlflow_run_id"] = links["run_id"]
        metadata["mlflow_parent_run_id"] = links.get("parent_run_id", "")
    if links.get("version"):
        metadata["mlflow_model_version"] = dg.MetadataValue.text(f"arima-{champion.isbn} v{links['version']}")
    if links.get("rejected_version"):
        metadata["mlflow_rejected_version"] = links["rejected_version"]
    metadata["pending_challenger"] = step.candidate.spec_label if step.candidate else "none"
    if step.challenger is not None:
        metadata["challenger_spec"] = step.challenger.spec_label
        metadata["challenger_holdout_mase"] = readable(step.challenger.holdout_mase)
        metadata["promotion"] = step.promotion_reason or ""
    return metadata


def _model_step(
    context: dg.AssetExecutionContext,
    isbn: str,
    series: pd.Series,
    config: ArimaConfig,
    store: ModelStore,
    mlflow: MlFlow,
) -> ModelStepResult:
    """Read the ISBN's record, decide, train if stale, track in MLflow, then commit to the store."""
    try:
        registry = ModelRegistry(config.mlflow_tracking_uri, experiment_name=EXPERIMENT_NAME)
        champion = current_champion(store, registry, isbn)  # the record of truth, read inside the lease
        candidate = pending_challenger(store, isbn, champion)
        step = run_model_step(isbn, series, champion, config, candidate=candidate)
        tags = {"dagster_run_id": context.run.run_id, "isbn": isbn, "partition_key": isbn}
        step = track_model_step(mlflow, step, isbn, config, tags, registry)
    except Exception as exc:
        store.put_outcome(
            Outcome(
                isbn=isbn,
                status=StepStatus.FAILED,
                decision={},
                run_id=context.run.run_id,
                error=f"{type(exc).__name__}: {exc}",
            )
        )
        context.log.error(f"model step failed for ISBN {isbn}:\n{traceback.format_exc()}")
        raise
    commit_step(store, isbn, step, candidate, context.run.run_id)
    return step


def build_model_asset(config: ArimaConfig) -> dg.AssetsDefinition:
    """The `arima_model` asset with the automation condition for this configuration."""

    @dg.asset(
        name="arima_model",
        group_name="arima_assets",
        partitions_def=isbn_partitions,
        kinds={"statsmodels", "optuna"},
        automation_condition=model_condition(config),
        ins={"weekly_sales": dg.AssetIn()},
        hooks={end_mlflow_on_run_finished},
        pool=FIT_POOL,
    )
    def arima_model(
        context: dg.AssetExecutionContext,
        arima_config: dg.ResourceParam[ArimaConfig],
        model_store: ModelStoreResource,
        mlflow: dg.ResourceParam[MlFlow],
        weekly_sales: pd.DataFrame,
    ) -> dg.MaterializeResult:
        """Tuned ARIMA model of the ISBN (spec + parameters, no pickle). Trains only when the decision engine
        finds the champion missing, too old, drifted, degraded or forced. After drift or degraded performance
        the model trained on the change is served unless the champion is significantly better on the weeks
        since; after an age or forced retrain a challenger replaces the champion only if it is better on the
        same out-of-sample weeks (Diebold-Mariano), else it stays pending and is promoted later, without a fit,
        if it wins on the weeks that follow. Otherwise the champion is reused without a fit, and the metadata
        says why."""
        isbn = context.partition_key
        store = model_store.get_store()
        series = series_from_frame(weekly_sales)
        with store.isbn_lock(isbn):  # one model step per ISBN at a time; the record is read inside the lease
            step = _model_step(context, isbn, series, arima_config, store, mlflow)
        return dg.MaterializeResult(
            metadata=model_metadata(step),
            data_version=dg.DataVersion(record_digest(step.champion)),
        )

    return arima_model
