"""The per-ISBN model, many ISBNs per run: the lifecycle decides each, trains the stale ones, keeps the better of
champion and challenger, and each partition gets its own metadata and check verdicts."""

from typing import Any

import dagster as dg
import pandas as pd
from dagster_mlflow.resources import MlFlow

from arima_assets.config import ArimaConfig
from arima_assets.decision import ModelRecord, StepStatus
from arima_assets.defs._dagster_internals import partition_metadata_writer
from arima_assets.defs.automation import (
    AGE_CLOCK_METADATA_KEY,
    FAILURES_METADATA_KEY,
    SERIES_VERSION_METADATA_KEY,
    batch_policy,
    latest_metadata_values,
    model_condition,
)
from arima_assets.defs.checks import check_evaluations, model_check_specs
from arima_assets.defs.data_assets import series_by_partition, titles_of
from arima_assets.defs.deployment import FIT_POOL
from arima_assets.defs.partitions import isbn_partitions
from arima_assets.defs.resources import ModelStoreResource
from arima_assets.defs.tracking import EXPERIMENT_NAME, end_mlflow_on_run_finished
from arima_assets.lifecycle import ChampionLifecycle, IsbnResult
from arima_assets.registry import ModelRegistry, model_name
from arima_assets.registry.links import MLFLOW_UI_DEFAULT, model_version_url, run_url, ui_base_url
from arima_assets.training import ModelStepResult, record_digest, series_version

__all__ = ["build_model_asset", "model_metadata"]


def _readable(value: float) -> float:
    return round(float(value), 3)


def model_metadata(step: ModelStepResult, mlflow_ui: str = MLFLOW_UI_DEFAULT) -> dict[str, object]:
    """Materialization metadata: the champion's spec and errors, the decision and its reasons, the cost, and
    links to its MLflow run and model version in the UI at `mlflow_ui`.

    Errors and seconds are rounded to 3 decimals for reading (NaN stays a float NaN); `decision_detail` keeps
    the decision at full precision.
    """
    champion: ModelRecord = step.champion
    decision = step.decision
    metadata: dict[str, object] = {
        "status": str(step.status),
        "decision": str(decision.action),
        "reasons": dg.MetadataValue.md("\n".join(f"- {reason}" for reason in decision.reasons)),
        "triggers_fired": ", ".join(str(t) for t in decision.fired) or "none",
        "spec": champion.spec_label,
        "cv_mase": _readable(champion.cv_mase),
        "holdout_mase": _readable(champion.holdout_mase),
        "trained_at": champion.trained_at.isoformat(),
        AGE_CLOCK_METADATA_KEY: dg.MetadataValue.timestamp(champion.age_clock_start.timestamp()),
        "data_start": champion.data_start,
        "data_end": champion.data_end,
        "trials_run": step.tuning.trials_run if step.tuning else 0,
        "fit_seconds": _readable(step.fit_seconds),
        "fit_seconds_saved": _readable(step.fit_seconds_saved),
        "used_fallback": champion.used_fallback,
        "demand_class": str(champion.demand_class.get("label", "")),  # Syntetos-Boylan class of its training data
        "record_digest": record_digest(champion),
        "decision_detail": dg.MetadataValue.json(decision.to_dict()),
    }
    for verdict in decision.triggers:  # each verdict's observed value beside its threshold, charted per ISBN
        if verdict.observed is not None:
            metadata[f"{verdict.trigger}_observed"] = _readable(verdict.observed)
        if verdict.threshold is not None:
            metadata[f"{verdict.trigger}_threshold"] = _readable(verdict.threshold)
    links = champion.mlflow
    if links.get("run_id"):
        metadata["mlflow_run_id"] = links["run_id"]
        metadata["mlflow_run"] = dg.MetadataValue.url(run_url(mlflow_ui, links["run_id"]))
        metadata["mlflow_parent_run_id"] = links.get("parent_run_id", "")
    if links.get("version"):
        metadata["mlflow_model_version"] = dg.MetadataValue.text(f"arima-{champion.isbn} v{links['version']}")
        metadata["mlflow_model"] = dg.MetadataValue.url(
            model_version_url(mlflow_ui, model_name(champion.isbn), links["version"])
        )
    if links.get("rejected_version"):
        metadata["mlflow_rejected_version"] = links["rejected_version"]
    metadata["pending_challenger"] = step.candidate.spec_label if step.candidate else "none"
    if step.challenger is not None:
        metadata["challenger_spec"] = step.challenger.spec_label
        metadata["challenger_holdout_mase"] = _readable(step.challenger.holdout_mase)
        metadata["promotion"] = step.promotion_reason or ""
    return metadata


def _partition_metadata(
    result: IsbnResult, series: pd.Series, previous_failures: int, title: str, mlflow_ui: str
) -> dict[str, object]:
    """One ISBN's metadata in a batch: the step's, or the failure with its error (the champion is unchanged)."""
    if result.step is not None:
        metadata = model_metadata(result.step, mlflow_ui)
        metadata[FAILURES_METADATA_KEY] = 0
    else:
        metadata = {
            "status": str(StepStatus.FAILED),
            "error": result.outcome.error or "",
            FAILURES_METADATA_KEY: previous_failures + 1,
        }
        if result.judged is not None:  # the champion in force is unchanged: keep its clock and digest visible
            metadata["spec"] = result.judged.spec_label
            metadata[AGE_CLOCK_METADATA_KEY] = dg.MetadataValue.timestamp(result.judged.age_clock_start.timestamp())
            metadata["record_digest"] = record_digest(result.judged)
    metadata[SERIES_VERSION_METADATA_KEY] = series_version(series)
    return {"title": title, **metadata}


def build_model_asset(config: ArimaConfig) -> dg.AssetsDefinition:
    """The `arima_model` asset (with its checks) for this configuration: automation condition and batch size."""

    @dg.asset(
        name="arima_model",
        group_name="arima_assets",
        partitions_def=isbn_partitions,
        kinds={"statsmodels", "optuna"},
        automation_condition=model_condition(config),
        backfill_policy=batch_policy(config),
        ins={"weekly_sales": dg.AssetIn()},
        check_specs=model_check_specs(),
        hooks={end_mlflow_on_run_finished},
        pool=FIT_POOL,
    )
    def arima_model(
        context: dg.AssetExecutionContext,
        arima_config: dg.ResourceParam[ArimaConfig],
        model_store: ModelStoreResource,
        mlflow: dg.ResourceParam[MlFlow],
        weekly_sales: Any,  # one frame, or a dict by partition for several
    ):
        """Tuned ARIMA model of each ISBN of the run (spec + parameters, no pickle). Trains only when the decision
        engine finds the champion missing, too old, drifted, degraded or forced. After drift or degraded
        performance the model trained on the change is served unless the champion is significantly better on the
        weeks since; after an age or forced retrain a challenger replaces the champion only if it is better on the
        same out-of-sample weeks (Diebold-Mariano), else it stays pending and is promoted later, without a fit, if
        it wins on the weeks that follow. Otherwise the champion is reused without a fit, and the metadata says
        why. Each ISBN's checks carry the verdicts behind its decision; an ISBN whose step fails is reported with
        its error and does not stop the others."""
        store = model_store.get_store()
        registry = ModelRegistry(arima_config.mlflow_tracking_uri, experiment_name=EXPERIMENT_NAME)
        lifecycle = ChampionLifecycle(store, registry, arima_config)
        series = series_by_partition(context.partition_keys, weekly_sales)
        selected = {key.name for key in context.selected_asset_check_keys}
        titles = titles_of(context.instance, list(series))
        add_metadata = partition_metadata_writer(context)
        mlflow_ui = ui_base_url(arima_config.mlflow_tracking_uri, arima_config.mlflow_ui_url)
        done = 0

        def report(result: IsbnResult) -> None:
            nonlocal done
            done += 1
            failures = _previous_failures(context, result.isbn) if result.failed else 0
            title = titles.get(result.isbn, "")
            add_metadata(result.isbn, _partition_metadata(result, series[result.isbn], failures, title, mlflow_ui))
            if result.failed:
                context.log.error(f"ISBN {result.isbn}: model step failed: {result.outcome.error}")
            if done % 25 == 0 or done == len(series):
                context.log.info(f"model step: {done} of {len(series)} ISBNs done")

        batch = lifecycle.run_batch(
            series,
            run_id=context.run.run_id,
            parent_run_id=mlflow.active_run().info.run_id,
            on_result=report,
        )
        for result in batch.results.values():
            yield from check_evaluations(result, selected)
        for output_name, spec in context.assets_def.check_specs_by_output_name.items():
            if spec.name in selected:  # the check outputs, once for the batch (each evaluation names its ISBN)
                yield dg.Output(None, output_name=output_name)
        yield dg.MaterializeResult()

    return arima_model


def _previous_failures(context: dg.AssetExecutionContext, isbn: str) -> int:
    """Consecutive failures recorded on the ISBN's latest materialization (0 when none)."""
    value = latest_metadata_values(context.instance, context.asset_key, {isbn}, FAILURES_METADATA_KEY).get(isbn)
    return int(value) if value is not None else 0
