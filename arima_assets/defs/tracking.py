"""MLflow through dagster-mlflow: one MLflow run per Dagster run (the lifecycle nests a run per ISBN that did work).

The `mlflow` resource is dagster-mlflow's `mlflow_tracking`, preceded by a quick availability check so that an
unreachable store fails the step with a clear error before anything is trained or moved.
"""

import contextlib
import logging
from collections.abc import Iterator
from typing import Any

import dagster as dg
import mlflow
from dagster_mlflow import end_mlflow_on_run_finished, mlflow_tracking
from filelock import FileLock
from mlflow.tracking import MlflowClient

from arima_assets.config import ArimaConfig, redact_uri
from arima_assets.registry import check_available, default_artifact_location
from arima_assets.registry.owners import reap_stale_runs, tag_owner
from arima_assets.registry.tracking import ensure_experiment, ensure_sqlite_folder

__all__ = [
    "EXPERIMENT_NAME",
    "mlflow_resource",
    "prepare_tracking_store",
    "end_mlflow_on_run_finished",
]

EXPERIMENT_NAME = "arima_assets"

logger = logging.getLogger(__name__)


def _store_init_lock(tracking_uri: str) -> contextlib.AbstractContextManager[object]:
    """Serialise first-time creation of a local sqlite store across concurrent runs (a file lock beside it).

    Two runs creating the same fresh MLflow database at once fail with "table ... already exists".
    """
    folder = ensure_sqlite_folder(tracking_uri)  # raises RegistryUnavailableError naming an unusable path
    if folder is None:
        return contextlib.nullcontext()
    return FileLock(folder / ".mlflow-init.lock")


#: Tracking URIs whose stale runs this process has cleaned up already (once per process is enough).
_REAPED_STORES: set[str] = set()


def prepare_tracking_store(tracking_uri: str) -> None:
    """Check MLflow is reachable and that the experiment exists, with its artifacts beside a local store
    (not in the working directory's ./mlruns); once per process, mark KILLED the project's runs left RUNNING by
    a process that died (see arima_assets.registry.owners)."""
    with _store_init_lock(tracking_uri):
        check_available(tracking_uri)
        client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
        experiment_id = ensure_experiment(client, EXPERIMENT_NAME, default_artifact_location(tracking_uri))
    if tracking_uri not in _REAPED_STORES:
        _REAPED_STORES.add(tracking_uri)
        try:
            reap_stale_runs(client, [experiment_id])
        except Exception as exc:  # housekeeping: a failure here must not stop the call, but is logged
            logger.warning(
                "Stale MLflow runs not cleaned up at %s: %s: %s",
                redact_uri(tracking_uri),
                type(exc).__name__,
                redact_uri(str(exc)),
            )


_MLFLOW_STATUS = {
    dg.DagsterRunStatus.SUCCESS: "FINISHED",
    dg.DagsterRunStatus.FAILURE: "FAILED",
    dg.DagsterRunStatus.CANCELED: "KILLED",
}


def _end_leftover_run(context: dg.InitResourceContext) -> None:
    """End the MLflow run an earlier Dagster run left active on this thread, with that run's outcome.

    dagster-mlflow ends its run from a hook on the job's last step or on a failed step that has the hook; a run
    whose failure came elsewhere (its series step) stays active in the process, and the next Dagster run of the
    process (the Python API runs them one after another) would log into it, in whatever store it lives.
    """
    leftover = mlflow.active_run()
    if leftover is None:
        return
    dagster_run_id = leftover.data.tags.get("dagster_run_id")
    if dagster_run_id == context.run_id:
        return  # this run's own MLflow run: dagster-mlflow resumes it
    earlier = context.instance.get_run_by_id(dagster_run_id) if dagster_run_id else None
    status = _MLFLOW_STATUS.get(earlier.status, "FAILED") if earlier is not None else "FAILED"
    try:
        mlflow.end_run(status)  # pops the run off this thread first, then records its status
    except Exception as exc:  # its store may be gone: the run is no longer active here either way
        logger.warning(
            "MLflow run %s left active by Dagster run %s not ended: %s",
            leftover.info.run_id,
            dagster_run_id,
            redact_uri(str(exc)),
        )


def mlflow_resource(config: ArimaConfig, tracking_uri: str | dict[str, str] | None = None) -> dg.ResourceDefinition:
    """dagster-mlflow's tracking resource, checked for availability first.

    Args:
        config: the deployment's settings (its URI unless `tracking_uri` is given).
        tracking_uri: a URI, or ``{"env": NAME}`` to read it from the environment when a run starts.
    """

    @dg.resource(config_schema=mlflow_tracking.config_schema, description=mlflow_tracking.description)
    def checked_mlflow_tracking(context: dg.InitResourceContext) -> Iterator[Any]:
        uri = context.resource_config["mlflow_tracking_uri"]
        prepare_tracking_store(uri)
        _end_leftover_run(context)
        managed = mlflow_tracking.resource_fn(context)  # dagster-mlflow's generator: start, yield, clean up
        tracker = next(managed)
        run = mlflow.active_run()
        if run is not None:  # the Dagster run's MLflow run: owned by this process until it ends
            tag_owner(MlflowClient(tracking_uri=uri, registry_uri=uri), run.info.run_id)
        try:
            yield tracker
        finally:
            next(managed, None)

    return checked_mlflow_tracking.configured(
        {
            "experiment_name": EXPERIMENT_NAME,
            "mlflow_tracking_uri": config.mlflow_tracking_uri if tracking_uri is None else tracking_uri,
            "extra_tags": {"deployment": config.environment},
        }
    )
