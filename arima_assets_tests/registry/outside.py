"""Load and predict a downloaded registered model in another Python process, outside the repository.

The process runs with its working directory outside the repository and an empty ``PYTHONPATH``, so the only
``arima_assets`` it can find is the code logged with the model (or, for the project's own interpreter, the
installed package, which the caller can see in the answer's ``arima_assets_file``).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pandas as pd

REPO_ROOT = Path(__file__).resolve().parents[2]

_SCRIPT = """
import importlib.util, json, sys

model_dir, request_path, answer_path, *blocked = sys.argv[1:]
for name in blocked:
    sys.modules[name] = None  # any import of it raises ImportError
import mlflow, pandas as pd

request = json.loads(open(request_path).read())
model = mlflow.pyfunc.load_model(model_dir)
frame = pd.DataFrame({"week_end": request["week_end"], "volume": request["volume"]})
forecast = model.predict(frame, params={"h": request["h"]})
import arima_assets

answer = {
    "forecast": forecast.to_dict("list"),
    "arima_assets_file": arima_assets.__file__,
    "installed": {name: importlib.util.find_spec(name) is not None for name in ("optuna", "dagster")},
    "imported": sorted(
        {m.split(".")[0] for m, module in sys.modules.items() if module and m.split(".")[0] in ("optuna", "dagster")}
    ),
}
open(answer_path, "w").write(json.dumps(answer))
"""


def clean_env() -> dict[str, str]:
    """The caller's environment without anything that points Python at this repository or its virtualenv."""
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"}}
    return {**env, "PYTHONPATH": "", "PYTHONNOUSERSITE": "1"}


def predict_outside(
    python: Path | str, model_dir: Path, recent: pd.Series, h: int, workdir: Path, blocked: tuple[str, ...] = ()
) -> dict:
    """Run ``mlflow.pyfunc.load_model(model_dir).predict(...)`` with `python` in `workdir` (outside the repo).

    Returns:
        ``forecast`` (column -> list), ``arima_assets_file`` (where ``arima_assets`` was imported from),
        ``installed`` / ``imported`` (whether optuna and dagster are installed / were imported).

    Raises:
        AssertionError: `workdir` is inside the repository, or the process failed (its output is in the message).
    """
    assert REPO_ROOT not in Path(workdir).resolve().parents, f"{workdir} is inside the repository {REPO_ROOT}"
    script, request, answer = workdir / "load_and_predict.py", workdir / "request.json", workdir / "answer.json"
    script.write_text(_SCRIPT)
    weeks = pd.DatetimeIndex(recent.index).strftime("%Y-%m-%d").tolist()
    request.write_text(json.dumps({"week_end": weeks, "volume": [float(v) for v in recent], "h": h}))
    done = subprocess.run(
        [str(python), str(script), str(model_dir), str(request), str(answer), *blocked],
        cwd=workdir,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, f"{python} could not load and predict {model_dir}:\n{done.stderr[-4000:]}"
    return json.loads(answer.read_text())
