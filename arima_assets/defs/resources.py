"""Resources: the settings, the model store and the table IO manager, chosen from the configuration."""

import os
import uuid
from pathlib import Path

import dagster as dg
import pandas as pd
from upath import UPath

from arima_assets.config import ENV_VARS, ArimaConfig
from arima_assets.defs.tracking import mlflow_resource
from arima_assets.environment import redact_uri
from arima_assets.store import ModelStore

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
    "custom_triggers",
    "trigger_calendar",
    "sales_path",
    "state_dir",
    "mlflow_tracking_uri",
)

_CONFIG_TYPES: dict[object, object] = {int: int, float: float, str: str, bool: bool, float | None: dg.Noneable(float)}


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
        return settings.with_overrides(changed, source="resources.arima_config.config.")

    return dg.ResourceDefinition(
        resource_fn=settings_for_run, config_schema=schema, description="ARIMA settings (arima_assets.config)"
    )


class ModelStoreResource(dg.ConfigurableResource):
    """Where champion records and training outcomes live (a folder of JSON files)."""

    folder: str

    def get_store(self) -> ModelStore:
        """The plain-Python store over this folder."""
        return ModelStore(self.folder)


class ParquetIOManager(dg.UPathIOManager):
    """Stores DataFrames as parquet files, one per asset partition."""

    extension: str = ".parquet"

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
    """Parquet tables under a base folder."""

    base_dir: str

    def create_io_manager(self, context) -> ParquetIOManager:
        return ParquetIOManager(base_path=UPath(self.base_dir))


def store_locations(config: ArimaConfig) -> dict[str, str]:
    """Where this deployment keeps each store (credentials redacted): shown by `arima-assets config` and in the
    retraining report's metadata."""
    state = Path(config.state_dir)
    return {
        "environment": config.environment,
        "dagster_instance": os.environ.get("DAGSTER_HOME", "DAGSTER_HOME (unset)")
        + " for dagster dev; <output_dir>/dagster for the CLI and the Python API",
        "model_store": str(state / "models"),
        "tables": str(state / "tables"),
        "reports": str(state / "reports"),
        "mlflow_tracking_uri": redact_uri(config.mlflow_tracking_uri),
        "sales_path": config.sales_path,
    }


def build_resources(config: ArimaConfig) -> dict[str, object]:
    """The resources for a deployment: config, model store, parquet IO manager, MLflow tracking."""
    stores = store_locations(config)
    return {
        "arima_config": arima_config_resource(config),
        "model_store": ModelStoreResource(folder=stores["model_store"]),
        "io_manager": ParquetIOManagerResource(base_dir=stores["tables"]),
        "mlflow": mlflow_resource(config),
    }
