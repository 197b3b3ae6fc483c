"""The registry of per-ISBN ARIMA models on MLflow: one object that logs the runs (:mod:`.runs`), registers
versions and moves the ``champion`` alias (:mod:`.versions`) and reads them back (:mod:`.reads`)."""

from __future__ import annotations

from pathlib import Path

from mlflow import MlflowClient

from arima_assets.registry.runs import RunLog
from arima_assets.registry.tracking import (
    DEFAULT_EXPERIMENT,
    check_available,
    default_artifact_location,
    ensure_experiment,
    sqlite_uri,
)
from arima_assets.registry.versions import VersionsAndAliases

__all__ = ["ModelRegistry"]


class ModelRegistry(RunLog, VersionsAndAliases):
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
