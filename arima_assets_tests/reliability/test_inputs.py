"""Bad settings, paths, data and secrets end to end: a clear error naming the culprit, or a model for every ISBN."""

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from arima_assets import book_sales_arima_modeling_pipeline
from arima_assets.config import get_arima_config
from arima_assets.store import ModelStore
from arima_assets_tests.conftest import SMALL_ISBNS, small_sales_frame, write_sales

SECRET = "s3cr3t-passw0rd"


def _config(folder: Path, **overrides):
    values = {"sales_path": str(folder / "sales"), "mlflow_tracking_uri": f"sqlite:///{folder / 'mlflow.db'}"}
    return get_arima_config("testing", n_trials=2, **{**values, **overrides})


def test_seed_out_of_range_names_the_variable(monkeypatch) -> None:
    monkeypatch.setenv("ARIMA_SEED", "99999999999999999999")
    with pytest.raises(ValueError, match=r"ARIMA_SEED='99999999999999999999' is invalid for seed: expected an integer"):
        get_arima_config("testing")


def test_output_dir_that_is_a_file_or_too_long_is_a_clear_error(tmp_path: Path) -> None:
    write_sales(small_sales_frame(), tmp_path / "sales" / "export.csv")
    afile = tmp_path / "report.txt"
    afile.write_text("not a folder")
    with pytest.raises(ValueError, match=r"output_dir '.*report.txt' is a file, not a folder"):
        book_sales_arima_modeling_pipeline(afile, None, _config(tmp_path))
    with pytest.raises(ValueError, match=r"output_dir '.*' cannot be created: File name too long"):
        book_sales_arima_modeling_pipeline(tmp_path / ("x" * 300), None, _config(tmp_path))
    cli = subprocess.run(
        [sys.executable, "-m", "arima_assets.cli", "run", "--output-dir", str(afile), "--env", "testing"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert cli.returncode == 2 and "is a file, not a folder" in cli.stderr and "Traceback" not in cli.stderr


def test_credentials_in_the_mlflow_uri_are_never_written(tmp_path: Path) -> None:
    write_sales(small_sales_frame(), tmp_path / "sales" / "export.csv")
    uri = f"http://analyst:{SECRET}@127.0.0.1:9/"  # nothing listens on port 9: MLflow is unavailable
    report = book_sales_arima_modeling_pipeline(tmp_path / "out", None, _config(tmp_path, mlflow_tracking_uri=uri))
    assert report["failed_models"] == 2
    assert report["configuration"]["mlflow_tracking_uri"] == "http://***@127.0.0.1:9/"
    assert SECRET not in repr(report)
    assert "MLflow unavailable" in report["decisions"][SMALL_ISBNS[0]]["error"]
    leaked = [p for p in (tmp_path / "out").rglob("*") if p.is_file() and SECRET.encode() in p.read_bytes()]
    assert leaked == [], f"the secret was written to {leaked}"


def test_a_future_row_and_constant_titles_do_not_stop_anything(tmp_path: Path) -> None:
    frame = small_sales_frame()
    future = frame.iloc[[-1]].copy()
    future["End Date"] = "2099-07-25"
    future["Interval"] = "209930"
    flat = small_sales_frame(["9780141439471"])
    flat["Volume"] = 0
    write_sales(pd.concat([frame, future, flat]), tmp_path / "sales" / "export.csv")
    report = book_sales_arima_modeling_pipeline(tmp_path / "out", None, _config(tmp_path))
    assert report["failed_models"] == 0 and report["successful_models"] == 3, report["decisions"]
    store = ModelStore(tmp_path / "out" / "models")
    last = str(pd.to_datetime(frame["End Date"]).max().date())
    assert {store.get_champion(isbn).data_end for isbn in SMALL_ISBNS} == {last}, "no padding to 2099"
    zero = store.get_champion("9780141439471")
    assert zero.used_fallback and zero.spec_label == "ARIMA(0,0,0)+c"
