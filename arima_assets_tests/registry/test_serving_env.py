"""A registered champion served from a fresh environment built from its own ``requirements.txt``, outside the repo.

Slow the first time (a virtualenv and ``pip install`` of MLflow, pandas, NumPy, SciPy and statsmodels from PyPI:
2.5 minutes on 2 quiet cores, 6 on busy ones), but part of every run: it is what proves a registered model needs
nothing of this repository. The environment is built once per requirements file and Python version, in
``~/.cache/arima_assets/serving-envs/<hash>`` (``SERVING_ENV_CACHE`` to put it elsewhere), and reused by later
sessions: it holds only what ``pip install -r requirements.txt`` put in a virtualenv without the system
site-packages, so reusing it proves the same. Delete the folder to rebuild it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from filelock import FileLock

from arima_assets.config import get_arima_config
from arima_assets.forecasting import tune_model
from arima_assets.registry import configure_mlflow
from arima_assets.registry.pyfunc import FORECAST_COLUMNS
from arima_assets.training import tuning_settings
from arima_assets_tests.registry.outside import REPO_ROOT, clean_env, predict_outside

pytestmark = pytest.mark.fresh_env

_PIP_TIMEOUT_S = 900


def _serving_virtualenv(requirements: Path) -> Path:
    """The python of a virtualenv holding exactly ``pip install -r requirements`` (built once, then reused)."""
    root = Path(os.environ.get("SERVING_ENV_CACHE") or Path.home() / ".cache" / "arima_assets" / "serving-envs")
    key = hashlib.sha256(f"{sys.version}\n{requirements.read_text()}".encode()).hexdigest()[:16]
    folder, complete = root / key, root / key / ".complete"
    assert REPO_ROOT not in folder.resolve().parents, f"{folder} is inside the repository"
    root.mkdir(parents=True, exist_ok=True)
    with FileLock(str(root / f"{key}.lock")):
        if not complete.exists():
            shutil.rmtree(folder, ignore_errors=True)  # a build that did not finish
            _fresh_virtualenv(folder, requirements)
            complete.write_text(requirements.read_text())
    return folder / "bin" / "python"


def _fresh_virtualenv(folder: Path, requirements: Path) -> Path:
    """``python -m venv`` (no system site-packages) + ``pip install -r requirements``; returns its python."""
    env = clean_env()
    subprocess.run([sys.executable, "-m", "venv", str(folder)], cwd=folder.parent, env=env, check=True, timeout=300)
    python = folder / "bin" / "python"
    install = subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "-q",
            "--no-compile",
            "--disable-pip-version-check",
            "-r",
            str(requirements),
        ],
        cwd=folder.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=_PIP_TIMEOUT_S,
    )
    assert install.returncode == 0, f"pip install -r {requirements} failed (PyPI reachable?):\n{install.stderr[-4000:]}"
    return python


def test_champion_is_served_from_a_fresh_environment_of_its_own_requirements(registry, isbn, weekly_sales, tmp_path):
    assert REPO_ROOT not in tmp_path.resolve().parents
    settings = tuning_settings(get_arima_config("testing", n_trials=3))
    tuned = tune_model(weekly_sales.iloc[:100], settings).model.to_dict()
    run_id = registry.log_isbn_run(isbn, parent_run_id=None, payload=tuned, params={}, metrics={}, tags={}, decision={})
    registry.promote_challenger(isbn, run_id, tuned, reason="no model")
    configure_mlflow(registry.tracking_uri)
    uri = f"models:/arima-{isbn}@champion"
    model_dir = Path(mlflow.artifacts.download_artifacts(uri, dst_path=str(tmp_path / "model")))
    recent = weekly_sales.iloc[-70:]
    expected = mlflow.pyfunc.load_model(uri).predict(
        pd.DataFrame({"week_end": recent.index, "volume": recent.to_numpy()}), params={"h": 8}
    )

    started = time.perf_counter()
    python = _serving_virtualenv(model_dir / "requirements.txt")
    answer = predict_outside(python, model_dir, recent, 8, tmp_path)
    print(f"environment from requirements.txt ready and served in {time.perf_counter() - started:.0f} s: {python}")

    assert "include-system-site-packages = false" in (python.parent.parent / "pyvenv.cfg").read_text()
    assert Path(answer["arima_assets_file"]).resolve() == (model_dir / "code" / "arima_assets" / "__init__.py")
    assert answer["installed"] == {"optuna": False, "dagster": False}
    assert answer["forecast"]["week_end"] == expected["week_end"].tolist()
    for column in FORECAST_COLUMNS:
        np.testing.assert_allclose(answer["forecast"][column], expected[column], rtol=1e-9, err_msg=column)
