"""The Celery app of the production workers: `celery -A arima_assets.deploy.celery_app worker -Q "$ARIMA_CELERY_QUEUE"`.

The same app as `dagster-celery worker start -A dagster_celery.app -y arima_assets/deploy/celery.yaml` (dagster-celery's
defaults, then celery.yaml, the same three tasks), with one difference: the broker and backend URLs are read from
the environment by the worker itself. `dagster-celery worker start` instead resolves them and writes them, password
included, into `$DAGSTER_HOME/dagster_celery/config/<uuid>/dagster_celery_config.py` with the default umask (0644,
readable by every user of the machine), one new file per worker start.

The worker's steps also get MLflow HTTP retries bounded for a step (unless set in the environment): MLflow's default
(7 retries with backoff, about 4 minutes per call) keeps a run STARTED, holding its `arima_fits` slot, for minutes
of an MLflow outage; here a call gives up after about 3 s of retries (or its timeout) and the step fails.
"""

from __future__ import annotations

import os
from typing import Any

from dagster_celery.make_app import make_app
from dagster_celery.tasks import create_execute_job_task, create_resume_job_task, create_task

from arima_assets.defs.deployment import CELERY_BACKEND_ENV, CELERY_BROKER_ENV, celery_execution_config

__all__ = ["MLFLOW_STEP_HTTP", "app", "worker_settings"]

#: MLflow HTTP client settings of the worker's steps (defaults: 7 retries, backoff factor 2, 120 s timeout).
MLFLOW_STEP_HTTP = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "20",
}


def _required(name: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        raise RuntimeError(
            f"the Celery worker reads {name} from its environment and it is unset: export it as for the daemon "
            f"(see README, production quick start)"
        )
    return value


def worker_settings() -> dict[str, Any]:
    """The Celery settings of a worker: broker and backend from the environment, the rest from celery.yaml."""
    source = celery_execution_config()["config_source"]
    return {"broker_url": _required(CELERY_BROKER_ENV), "result_backend": _required(CELERY_BACKEND_ENV), **source}


for _name, _value in MLFLOW_STEP_HTTP.items():
    os.environ.setdefault(_name, _value)

app = make_app()  # dagster-celery's defaults, as `dagster-celery worker start` gets them
app.conf.update(worker_settings())
execute_plan = create_task(app)
execute_job = create_execute_job_task(app)
resume_job = create_resume_job_task(app)
