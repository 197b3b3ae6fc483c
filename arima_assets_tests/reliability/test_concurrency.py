"""Many processes on one state folder and one MLflow store, fresh or initialised: no failure, no duplicated fit."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

ISBN = "9780722532935"
PROCESSES = 8


def _run_all(folder: Path) -> list[subprocess.CompletedProcess]:
    """PROCESSES concurrent `arima-assets run` on one output folder and one sqlite MLflow store."""
    env = {
        **os.environ,
        "DEPLOYMENT_ENV": "testing",
        "ARIMA_MLFLOW_TRACKING_URI": f"sqlite:///{folder / 'mlflow' / 'mlflow.db'}",
    }
    command = [sys.executable, "-m", "arima_assets.cli", "run", "--output-dir", str(folder / "out")]
    command += ["--isbn", ISBN, "--n-trials", "2", "--json"]
    processes = [
        subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(PROCESSES)
    ]
    return [subprocess.CompletedProcess(p.args, p.wait(timeout=600), *p.communicate()) for p in processes]


def _versions(folder: Path) -> int:
    uri = f"sqlite:///{folder / 'mlflow' / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    return len(client.search_model_versions(f"name='arima-{ISBN}'"))


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[subprocess.CompletedProcess]]:
    folder = tmp_path_factory.mktemp("concurrent")
    return folder, _run_all(folder)


def test_concurrent_first_runs_on_a_fresh_folder_all_succeed_and_train_once(fresh) -> None:
    folder, runs = fresh
    failed = [r.stderr[-2000:] for r in runs if r.returncode != 0]
    assert not failed, failed
    reports = [json.loads(r.stdout) for r in runs]
    assert all(report["successful_models"] == 1 for report in reports)
    assert sum(report["newly_trained_models"] for report in reports) == 1, "one fit; the others reuse it"
    assert _versions(folder) == 1


def test_concurrent_runs_on_an_initialised_folder_all_succeed_and_reuse(fresh) -> None:
    folder, _ = fresh
    runs = _run_all(folder)
    failed = [r.stderr[-2000:] for r in runs if r.returncode != 0]
    assert not failed, failed
    reports = [json.loads(r.stdout) for r in runs]
    assert [report["reused_models"] for report in reports] == [1] * PROCESSES
    assert _versions(folder) == 1, "no duplicated fit"
