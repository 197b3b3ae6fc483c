"""Reading the registry: the champion's alias and record, a version's payload, the history of an ISBN's
versions, the pyfunc model and the stored size of a version."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import mlflow
from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE, RESOURCE_DOES_NOT_EXIST, ErrorCode
from mlflow.store.artifact.artifact_repo import ArtifactRepository
from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

from arima_assets.registry import _inputs as inputs
from arima_assets.registry.errors import RegistryError, mlflow_errors
from arima_assets.registry.records import (
    CHAMPION_ALIAS,
    DECISION_FILE,
    MODEL_NAME_PREFIX,
    PAYLOAD_FILE,
    RECORD_FILE,
    RECORD_RUN_TAG,
    ChampionRecord,
    ModelVersionInfo,
    model_name,
)
from arima_assets.registry.tracking import scoped_env, scoped_mlflow_uris

__all__ = ["QUIET_DOWNLOADS", "RegistryReads", "version_info"]

#: Environment of every artifact download: no progress bar in the logs.
QUIET_DOWNLOADS = {"MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false"}
_DOES_NOT_EXIST = ErrorCode.Name(RESOURCE_DOES_NOT_EXIST)
#: Page sizes of the batched champion read (MLflow's maxima: 1,000 registered models, 200,000 versions a page).
_MODELS_PAGE = 1000
_VERSIONS_PAGE = 10_000


def _pointer(mv: ModelVersion) -> tuple[int, str | None]:
    """(version, run holding its record): the ``record_run_id`` tag, else the version's own run."""
    return int(mv.version), mv.tags.get(RECORD_RUN_TAG) or mv.run_id or None


def _pages(search: Any, filter_string: str, page_size: int) -> Iterator[Any]:
    """Every result of a paged MLflow search (``search_registered_models`` or ``search_model_versions``)."""
    token = None
    while True:
        page = search(filter_string, max_results=page_size, page_token=token)
        yield from page
        token = page.token
        if not token:
            return


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


def version_info(isbn: str, mv: ModelVersion) -> ModelVersionInfo:
    return ModelVersionInfo(
        isbn=isbn,
        name=mv.name,
        version=int(mv.version),
        run_id=mv.run_id or None,
        model_id=mv.model_id,
        created=_created(mv.creation_timestamp),
        tags=dict(mv.tags),
    )


class RegistryReads:
    """The reading part of :class:`~arima_assets.registry.registry.ModelRegistry`."""

    _client: MlflowClient
    tracking_uri: str
    registry_uri: str

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
            with tempfile.TemporaryDirectory(prefix="arima-payload-") as tmp, scoped_env(QUIET_DOWNLOADS):
                local = mlflow.artifacts.download_artifacts(
                    artifact_uri=f"{root.rstrip('/')}/artifacts/{PAYLOAD_FILE}",
                    dst_path=tmp,
                    tracking_uri=self.tracking_uri,
                    registry_uri=self.registry_uri,
                )
                text = Path(local).read_text(encoding="utf-8")
        return _json_object(text, f"{name} version {version}: {PAYLOAD_FILE}")

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
            with tempfile.TemporaryDirectory(prefix="arima-record-") as tmp, scoped_env(QUIET_DOWNLOADS):
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
        with tempfile.TemporaryDirectory(prefix="arima-decision-") as tmp, scoped_env(QUIET_DOWNLOADS):
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
            with scoped_env(QUIET_DOWNLOADS):
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
