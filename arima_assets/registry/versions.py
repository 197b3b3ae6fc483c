"""Registered versions of ``arima-<isbn>`` and the ``champion`` alias: register a trained model, promote a
challenger or keep the champion, move the alias (manual rollback), point a version at its record's run.

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
import warnings
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from importlib.metadata import version as _dist_version
from pathlib import Path
from typing import Any

import mlflow
from mlflow.entities.model_registry.model_version_status import ModelVersionStatus
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import RESOURCE_ALREADY_EXISTS, ErrorCode

from arima_assets.registry import _inputs as inputs
from arima_assets.registry._serving_code import SERVING_DISTRIBUTIONS, write_serving_package
from arima_assets.registry.errors import RegistryError, mlflow_errors
from arima_assets.registry.pyfunc import PAYLOAD_ARTIFACT, SIGNATURE, input_example
from arima_assets.registry.reads import QUIET_DOWNLOADS, RegistryReads, version_info
from arima_assets.registry.records import (
    CHAMPION_ALIAS,
    PAYLOAD_FILE,
    PROMOTION_REASON_TAG,
    PROMOTION_TAG,
    RECORD_RUN_TAG,
    ModelVersionInfo,
    model_name,
)
from arima_assets.registry.tracking import scoped_env, scoped_mlflow_uris

__all__ = ["LOGGED_MODEL_NAME", "VersionsAndAliases"]

LOGGED_MODEL_NAME = "model"
_MODEL_CODE = Path(__file__).with_name("_model_code.py")
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
    return tuple(f"{dist}=={_dist_version(dist)}" for dist in SERVING_DISTRIBUTIONS)


class VersionsAndAliases(RegistryReads):
    """The version- and alias-writing part of :class:`~arima_assets.registry.registry.ModelRegistry`."""

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
        return version_info(isbn, mv)

    def _log_pyfunc(self, run_id: str, payload_json: str) -> str:
        """Log the pyfunc with its signature (input week_end + volume, output week_end + forecast, param h) and,
        for a dated model, an input example of its own last weeks of sales: MLflow checks at logging that the
        example is served (one re-filter) and shows it with the model. The model's code (the serving copy of
        ``arima_assets``, see :mod:`._serving_code`) and pinned requirements are logged with it, so the version
        loads anywhere without this repository."""
        example = input_example(json.loads(payload_json))
        with tempfile.TemporaryDirectory(prefix="arima-payload-") as tmp:
            payload_path = Path(tmp, PAYLOAD_FILE)
            payload_path.write_text(payload_json, encoding="utf-8")
            code = write_serving_package(Path(tmp, "code"))
            with (
                warnings.catch_warnings(),
                scoped_env(QUIET_DOWNLOADS),
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
                        code_paths=[str(code)],
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
