"""Per-ISBN MLflow runs: the pipeline's parent run, one nested run per ISBN (params, metrics, the decision and
the params-only model), the pipeline summary and the champion records logged as run artifacts."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunStatus, ViewType
from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID, MLFLOW_RUN_NAME

from arima_assets.registry import _inputs as inputs
from arima_assets.registry.errors import mlflow_errors
from arima_assets.registry.owners import REAPED_TAG, current_owner_tags
from arima_assets.registry.records import DECISION_FILE, PAYLOAD_FILE, RECORD_FILE

__all__ = [
    "DAGSTER_RUN_TAG",
    "ISBN_DAGSTER_RUN_TAG",
    "REUSE_RUN_NAME",
    "REUSED_DECISIONS_FILE",
    "SUMMARY_METRICS",
    "RunLog",
    "end_runs_left_running",
    "running_runs_by_tag",
]

SUMMARY_METRICS = ("reused_models", "newly_trained_models", "reuse_rate", "fit_seconds_saved")
#: Run name and artifact of the one run a call logs for the ISBNs it reused without launching a run.
REUSE_RUN_NAME = "reused-without-run"
REUSED_DECISIONS_FILE = "reused_decisions.json"
#: dagster-mlflow's tag of a Dagster run's own MLflow run. Each step process of the run resumes the latest run that
#: carries it, so no other run may: a nested ISBN run with it was resumed by the next step and never finished.
DAGSTER_RUN_TAG = "dagster_run_id"
#: The Dagster run a nested per-ISBN run was logged by.
ISBN_DAGSTER_RUN_TAG = "arima/dagster_run_id"
_BATCH_PARAMS = 100
_MAX_RUNNING_SEARCH = 1000
_END_STATUSES = ("FINISHED", "FAILED", "KILLED")


def running_runs_by_tag(client: MlflowClient, experiment_ids: list[str], *tags: str) -> dict[str, list[str]]:
    """The RUNNING runs of `experiment_ids` that carry one of `tags`: its value -> their run ids (one search, at
    most 1000 runs)."""
    if not experiment_ids:
        return {}
    running = client.search_runs(
        experiment_ids,
        filter_string=f"attributes.status = '{RunStatus.to_string(RunStatus.RUNNING)}'",
        run_view_type=ViewType.ACTIVE_ONLY,
        max_results=_MAX_RUNNING_SEARCH,
    )
    found: dict[str, list[str]] = {}
    for run in running:
        value = next((run.data.tags[tag] for tag in tags if run.data.tags.get(tag)), None)
        if value:
            found.setdefault(value, []).append(run.info.run_id)
    return found


def end_runs_left_running(client: MlflowClient, ended: Mapping[str, tuple[str, str]]) -> list[str]:
    """End runs whose owner finished without ending them (the clean-up `reap_stale_runs` does for a dead process,
    for an owner known to be over from elsewhere, e.g. its Dagster run): run id -> (FINISHED/FAILED/KILLED, why).
    Each gets the `REAPED_TAG` with why; returns the ids ended.

    Raises:
        ValueError: a status is not one of FINISHED, FAILED, KILLED.
    """
    bad = {run_id: status for run_id, (status, _) in ended.items() if status not in _END_STATUSES}
    if bad:
        raise ValueError(f"end statuses must be one of {_END_STATUSES}, got {bad}")
    for run_id, (status, why) in ended.items():
        client.set_tag(run_id, REAPED_TAG, f"left RUNNING: {why}; marked {status}")
        client.set_terminated(run_id, status, int(time.time() * 1000))
    return list(ended)


class RunLog:
    """The run-writing part of :class:`~arima_assets.registry.registry.ModelRegistry`."""

    _client: MlflowClient
    tracking_uri: str
    experiment_id: str

    def create_parent_run(self, run_name: str, tags: Mapping[str, Any] | None = None) -> str:
        """Start a RUNNING pipeline-level run (when not run under dagster-mlflow); returns its id."""
        if not isinstance(run_name, str) or not run_name.strip():
            raise ValueError(f"run_name must be a non-empty string, got {run_name!r}")
        run_tags = {**current_owner_tags(), **inputs.tag_values(tags)}
        with mlflow_errors(f"create parent run {run_name!r}", self.tracking_uri):
            run = self._client.create_run(self.experiment_id, tags=run_tags, run_name=run_name)
        return run.info.run_id

    def end_run(self, run_id: str, status: str = "FINISHED") -> None:
        """Mark a run FINISHED, FAILED or KILLED."""
        allowed = ("FINISHED", "FAILED", "KILLED")
        if status not in allowed:
            raise ValueError(f"status must be one of {allowed}, got {status!r}")
        with mlflow_errors(f"end run {run_id}", self.tracking_uri):
            self._client.set_terminated(inputs.check_run_id(run_id), status)

    def log_isbn_run(
        self,
        isbn: str,
        *,
        parent_run_id: str | None,
        payload: Mapping[str, Any] | None,
        params: Mapping[str, Any],
        metrics: Mapping[str, Any],
        tags: Mapping[str, Any] | None,
        decision: Mapping[str, Any],
    ) -> str:
        """Record one ISBN's training or reuse as a finished run nested under ``parent_run_id``.

        Logs ``params`` (config, spec, model parameters; nested dicts become dotted keys), ``metrics``
        (CV and holdout errors, trials, fit seconds), ``tags``, the decision as ``decision.<key>`` tags
        plus ``decision.json``, and the params-only model as ``arima_model.json`` when ``payload`` is given
        (None for a reused model).

        Returns:
            The new run's id.

        Raises:
            ValueError: Bad isbn, key, non-numeric metric, non-JSON payload/decision, or a `DAGSTER_RUN_TAG` tag
                (message names which).
            RegistryError: MLflow failed (the run, if created, is marked FAILED).
        """
        isbn = inputs.check_isbn(isbn)
        if parent_run_id is not None:
            inputs.check_run_id(parent_run_id, "parent_run_id")
        if tags and DAGSTER_RUN_TAG in tags:
            raise ValueError(
                f"tag {DAGSTER_RUN_TAG!r} marks a Dagster run's own MLflow run (dagster-mlflow resumes the latest run "
                f"carrying it); tag the ISBN run with {ISBN_DAGSTER_RUN_TAG!r} instead"
            )
        run_params = inputs.param_values(params)
        run_metrics = inputs.metric_values(metrics)
        decision_json = inputs.to_json(decision, "decision")
        payload_json = None if payload is None else inputs.payload_json(payload)
        run_tags = {
            **{f"decision.{k}": v for k, v in inputs.tag_values(decision, "decision").items()},
            **inputs.tag_values(tags),
        }
        run_tags.update({"isbn": isbn, "model_logged": str(payload is not None).lower(), **current_owner_tags()})
        with mlflow_errors(f"log the run of ISBN {isbn}", self.tracking_uri):
            experiment_id = self.experiment_id
            if parent_run_id is not None:
                experiment_id = self._client.get_run(parent_run_id).info.experiment_id
                run_tags[MLFLOW_PARENT_RUN_ID] = parent_run_id
            run_tags[MLFLOW_RUN_NAME] = f"isbn-{isbn}"
            run_id = self._client.create_run(experiment_id, tags=run_tags).info.run_id
            try:
                self._log_batches(run_id, run_params, run_metrics)
                self._client.log_text(run_id, decision_json, DECISION_FILE)
                if payload_json is not None:
                    self._client.log_text(run_id, payload_json, PAYLOAD_FILE)
            except BaseException:
                self._terminate_quietly(run_id, RunStatus.to_string(RunStatus.FAILED))
                raise
            self._client.set_terminated(run_id, RunStatus.to_string(RunStatus.FINISHED))
        return run_id

    def log_summary(self, run_id: str, metrics: Mapping[str, Any]) -> None:
        """Log the pipeline summary on the parent run: reused_models, newly_trained_models, reuse_rate,
        fit_seconds_saved (required) and any further numeric metrics.

        Raises:
            ValueError: A required metric is missing or a value is not a real number.
            RegistryError: MLflow failed.
        """
        inputs.check_run_id(run_id)
        values = inputs.metric_values(metrics, "summary metrics")
        missing = [name for name in SUMMARY_METRICS if name not in values]
        if missing:
            raise ValueError(f"summary metrics: missing {missing}; required {list(SUMMARY_METRICS)}")
        with mlflow_errors(f"log the summary on run {run_id}", self.tracking_uri):
            self._log_batches(run_id, {}, values)

    def log_reuse_summary(
        self, decisions: Mapping[str, Mapping[str, Any]], fit_seconds_saved: float, tags: Mapping[str, Any] | None
    ) -> str:
        """Record the ISBNs a call reused without launching a run for them as ONE finished run (not one per ISBN):
        the summary metrics (``reused_models`` = their number, ``newly_trained_models`` 0, ``reuse_rate`` 1,
        ``fit_seconds_saved``) and ``reused_decisions.json`` (ISBN -> the decision and its reasons).

        Returns:
            The run's id.

        Raises:
            ValueError: A decision is not JSON-serialisable.
            RegistryError: MLflow failed (the run, if created, is marked FAILED).
        """
        inputs.to_json(dict(decisions), "decisions")
        run_id = self.create_parent_run(REUSE_RUN_NAME, {**(tags or {}), "isbns": len(decisions)})
        try:
            summary = {
                "reused_models": float(len(decisions)),
                "newly_trained_models": 0.0,
                "reuse_rate": 1.0,
                "fit_seconds_saved": float(fit_seconds_saved),
                "fit_seconds": 0.0,
            }
            self.log_summary(run_id, summary)
            self.log_reused_decisions(run_id, decisions)
        except BaseException:
            self._terminate_quietly(run_id, RunStatus.to_string(RunStatus.FAILED))
            raise
        self.end_run(run_id)
        return run_id

    def log_reused_decisions(self, run_id: str, decisions: Mapping[str, Mapping[str, Any]]) -> None:
        """Write ``reused_decisions.json`` (ISBN -> the decision and its reasons) to run ``run_id``: the ISBNs that
        were reused get no run of their own.

        Raises:
            ValueError: Bad run id, or a decision is not JSON-serialisable.
            RegistryError: MLflow failed.
        """
        run_id = inputs.check_run_id(run_id)
        text = inputs.to_json(dict(decisions), "decisions")
        with mlflow_errors(f"log the reused decisions on run {run_id}", self.tracking_uri):
            self._client.log_text(run_id, text, REUSED_DECISIONS_FILE)

    def _log_batches(self, run_id: str, params: dict[str, str], metrics: dict[str, float]) -> None:
        timestamp = int(time.time() * 1000)
        metric_list = [Metric(key, value, timestamp, 0) for key, value in metrics.items()]
        param_list = [Param(key, value) for key, value in params.items()]
        self._client.log_batch(run_id, metrics=metric_list, params=param_list[:_BATCH_PARAMS])
        for start in range(_BATCH_PARAMS, len(param_list), _BATCH_PARAMS):
            self._client.log_batch(run_id, params=param_list[start : start + _BATCH_PARAMS])

    def _terminate_quietly(self, run_id: str, status: str) -> None:
        """Best effort while another error propagates: that error is the one to report."""
        try:
            self._client.set_terminated(run_id, status)
        except Exception:  # noqa: BLE001 - the original failure is re-raised by the caller
            pass

    def log_record(self, run_id: str, record: Mapping[str, Any]) -> None:
        """Write a champion record (JSON) as ``champion_record.json`` of run ``run_id``.

        Raises:
            ValueError: Bad run id, or the record is not JSON-serialisable.
            RegistryError: MLflow failed.
        """
        run_id = inputs.check_run_id(run_id)
        text = inputs.to_json(record, "record")
        with mlflow_errors(f"log the champion record of run {run_id}", self.tracking_uri):
            self._client.log_text(run_id, text, RECORD_FILE)
