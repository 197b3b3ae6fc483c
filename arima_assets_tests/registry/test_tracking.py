"""Tracking URIs, the fail-fast availability check and the project experiment, on real sqlite stores."""

from __future__ import annotations

import os
import sqlite3

import mlflow
import pytest
import requests
import sqlalchemy.exc
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import TEMPORARILY_UNAVAILABLE

from arima_assets.registry.errors import RegistryError, RegistryUnavailableError, mlflow_errors
from arima_assets.registry.tracking import (
    check_available,
    configure_mlflow,
    default_artifact_location,
    ensure_experiment,
    scoped_env,
    sqlite_uri,
)


def test_sqlite_uri_is_absolute_and_artifacts_sit_next_to_the_database(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    uri = sqlite_uri("store")

    assert uri == f"sqlite:///{tmp_path}/store/mlflow.db"
    assert uri.startswith("sqlite:////")
    assert default_artifact_location(uri) == (tmp_path / "store" / "mlartifacts").as_uri()
    assert default_artifact_location("http://mlflow:5000") is None
    assert default_artifact_location("sqlite:///:memory:") is None


def test_a_database_store_keeps_artifacts_in_the_shared_state_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("ARIMA_STATE_DIR", str(tmp_path / "shared"))

    for uri in ("postgresql://postgres@db:5432/mlflow", "postgresql+psycopg2://u:p@db/mlflow", "mysql://db/m"):
        assert default_artifact_location(uri) == (tmp_path / "shared" / "mlartifacts").as_uri()


def test_configure_mlflow_sets_both_uris(tmp_path):
    uri = sqlite_uri(tmp_path)

    configure_mlflow(uri)
    assert (mlflow.get_tracking_uri(), mlflow.get_registry_uri()) == (uri, uri)

    configure_mlflow(uri, registry_uri=sqlite_uri(tmp_path / "registry"))
    assert mlflow.get_registry_uri() == sqlite_uri(tmp_path / "registry")


@pytest.mark.parametrize("bad", ["", "   ", None])
def test_configure_mlflow_rejects_an_empty_uri(bad):
    with pytest.raises(ValueError, match="tracking_uri must be a non-empty URI string"):
        configure_mlflow(bad)


def test_check_available_accepts_a_working_store(registry):
    check_available(registry.tracking_uri, registry.registry_uri)


def test_check_available_fails_fast_on_a_closed_port_and_restores_the_environment(monkeypatch):
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "7")
    monkeypatch.delenv("MLFLOW_HTTP_REQUEST_TIMEOUT", raising=False)

    with pytest.raises(RegistryUnavailableError) as raised:
        check_available("http://127.0.0.1:9")

    message = str(raised.value)
    assert "MLflow unavailable at tracking URI 'http://127.0.0.1:9'" in message
    assert "is the MLflow server running?" in message
    assert "127.0.0.1" in message and "Connection refused" in message
    assert os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] == "7"
    assert "MLFLOW_HTTP_REQUEST_TIMEOUT" not in os.environ


def test_check_available_reports_a_locked_sqlite_store(registry):
    """Another process holding the write lock: a clear error after ``timeout_seconds``, not MLflow's 20 s."""
    database = registry.tracking_uri.removeprefix("sqlite:///")
    holder = sqlite3.connect(database, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(RegistryUnavailableError, match=r"cannot take the write lock .* within 1 s .*locked"):
            check_available(registry.tracking_uri, timeout_seconds=1)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    check_available(registry.tracking_uri)


def test_check_available_names_an_unknown_scheme():
    with pytest.raises(RegistryUnavailableError, match=r"'nosuch://x'.*unsupported URI 'nosuch://x'"):
        check_available("nosuch://x")


def test_check_available_rejects_a_sqlite_folder_that_is_a_file(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(RegistryUnavailableError, match=rf"{blocker} is not a writable directory"):
        check_available(f"sqlite:///{blocker}/mlflow.db")


def test_ensure_experiment_creates_once_with_the_artifact_location(registry, tmp_path):
    client = registry.client
    location = (tmp_path / "elsewhere").as_uri()

    first = ensure_experiment(client, "ensure-once", location)
    second = ensure_experiment(client, "ensure-once", None)

    assert first == second
    assert client.get_experiment(first).artifact_location == location


def test_ensure_experiment_refuses_a_deleted_experiment(registry):
    client = registry.client
    client.delete_experiment(ensure_experiment(client, "gone"))

    with pytest.raises(RegistryError, match=r"experiment 'gone' at .* is deleted; restore it"):
        ensure_experiment(client, "gone")


def test_scoped_env_restores_previous_values(monkeypatch):
    monkeypatch.setenv("ARIMA_TEST_A", "before")
    monkeypatch.delenv("ARIMA_TEST_B", raising=False)

    with scoped_env({"ARIMA_TEST_A": "during", "ARIMA_TEST_B": "during"}):
        assert (os.environ["ARIMA_TEST_A"], os.environ["ARIMA_TEST_B"]) == ("during", "during")

    assert os.environ["ARIMA_TEST_A"] == "before"
    assert "ARIMA_TEST_B" not in os.environ


def _raise_chained(outer: Exception, inner: Exception) -> None:
    try:
        raise inner
    except type(inner):
        raise outer  # noqa: B904 - implicit context, as mlflow's rest_utils raises it


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (MlflowException("RESOURCE_DOES_NOT_EXIST: no run"), RegistryError),
        (OSError("disk full"), RegistryError),
        (MlflowException("busy", error_code=TEMPORARILY_UNAVAILABLE), RegistryUnavailableError),
        (sqlalchemy.exc.OperationalError("SELECT 1", {}, Exception("database is locked")), RegistryUnavailableError),
    ],
)
def test_mlflow_errors_translates_and_names_the_action_and_uri(exc, expected):
    with pytest.raises(expected, match=r"at 'sqlite:///x.db' while trying to read things: .*") as raised:
        with mlflow_errors("read things", "sqlite:///x.db"):
            raise exc
    assert type(raised.value) is expected
    assert raised.value.__cause__ is exc


def test_mlflow_errors_sees_a_connection_error_in_the_context_chain():
    with pytest.raises(RegistryUnavailableError, match="MLflow unavailable at 'http://h:5000'"):
        with mlflow_errors("search", "http://h:5000"):
            _raise_chained(MlflowException("API request failed"), requests.exceptions.ConnectionError("refused"))


def test_mlflow_errors_leaves_programming_errors_alone():
    with pytest.raises(KeyError):
        with mlflow_errors("search", "sqlite:///x.db"):
            raise KeyError("not an MLflow failure")
