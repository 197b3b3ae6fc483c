"""Two output folders sharing one MLflow store (issue 22.5): the ISBN lease follows the registry, so two processes
asking to train the same ISBN at once fit it once and register one version; the other reuses it. And an output
folder whose Dagster instance cannot be created says which path and why (issue 22.4)."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from arima_assets.config import ArimaConfig
from arima_assets.pipeline import book_sales_arima_modeling_pipeline
from arima_assets.registry import ModelRegistry

ISBN = "9780722532935"
REPO = Path(__file__).resolve().parents[2]

#: One process: its own output folder (argv[1]), the shared sqlite MLflow store (argv[2], created by the test: a
#: fresh store created by two processes at once is another matter, see test_concurrency); it says it is ready,
#: waits for the go file (argv[3]), then runs the lifecycle on ISBN's series and prints what it did.
WORKER = """
import json, sys, time, uuid
from pathlib import Path
out, uri, go = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
from arima_assets.config import get_arima_config
from arima_assets.lifecycle import ChampionLifecycle
from arima_assets.registry import ModelRegistry
from arima_assets.store import open_model_store
from arima_assets_tests.test_decision import weekly

config = get_arima_config("testing", n_trials=2, state_dir=str(out), mlflow_tracking_uri=uri)
registry = ModelRegistry(uri, experiment_name="shared-lease")
lifecycle = ChampionLifecycle(open_model_store(out, uri), registry, config)
series = weekly(120)
(out / "ready").parent.mkdir(parents=True, exist_ok=True)
(out / "ready").touch()
while not go.exists():
    time.sleep(0.01)
started = time.time()
parent = registry.create_parent_run(f"shared-lease-{out.name}")
batch = lifecycle.run_batch({series.name: series}, run_id=uuid.uuid4().hex, parent_run_id=parent)
registry.end_run(parent)
outcome = batch.results[series.name].outcome
print(json.dumps({"status": outcome.status, "error": outcome.error, "fit_seconds": outcome.fit_seconds,
                  "started": started, "ended": time.time()}))
"""


def _versions(uri: str) -> int:
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    return len(client.search_model_versions(f"name='arima-{ISBN}'"))


def test_two_output_folders_on_one_registry_fit_an_isbn_once(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow' / 'mlflow.db'}"
    go = tmp_path / "go"
    ModelRegistry(uri, experiment_name="shared-lease")  # the shared store, created once
    folders = [tmp_path / "out-a", tmp_path / "out-b"]
    env = {**os.environ, "DEPLOYMENT_ENV": "testing", "PYTHONPATH": str(REPO)}
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(folder), uri, str(go)],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for folder in folders
    ]
    deadline = time.monotonic() + 45
    while not all((folder / "ready").exists() for folder in folders):
        crashed = [w for w in workers if w.poll() is not None]
        assert not crashed and time.monotonic() < deadline, [w.communicate()[1][-2000:] for w in crashed]
        time.sleep(0.05)
    go.touch()  # both ask for the ISBN at once
    done = [subprocess.CompletedProcess(w.args, w.wait(timeout=50), *w.communicate()) for w in workers]
    failed = [r.stderr[-3000:] for r in done if r.returncode != 0]
    assert not failed, failed
    results = [json.loads(r.stdout.strip().splitlines()[-1]) for r in done]
    assert all(r["error"] is None for r in results), results
    assert sorted(r["status"] for r in results) == ["reused", "trained"], f"one fit, the other reuses it: {results}"
    assert abs(results[0]["started"] - results[1]["started"]) < 1.0, "the two asked at the same time"
    assert _versions(uri) == 1, "one registered version"


def test_an_unusable_instance_path_names_the_path_and_why(tmp_path: Path, testing_config: ArimaConfig) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "dagster").write_text("not a folder")
    with pytest.raises(ValueError, match=r"Dagster instance folder '.*out/dagster' .*'.*out/dagster' is a file, not"):
        book_sales_arima_modeling_pipeline(out, config=testing_config)
    (out / "dagster").unlink()
    (out / "dagster" / "history" / "runs.db").mkdir(parents=True)  # a database path that is a folder
    with pytest.raises(ValueError, match=r"out/dagster' .*a sqlite database under it cannot be opened \(unable to"):
        book_sales_arima_modeling_pipeline(out, config=testing_config)
