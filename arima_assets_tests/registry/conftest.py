"""Fixtures for the registry tests: one real sqlite MLflow store per session and a tiny fitted ARIMA model.

Creating a sqlite store runs MLflow's database migrations (2-6 s), so tests share one store and keep apart by
using a fresh ISBN (and experiment names) each.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest

from arima_assets.forecasting import ArimaModel, ModelSpec
from arima_assets.registry import ModelRegistry

_ISBNS = itertools.count(1)


@pytest.fixture(autouse=True)
def _restore_mlflow_uris() -> Iterator[None]:
    """The registry points MLflow's process-wide URIs at temporary stores; put them back after each test."""
    tracking, registry = mlflow.get_tracking_uri(), mlflow.get_registry_uri()
    yield
    while mlflow.active_run() is not None:
        mlflow.end_run()
    mlflow.set_tracking_uri(tracking)
    mlflow.set_registry_uri(registry)


@pytest.fixture(scope="session")
def store_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mlflow")


@pytest.fixture(scope="session")
def registry(store_folder: Path) -> ModelRegistry:
    """A registry on a real sqlite store (``<store_folder>/mlflow.db``) shared by all registry tests."""
    return ModelRegistry.local(store_folder)


@pytest.fixture
def isbn() -> str:
    """A fresh 13-digit ISBN-like id per test, so tests sharing a store do not see each other's models."""
    return f"97800{next(_ISBNS):08d}"


@pytest.fixture(scope="session")
def weekly_sales() -> pd.Series:
    """120 weeks (W-SAT) of seeded sales: level 200, slow trend, yearly cycle, noise."""
    rng = np.random.default_rng(7)
    weeks = pd.date_range("2021-01-02", periods=120, freq="W-SAT")
    t = np.arange(len(weeks))
    values = 200 + 0.5 * t + 30 * np.sin(2 * np.pi * t / 52.18) + rng.normal(0, 10, len(weeks))
    return pd.Series(np.round(values), index=weeks, name="volume")


@pytest.fixture(scope="session")
def fitted_payload(weekly_sales: pd.Series) -> dict:
    """``ArimaModel.to_dict()`` of a real ARIMA(1,1,0) fitted on the first 100 weeks."""

    return ArimaModel(ModelSpec(order=(1, 1, 0))).fit(weekly_sales.iloc[:100]).to_dict()
