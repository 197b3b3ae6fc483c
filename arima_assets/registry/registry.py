"""Per-ISBN MLflow records: one nested run per ISBN and pipeline run, one registered model ``arima-<isbn>``
whose ``champion`` alias points at the version used for forecasts.

Every training is a version; a challenger that does not beat the champion is still registered (tagged
``promotion=rejected`` with the reason) and the alias stays where it was. The alias moves only after the new
version is READY and its params-only JSON has been read back.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import logging
import tempfile
import time
import warnings
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from importlib.metadata import version as _dist_version
from pathlib import Path
from typing import Any

import mlflow
from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunStatus
from mlflow.entities.model_registry import ModelVersion
from mlflow.entities.model_registry.model_version_status import ModelVersionStatus
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import (
    INVALID_PARAMETER_VALUE,
    RESOURCE_ALREADY_EXISTS,
    RESOURCE_DOES_NOT_EXIST,
    ErrorCode,
)
from mlflow.store.artifact.artifact_repo import ArtifactRepository
from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository
from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID, MLFLOW_RUN_NAME

from arima_assets.registry import _inputs as inputs
from arima_assets.registry._inputs import MAX_PAYLOAD_BYTES
from arima_assets.registry.errors import RegistryError, mlflow_errors
from arima_assets.registry.pyfunc import PAYLOAD_ARTIFACT, SIGNATURE, input_example
from arima_assets.registry.records import (
    CHAMPION_ALIAS,
    MODEL_NAME_PREFIX,
    ChampionRecord,
    ModelVersionInfo,
    model_name,
)
from arima_assets.registry.tracking import (
    DEFAULT_EXPERIMENT,
    check_available,
    default_artifact_location,
    ensure_experiment,
    scoped_env,
    scoped_mlflow_uris,
    sqlite_uri,
)

__all__ = [
    "CHAMPION_ALIAS",
    "MAX_PAYLOAD_BYTES",
    "MODEL_NAME_PREFIX",
    "SUMMARY_METRICS",
    "ChampionRecord",
    "ModelRegistry",
    "ModelVersionInfo",
    "model_name",
]

SUMMARY_METRICS = ("reused_models", "newly_trained_models", "reuse_rate", "fit_seconds_saved")
PAYLOAD_FILE = "arima_model.json"
DECISION_FILE = "decision.json"
#: Run name and artifact of the one run a call logs for the ISBNs it reused without launching a run.
REUSE_RUN_NAME = "reused-without-run"
REUSED_DECISIONS_FILE = "reused_decisions.json"
LOGGED_MODEL_NAME = "model"
PROMOTION_TAG = "promotion"
PROMOTION_REASON_TAG = "promotion_reason"
#: The champion record (everything the decision engine needs) is a JSON artifact of an MLflow run; the version
#: tag `record_run_id` names the run holding the version's current record (default: the version's own run).
RECORD_FILE = "champion_record.json"
RECORD_RUN_TAG = "record_run_id"

_MODEL_CODE = Path(__file__).with_name("_model_code.py")
_REQUIRED_DISTRIBUTIONS = ("mlflow", "pandas", "numpy", "scipy", "statsmodels")
_BATCH_PARAMS = 100
_QUIET_DOWNLOADS = {"MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false"}
_DOES_NOT_EXIST = ErrorCode.Name(RESOURCE_DOES_NOT_EXIST)
_ALREADY_EXISTS = ErrorCode.Name(RESOURCE_ALREADY_EXISTS)


#: MLflow's INFO line each time a model is logged with an input example (one line per trained model otherwise).
_VALIDATING_EXAMPLE = "Validating input example against model signature"


class _DropMessage(logging.Filter):
    def __init__(self, message: str) -> None:
        super().__init__()
        self.message = message

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != self.message


@contextlib.contextmanager
def _without_log_record(name: str, message: str) -> Iterator[None]:
    """Within the block, drop the records of logger `name` whose message is exactly `message`."""
    logger, drop = logging.getLogger(name), _DropMessage(message)
    logger.addFilter(drop)
    try:
        yield
    finally:
        logger.removeFilter(drop)


@functools.cache
def _pip_requirements() -> tuple[str, ...]:
    return tuple(f"{dist}=={_dist_version(dist)}" for dist in _REQUIRED_DISTRIBUTIONS)


def _created(timestamp_ms: int | None) -> datetime:
    if timestamp_ms is None:
        raise RegistryError("MLflow returned a model version without a creation timestamp")
    return datetime.fromtimestamp(timestamp_ms / 1000, tz=UTC)


def _json_object(text: str, where: str) -> dict[str, Any]:
    """The JSON object in `text`; RegistryError naming `where` when it is not valid JSON or not an object."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RegistryError(f"{where} is not valid JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise RegistryError(f"{where} holds {type(value).__name__}, not a dict")
    return value


def _pointer(mv: ModelVersion) -> tuple[int, str | None]:
    """(version, run holding its record): the ``record_run_id`` tag, else the version's own run."""
    return int(mv.version), mv.tags.get(RECORD_RUN_TAG) or mv.run_id or None


#: Page sizes of the batched champion read (MLflow's maxima: 1,000 registered models, 200,000 versions a page).
_MODELS_PAGE = 1000
_VERSIONS_PAGE = 10_000


def _pages(search: Any, filter_string: str, page_size: int) -> Iterator[Any]:
    """Every result of a paged MLflow search (``search_registered_models`` or ``search_model_versions``)."""
    token = None
    while True:
        page = search(filter_string, max_results=page_size, page_token=token)
        yield from page
        token = page.token
        if not token:
            return


def _version_info(isbn: str, mv: ModelVersion) -> ModelVersionInfo:
    return ModelVersionInfo(
        isbn=isbn,
        name=mv.name,
        version=int(mv.version),
        run_id=mv.run_id or None,
        model_id=mv.model_id,
        created=_created(mv.creation_timestamp),
        tags=dict(mv.tags),
    )


class ModelRegistry:
    """MLflow tracking and model registry for per-ISBN ARIMA models.

    Construction checks that MLflow is reachable (fail fast) and gets or creates the experiment.
    Every MLflow failure surfaces as :class:`RegistryUnavailableError` or :class:`RegistryError`.

    Args:
        tracking_uri: e.g. ``sqlite_uri(folder)`` or ``http://host:5000``.
        registry_uri: Model-registry URI; defaults to ``tracking_uri``.
        experiment_name: Experiment holding the per-ISBN runs (one per project).
        artifact_location: Artifact root of a new experiment; defaults to ``<db folder>/mlartifacts`` for
            a sqlite store and to the server's default otherwise.
    """

    def __init__(
        self,
        tracking_uri: str,
        registry_uri: str | None = None,
        experiment_name: str = DEFAULT_EXPERIMENT,
        *,
        artifact_location: str | None = None,
    ) -> None:
        check_available(tracking_uri, registry_uri)
        self.tracking_uri = tracking_uri
        self.registry_uri = registry_uri or tracking_uri
        self.experiment_name = experiment_name
        self._client = MlflowClient(tracking_uri=self.tracking_uri, registry_uri=self.registry_uri)
        self.experiment_id = ensure_experiment(
            self._client, experiment_name, artifact_location or default_artifact_location(tracking_uri)
        )

    @classmethod
    def local(cls, folder: Path | str, experiment_name: str = DEFAULT_EXPERIMENT) -> ModelRegistry:
        """Registry on a sqlite store ``<folder>/mlflow.db`` with artifacts under ``<folder>/mlartifacts``."""
        return cls(sqlite_uri(folder), experiment_name=experiment_name)

    @property
    def client(self) -> MlflowClient:
        """The MLflow client bound to this registry's URIs."""
        return self._client

    def __repr__(self) -> str:
        return f"ModelRegistry(tracking_uri={self.tracking_uri!r}, experiment_name={self.experiment_name!r})"

    # runs -----------------------------------------------------------------------------------------

    def create_parent_run(self, run_name: str, tags: Mapping[str, Any] | None = None) -> str:
        """Start a RUNNING pipeline-level run (when not run under dagster-mlflow); returns its id."""
        if not isinstance(run_name, str) or not run_name.strip():
            raise ValueError(f"run_name must be a non-empty string, got {run_name!r}")
        run_tags = inputs.tag_values(tags)
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
            ValueError: Bad isbn, key, non-numeric metric, non-JSON payload/decision (message names which).
            RegistryError: MLflow failed (the run, if created, is marked FAILED).
        """
        isbn = inputs.check_isbn(isbn)
        if parent_run_id is not None:
            inputs.check_run_id(parent_run_id, "parent_run_id")
        run_params = inputs.param_values(params)
        run_metrics = inputs.metric_values(metrics)
        decision_json = inputs.to_json(decision, "decision")
        payload_json = None if payload is None else inputs.payload_json(payload)
        run_tags = {
            **{f"decision.{k}": v for k, v in inputs.tag_values(decision, "decision").items()},
            **inputs.tag_values(tags),
        }
        run_tags.update({"isbn": isbn, "model_logged": str(payload is not None).lower()})
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
        text = inputs.to_json(dict(decisions), "decisions")
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
            with mlflow_errors(f"log the reused decisions on run {run_id}", self.tracking_uri):
                self._client.log_text(run_id, text, REUSED_DECISIONS_FILE)
        except BaseException:
            self._terminate_quietly(run_id, RunStatus.to_string(RunStatus.FAILED))
            raise
        self.end_run(run_id)
        return run_id

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

    # registration ---------------------------------------------------------------------------------

    def register_model(
        self,
        isbn: str,
        run_id: str,
        payload: Mapping[str, Any],
        *,
        tags: Mapping[str, Any] | None = None,
        description: str | None = None,
    ) -> ModelVersionInfo:
        """Log the pyfunc model (params-only JSON, no pickle) on ``run_id`` and register it as a new version
        of ``arima-<isbn>``. Does not touch the ``champion`` alias.

        Uses MLflow's fluent ``start_run``/``log_model`` with the process-wide URIs pointed at this registry
        for the duration of the call only; an active (e.g. dagster-mlflow) run stays active.

        Raises:
            ValueError: Bad isbn, run id, payload (not JSON, or over ``MAX_PAYLOAD_BYTES``) or tags.
            RegistryError: MLflow failed, or the version did not become READY.
        """
        isbn = inputs.check_isbn(isbn)
        inputs.check_run_id(run_id)
        payload_json = inputs.payload_json(payload)
        version_tags = {**inputs.tag_values(tags), "isbn": isbn}
        if description is not None and not isinstance(description, str):
            raise ValueError(f"description must be a string or None, got {type(description).__name__}")
        name = model_name(isbn)
        # The registry resolves a "models:/<model_id>" source through the process-wide tracking URI.
        with (
            mlflow_errors(f"register {name} from run {run_id}", self.registry_uri),
            scoped_mlflow_uris(self.tracking_uri, self.registry_uri),
        ):
            self._client.get_run(run_id)
            model_id = self._log_pyfunc(run_id, payload_json)
            self._ensure_registered_model(name, isbn)
            mv = self._client.create_model_version(
                name,
                source=f"models:/{model_id}",
                run_id=run_id,
                tags=version_tags,
                description=description,
                model_id=model_id,
            )
        if ModelVersionStatus.from_string(mv.status) != ModelVersionStatus.READY:
            raise RegistryError(f"{name} version {mv.version} is {mv.status}, not READY: {mv.status_message}")
        return _version_info(isbn, mv)

    def _log_pyfunc(self, run_id: str, payload_json: str) -> str:
        """Log the pyfunc with its signature (input week_end + volume, output week_end + forecast, param h) and,
        for a dated model, an input example of its own last weeks of sales: MLflow checks at logging that the
        example is served (one re-filter) and shows it with the model."""
        example = input_example(json.loads(payload_json))
        with tempfile.TemporaryDirectory(prefix="arima-payload-") as tmp:
            payload_path = Path(tmp, PAYLOAD_FILE)
            payload_path.write_text(payload_json, encoding="utf-8")
            with (
                warnings.catch_warnings(),
                scoped_env(_QUIET_DOWNLOADS),
                _without_log_record("mlflow.pyfunc", _VALIDATING_EXAMPLE),
            ):
                # A payload without dated weeks has no example; the signature still describes the input.
                warnings.filterwarnings("ignore", message=r".*An input example was not provided", category=UserWarning)
                with mlflow.start_run(run_id=run_id, nested=True):
                    info = mlflow.pyfunc.log_model(
                        name=LOGGED_MODEL_NAME,
                        python_model=str(_MODEL_CODE),
                        artifacts={PAYLOAD_ARTIFACT: str(payload_path)},
                        pip_requirements=list(_pip_requirements()),
                        signature=SIGNATURE,
                        input_example=example,
                    )
        return info.model_id

    def _ensure_registered_model(self, name: str, isbn: str) -> None:
        try:
            self._client.create_registered_model(
                name, tags={"isbn": isbn}, description=f"ARIMA weekly-sales model of ISBN {isbn}"
            )
        except MlflowException as exc:
            if exc.error_code != _ALREADY_EXISTS:
                raise

    def promote_challenger(
        self,
        isbn: str,
        run_id: str,
        payload: Mapping[str, Any],
        *,
        reason: str,
        tags: Mapping[str, Any] | None = None,
        description: str | None = None,
    ) -> ModelVersionInfo:
        """Register a challenger that beat the champion (or the first model) and move the alias to it.

        The version is registered as ``promotion=candidate`` with ``promotion_reason=<reason>`` and
        ``previous_champion`` (version or empty); the alias moves only after its payload reads back intact,
        and only then is the tag set to ``promotion=promoted``. A failure in between leaves a candidate
        version and the old champion in place.

        Raises:
            ValueError: Bad isbn, run id, payload, tags or empty reason.
            RegistryError: MLflow failed or the payload did not read back intact (alias not moved).
        """
        name = model_name(isbn)
        previous = self._champion_version(name)
        promotion = {
            PROMOTION_TAG: "candidate",
            PROMOTION_REASON_TAG: inputs.check_reason(reason),
            "previous_champion": "" if previous is None else str(previous),
        }
        info = self.register_model(
            isbn, run_id, payload, tags={**dict(tags or {}), **promotion}, description=description
        )
        self._set_champion(isbn, info.version, expected_payload=json.loads(inputs.payload_json(payload)))
        with mlflow_errors(f"tag {name} version {info.version} as promoted", self.registry_uri):
            self._client.set_model_version_tag(name, str(info.version), PROMOTION_TAG, "promoted")
        return dataclasses.replace(info, tags={**info.tags, PROMOTION_TAG: "promoted"})

    def record_kept_champion(
        self,
        isbn: str,
        run_id: str,
        payload: Mapping[str, Any],
        *,
        reason: str,
        tags: Mapping[str, Any] | None = None,
        description: str | None = None,
    ) -> ModelVersionInfo:
        """Register a challenger that did not beat the champion, WITHOUT the alias.

        The version is tagged ``promotion=rejected``, ``promotion_reason=<reason>`` and
        ``champion_version``; the champion keeps the alias and is tagged ``confirmed_at`` (UTC, ISO) and
        ``confirmed_by_version`` (its age clock restarts: it was just re-validated).

        Raises:
            RegistryError: There is no champion to keep (promote the challenger instead); nothing is logged.
        """
        name = model_name(isbn)
        champion = self._champion_version(name)
        if champion is None:
            raise RegistryError(f"{name} has no {CHAMPION_ALIAS!r} alias to keep; promote the challenger instead")
        rejection = {
            PROMOTION_TAG: "rejected",
            PROMOTION_REASON_TAG: inputs.check_reason(reason),
            "champion_version": str(champion),
        }
        info = self.register_model(
            isbn, run_id, payload, tags={**dict(tags or {}), **rejection}, description=description
        )
        with mlflow_errors(f"tag {name} version {champion} as confirmed", self.registry_uri):
            confirmed_at = datetime.now(UTC).isoformat(timespec="seconds")
            self._client.set_model_version_tag(name, str(champion), "confirmed_at", confirmed_at)
            self._client.set_model_version_tag(name, str(champion), "confirmed_by_version", str(info.version))
        return info

    def set_champion(self, isbn: str, version: int | str) -> None:
        """Point the ``champion`` alias of ``arima-<isbn>`` at ``version`` (e.g. a manual rollback).

        The version must be READY and its params-only JSON readable; otherwise the alias does not move.
        The previous champion is tagged ``superseded_by=<version>``.

        Raises:
            ValueError: Bad isbn or version.
            RegistryError: Unknown version, unreadable payload, or MLflow failed.
        """
        self._set_champion(inputs.check_isbn(isbn), inputs.check_version(version), expected_payload=None)

    def _set_champion(self, isbn: str, version: int, expected_payload: dict[str, Any] | None) -> None:
        name = model_name(isbn)
        with mlflow_errors(f"move the {CHAMPION_ALIAS!r} alias of {name} to version {version}", self.registry_uri):
            mv = self._client.get_model_version(name, str(version))
            if ModelVersionStatus.from_string(mv.status) != ModelVersionStatus.READY:
                raise RegistryError(f"{name} version {version} is {mv.status}, not READY; the alias did not move")
            payload = self._load_payload(name, version)
            if expected_payload is not None and payload != expected_payload:
                raise RegistryError(f"{name} version {version}: payload read back differs from the logged one")
            previous = self._champion_version(name)
            if previous == version:
                return
            self._client.set_registered_model_alias(name, CHAMPION_ALIAS, str(version))
            if previous is not None:
                self._client.set_model_version_tag(name, str(previous), "superseded_by", str(version))

    # reading --------------------------------------------------------------------------------------

    def _champion_version(self, name: str) -> int | None:
        with mlflow_errors(f"read the aliases of {name}", self.registry_uri):
            try:
                registered = self._client.get_registered_model(name)
            except MlflowException as exc:
                if exc.error_code == _DOES_NOT_EXIST:
                    return None
                raise
        version = registered.aliases.get(CHAMPION_ALIAS)
        return None if version is None else int(version)

    def _load_payload(self, name: str, version: int) -> dict[str, Any]:
        with mlflow_errors(f"read the payload of {name} version {version}", self.registry_uri):
            root = self._client.get_model_version_download_uri(name, str(version))
            with tempfile.TemporaryDirectory(prefix="arima-payload-") as tmp, scoped_env(_QUIET_DOWNLOADS):
                local = mlflow.artifacts.download_artifacts(
                    artifact_uri=f"{root.rstrip('/')}/artifacts/{PAYLOAD_FILE}",
                    dst_path=tmp,
                    tracking_uri=self.tracking_uri,
                    registry_uri=self.registry_uri,
                )
                text = Path(local).read_text(encoding="utf-8")
        return _json_object(text, f"{name} version {version}: {PAYLOAD_FILE}")

    # the record of truth ----------------------------------------------------------------------------

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

    def set_record_run(self, isbn: str, version: int | str, run_id: str) -> None:
        """Point version ``version``'s record at run ``run_id`` (one tag write: the commit point of a kept or
        promoted champion's new record).

        Raises:
            ValueError: Bad isbn, version or run id.
            RegistryError: MLflow failed.
        """
        name = model_name(isbn)
        version = inputs.check_version(version)
        run_id = inputs.check_run_id(run_id)
        with mlflow_errors(f"tag {name} version {version} with its record run", self.registry_uri):
            self._client.set_model_version_tag(name, str(version), RECORD_RUN_TAG, run_id)

    def champion_pointer(self, isbn: str) -> tuple[int, str | None] | None:
        """(version, run holding its record) of the ISBN's champion, from one alias read; None without one.

        Raises:
            ValueError: Bad isbn.
            RegistryError: MLflow failed.
        """
        name = model_name(isbn)
        with mlflow_errors(f"read the {CHAMPION_ALIAS!r} alias of {name}", self.registry_uri):
            try:
                mv = self._client.get_model_version_by_alias(name, CHAMPION_ALIAS)
            except MlflowException as exc:
                if exc.error_code in (_DOES_NOT_EXIST, ErrorCode.Name(INVALID_PARAMETER_VALUE)):
                    return None
                raise
        return _pointer(mv)

    def champion_pointers(self) -> dict[str, tuple[int, str | None]]:
        """ISBN -> (version, run holding its record) of every ``arima-<isbn>`` champion, in two paged searches (the
        registered models with their aliases, then the versions with their tags) rather than one alias read per
        ISBN: what validates thousands of cached records at once. ISBNs without a champion are absent.

        Raises:
            RegistryError: MLflow failed.
        """
        names = f"name LIKE '{MODEL_NAME_PREFIX}%'"
        with mlflow_errors("read the champion aliases of the registered models", self.registry_uri):
            champions: dict[str, int] = {}
            for registered in _pages(self._client.search_registered_models, names, _MODELS_PAGE):
                version = registered.aliases.get(CHAMPION_ALIAS)
                if version is not None:
                    champions[registered.name] = int(version)
            pointers: dict[str, tuple[int, str | None]] = {}
            if champions:
                for mv in _pages(self._client.search_model_versions, names, _VERSIONS_PAGE):
                    if champions.get(mv.name) == int(mv.version):
                        pointers[mv.name.removeprefix(MODEL_NAME_PREFIX)] = _pointer(mv)
        return pointers

    def load_record(self, run_id: str) -> dict[str, Any] | None:
        """The champion record written by `log_record` to run ``run_id``; None when the run has none (versions
        registered before records were kept).

        Raises:
            RegistryError: MLflow failed or the record is not a JSON object.
        """
        run_id = inputs.check_run_id(run_id)
        with mlflow_errors(f"read the champion record of run {run_id}", self.tracking_uri):
            names = {item.path for item in self._client.list_artifacts(run_id)}
            if RECORD_FILE not in names:
                return None
            with tempfile.TemporaryDirectory(prefix="arima-record-") as tmp, scoped_env(_QUIET_DOWNLOADS):
                local = self._client.download_artifacts(run_id, RECORD_FILE, tmp)
                text = Path(local).read_text(encoding="utf-8")
        return _json_object(text, f"run {run_id}: {RECORD_FILE}")

    def get_champion(self, isbn: str) -> ChampionRecord | None:
        """The champion of ``arima-<isbn>`` with its payload, training-run metrics and version tags.

        Returns:
            None when the ISBN has no registered model or no ``champion`` alias.

        Raises:
            ValueError: Bad isbn.
            RegistryError: MLflow failed or the payload is unreadable.
        """
        name = model_name(isbn)
        version = self._champion_version(name)
        if version is None:
            return None
        with mlflow_errors(f"read the champion of {name}", self.registry_uri):
            mv = self._client.get_model_version(name, str(version))
            metrics = dict(self._client.get_run(mv.run_id).data.metrics) if mv.run_id else {}
        return ChampionRecord(
            isbn=isbn,
            name=name,
            version=version,
            run_id=mv.run_id or None,
            payload=self._load_payload(name, version),
            metrics=metrics,
            tags=dict(mv.tags),
            created=_created(mv.creation_timestamp),
        )

    def model_history(self, isbn: str) -> list[dict[str, Any]]:
        """Every version of ``arima-<isbn>``, oldest first.

        Each entry: ``version``, ``run_id``, ``created`` (UTC datetime), ``is_champion``, ``tags`` (version
        tags, e.g. promotion and its reason), ``description``, ``metrics`` (training run), ``decision``
        (the run's ``decision.json``, or None if the run has none). Empty when the ISBN has no model.
        """
        name = model_name(isbn)
        champion = self._champion_version(name)
        history: list[dict[str, Any]] = []
        with mlflow_errors(f"read the history of {name}", self.registry_uri):
            versions = self._client.search_model_versions(f"name = '{name}'")
            for mv in sorted(versions, key=lambda v: int(v.version)):
                history.append(
                    {
                        "version": int(mv.version),
                        "run_id": mv.run_id or None,
                        "created": _created(mv.creation_timestamp),
                        "is_champion": int(mv.version) == champion,
                        "tags": dict(mv.tags),
                        "description": mv.description or None,
                        "metrics": dict(self._client.get_run(mv.run_id).data.metrics) if mv.run_id else {},
                        "decision": self._load_decision(mv.run_id) if mv.run_id else None,
                    }
                )
        return history

    def _load_decision(self, run_id: str) -> dict[str, Any] | None:
        if DECISION_FILE not in {a.path for a in self._client.list_artifacts(run_id)}:
            return None
        with tempfile.TemporaryDirectory(prefix="arima-decision-") as tmp, scoped_env(_QUIET_DOWNLOADS):
            local = self._client.download_artifacts(run_id, DECISION_FILE, tmp)
            return json.loads(Path(local).read_text(encoding="utf-8"))

    def load_pyfunc(self, isbn: str, version: int | str | None = None) -> mlflow.pyfunc.PyFuncModel:
        """The pyfunc model of the champion (or of ``version``) of ``arima-<isbn>``.

        ``predict(recent_weeks, params={"h": 13})`` returns the forecast frame; see :mod:`.pyfunc`.

        Raises:
            RegistryError: No champion (when ``version`` is None), unknown version, or MLflow failed.
        """
        name = model_name(isbn)
        if version is None:
            uri = f"models:/{name}@{CHAMPION_ALIAS}"
            if self._champion_version(name) is None:
                raise RegistryError(f"{name} has no {CHAMPION_ALIAS!r} alias: nothing to load")
        else:
            uri = f"models:/{name}/{inputs.check_version(version)}"
        with mlflow_errors(f"load {uri}", self.registry_uri), scoped_mlflow_uris(self.tracking_uri, self.registry_uri):
            with scoped_env(_QUIET_DOWNLOADS):
                return mlflow.pyfunc.load_model(uri)

    def artifact_bytes(self, isbn: str, version: int | str) -> int:
        """Total size in bytes of the files stored for one registered version (the budget is 100 KB)."""
        name = model_name(isbn)
        version = inputs.check_version(version)
        with mlflow_errors(f"measure the artifacts of {name} version {version}", self.registry_uri):
            root = self._client.get_model_version_download_uri(name, str(version))
            return _stored_bytes(get_artifact_repository(root), None)


def _stored_bytes(repository: ArtifactRepository, path: str | None) -> int:
    total = 0
    for entry in repository.list_artifacts(path):
        total += _stored_bytes(repository, entry.path) if entry.is_dir else int(entry.file_size or 0)
    return total
