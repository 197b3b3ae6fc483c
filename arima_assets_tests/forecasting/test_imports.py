"""The forecasting core must not import Dagster or MLflow."""

import json
import subprocess
import sys

import arima_assets.forecasting as forecasting


def test_core_imports_neither_dagster_nor_mlflow():
    code = (
        "import json, sys; import arima_assets.forecasting; "
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    top_level = set(json.loads(out.stdout))
    assert "arima_assets" in top_level
    assert "statsmodels" in top_level and "optuna" in top_level
    assert not top_level & {"dagster", "mlflow", "dagster_mlflow"}


def test_all_names_resolve():
    for name in forecasting.__all__:
        assert getattr(forecasting, name) is not None, name
