"""Shared fixtures: a small Nielsen-format sales file and a testing configuration under tmp folders."""

import os
from pathlib import Path
from typing import NoReturn

import pandas as pd
import pytest

from arima_assets.config import ArimaConfig, get_arima_config
from arima_assets.data.sample import generate_sample, sample_csv_text

#: Three sample ISBNs: an evergreen, a Christmas classic, and the TV-adaptation title (level shift at the end).
SMALL_ISBNS = ["9780722532935", "9780241003008"]
SMALL_WEEKS = 200


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """No ARIMA_* / DEPLOYMENT_ENV from the caller's shell leaks into a test; MLflow never writes to the cwd."""
    import os

    for name in list(os.environ):
        if name.startswith("ARIMA_") or name in {"DEPLOYMENT_ENV", "MLFLOW_TRACKING_URI"}:
            monkeypatch.delenv(name)
    monkeypatch.setenv("ARIMA_STATE_DIR", str(tmp_path_factory.mktemp("state")))


def missing_service(message: str) -> NoReturn:
    """A test whose service (a server, a program) is missing: skipped on a laptop, failed under CI (`CI=true`),
    which must not pass by skipping it."""
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(message)
    pytest.skip(message)


def small_sales_frame(isbns: list[str] = SMALL_ISBNS, weeks: int = SMALL_WEEKS) -> pd.DataFrame:
    """The last `weeks` weeks of the shipped sample's generator for `isbns` (Nielsen columns)."""
    frame = generate_sample()
    frame = frame[frame["ISBN"].astype(str).isin(isbns)]
    end = pd.to_datetime(frame["End Date"]).max()
    keep = pd.to_datetime(frame["End Date"]) > end - pd.Timedelta(weeks=weeks)
    return frame[keep].reset_index(drop=True)


def write_sales(frame: pd.DataFrame, path: Path) -> Path:
    """Write a Nielsen-format frame as csv."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(sample_csv_text(frame))
    return path


@pytest.fixture
def small_sales(tmp_path: Path) -> Path:
    """A folder holding one small sales csv (two ISBNs, 200 weeks)."""
    write_sales(small_sales_frame(), tmp_path / "sales" / "export.csv")
    return tmp_path / "sales"


@pytest.fixture
def testing_config(tmp_path: Path, small_sales: Path) -> ArimaConfig:
    """The testing preset on the small sales folder, with its state under tmp_path."""
    return get_arima_config(
        "testing",
        sales_path=str(small_sales),
        state_dir=str(tmp_path / "state"),
        mlflow_tracking_uri=f"sqlite:///{tmp_path / 'mlflow' / 'mlflow.db'}",
    )
