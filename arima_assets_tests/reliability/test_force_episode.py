"""force_retrain fits each model once per episode, whatever restarts in between (issue: it re-armed on every
code-server reload, adding a registry version each time)."""

from pathlib import Path

from arima_assets import book_sales_arima_modeling_pipeline
from arima_assets.config import get_arima_config
from arima_assets.registry import ModelRegistry
from arima_assets_tests.conftest import SMALL_ISBNS, small_sales_frame, write_sales

ISBN = SMALL_ISBNS[0]


def _call(folder: Path, force: bool) -> dict:
    config = get_arima_config(
        "testing",
        n_trials=2,
        force_retrain=force,
        sales_path=str(folder / "sales"),
        mlflow_tracking_uri=f"sqlite:///{folder / 'mlflow.db'}",
    )
    return book_sales_arima_modeling_pipeline(folder / "out", [ISBN], config)


def _versions(folder: Path) -> int:
    registry = ModelRegistry(f"sqlite:///{folder / 'mlflow.db'}", experiment_name="arima_assets")
    return len(registry.client.search_model_versions(f"name = 'arima-{ISBN}'"))


def test_force_retrain_fits_each_model_once_per_episode(tmp_path: Path) -> None:
    write_sales(small_sales_frame(), tmp_path / "sales" / "export.csv")
    assert _call(tmp_path, force=False)["newly_trained_models"] == 1
    assert _versions(tmp_path) == 1
    forced = _call(tmp_path, force=True)
    assert forced["newly_trained_models"] == 1 and "forced" in forced["decisions"][ISBN]["triggers"]
    assert _versions(tmp_path) == 2
    for _ in range(2):  # each call builds its definitions anew, as a reloaded code server does
        again = _call(tmp_path, force=True)
        assert again["reused_models"] == 1, again["decisions"][ISBN]
        assert "forced" not in again["decisions"][ISBN]["triggers"]
    assert _versions(tmp_path) == 2, "no further version while the same episode lasts"
    assert _call(tmp_path, force=False)["reused_models"] == 1  # ends the episode
    assert _call(tmp_path, force=True)["newly_trained_models"] == 1, "a new episode forces once more"
    assert _versions(tmp_path) == 3
