"""Crashes injected at the commit points, corrupt or deleted local records: the registry is the record of truth and
the next run completes with it."""

import json
from pathlib import Path

import pytest

from arima_assets import book_sales_arima_modeling_pipeline
from arima_assets.config import get_arima_config
from arima_assets.registry import ModelRegistry
from arima_assets.registry.registry import ModelRegistry as RegistryClass
from arima_assets.store import ModelStore, StoreError
from arima_assets_tests.conftest import SMALL_ISBNS, small_sales_frame, write_sales
from arima_assets_tests.sales_changes import append_weeks

ISBN = SMALL_ISBNS[0]


def _config(folder: Path, **overrides):
    values = {"sales_path": str(folder / "sales"), "mlflow_tracking_uri": f"sqlite:///{folder / 'mlflow.db'}"}
    return get_arima_config("testing", n_trials=2, **{**values, **overrides})


def _pointer(folder: Path) -> tuple[int, str]:
    return ModelRegistry(f"sqlite:///{folder / 'mlflow.db'}", experiment_name="arima_assets").champion_pointer(ISBN)


def _cached(folder: Path):
    record = ModelStore(folder / "out" / "models").get_champion(ISBN)
    return int(record.mlflow["version"]), record.mlflow["record_run_id"]


@pytest.fixture
def trained(tmp_path: Path) -> Path:
    write_sales(small_sales_frame(), tmp_path / "sales" / "export.csv")
    report = book_sales_arima_modeling_pipeline(tmp_path / "out", [ISBN], _config(tmp_path))
    assert report["newly_trained_models"] == 1
    assert _cached(tmp_path) == _pointer(tmp_path)
    return tmp_path


def test_crash_after_the_registry_commit_is_reconciled_by_the_next_run(trained: Path, monkeypatch) -> None:
    def crash(self, record) -> None:
        raise RuntimeError("injected crash between the registry commit and the local write")

    with monkeypatch.context() as patch:
        patch.setattr(ModelStore, "put_champion", crash)
        report = book_sales_arima_modeling_pipeline(trained / "out", [ISBN], _config(trained, force_retrain=True))
    assert report["failed_models"] == 1 and "injected crash" in report["decisions"][ISBN]["error"]
    assert _cached(trained) != _pointer(trained), "the fault hit after the commit: cache and registry differ"

    report = book_sales_arima_modeling_pipeline(trained / "out", [ISBN], _config(trained))
    assert report["decisions"][ISBN]["status"] == "reused" and report["failed_models"] == 0
    assert _cached(trained) == _pointer(trained), "the local cache was rebuilt from the registry's record"


def _drift(folder: Path) -> None:
    """26 new weeks at 3x the level for ISBN: drift fires and the retrained challenger is adopted."""
    base = small_sales_frame()
    update = append_weeks(base, ISBN, n_weeks=26, level_factor=3.0, seed=1, continue_others=False)
    write_sales(update.iloc[len(base) :], folder / "sales" / "update.csv")


@pytest.mark.parametrize(
    ("scenario", "method"),
    [
        ("forced", "set_record_run"),
        ("drift", "log_record"),
        ("drift", "promote_challenger"),
    ],
)
def test_crash_before_the_registry_commit_keeps_the_old_champion(
    trained: Path, monkeypatch, scenario: str, method: str
) -> None:
    before = _pointer(trained)
    if scenario == "drift":
        _drift(trained)
    calls = []

    def crash(self, *args, **kwargs):
        calls.append(method)
        raise RuntimeError(f"injected crash in {method}")

    with monkeypatch.context() as patch:
        patch.setattr(RegistryClass, method, crash)
        report = book_sales_arima_modeling_pipeline(
            trained / "out", [ISBN], _config(trained, force_retrain=scenario == "forced")
        )
    assert calls and report["decisions"][ISBN]["status"] == "failed"
    assert _pointer(trained) == before == _cached(trained), "nothing committed: the old champion in force"
    report = book_sales_arima_modeling_pipeline(trained / "out", [ISBN], _config(trained))
    expected = "trained" if scenario == "drift" else "reused"
    assert report["decisions"][ISBN]["status"] == expected, report["decisions"][ISBN]
    assert _cached(trained) == _pointer(trained)


@pytest.mark.parametrize("content", ['{"isbn": "97807225', "{}", None])
def test_a_corrupt_or_deleted_local_record_is_rebuilt_from_the_registry(trained: Path, content: str | None) -> None:
    path = trained / "out" / "models" / "champions" / f"{ISBN}.json"
    if content is None:
        path.unlink()
    else:
        path.write_text(content)
    report = book_sales_arima_modeling_pipeline(trained / "out", [ISBN], _config(trained))
    assert report["decisions"][ISBN]["status"] == "reused", report["decisions"][ISBN]
    assert _cached(trained) == _pointer(trained)


def _two_new_weeks(folder: Path) -> None:
    """Two ordinary new weeks for ISBN: its series changes, nothing fires (a run decides and forecasts it)."""
    write_sales(
        append_weeks(small_sales_frame(), ISBN, n_weeks=2, level_factor=1.0, seed=3), folder / "sales" / "export.csv"
    )


def _damage(path: Path, **changes: object) -> dict:
    """Rewrite a cached champion with `changes` in its model, keeping its version and record-run keys (it still
    looks current to a pointer comparison) and its now stale content digest."""
    data = json.loads(path.read_text())
    data["model"] = {**data["model"], **changes}
    path.write_text(json.dumps(data))
    return data


@pytest.mark.parametrize("damage", ["params", "spec"])
def test_a_damaged_cache_that_still_looks_current_is_rebuilt_never_served(trained: Path, damage: str) -> None:
    path = trained / "out" / "models" / "champions" / f"{ISBN}.json"
    good = json.loads(path.read_text())
    if damage == "params":
        _damage(path, params=[99.0 for _ in good["model"]["params"]])
    else:
        _damage(path, spec={**good["model"]["spec"], "p": 9})
    with pytest.raises(StoreError, match="content digest"):
        ModelStore(trained / "out" / "models").get_champion(ISBN)
    _two_new_weeks(trained)
    report = book_sales_arima_modeling_pipeline(trained / "out", [ISBN], _config(trained))
    assert report["failed_models"] == 0 and report["decisions"][ISBN]["status"] == "reused", report["decisions"]
    rebuilt = json.loads(path.read_text())
    assert rebuilt["model"] == good["model"], "the cache holds the registry's record again"
    assert _cached(trained) == _pointer(trained)


def test_a_forecast_that_fails_fails_the_call_for_that_isbn(trained: Path, monkeypatch) -> None:
    from arima_assets.defs import forecast_assets

    def broken(champion, series, horizon):
        raise ValueError("injected: the kept parameters cannot be filtered")

    monkeypatch.setattr(forecast_assets, "forecast_table", broken)
    _two_new_weeks(trained)
    report = book_sales_arima_modeling_pipeline(trained / "out", [ISBN], _config(trained))
    assert report["failed_models"] == 1 and report["successful_models"] == 0, report
    assert "forecast failed" in report["decisions"][ISBN]["error"], report["decisions"][ISBN]
