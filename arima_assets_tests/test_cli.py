"""The console script: `arima-assets run` prints the summary; bad input exits 2 with the message."""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from arima_assets.cli import main
from arima_assets_tests.conftest import SMALL_ISBNS, small_sales_frame, write_sales

DAGSTER_NOTICES = ("BetaWarning", "PreviewWarning", "SupersessionWarning")


def test_run_prints_the_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_sales(small_sales_frame([SMALL_ISBNS[1]], weeks=120), tmp_path / "sales" / "export.csv")
    args = ["run", "--env", "testing", "--output-dir", str(tmp_path / "out"), "--sales-path", str(tmp_path / "sales")]
    assert main([*args, "--n-trials", "2"]) == 0
    out = capsys.readouterr().out
    assert "newly_trained_models: 1" in out and "reuse_rate: 0.0" in out
    assert f"{SMALL_ISBNS[1]}  trained" in out


def test_invalid_setting_exits_2_with_the_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARIMA_MAX_MODEL_AGE_DAYS", "-1")
    assert main(["run", "--output-dir", str(tmp_path)]) == 2
    assert "ARIMA_MAX_MODEL_AGE_DAYS='-1' is invalid" in capsys.readouterr().err


def test_config_command_prints_effective_settings(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARIMA_MLFLOW_TRACKING_URI", "http://analyst:s3cret@mlflow.internal:5000")
    assert main(["config", "--env", "testing"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["settings"]["n_trials"] == 3 and shown["stores"]["environment"] == "testing"
    assert shown["stores"]["mlflow_tracking_uri"] == "http://***@mlflow.internal:5000"
    assert shown["stores"]["model_store"].endswith("models") and "s3cret" not in json.dumps(shown)


def test_config_in_production_shows_placeholders_and_what_is_missing(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("DAGSTER_HOME", "ARIMA_DAGSTER_PG_URL", "ARIMA_CELERY_BACKEND", "ARIMA_CELERY_QUEUE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ARIMA_CELERY_BROKER", "pyamqp://guest:s3cret@rabbit.internal:5672//")

    assert main(["config", "--env", "production"]) == 0  # MLFLOW_TRACKING_URI unset: shown, not an error

    captured = capsys.readouterr()
    shown = json.loads(captured.out)
    stores = shown["stores"]
    assert shown["settings"]["n_trials"] == 25
    assert stores["mlflow_tracking_uri"] == "<unset: MLFLOW_TRACKING_URI>"
    assert stores["dagster_storage"].startswith("postgres <unset: ARIMA_DAGSTER_PG_URL>")
    assert stores["celery_broker"] == "pyamqp://***@rabbit.internal:5672//" and "s3cret" not in captured.out
    assert stores["celery_backend"] == "<unset: ARIMA_CELERY_BACKEND>" and stores["celery_queue"] == "dagster"
    missing = [item.split(":")[0] for item in shown["missing"]]  # ARIMA_STATE_DIR is set by the test fixture
    assert missing == ["DAGSTER_HOME", "ARIMA_DAGSTER_PG_URL", "MLFLOW_TRACKING_URI", "ARIMA_CELERY_BACKEND"]
    assert captured.err.startswith("arima-assets: missing: DAGSTER_HOME, ARIMA_DAGSTER_PG_URL, MLFLOW_TRACKING_URI")


def test_config_in_development_lists_nothing_missing(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "--env", "development"]) == 0
    captured = capsys.readouterr()
    assert "missing" not in json.loads(captured.out) and captured.err == ""
    assert "celery_broker" not in captured.out


def test_a_calendar_without_its_header_line_stops_config_and_run_naming_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    calendar = tmp_path / "calendar.csv"
    calendar.write_text(f"{SMALL_ISBNS[0]},2030-03-01,TV adaptation,4\n")
    monkeypatch.setenv("ARIMA_TRIGGER_CALENDAR", str(calendar))

    assert main(["config", "--env", "testing"]) == 2
    assert main(["run", "--env", "testing", "--output-dir", str(tmp_path / "out")]) == 2

    errors = capsys.readouterr().err.splitlines()
    assert len(errors) == 2
    for error in errors:
        assert (
            f"trigger calendar {str(calendar)!r} must start with the header line 'isbn,date,event,lead_weeks'" in error
        )
        assert "is a data row: add the header line above it" in error
    assert not (tmp_path / "out").exists()  # nothing ran


def test_config_names_a_calendar_file_that_does_not_exist_yet(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARIMA_TRIGGER_CALENDAR", str(tmp_path / "later.csv"))

    assert main(["config", "--env", "testing"]) == 0

    shown = json.loads(capsys.readouterr().out)
    assert shown["missing"] == [
        f"ARIMA_TRIGGER_CALENDAR: {tmp_path / 'later.csv'} does not exist yet "
        + ("(the release calendar cannot fire until it does)")
    ]


@pytest.fixture(scope="module")
def first_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess]:
    """`python -m arima_assets.cli run` in a new process, as a user starts it: Python's default warning filters
    (no PYTHONWARNINGS, no pytest filters) and none of the caller's ARIMA_* settings."""
    folder = tmp_path_factory.mktemp("cli")
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("ARIMA_") and name not in {"DEPLOYMENT_ENV", "MLFLOW_TRACKING_URI", "PYTHONWARNINGS"}
    }
    env["ARIMA_STATE_DIR"] = str(folder / "state")
    command = [sys.executable, "-m", "arima_assets.cli", "run", "--env", "testing", "--isbn", SMALL_ISBNS[0]]
    command += ["--n-trials", "2", "--output-dir", str(folder / "out")]
    return folder / "out", subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)


def test_run_shows_the_summary_without_dagster_beta_or_preview_notices(first_run) -> None:
    _, run = first_run
    assert run.returncode == 0, run.stderr
    assert f"{SMALL_ISBNS[0]}  trained" in run.stdout
    notices = [line for line in run.stderr.splitlines() if any(name in line for name in DAGSTER_NOTICES)]
    assert not notices, "\n".join(notices)
    from_dagster = [line for line in run.stderr.splitlines() if "Warning" in line and "/dagster" in line]
    assert not from_dagster, "\n".join(from_dagster)


def test_run_metadata_shows_errors_and_seconds_rounded_for_reading(first_run) -> None:
    output_dir, run = first_run
    assert run.returncode == 0, run.stderr
    instance = dg.DagsterInstance.local_temp(tempdir=str(output_dir / "dagster"))
    try:
        model = instance.get_latest_materialization_event(dg.AssetKey("arima_model")).asset_materialization
        forecast = instance.get_latest_materialization_event(dg.AssetKey("sales_forecast")).asset_materialization
    finally:
        instance.dispose()
    for metadata, key in [
        (model.metadata, "cv_mase"),
        (model.metadata, "holdout_mase"),
        (forecast.metadata, "refresh_seconds"),
    ]:
        value = metadata[key].value
        assert math.isnan(value) or value == round(value, 3), (key, value)


def test_webserver_on_a_taken_port_says_so_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    with socket.socket() as holder:  # what a running `dagster dev` does to its port
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        assert main(["webserver", "-h", "127.0.0.1", "-p", str(port)]) == 2
    err = capsys.readouterr().err
    assert f"port {port} on 127.0.0.1 is taken by another process" in err and "choose another with -p" in err


def test_webserver_port_check_lets_a_free_port_through_and_rejects_a_foreign_address() -> None:
    import socket

    from arima_assets.cli import _port_taken

    with socket.socket() as finder:
        finder.bind(("127.0.0.1", 0))
        free = finder.getsockname()[1]
    assert _port_taken("127.0.0.1", free) is None
    assert _port_taken("192.0.2.1", free).startswith("cannot listen on 192.0.2.1")  # TEST-NET: not this machine


def test_config_in_production_says_where_each_setting_comes_from(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARIMA_FORCE_RETRAIN", "on")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5000")
    monkeypatch.setenv("ARIMA_CELERY_QUEUE", "books-eu")
    monkeypatch.setenv("ARIMA_CELERY_BROKER", "pyamqp://arima:hunter2@rabbit.internal:5672//")
    monkeypatch.setenv("ARIMA_DAGSTER_PG_URL", "postgresql://dagster:hunter2@db.internal:5432/arima_dagster")

    assert main(["config", "--env", "production"]) == 0

    out = capsys.readouterr().out
    shown = json.loads(out)
    assert shown["settings"]["force_retrain"] is True
    assert shown["origins"]["force_retrain"] == (
        "environment ARIMA_FORCE_RETRAIN (carried by the runs this process launches)"
    )
    assert shown["origins"]["n_trials"] == "preset production" and shown["origins"]["patience"] == "preset production"
    assert shown["origins"]["seed"] == "default"
    stores = shown["stores"]
    assert stores["dagster_storage"].startswith("postgres postgresql://***@db.internal:5432/arima_dagster")
    assert stores["celery_broker"] == "pyamqp://***@rabbit.internal:5672//" and stores["celery_queue"] == "books-eu"
    assert "hunter2" not in out
