"""No silent failures (issue 22): a broken plug-in, a broken sheet, a wrong file, a killed run or a slow webhook is
reported by name, never served as a success, and never stops or stalls the rest."""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pandas as pd
import pytest

from arima_assets import book_sales_arima_modeling_pipeline
from arima_assets.config import ArimaConfig, get_arima_config
from arima_assets.data import SalesDataError, load_sales
from arima_assets.decision import decide
from arima_assets_tests.conftest import SMALL_ISBNS, SMALL_WEEKS, small_sales_frame, write_sales
from arima_assets_tests.reliability import broken_plugins
from arima_assets_tests.test_decision import NOW, record_for, weekly

ISBN = SMALL_ISBNS[0]
PLUGINS = "arima_assets_tests.reliability.broken_plugins"


def _config(folder: Path, **overrides: object) -> ArimaConfig:
    values = {"sales_path": str(folder / "sales"), "mlflow_tracking_uri": f"sqlite:///{folder / 'mlflow.db'}"}
    return get_arima_config("testing", n_trials=2, **{**values, **overrides})


@pytest.fixture
def release_stalled() -> Iterator[None]:
    broken_plugins.RELEASE.clear()
    yield
    broken_plugins.RELEASE.set()  # the abandoned thread of the stalled plug-in returns


def _calendar(folder: Path) -> Path:
    path = folder / "calendar.csv"
    path.write_text(f"isbn,date,event,lead_weeks\n{ISBN},2024-08-20,reissue,4\n")
    return path


# ---------------------------------------------------------------- class 2: plug-in triggers run isolated


def test_hostile_plugins_are_named_never_fire_and_leave_the_calendar_deciding(tmp_path: Path, release_stalled) -> None:
    entries = [
        f"{PLUGINS}:Stalls",
        f"{PLUGINS}:Exits",
        f"{PLUGINS}:Interrupts",
        f"{PLUGINS}:failing_factory",
        f"{PLUGINS}:text_false",
        f"{PLUGINS}:nan_fired",
        f"{PLUGINS}:text_observed",
        f"{PLUGINS}:infinite_threshold",
        f"{PLUGINS}:not_a_verdict",
        f"{PLUGINS}:numpy_verdict",
        f"{PLUGINS}:Misnamed",
        "arima_assets_tests.reliability.plugin_exits_on_import:Trigger",
        "arima_assets_tests.reliability.plugin_raises_on_import:Trigger",
    ]
    config = get_arima_config(
        "testing",
        custom_triggers=",".join(entries),
        trigger_calendar=str(_calendar(tmp_path)),
        trigger_timeout_seconds=0.5,
    )
    series = weekly(200)
    champion = record_for(series, 196, age_days=20)
    started = time.monotonic()
    decision = decide(champion, series.iloc[:196], config, NOW)
    elapsed = time.monotonic() - started
    assert elapsed < 5, f"one stalled plug-in is cut at its 0.5 s limit, the call took {elapsed:.1f} s"
    assert decision.fired == ["release_calendar"], decision.to_dict()
    assert decision.action == "train"
    numpy_answer = decision.get("numpy_verdict")
    assert numpy_answer is not None and not numpy_answer.failed and numpy_answer.observed == 1.5
    expected = {
        "stalls": "no answer within the 0.5 s limit",
        "exits": "SystemExit: 3",
        "interrupts": "KeyboardInterrupt: plug-in raised it",
        f"{PLUGINS}:failing_factory": "cannot be built: calling it raised RuntimeError: factory is broken",
        "text_false": "fired='false' (str) is not a bool",
        "nan_fired": "fired=nan (float) is not a bool",
        "text_observed": "observed='high' (str) is not a number",
        "infinite_threshold": "threshold=inf is not a finite number",
        "not_a_verdict": "returned str 'yes, retrain', not a Verdict",
        f"{PLUGINS}:Misnamed": "has no attribute 'Misnamed'",
        "arima_assets_tests.reliability.plugin_exits_on_import:Trigger": "importing it raised SystemExit",
        "arima_assets_tests.reliability.plugin_raises_on_import:Trigger": "importing it raised RuntimeError",
    }
    assert sorted(decision.failed_triggers) == sorted(expected)
    reasons = "\n".join(decision.reasons)
    for name, why in expected.items():
        assert f"[{name}]" in reasons and why in decision.get(name).reason, (name, decision.get(name))
    # the next call does not start a second thread for the plug-in still stuck in its first call
    again = decide(champion, series.iloc[:196], config, NOW)
    assert "earlier call is still running" in again.get("stalls").reason
    assert again.fired == ["release_calendar"]


def test_a_broken_plugin_does_not_fail_or_stall_a_pipeline_call(tmp_path: Path, release_stalled) -> None:
    write_sales(small_sales_frame(), tmp_path / "sales" / "export.csv")
    book_sales_arima_modeling_pipeline(tmp_path / "out", [ISBN], _config(tmp_path))
    broken = ",".join(f"{PLUGINS}:{name}" for name in ("text_observed", "Exits", "Stalls", "Misnamed"))
    config = _config(tmp_path, custom_triggers=broken, trigger_timeout_seconds=0.5)
    report = book_sales_arima_modeling_pipeline(tmp_path / "out", [ISBN], config)
    decision = report["decisions"][ISBN]
    assert report["failed_models"] == 0 and decision["status"] == "reused", decision
    reasons = "\n".join(decision["reasons"])
    for name in ("text_observed", "exits", "stalls", f"{PLUGINS}:Misnamed"):
        assert f"[{name}]" in reasons, reasons


# ---------------------------------------------------------------- class 3: no title trained mostly on padding


def _merged_isbn_workbook(path: Path, weeks: int = SMALL_WEEKS) -> Path:
    """The small sales frame as an xlsx sheet whose ISBN cells are merged over each title's block of rows."""
    import openpyxl

    frame = small_sales_frame(weeks=weeks).sort_values(["ISBN", "End Date"]).reset_index(drop=True)
    frame.to_excel(path, index=False, sheet_name="F Adult Fiction")
    book = openpyxl.load_workbook(path)
    for isbn in SMALL_ISBNS[:1]:
        block = frame.index[frame["ISBN"].astype(str) == isbn]
        book.active.merge_cells(f"A{block[0] + 2}:A{block[-1] + 2}")
    book.save(path)
    return path


@pytest.mark.parametrize("absent_weeks", ["zero", "unknown"])
def test_merged_isbn_cells_reject_the_title_naming_the_sheet_and_rows(tmp_path: Path, absent_weeks: str) -> None:
    data = load_sales(_merged_isbn_workbook(tmp_path / "export.xlsx"), absent_weeks=absent_weeks)
    assert data.isbns() == [SMALL_ISBNS[1]], "the title with merged ISBN cells is not kept on 1 real week"
    reason = data.rejected_isbns[ISBN]
    assert "199 row(s) below its first row (export.xlsx:F Adult Fiction row 202) " in reason
    assert "merged ISBN cells?" in reason and "ISBN '': empty" in reason
    assert str(data.rejected[0]).startswith(
        "export.xlsx:F Adult Fiction row 202 (ISBN '9780722532935'): title rejected"
    )
    with pytest.raises(KeyError, match=r"was rejected while loading: 199 row\(s\) below its first row"):
        data.weekly_series(ISBN)


def test_one_lost_week_of_a_title_rejects_it_but_other_bad_rows_do_not(tmp_path: Path) -> None:
    frame = small_sales_frame()
    lost = frame.index[frame["ISBN"].astype(str) == ISBN][50]
    frame["ISBN"] = frame["ISBN"].astype(str)
    frame.loc[lost, "ISBN"] = ""  # an empty ISBN cell inside the title's rows: its week would read as 0
    stray = frame.iloc[[0]].assign(ISBN="", Title="Grand total", **{"End Date": "", "Volume": 123456})
    data = load_sales(write_sales(pd.concat([frame, stray]), tmp_path / "export.csv"), absent_weeks="zero")
    assert data.isbns() == [SMALL_ISBNS[1]]
    assert "1 row(s) below its first row (export.csv row 2)" in data.rejected_isbns[ISBN]
    assert len(data.rejected) == 3, "the lost row, the total row and the title's rejection are all listed"


def test_a_series_that_is_mostly_padding_is_rejected_a_sparse_title_is_not(tmp_path: Path) -> None:
    frame = small_sales_frame()
    rows = frame[frame["ISBN"].astype(str) == ISBN]
    sparse = frame[frame["ISBN"].astype(str) == SMALL_ISBNS[1]].iloc[::4]  # sells one week in four: kept
    export = pd.concat([rows.iloc[:3], sparse])  # the title's first 3 weeks, then nothing in a 200-week file
    data = load_sales(write_sales(export, tmp_path / "export.csv"), absent_weeks="zero")
    assert data.isbns() == [SMALL_ISBNS[1]] and len(data.weekly_series(SMALL_ISBNS[1])) == 197
    assert data.rejected_isbns[ISBN] == (
        "its series is mostly padding: 3 reported row(s) (first export.csv row 2) in 197 weeks, the other 194 would "
        "be invented zero weeks (fewer than 5% of the weeks reported)"
    )
    short = load_sales(tmp_path / "export.csv", absent_weeks="unknown")  # the title ends at its own last row
    assert short.isbns() == sorted(SMALL_ISBNS) and len(short.weekly_series(ISBN)) == 3


def test_a_title_whose_sheet_lost_its_isbns_is_reported_failed_not_forecast(tmp_path: Path) -> None:
    write_sales(small_sales_frame(), tmp_path / "sales" / "export.csv")
    config = _config(tmp_path, absent_weeks="zero")
    assert book_sales_arima_modeling_pipeline(tmp_path / "out", [ISBN], config)["successful_models"] == 1
    (tmp_path / "sales" / "export.csv").unlink()
    _merged_isbn_workbook(tmp_path / "sales" / "export.xlsx")  # the same weeks, re-exported with merged cells
    report = book_sales_arima_modeling_pipeline(tmp_path / "out", [ISBN], config)
    decision = report["decisions"][ISBN]
    assert report["failed_models"] == 1 and decision["status"] == "failed", decision
    assert "rejected while loading" in decision["error"], decision["error"]


# ---------------------------------------------------------------- class 4: the real problem is named


def test_a_workbook_renamed_csv_and_a_csv_renamed_xlsx_are_named(tmp_path: Path) -> None:
    frame = small_sales_frame()
    frame.to_excel(tmp_path / "export.xlsx", index=False)
    (tmp_path / "export.xlsx").rename(tmp_path / "export.csv")
    with pytest.raises(SalesDataError, match=r"export.csv: file is a zip/xlsx archive, not a csv: rename it .xlsx"):
        load_sales(tmp_path / "export.csv")
    write_sales(frame, tmp_path / "text.xlsx")
    with pytest.raises(SalesDataError, match=r"text.xlsx: cannot be read as an xlsx workbook: it is text \(a csv\?\)"):
        load_sales(tmp_path / "text.xlsx")


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32"])
def test_a_utf16_csv_is_read_like_its_utf8_twin(tmp_path: Path, encoding: str) -> None:
    utf8 = write_sales(small_sales_frame(), tmp_path / "utf8.csv")
    wide = tmp_path / "wide.csv"
    wide.write_bytes(utf8.read_text().encode(encoding))
    expected, got = load_sales(utf8), load_sales(wide)
    assert got.isbns() == expected.isbns() == sorted(SMALL_ISBNS) and not got.rejected
    assert got.weekly_series(ISBN).equals(expected.weekly_series(ISBN))


def test_formulas_without_values_name_the_sheet_and_cells(tmp_path: Path) -> None:
    import openpyxl

    small_sales_frame().to_excel(tmp_path / "export.xlsx", index=False, sheet_name="F Adult Fiction")
    book = openpyxl.load_workbook(tmp_path / "export.xlsx")
    volume = [c.value for c in book.active[1]].index("Volume") + 1
    for row in (2, 3):
        book.active.cell(row, volume).value = f"=40+{row}"  # openpyxl stores no computed value
    book.save(tmp_path / "export.xlsx")
    with pytest.raises(
        SalesDataError,
        match=r"export.xlsx, sheet 'F Adult Fiction': uncomputed formulas: 2 cell\(s\) .* \(F2 '=40\+2', F3 '=40\+3'\)"
        r".*open and save it in Excel",
    ):
        load_sales(tmp_path / "export.xlsx")


def _unusable_stores(folder: Path) -> dict[str, tuple[str, str]]:
    """case -> (MLflow URI, what the error must say about it)."""
    (folder / "notes.txt").write_text("a file, not a folder")
    return {
        "under a file": (
            f"sqlite:///{folder}/notes.txt/mlflow.db",
            rf"folder '{folder}/notes.txt' cannot be used: '{folder}/notes.txt' is a file, not a folder",
        ),
        "cannot be created": ("sqlite:////proc/arima/mlflow.db", r"folder '/proc/arima' cannot be created: "),
        "not a database": (f"sqlite:///{folder}/notes.txt", rf"'{folder}/notes.txt' is not an sqlite database"),
    }


@pytest.mark.parametrize("case", ["under a file", "cannot be created", "not a database"])
def test_an_unusable_sqlite_store_names_the_path_and_why(tmp_path: Path, case: str) -> None:
    from arima_assets.defs.tracking import prepare_tracking_store
    from arima_assets.registry import RegistryUnavailableError

    uri, why = _unusable_stores(tmp_path)[case]
    with pytest.raises(RegistryUnavailableError, match=rf"MLflow unavailable at '{re.escape(uri)}': .*{why}"):
        prepare_tracking_store(uri)


def test_an_unusable_sqlite_store_fails_the_call_and_the_cli_by_name(tmp_path: Path) -> None:
    write_sales(small_sales_frame(), tmp_path / "sales" / "export.csv")
    stores = _unusable_stores(tmp_path)
    uri, why = stores["cannot be created"]
    report = book_sales_arima_modeling_pipeline(tmp_path / "out", [ISBN], _config(tmp_path, mlflow_tracking_uri=uri))
    assert report["failed_models"] == 1
    assert re.search(rf"MLflow unavailable at '{re.escape(uri)}': .*{why}", report["decisions"][ISBN]["error"]), report
    uri, why = stores["under a file"]
    cli = subprocess.run(
        [sys.executable, "-m", "arima_assets.cli", "init", "--env", "testing"],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "DAGSTER_HOME": str(tmp_path), "ARIMA_MLFLOW_TRACKING_URI": uri},
    )
    assert cli.returncode == 2 and "Traceback" not in cli.stderr, cli.stderr
    assert re.search(why, cli.stderr), cli.stderr


# ---------------------------------------------------------------- class 5: a slow webhook, a killed run


class _SlowHook(ThreadingHTTPServer):
    """A webhook that takes `delay` seconds to answer 200, recording every POST it received."""

    daemon_threads = True

    def __init__(self, delay: float) -> None:
        super().__init__(("127.0.0.1", 0), _SlowHandler)
        self.delay = delay
        self.posts: list[dict] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook"


class _SlowHandler(BaseHTTPRequestHandler):
    server: _SlowHook

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        self.server.posts.append(json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0)))))
        time.sleep(self.server.delay)  # received (and acted on) now; the answer comes late
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture
def slow_hook(monkeypatch: pytest.MonkeyPatch) -> Iterator[_SlowHook]:
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    server = _SlowHook(delay=2.0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def test_a_slow_webhook_that_answers_200_gets_each_alert_once(
    tmp_path: Path, slow_hook: _SlowHook, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import dagster as dg

    from arima_assets.alerting import ALERT_WEBHOOK_ENV, RetryPolicy
    from arima_assets.definitions import build_definitions
    from arima_assets.defs.alerts import build_drift_alert_sensor
    from arima_assets.defs.partitions import ISBN_PARTITIONS_NAME
    from arima_assets_tests.defs.test_alerts import Evaluator, report

    (tmp_path / "dagster").mkdir()
    instance = dg.DagsterInstance.local_temp(str(tmp_path / "dagster"))
    instance.add_dynamic_partitions(ISBN_PARTITIONS_NAME, SMALL_ISBNS)
    defs = build_definitions(_config(tmp_path, state_dir=str(tmp_path / "state")))
    monkeypatch.setenv(ALERT_WEBHOOK_ENV, slow_hook.url)
    for isbn in SMALL_ISBNS:
        report(instance, isbn, passed=False)
    # the second alert starts 2 s into a 3 s budget: it must get its full answer time, not the budget's rest
    policy = RetryPolicy(attempts=3, timeout_seconds=5.0, backoff_seconds=0.01, max_total_seconds=5.0)
    sensor = Evaluator(build_drift_alert_sensor(retry=policy, budget_seconds=3.0), instance, defs, caplog)
    messages = [sensor(), sensor()]
    assert sorted(post["isbn"] for post in slow_hook.posts) == sorted(SMALL_ISBNS), messages
    assert "2 alert(s) posted" in messages[0] and "Timeout" not in " ".join(messages), messages
    assert sensor.state["pending"] == {}


def test_a_post_sent_but_not_answered_in_time_is_not_posted_again(slow_hook: _SlowHook) -> None:
    from arima_assets.alerting import RetryPolicy, post_json

    policy = RetryPolicy(attempts=3, timeout_seconds=0.5, backoff_seconds=0.01, max_total_seconds=5.0)
    delivery = post_json(slow_hook.url, {"text": "x", "alert_id": "a1"}, policy)
    time.sleep(2.2)  # the webhook finishes handling the POST
    assert len(slow_hook.posts) == 1, "a timeout after sending may be a delivery: not repeated at once"
    assert not delivery.ok and delivery.unconfirmed and delivery.attempts == 1
    assert delivery.error == "no answer within 0.5 s after the alert was sent"
    assert RetryPolicy().timeout_seconds >= 10, "a webhook answering in a few seconds is not cut off by default"


def _running_runs(uri: str) -> dict[str, set[str]]:
    """RUNNING run id -> its tag keys, read from the sqlite file directly (read-only: an MLflow client would run
    the store's migrations while the call under test is running them)."""
    import sqlite3

    path = Path(uri.removeprefix("sqlite:///"))
    if not path.exists():
        return {}
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1)) as db:
            ids = [row[0] for row in db.execute("SELECT run_uuid FROM runs WHERE status = 'RUNNING'")]
            tags = "SELECT key FROM tags WHERE run_uuid = ?"
            return {run: {row[0] for row in db.execute(tags, (run,))} for run in ids}
    except sqlite3.Error:  # tables not created yet, or locked for a moment
        return {}


def test_runs_left_running_by_a_killed_call_are_marked_killed_by_the_next_call(tmp_path: Path) -> None:
    from mlflow import MlflowClient

    from arima_assets.registry.owners import OWNER_HOST_TAG, OWNER_PID_TAG, OWNER_START_TAG, _process_start

    write_sales(small_sales_frame(), tmp_path / "sales" / "export.csv")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    env = {**os.environ, "ARIMA_SALES_PATH": str(tmp_path / "sales"), "ARIMA_MLFLOW_TRACKING_URI": uri}
    command = [sys.executable, "-m", "arima_assets.cli", "run", "--output-dir", str(tmp_path / "out"), "--env"]
    call = subprocess.Popen(
        [*command, "testing", "--n-trials", "2", "--isbn", ISBN],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    seen_at, deadline = None, time.monotonic() + 180
    try:
        while call.poll() is None and time.monotonic() < deadline:
            running = _running_runs(uri)
            seen_at = seen_at or (time.monotonic() if running else None)
            owned = any(OWNER_PID_TAG in tags for tags in running.values())
            if running and (owned or time.monotonic() - seen_at > 2):
                break
            time.sleep(0.2)
    finally:
        call.kill()  # SIGKILL: no clean-up code runs
        call.wait()
    client = MlflowClient(tracking_uri=uri)
    left = [client.get_run(run_id) for run_id in _running_runs(uri)]
    assert left, "the killed call left no RUNNING run: it finished before the kill"
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        live_tags = {
            OWNER_HOST_TAG: socket.gethostname(),
            OWNER_PID_TAG: str(sleeper.pid),
            OWNER_START_TAG: (_process_start(sleeper.pid) or ("", ""))[1],
        }
        live = client.create_run(left[0].info.experiment_id, tags=live_tags).info.run_id  # a live concurrent owner
        report = book_sales_arima_modeling_pipeline(tmp_path / "out", [ISBN], _config(tmp_path))
        assert report["failed_models"] == 0, report["decisions"]
        for run in left:
            after = client.get_run(run.info.run_id)
            assert after.info.status == "KILLED", (run.data.tags, after.info.status)
            assert f"its process {call.pid} on " in after.data.tags["arima_assets.stale"]
        assert client.get_run(live).info.status == "RUNNING", "a run of a live process is left alone"
        assert list(_running_runs(uri)) == [live]
    finally:
        sleeper.kill()
        sleeper.wait()
