"""Resources: the settings, the model store and the table IO manager, chosen from the configuration."""

import logging
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd
from mlflow import MlflowClient
from upath import UPath

from arima_assets.config import ENV_VARS, ArimaConfig
from arima_assets.defs.deployment import (
    RUN_SETTINGS_ORIGIN_TAG,
    carried_settings,
    is_scaled_out,
    production_services,
    unset,
)
from arima_assets.defs.tracking import EXPERIMENT_NAME, mlflow_resource
from arima_assets.environment import redact_uri
from arima_assets.registry.runs import (
    DAGSTER_RUN_TAG,
    ISBN_DAGSTER_RUN_TAG,
    end_runs_left_running,
    running_runs_by_tag,
)
from arima_assets.store import ModelStore, open_model_store
from arima_assets.store_backends import join_location

logger = logging.getLogger(__name__)

__all__ = [
    "DEPLOYMENT_SETTINGS",
    "ModelStoreResource",
    "ParquetIOManager",
    "arima_config_resource",
    "build_resources",
    "store_locations",
]

#: Settings read when the definitions are built, by the automation (the model clock condition), the sales-files
#: sensor and the other resources. A run cannot override them: a run that disagreed with the automation that
#: requested it, or wrote to other stores than its resources, would be inconsistent.
DEPLOYMENT_SETTINGS = (
    "max_model_age_days",
    "force_retrain",
    "automation_interval_seconds",
    "batch_size",
    "custom_triggers",
    "trigger_calendar",
    "trigger_timeout_seconds",
    "sales_path",
    "state_dir",
    "mlflow_tracking_uri",
)

_CONFIG_TYPES: dict[object, object] = {int: int, float: float, str: str, bool: bool, float | None: dg.Noneable(float)}


#: Production stores, read from these environment variables when a run's resources start (never frozen into
#: the definitions): the folder every worker reaches, and the MLflow tracking/registry URI.
STATE_DIR_ENV = ENV_VARS["state_dir"]
TRACKING_URI_ENVS = (ENV_VARS["mlflow_tracking_uri"], "MLFLOW_TRACKING_URI")


def _runtime_storage() -> dict[str, str]:
    """The production storage settings from the environment of the process that starts a run or a step."""
    values = {"state_dir": os.environ.get(STATE_DIR_ENV, "").strip()}
    values["mlflow_tracking_uri"] = next((os.environ[n].strip() for n in TRACKING_URI_ENVS if os.environ.get(n)), "")
    missing = [name for name, value in values.items() if not value]
    if missing:
        raise ValueError(
            f"production reads {', '.join(missing)} from the environment when a run starts: set {STATE_DIR_ENV} "
            f"(a folder every worker reaches) and MLFLOW_TRACKING_URI on every machine"
        )
    return values


def _tracking_uri_env() -> str:
    """The variable production reads the MLflow URI from (ARIMA_MLFLOW_TRACKING_URI when set, else the standard)."""
    return next((name for name in TRACKING_URI_ENVS if os.environ.get(name)), TRACKING_URI_ENVS[1])


def arima_config_resource(settings: ArimaConfig) -> dg.ResourceDefinition:
    """The `arima_config` resource: gives assets and checks the plain `ArimaConfig` (`dg.ResourceParam[ArimaConfig]`).

    `settings` is the one source of the automation's thresholds and of the run-time settings. Its run config (the
    launchpad's `resources.arima_config.config`) offers every other setting with `settings`' value as default; a
    value set there is validated like `get_arima_config`'s arguments. The `DEPLOYMENT_SETTINGS` are not in the
    run config, so Dagster rejects a run that sets them.
    """
    fields = ArimaConfig.model_fields
    schema = {
        name: dg.Field(_CONFIG_TYPES[fields[name].annotation], default_value=getattr(settings, name), is_required=False)
        for name in ENV_VARS
        if name not in DEPLOYMENT_SETTINGS
    }

    def settings_for_run(context: dg.InitResourceContext) -> ArimaConfig:
        changed = {name: value for name, value in context.resource_config.items() if value != getattr(settings, name)}
        if is_scaled_out(settings.environment):
            changed.update(_runtime_storage())  # where the stores are: this process's environment, now
        launched = _launched_with(context, settings)
        return launched.with_overrides(changed, source="resources.arima_config.config.")

    return dg.ResourceDefinition(
        resource_fn=settings_for_run, config_schema=schema, description="ARIMA settings (arima_assets.config)"
    )


def _launched_with(context: dg.InitResourceContext, settings: ArimaConfig) -> ArimaConfig:
    """`settings` with the settings the run carries in its tags (`arima_assets.defs.deployment.carried_settings`):
    what the launching process (daemon, webserver) had, whatever this worker's environment says. A difference is
    logged on the step, naming the setting, both values and where the run was launched."""
    run = context.dagster_run
    carried = carried_settings(run.tags, settings.environment) if run is not None else None
    if not carried:
        return settings
    source = f"run tag arima/ of run {run.run_id} ({run.tags[RUN_SETTINGS_ORIGIN_TAG]}): "
    launched = settings.with_overrides(carried, source=source)
    differ = [name for name in carried if getattr(launched, name) != getattr(settings, name)]
    if differ:
        shown = ", ".join(f"{name}={getattr(launched, name)!r} (here {getattr(settings, name)!r})" for name in differ)
        context.log.warning(
            f"this process's environment differs from where the run was launched "
            f"({run.tags[RUN_SETTINGS_ORIGIN_TAG]}); the run's settings apply: {shown}"
        )
    return launched


class ModelStoreResource(dg.ConfigurableResource):
    """Where champion records and training outcomes live: `<state_dir>/models` (JSON files in a folder, or objects
    under an ``s3://`` state dir), each ISBN's lease shared with every store on the same MLflow registry."""

    state_dir: str
    tracking_uri: str = ""

    def get_store(self) -> ModelStore:
        """The plain-Python store (`store.open_model_store`)."""
        return open_model_store(self.state_dir, self.tracking_uri or None)


class ParquetIOManager(dg.UPathIOManager):
    """Stores DataFrames as parquet files, one per asset partition."""

    extension: str = ".parquet"

    def handle_output(self, context: dg.OutputContext, obj: object) -> None:
        """One parquet file per partition; a step over several partitions returns a dict by partition."""
        if not context.has_asset_partitions or len(context.asset_partition_keys) == 1:
            super().handle_output(context, obj)
            return
        keys = set(context.asset_partition_keys)
        if not isinstance(obj, dict) or set(obj) != keys:
            found = sorted(obj)[:5] if isinstance(obj, dict) else type(obj).__name__
            raise TypeError(
                f"{context.asset_key.to_user_string()} ran for {len(keys)} partitions and must return a dict of one "
                f"DataFrame per partition; got {found}"
            )
        paths = self._get_paths_for_partitions(context)
        for key, frame in obj.items():
            self.make_directory(paths[key].parent)
            self.dump_to_path(context=context, obj=frame, path=paths[key])

    def dump_to_path(self, context: dg.OutputContext, obj: pd.DataFrame, path: UPath) -> None:
        if not isinstance(obj, pd.DataFrame):
            raise TypeError(f"{context.asset_key.to_user_string()} must return a pandas DataFrame, got {type(obj)}")
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.protocol not in ("", "file", "local"):
            obj.to_parquet(path)  # an object store replaces an object in one PUT: readers see old or new
            return
        # a local file is written beside and renamed over the old one: a concurrent reader never sees half a file
        tmp = Path(str(path.path)).with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
        try:
            obj.to_parquet(tmp)
            os.replace(tmp, Path(str(path.path)))
        finally:
            tmp.unlink(missing_ok=True)

    def load_from_path(self, context: dg.InputContext, path: UPath) -> pd.DataFrame:
        return pd.read_parquet(path)


class ParquetIOManagerResource(dg.ConfigurableIOManagerFactory):
    """Parquet tables under `<state_dir>/tables` (a local or shared folder, or an object-store URI)."""

    state_dir: str

    def create_io_manager(self, context) -> ParquetIOManager:
        return ParquetIOManager(base_path=UPath(self.state_dir) / "tables")


def store_locations(config: ArimaConfig) -> dict[str, str]:
    """Where this deployment keeps each store (credentials redacted): shown by `arima-assets config` and in the
    retraining report's metadata."""
    if is_scaled_out(config.environment):
        instance = os.environ.get("DAGSTER_HOME") or unset("DAGSTER_HOME")
    else:
        instance = os.environ.get("DAGSTER_HOME", "DAGSTER_HOME (unset)")
        instance += " for dagster dev; <output_dir>/dagster for the CLI and the Python API"
    locations = {
        "environment": config.environment,
        "dagster_instance": instance,
        "model_store": str(join_location(config.state_dir, "models")),
        "tables": str(join_location(config.state_dir, "tables")),
        "reports": str(join_location(config.state_dir, "reports")),
        "mlflow_tracking_uri": redact_uri(config.mlflow_tracking_uri),
        "sales_path": config.sales_path,
    }
    if is_scaled_out(config.environment):
        locations.update(production_services())
    return locations


def build_resources(config: ArimaConfig) -> dict[str, object]:
    """The resources for a deployment: config, model store, parquet IO manager, MLflow tracking.

    development and testing: the folders and the MLflow URI of `config`. production: `ARIMA_STATE_DIR` and
    `MLFLOW_TRACKING_URI` as `dg.EnvVar`s, resolved by each process when it starts a run or a step (the
    definitions hold the variable names, never the values).
    """
    if is_scaled_out(config.environment):
        state: str | dg.EnvVar = dg.EnvVar(STATE_DIR_ENV)
        tracking: str | dict[str, str] = {"env": _tracking_uri_env()}
        store_tracking: str | dg.EnvVar = dg.EnvVar(_tracking_uri_env())
    else:
        state, tracking = config.state_dir, config.mlflow_tracking_uri
        store_tracking = tracking
    return {
        "arima_config": arima_config_resource(config),
        "model_store": ModelStoreResource(state_dir=state, tracking_uri=store_tracking),
        "io_manager": ParquetIOManagerResource(state_dir=state),
        "mlflow": _ending_runs_left_running(mlflow_resource(config, tracking)),
    }


_MLFLOW_END_STATUS = {
    dg.DagsterRunStatus.SUCCESS: "FINISHED",
    dg.DagsterRunStatus.FAILURE: "FAILED",
    dg.DagsterRunStatus.CANCELED: "KILLED",
}


def end_mlflow_runs_of_ended_dagster_runs(instance: dg.DagsterInstance, tracking_uri: str, current: str) -> list[str]:
    """Mark FAILED/KILLED (FINISHED after a success) the project's MLflow runs still RUNNING whose Dagster run is
    over: a worker killed or restarted mid-step leaves its Dagster run's MLflow run RUNNING, and the clean-up by
    process (`arima_assets.registry.owners`) cannot see a process on another machine. `current` (this Dagster run)
    is left alone. Returns the MLflow run ids ended."""
    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    experiment = client.get_experiment_by_name(EXPERIMENT_NAME)
    if experiment is None:
        return []
    # the Dagster run's own MLflow run, and the nested ISBN runs a killed worker left RUNNING
    running = running_runs_by_tag(client, [experiment.experiment_id], DAGSTER_RUN_TAG, ISBN_DAGSTER_RUN_TAG)
    running.pop(current, None)
    if not running:
        return []
    ended = {}
    for run in instance.get_runs(dg.RunsFilter(run_ids=list(running))):
        status = _MLFLOW_END_STATUS.get(run.status)
        if status is not None:
            why = f"its Dagster run {run.run_id} ended {run.status.value}"
            ended.update({mlflow_run_id: (status, why) for mlflow_run_id in running[run.run_id]})
    return end_runs_left_running(client, ended)


def _ending_runs_left_running(tracking: dg.ResourceDefinition) -> dg.ResourceDefinition:
    """The `mlflow` resource `tracking`, which, once it has checked MLflow and started this run's MLflow run, ends
    the MLflow runs left RUNNING by Dagster runs that are over (best effort: a failure is logged, not raised)."""

    def init(context: dg.InitResourceContext) -> Iterator[Any]:
        managed = tracking.resource_fn(context)
        tracker = next(managed)
        uri = context.resource_config["mlflow_tracking_uri"]
        try:
            ended = end_mlflow_runs_of_ended_dagster_runs(context.instance, uri, context.run_id)
            if ended:
                context.log.warning(f"ended {len(ended)} MLflow run(s) left RUNNING by finished Dagster runs: {ended}")
        except Exception as exc:  # noqa: BLE001 - housekeeping must not fail the step; the reason is logged
            logger.warning("MLflow runs left RUNNING not ended at %s: %s", redact_uri(uri), redact_uri(str(exc)))
        try:
            yield tracker
        finally:
            next(managed, None)

    return dg.ResourceDefinition(
        resource_fn=init, config_schema=tracking.config_schema, description=tracking.description
    )
