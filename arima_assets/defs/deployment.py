"""What differs per deployment, chosen in one place from `DEPLOYMENT_ENV`: the executor and the run pool.

development and testing run each ISBN's steps in one process on the local machine. production hands every
step to a Celery worker (dagster-celery), with the broker, the result backend and the queue read from the
environment when a run starts (`ARIMA_CELERY_BROKER`, `ARIMA_CELERY_BACKEND`, `ARIMA_CELERY_QUEUE`), and caps
concurrent fits with the `arima_fits` pool, whose limit in the production `dagster.yaml` equals the worker
slots.
"""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Mapping
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import dagster as dg
import yaml
from dagster._core.launcher import DefaultRunLauncher, LaunchRunContext

from arima_assets.config import ENV_VARS, PRESETS, ArimaConfig, get_arima_config
from arima_assets.environment import env_text, get_environment, redact_uri

__all__ = [
    "FIT_POOL",
    "CELERY_CONFIG_FILE",
    "LOCAL_SETTINGS",
    "RUN_SETTING_TAG_PREFIX",
    "RUN_SETTINGS_ORIGIN_TAG",
    "SettingsTaggingRunLauncher",
    "carried_settings",
    "launch_settings",
    "launch_tags",
    "setting_origins",
    "tag_run_with_launch_settings",
    "CELERY_QUEUE_ENV",
    "DEFAULT_CELERY_QUEUE",
    "celery_execution_config",
    "build_executor",
    "is_scaled_out",
    "missing_production_settings",
    "prepare_stores",
    "postgres_maintenance",
    "production_services",
    "unset",
]

#: Dagster pool of the model step: its limit is the number of fits that may run at once.
FIT_POOL = "arima_fits"

#: The Celery settings shared by run workers and Celery workers (read by `arima_assets.deploy.celery_app`).
CELERY_CONFIG_FILE = resources.files("arima_assets.deploy") / "celery.yaml"

#: The queue this deployment's steps go to; workers listen with `-q <the same name>`. Deployments (or test
#: sessions) that share one broker stay apart by using different queues.
CELERY_QUEUE_ENV = "ARIMA_CELERY_QUEUE"
DEFAULT_CELERY_QUEUE = "dagster"
CELERY_BROKER_ENV = "ARIMA_CELERY_BROKER"
CELERY_BACKEND_ENV = "ARIMA_CELERY_BACKEND"
#: Postgres URI of the production Dagster instance (runs, event logs, schedules), read by deploy/dagster.yaml.
DAGSTER_PG_URL_ENV = "ARIMA_DAGSTER_PG_URL"

#: What every production process needs in its environment, and what for (`arima-assets config` lists the unset).
_PRODUCTION_REQUIRED = {
    "DAGSTER_HOME": "the folder holding a copy of arima_assets/deploy/dagster.yaml",
    DAGSTER_PG_URL_ENV: "the Postgres URI of Dagster's runs, events and schedules",
    "MLFLOW_TRACKING_URI": "the MLflow server; ARIMA_MLFLOW_TRACKING_URI also works",
    "ARIMA_STATE_DIR": "a folder every worker reaches, for the model store, tables and reports",
    CELERY_BROKER_ENV: "the Celery broker URL, e.g. pyamqp://127.0.0.1:5672// (RabbitMQ)",
    CELERY_BACKEND_ENV: "the Celery result backend, e.g. rpc://",
}


def unset(name: str) -> str:
    """The placeholder `arima-assets config` shows for an unset environment variable."""
    return f"<unset: {name}>"


def _is_set(name: str) -> bool:
    if name == "MLFLOW_TRACKING_URI":
        return any(os.environ.get(n, "").strip() for n in ("ARIMA_MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_URI"))
    return bool(os.environ.get(name, "").strip())


def missing_production_settings() -> list[str]:
    """The production environment variables this process lacks, each as ``NAME: what it is``."""
    return [f"{name}: {what}" for name, what in _PRODUCTION_REQUIRED.items() if not _is_set(name)]


def production_services() -> dict[str, str]:
    """The production Dagster store and Celery settings from this process's environment, credentials redacted
    (``<unset: NAME>`` for a missing one)."""

    def shown(name: str) -> str:
        return redact_uri(env_text(name, unset(name)))

    return {
        "dagster_storage": f"postgres {shown(DAGSTER_PG_URL_ENV)} (runs, events, schedules; deploy/dagster.yaml)",
        "celery_broker": shown(CELERY_BROKER_ENV),
        "celery_backend": shown(CELERY_BACKEND_ENV),
        "celery_queue": env_text(CELERY_QUEUE_ENV, DEFAULT_CELERY_QUEUE),
    }


def is_scaled_out(environment: str) -> bool:
    """Whether this deployment is the production profile: steps on Celery workers, stores read from the
    environment when a run starts (the one test of `DEPLOYMENT_ENV` both choices use)."""
    return environment == "production"


@cache
def _shipped_celery_config() -> dict[str, Any]:
    with CELERY_CONFIG_FILE.open(encoding="utf-8") as handle:
        parsed = yaml.safe_load(handle)
    return dict(parsed["execution"]["config"])


def celery_execution_config() -> dict[str, Any]:
    """The executor config of a run: the shipped celery.yaml with the queue from `ARIMA_CELERY_QUEUE`.

    Called when a run starts, so every value comes from that process's environment (the broker and backend
    stay `{env: ...}` references that Dagster resolves and never shows).
    """
    config = _shipped_celery_config()
    queue = env_text(CELERY_QUEUE_ENV, DEFAULT_CELERY_QUEUE)
    return {**config, "config_source": {**config.get("config_source", {}), "task_default_queue": queue}}


def build_executor(environment: str) -> dg.ExecutorDefinition:
    """In-process execution locally; in production one Celery task per step."""
    if not is_scaled_out(environment):
        # one ISBN's run is a short chain (series -> model -> forecast): one process per run, not one per step
        return dg.in_process_executor
    from dagster_celery import celery_executor  # the production extra; not needed on a laptop

    return celery_executor.configured(lambda _: celery_execution_config(), name="arima_celery", config_schema={})


def prepare_stores(config: ArimaConfig) -> dict[str, str]:
    """Create the deployment's stores once, before several processes start using them: the Dagster instance's
    tables (from `DAGSTER_HOME`), the MLflow store's schema and the project experiment, the state folders.

    Concurrent first use of a fresh store runs its migrations twice; doing it here first avoids that.

    Raises:
        dagster.DagsterHomeException: `DAGSTER_HOME` is unset or not a folder.
        arima_assets.registry.RegistryUnavailableError: the MLflow store cannot be reached.
    """
    from arima_assets.defs.resources import store_locations
    from arima_assets.defs.tracking import prepare_tracking_store

    with dg.DagsterInstance.get() as instance:
        storage = type(instance.run_storage).__name__
        postgres_url = getattr(instance.event_log_storage, "postgres_url", None)
    prepare_tracking_store(config.mlflow_tracking_uri)
    stores = store_locations(config)
    for key in ("model_store", "tables", "reports"):
        if "://" not in stores[key]:
            Path(stores[key]).mkdir(parents=True, exist_ok=True)
    prepared = {
        "environment": config.environment,
        "dagster_instance": f"{instance.root_directory} ({storage})",
        "mlflow_tracking_uri": redact_uri(config.mlflow_tracking_uri),
        **{key: stores[key] for key in ("model_store", "tables", "reports")},
    }
    if postgres_url:
        prepared.update(postgres_maintenance(postgres_url))
    return prepared


def postgres_maintenance(url: str) -> dict[str, str]:
    """Whether the Postgres server keeps the planner statistics of the Dagster tables fresh (autovacuum), and
    what to do when it does not.

    Without statistics Postgres plans Dagster's per-partition check-state query as a nested loop: measured here,
    an idle automation tick at 2,000 ISBNs took 15-16 s instead of 1.4 s, growing with the square of the ISBNs.
    """
    import sqlalchemy as sa

    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            autovacuum = str(connection.execute(sa.text("SHOW autovacuum")).scalar())
    finally:
        engine.dispose()
    report = {"postgres_autovacuum": autovacuum}
    if autovacuum != "on":
        report["warning"] = (
            "autovacuum is off on this Postgres server, so the Dagster tables' planner statistics go stale and "
            "automation ticks slow down quadratically with the ISBNs; turn autovacuum on, or run "
            "`vacuumdb --analyze-only` on the Dagster database after large loads (e.g. daily)"
        )
    return report


#: Run tags of the settings a run was launched with: ``arima/<setting>`` (e.g. ``arima/force_retrain: true``), and
#: ``arima/settings_from``, which process set them. A step applies the run's settings, not its worker's environment.
RUN_SETTING_TAG_PREFIX = "arima/"
RUN_SETTINGS_ORIGIN_TAG = "arima/settings_from"
#: Settings every process reads from its own environment, never carried by a run: where this machine reaches the
#: shared folder, and the MLflow URI (it may hold a password, and run tags are shown to every UI user).
LOCAL_SETTINGS = ("state_dir", "mlflow_tracking_uri")


def _tag_text(value: object) -> str:
    """A setting as the text its environment variable would hold (parsed back by `ArimaConfig.with_overrides`)."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def launch_settings(environment: str | None = None) -> dict[str, str]:
    """The settings this process's environment sets (``ARIMA_*``, validated), as text: what a run launched from
    here carries. The `LOCAL_SETTINGS` are left out.

    Raises:
        ValueError: an ``ARIMA_*`` value is invalid (the message names the variable).
    """
    config = get_arima_config(environment, mlflow_tracking_uri="(not carried)")  # never read here: not required
    return {
        name: _tag_text(getattr(config, name))
        for name, variable in ENV_VARS.items()
        if name not in LOCAL_SETTINGS and os.environ.get(variable) is not None
    }


def _process_name() -> str:
    return f"{Path(sys.argv[0]).name or 'python'} on {socket.gethostname()} (pid {os.getpid()})"


def launch_tags(environment: str | None = None) -> dict[str, str]:
    """The run tags of `launch_settings`, with the launching process named in ``arima/settings_from``."""
    tags = {f"{RUN_SETTING_TAG_PREFIX}{name}": value for name, value in launch_settings(environment).items()}
    return {**tags, RUN_SETTINGS_ORIGIN_TAG: _process_name()}


def carried_settings(tags: Mapping[str, str], environment: str) -> dict[str, str] | None:
    """The settings a run carries, from its tags; None for a run launched without them (an instance without the
    tagging run coordinator, the Python API).

    A run that carries settings carries all of them: a setting it does not name has its preset value, whatever the
    environment of the process running the step says (the `LOCAL_SETTINGS` excepted).
    """
    if RUN_SETTINGS_ORIGIN_TAG not in tags:
        return None
    carried = {
        name: tags[f"{RUN_SETTING_TAG_PREFIX}{name}"]
        for name in ENV_VARS
        if name not in LOCAL_SETTINGS and f"{RUN_SETTING_TAG_PREFIX}{name}" in tags
    }
    defaults = {name: field.default for name, field in ArimaConfig.model_fields.items()}
    preset = PRESETS[environment]
    for name, variable in ENV_VARS.items():  # set here, not where the run was launched: back to the preset
        if name not in LOCAL_SETTINGS and name not in carried and os.environ.get(variable) is not None:
            carried[name] = _tag_text(preset.get(name, defaults[name]))
    return carried


def tag_run_with_launch_settings(instance: dg.DagsterInstance, run: dg.DagsterRun) -> dict[str, str]:
    """Tag `run` with this process's `launch_tags`, unless it already carries settings (a retry or re-execution
    copies its parent's tags: it keeps its first launch's settings). Returns the tags added."""
    if RUN_SETTINGS_ORIGIN_TAG in run.tags:
        return {}
    tags = launch_tags()
    instance.add_run_tags(run.run_id, tags)
    return tags


class SettingsTaggingRunLauncher(DefaultRunLauncher):
    """Dagster's default run launcher, which first tags the run with the ``ARIMA_*`` settings of the launching
    process (`tag_run_with_launch_settings`). With the queued run coordinator that process is the daemon, for every
    run: sensor, automation, backfill and runs launched by hand in the UI. The Celery workers' steps read the
    settings from the run (`arima_assets.defs.resources`), so a setting exported for the daemon only
    (``ARIMA_FORCE_RETRAIN=true``) still applies on the workers.
    """

    def launch_run(self, context: LaunchRunContext) -> None:
        tag_run_with_launch_settings(self._instance, context.dagster_run)
        super().launch_run(context)


def setting_origins(environment: str | None = None, explicit: Mapping[str, Any] | None = None) -> dict[str, str]:
    """Where each effective setting comes from: ``argument``, ``environment ARIMA_<NAME>``, ``preset <env>`` or
    ``default``; in production, the carried ones also say that runs launched from this process carry them."""
    env = get_environment(environment)
    explicit = explicit or {}
    carried_note = " (carried by the runs this process launches)" if is_scaled_out(env) else ""
    origins = {}
    for name, variable in ENV_VARS.items():
        if explicit.get(name) is not None:
            origins[name] = "argument"
        elif os.environ.get(variable) is not None:
            note = carried_note if name not in LOCAL_SETTINGS else " (read by every process for itself)"
            origins[name] = f"environment {variable}{note}"
        elif name == "mlflow_tracking_uri" and os.environ.get("MLFLOW_TRACKING_URI"):
            origins[name] = "environment MLFLOW_TRACKING_URI (read by every process for itself)"
        elif name in PRESETS[env]:
            origins[name] = f"preset {env}"
        else:
            origins[name] = "default"
    return origins
