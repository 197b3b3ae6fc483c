"""The model store: atomic JSON files, clear errors for corrupt files."""

from pathlib import Path

import pytest

from arima_assets.store import ModelStore, Outcome, StoreError
from arima_assets_tests.test_decision import record_for, weekly


def test_champion_and_outcome_round_trip(tmp_path: Path) -> None:
    store = ModelStore(tmp_path)
    assert store.get_champion("9780722532935") is None
    record = record_for(weekly(120), 110)
    store.put_champion(record)
    assert store.get_champion("9780722532935") == record
    store.put_outcome(Outcome(isbn="9780722532935", status="trained", decision={"fired": ["missing"]}))
    assert store.outcomes()["9780722532935"].status == "trained"
    assert not list(tmp_path.rglob("*.tmp")), "no temporary file is left behind"


def test_corrupt_file_names_the_path(tmp_path: Path) -> None:
    store = ModelStore(tmp_path)
    path = tmp_path / "champions" / "9780722532935.json"
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    with pytest.raises(StoreError, match=r"cannot read model store file .*9780722532935\.json"):
        store.get_champion("9780722532935")


def test_failed_write_keeps_previous_champion(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = ModelStore(tmp_path)
    good = record_for(weekly(120), 110)
    store.put_champion(good)

    def explode(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("arima_assets.store.json.dump", explode)
    with pytest.raises(OSError, match="disk full"):
        store.put_champion(record_for(weekly(130, seed=3), 120))
    monkeypatch.undo()
    assert store.get_champion("9780722532935") == good
    assert not list(tmp_path.rglob("*.tmp"))
