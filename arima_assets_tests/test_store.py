"""The model store: atomic JSON files, clear errors for corrupt files."""

from pathlib import Path

import pytest
from filelock import Timeout

from arima_assets.store import ModelStore, Outcome, StoreError, open_model_store
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

    monkeypatch.setattr("arima_assets.store_backends.os.replace", explode)
    with pytest.raises(OSError, match="disk full"):
        store.put_champion(record_for(weekly(130, seed=3), 120))
    monkeypatch.undo()
    assert store.get_champion("9780722532935") == good
    assert not list(tmp_path.rglob("*.tmp"))


def test_a_uri_that_went_through_pathlib_is_object_storage_not_a_folder_named_s3(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    store = ModelStore(Path("memory://bucket/state") / "models")  # what `Path(state_dir) / "models"` makes of it
    assert store.folder == "memory://bucket/state/models"
    store.put_outcome(Outcome(isbn="9780722532935", status="trained", decision={}))
    assert store.outcomes()["9780722532935"].status == "trained"
    assert not list(tmp_path.iterdir()), "nothing written to the working directory (no folder 'memory:')"
    assert open_model_store("s3://bucket/state").folder == "s3://bucket/state/models"
    assert open_model_store(tmp_path / "state").folder == tmp_path / "state" / "models"


def test_two_output_folders_on_one_sqlite_registry_share_the_isbn_lease(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow' / 'mlflow.db'}"
    first, second = open_model_store(tmp_path / "a", uri), open_model_store(tmp_path / "b", uri)
    with first.isbn_lock("9780722532935", timeout=0):
        with pytest.raises(Timeout):
            with second.isbn_lock("9780722532935", timeout=0):
                pass
        with second.isbn_lock("9780141439471", timeout=0):  # another ISBN is not blocked
            pass
    with second.isbn_lock("9780722532935", timeout=0):  # released with its holder
        pass
    assert (tmp_path / "mlflow" / "mlflow.db.leases" / "9780722532935.lock").exists(), "beside the database"
    other = open_model_store(tmp_path / "c", f"sqlite:///{tmp_path / 'other.db'}")
    with first.isbn_lock("9780722532935", timeout=0), other.isbn_lock("9780722532935", timeout=0):
        pass  # another registry (and another folder): independent


def test_a_registry_server_gives_no_shared_lease_and_says_so(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("WARNING", logger="arima_assets.store"):
        first = open_model_store(tmp_path / "a", "http://user:secret@mlflow.example:5000")
    assert "no shared lease" in caplog.text and "secret" not in caplog.text
    second = open_model_store(tmp_path / "b", "http://user:secret@mlflow.example:5000")
    with first.isbn_lock("9780722532935", timeout=0), second.isbn_lock("9780722532935", timeout=0):
        pass  # documented fallback: per-store leases only
    with first.isbn_lock("9780722532935", timeout=0):
        with pytest.raises(Timeout):
            with open_model_store(tmp_path / "a", "http://mlflow.example:5000").isbn_lock("9780722532935", 0):
                pass
