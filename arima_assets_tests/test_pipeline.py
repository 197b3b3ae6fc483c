"""The Python API end to end: train, reuse, drift, fault isolation, MLflow tracking and registry."""

from pathlib import Path

import dagster as dg
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from arima_assets import book_sales_arima_modeling_pipeline
from arima_assets.config import get_arima_config
from arima_assets.registry.runs import ISBN_DAGSTER_RUN_TAG
from arima_assets.store import ModelStore
from arima_assets_tests.conftest import SMALL_ISBNS, small_sales_frame, write_sales
from arima_assets_tests.sales_changes import append_weeks

DRIFTED, STABLE = SMALL_ISBNS


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("pipeline")
    write_sales(small_sales_frame(), folder / "sales" / "export.csv")
    return folder


def _config(folder: Path, **overrides):
    values = {"sales_path": str(folder / "sales"), "mlflow_tracking_uri": f"sqlite:///{folder / 'mlflow.db'}"}
    return get_arima_config("testing", **{**values, **overrides})


def _isbn_runs(folder: Path) -> list[str]:
    """The ISBN partition (or first ISBN of its range) of every Dagster run in the call's instance, oldest first."""
    instance = dg.DagsterInstance.local_temp(tempdir=str(folder / "out" / "dagster"))
    try:
        return [
            run.tags.get("dagster/partition") or run.tags.get("dagster/asset_partition_range_start", "")
            for run in reversed(instance.get_runs())
        ]
    finally:
        instance.dispose()


def _client(folder: Path) -> MlflowClient:
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


@pytest.fixture(scope="module")
def first_report(run_folder: Path) -> dict:
    return book_sales_arima_modeling_pipeline(run_folder / "out", None, _config(run_folder))


def test_first_call_trains_every_isbn(first_report: dict) -> None:
    assert first_report["total_books"] == 2
    assert first_report["newly_trained_models"] == 2 and first_report["successful_models"] == 2
    assert first_report["reused_models"] == 0 and first_report["failed_models"] == 0
    assert first_report["reuse_rate"] == 0.0
    assert first_report["retraining_stats"]["triggers"] == {"missing": 2}
    assert first_report["retraining_stats"]["fit_seconds_spent"] > 0
    assert first_report["configuration"]["environment"] == "testing"
    for isbn in SMALL_ISBNS:
        assert first_report["decisions"][isbn]["reasons"] == ["[missing] no champion model yet"]


def test_mlflow_has_a_parent_run_per_dagster_run_and_a_nested_run_per_isbn(run_folder: Path, first_report) -> None:
    client = _client(run_folder)
    experiment = client.get_experiment_by_name("arima_assets")
    runs = client.search_runs([experiment.experiment_id], max_results=100)
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    nested = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    assert len(parents) == 1 and len(nested) == 2, "one Dagster run carries both ISBNs: one parent, a nested run each"
    assert {r.data.tags["isbn"] for r in nested} == set(SMALL_ISBNS)
    assert all(r.info.status == "FINISHED" for r in runs), "the end_mlflow_on_run_finished hook closed every run"
    # only the Dagster run's own run carries dagster-mlflow's tag (its later steps resume the latest run with it)
    assert {r.data.tags["dagster_run_id"] for r in parents} == {r.data.tags[ISBN_DAGSTER_RUN_TAG] for r in nested}
    assert not any("dagster_run_id" in r.data.tags for r in nested)
    for parent in parents:
        assert parent.data.metrics["newly_trained_models"] == 2.0
        assert parent.data.metrics["isbns"] == 2.0
        assert parent.data.metrics["reuse_rate"] == 0.0
    for isbn in SMALL_ISBNS:
        assert int(client.get_model_version_by_alias(f"arima-{isbn}", "champion").version) == 1


def test_second_call_with_unchanged_data_reuses_every_model_without_a_run(run_folder: Path, first_report) -> None:
    runs_before = _isbn_runs(run_folder)
    report = book_sales_arima_modeling_pipeline(run_folder / "out", None, _config(run_folder))
    assert _isbn_runs(run_folder) == runs_before, "an idle call launches no Dagster run"
    assert report["reused_models"] == 2 and report["newly_trained_models"] == 0
    assert report["reuse_rate"] == 1.0
    assert report["retraining_stats"]["fit_seconds_spent"] == 0.0
    assert report["retraining_stats"]["fit_seconds_saved"] == pytest.approx(
        first_report["retraining_stats"]["fit_seconds_spent"], rel=0.05
    )
    for isbn in SMALL_ISBNS:
        assert any("within limit" in reason for reason in report["decisions"][isbn]["reasons"])
    client = _client(run_folder)
    experiment = client.get_experiment_by_name("arima_assets")
    reuse_runs = client.search_runs([experiment.experiment_id], "tags.`mlflow.runName` = 'reused-without-run'")
    assert len(reuse_runs) == 1, "one MLflow run for the call, not one per ISBN"
    assert reuse_runs[0].data.metrics["reused_models"] == 2.0
    assert reuse_runs[0].data.metrics["fit_seconds_saved"] == pytest.approx(
        report["retraining_stats"]["fit_seconds_saved"], abs=1e-3
    )


def test_drifted_isbn_alone_is_retrained_and_gets_a_second_version(run_folder: Path, first_report) -> None:
    update = append_weeks(small_sales_frame(), DRIFTED, n_weeks=26, level_factor=3.0, seed=1, continue_others=False)
    write_sales(update.iloc[len(small_sales_frame()) :], run_folder / "sales" / "update.csv")
    runs_before = len(_isbn_runs(run_folder))
    report = book_sales_arima_modeling_pipeline(run_folder / "out", None, _config(run_folder))
    new_runs = _isbn_runs(run_folder)[runs_before:]
    assert [isbn for isbn in new_runs if isbn] == [DRIFTED], "only the changed ISBN gets a run"
    assert len(new_runs) == 3, "the ingest of the new file, the changed ISBN, the report"
    assert report["decisions"][STABLE]["status"] == "reused"
    assert report["decisions"][DRIFTED]["status"] in {"trained", "kept"}
    assert "drift" in report["decisions"][DRIFTED]["triggers"]
    client = _client(run_folder)
    assert len(client.search_model_versions(f"name='arima-{DRIFTED}'")) == 2
    assert len(client.search_model_versions(f"name='arima-{STABLE}'")) == 1
    champion = ModelStore(run_folder / "out" / "models").get_champion(DRIFTED)
    assert champion.data_end == "2025-01-18", "the champion now covers the 26 new weeks"


def test_unknown_selected_isbn_is_an_error(run_folder: Path) -> None:
    with pytest.raises(ValueError, match=r"not in the sales data: \['9780141439518'\]"):
        book_sales_arima_modeling_pipeline(run_folder / "out", ["9780141439518"], _config(run_folder))


def test_a_selected_isbn_rejected_while_loading_is_an_error_naming_why(tmp_path: Path) -> None:
    frame = small_sales_frame(weeks=60)
    clash = frame[frame["ISBN"].astype(str) == DRIFTED].iloc[[5]].copy()
    clash["Volume"] = clash["Volume"] + 7  # the same week reported twice with different volumes
    write_sales(pd.concat([frame, clash], ignore_index=True), tmp_path / "sales" / "export.csv")
    with pytest.raises(ValueError, match=rf"{DRIFTED}: rejected while loading: .*"):
        book_sales_arima_modeling_pipeline(tmp_path / "out", [DRIFTED], _config(tmp_path))


def test_failing_isbn_does_not_stop_the_others(tmp_path: Path) -> None:
    frame = small_sales_frame(weeks=120)
    write_sales(frame, tmp_path / "sales" / "export.csv")
    write_sales(small_sales_frame(["9780141439518"], weeks=1), tmp_path / "sales" / "single.csv")
    write_sales(small_sales_frame(["9780141439471"], weeks=30), tmp_path / "sales" / "short.csv")
    report = book_sales_arima_modeling_pipeline(tmp_path / "out", None, _config(tmp_path, n_trials=2))
    assert report["total_books"] == 4 and report["failed_models"] == 1 and report["successful_models"] == 3
    error = report["decisions"]["9780141439518"]["error"]
    assert "tune_model: y has 1 week; needs at least 2" in error
    short = ModelStore(tmp_path / "out" / "models").get_champion("9780141439471")
    assert short.used_fallback and short.spec_label == "ARIMA(0,1,0)", "a short series gets the naive fallback"


def test_mlflow_down_fails_clearly_and_keeps_the_store(tmp_path: Path) -> None:
    write_sales(small_sales_frame(weeks=120), tmp_path / "sales" / "export.csv")
    down = _config(tmp_path, n_trials=2, mlflow_tracking_uri="http://127.0.0.1:9")
    report = book_sales_arima_modeling_pipeline(tmp_path / "out", [STABLE], down)
    assert report["failed_models"] == 1
    assert "http://127.0.0.1:9" in report["decisions"][STABLE]["error"]
    assert ModelStore(tmp_path / "out" / "models").get_champion(STABLE) is None, "nothing committed"
    back = book_sales_arima_modeling_pipeline(tmp_path / "out", [STABLE], _config(tmp_path, n_trials=2))
    assert back["newly_trained_models"] == 1 and back["failed_models"] == 0
    assert ModelStore(tmp_path / "out" / "models").get_champion(STABLE) is not None


def test_batches_are_contiguous_ranges_that_bridge_short_gaps_of_selected_isbns() -> None:
    from arima_assets.pipeline import batches

    order = [f"k{i:02d}" for i in range(30)]
    work = [order[i] for i in (0, 1, 2, 5, 6, 20, 21, 29)]
    # as Dagster's backfills split: every gap starts a run
    assert batches(work, order, 10) == [order[0:3], order[5:7], order[20:22], [order[29]]]
    # gaps of at most 3 selected ISBNs are carried along; a range never exceeds the batch size
    bridged = batches(work, order, 10, max_gap=3, bridgeable=set(order))
    assert bridged == [[order[i] for i in (0, 1, 2, 5, 6)], [order[20], order[21]], [order[29]]]
    assert batches(work, order, 4, max_gap=3, bridgeable=set(order)) == [
        order[0:3],
        order[5:7],
        order[20:22],
        [order[29]],
    ]
    # an ISBN outside the selection is never run as a side effect
    assert batches(work, order, 10, max_gap=3, bridgeable=set(order) - {order[4]}) == [
        order[0:3],
        order[5:7],
        order[20:22],
        [order[29]],
    ]
