"""Drift alerts end to end: check evaluations stored by real runs in a sqlite instance (stand-in checks with the
real check keys, partitions and metadata, so no model is trained), the sensor of the real definitions (or one
with a tiny backoff), and a real HTTP server on 127.0.0.1 that counts every POST it receives."""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import dagster as dg
import pytest

from arima_assets.alerting import ALERT_WEBHOOK_ENV, RetryPolicy, post_json
from arima_assets.config import get_arima_config
from arima_assets.definitions import build_definitions
from arima_assets.defs.alerts import DRIFT_ALERT_SENSOR, AlertCursor, build_drift_alert_sensor
from arima_assets.defs.partitions import ISBN_PARTITIONS_NAME, isbn_partitions
from arima_assets_tests.conftest import SMALL_ISBNS

FIRST, SECOND = SMALL_ISBNS
FAST = RetryPolicy(attempts=3, timeout_seconds=2.0, backoff_seconds=0.01, max_total_seconds=5.0)
DRIFT_REASON = "drift: score 6.10 > threshold 4, driven by scale (larger errors)"


class Hook(ThreadingHTTPServer):
    """A webhook on an ephemeral port: records each POST and answers the next queued status (else 200)."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.posts: list[dict] = []
        self.headers_seen: list[dict[str, str]] = []
        self.statuses: list[int] = []
        self.default_status = 200

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook"


class _Handler(BaseHTTPRequestHandler):
    server: Hook

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.posts.append(json.loads(body))
        self.server.headers_seen.append(dict(self.headers))
        status = self.server.statuses.pop(0) if self.server.statuses else self.server.default_status
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture
def hook(monkeypatch: pytest.MonkeyPatch) -> Iterator[Hook]:
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    server = Hook()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def defs(tmp_path: Path) -> dg.Definitions:
    config = get_arima_config(
        "testing", state_dir=str(tmp_path / "state"), mlflow_tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}"
    )
    return build_definitions(config)


@pytest.fixture
def instance(tmp_path: Path) -> dg.DagsterInstance:
    (tmp_path / "dagster").mkdir()
    instance = dg.DagsterInstance.local_temp(str(tmp_path / "dagster"))
    instance.add_dynamic_partitions(ISBN_PARTITIONS_NAME, SMALL_ISBNS)
    return instance


class Outcome(dg.ConfigurableResource):
    """What the stand-in check returns in one run."""

    passed: bool
    observed: float


def _stand_in_check(name: str) -> dg.AssetChecksDefinition:
    """A check shaped like checks.py's (same key, partitions, severity and metadata) whose result is given."""

    @dg.asset_check(asset="arima_model", name=name, partitions_def=isbn_partitions)
    def _check(outcome: Outcome) -> dg.AssetCheckResult:
        reason = "no drift: score 0.23 <= threshold 4" if outcome.passed else DRIFT_REASON
        return dg.AssetCheckResult(
            passed=outcome.passed,
            severity=dg.AssetCheckSeverity.WARN,
            description=reason,
            metadata={"reason": reason, "observed": outcome.observed, "threshold": 4.0},
        )

    return _check


@dg.asset(name="arima_model", partitions_def=isbn_partitions)
def _model() -> None:
    return None


CHECK_JOB = dg.Definitions(
    assets=[_model],
    asset_checks=[_stand_in_check(name) for name in ("model_drift", "forecast_performance", "model_age")],
    resources={"outcome": Outcome(passed=True, observed=0.0)},
).resolve_implicit_global_asset_job_def()


def report(
    instance: dg.DagsterInstance, isbn: str, passed: bool, check: str = "model_drift", observed: float = 6.1
) -> str:
    """Run one check evaluation for `isbn` in a real run (planned, then evaluated); returns the run id."""
    key = dg.AssetCheckKey(dg.AssetKey("arima_model"), check)
    job = CHECK_JOB.get_subset(asset_selection=set(), asset_check_selection={key})
    result = job.execute_in_process(
        instance=instance,
        partition_key=isbn,
        resources={"outcome": Outcome(passed=passed, observed=0.23 if passed else observed)},
        run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
    )
    return result.run_id


class Evaluator:
    """Evaluates one sensor tick after tick, keeping its cursor, log lines and skip messages."""

    def __init__(self, sensor: dg.SensorDefinition, instance: dg.DagsterInstance, defs: dg.Definitions, caplog):
        self.sensor, self.instance, self.defs, self.caplog = sensor, instance, defs, caplog
        self.cursor: str | None = None
        self.messages: list[str] = []

    def __call__(self) -> str:
        with dg.build_sensor_context(instance=self.instance, cursor=self.cursor, definitions=self.defs) as context:
            context.log.addHandler(self.caplog.handler)
            data = self.sensor.evaluate_tick(context)
        assert not data.run_requests
        self.cursor = data.cursor
        self.messages.append(data.skip_message or "")
        return data.skip_message or ""

    @property
    def state(self) -> dict:
        return json.loads(self.cursor or "{}")


def _sensor(defs: dg.Definitions) -> dg.SensorDefinition:
    return next(sensor for sensor in defs.sensors or [] if sensor.name == DRIFT_ALERT_SENSOR)


@pytest.fixture
def registered(defs, instance, caplog) -> Evaluator:
    """The sensor exactly as build_definitions registers it (default retry policy)."""
    return Evaluator(_sensor(defs), instance, defs, caplog)


@pytest.fixture
def fast(defs, instance, caplog) -> Evaluator:
    """The same sensor with a tiny backoff."""
    return Evaluator(build_drift_alert_sensor(retry=FAST), instance, defs, caplog)


def _alert_lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if "Drift alert:" in r.getMessage()]


def test_registered_sensor_runs_by_default_and_requests_nothing(defs) -> None:
    sensor = _sensor(defs)
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    assert sensor.minimum_interval_seconds == 30


def test_one_post_per_failing_isbn_with_the_check_evaluation(registered, instance, hook, monkeypatch, caplog):
    monkeypatch.setenv(ALERT_WEBHOOK_ENV, hook.url)
    run_id = report(instance, FIRST, passed=False)
    report(instance, SECOND, passed=False, observed=7.5)
    report(instance, FIRST, passed=False, check="model_age")  # not a drift/performance check: no alert

    message = registered()

    assert len(hook.posts) == 2, hook.posts
    first = next(post for post in hook.posts if post["isbn"] == FIRST)
    assert first == {
        "text": first["text"],
        "asset": "arima_model",
        "isbn": FIRST,
        "check": "model_drift",
        "passed": False,
        "observed": 6.1,
        "threshold": 4.0,
        "reason": DRIFT_REASON,
        "run_id": run_id,
        "evaluated_at": first["evaluated_at"],
        "alert_id": first["alert_id"],
    }
    assert len(first["alert_id"]) == 32 and hook.headers_seen[0]["Idempotency-Key"] in {
        post["alert_id"] for post in hook.posts
    }
    assert first["text"] == (
        f":warning: arima_assets drift alert. ISBN {FIRST}: check model_drift failed: {DRIFT_REASON} "
        f"(observed 6.1, threshold 4) [run {run_id[:8]}]"
    )
    assert first["evaluated_at"].endswith("+00:00")
    assert {post["isbn"]: post["observed"] for post in hook.posts} == {FIRST: 6.1, SECOND: 7.5}
    assert hook.headers_seen[0]["Content-Type"] == "application/json"
    assert "2 alert(s) posted" in message
    assert len(_alert_lines(caplog)) == 2
    assert registered.state["alerted"] == {"model_drift": sorted([FIRST, SECOND])}
    assert registered.state["pending"] == {}


def test_no_new_failure_posts_nothing_and_a_repeat_failure_is_the_same_episode(
    registered, instance, hook, monkeypatch, caplog
):
    monkeypatch.setenv(ALERT_WEBHOOK_ENV, hook.url)
    report(instance, FIRST, passed=False)
    registered()
    assert len(hook.posts) == 1

    assert registered() == "no new failed checks"
    report(instance, FIRST, passed=False, observed=8.0)  # still failing: same episode
    assert registered() == "no new failed checks"
    assert len(hook.posts) == 1
    assert len(_alert_lines(caplog)) == 1


def test_a_pass_ends_the_episode_and_the_next_failure_alerts_again(registered, instance, hook, monkeypatch):
    monkeypatch.setenv(ALERT_WEBHOOK_ENV, hook.url)
    report(instance, FIRST, passed=False)
    registered()
    report(instance, FIRST, passed=True)
    registered()
    assert registered.state["alerted"] == {}, "a pass closes the episode"
    report(instance, FIRST, passed=False, observed=9.0)
    registered()
    assert [post["observed"] for post in hook.posts] == [6.1, 9.0]


def test_drift_and_performance_are_separate_episodes(registered, instance, hook, monkeypatch):
    monkeypatch.setenv(ALERT_WEBHOOK_ENV, hook.url)
    report(instance, FIRST, passed=False)
    report(instance, FIRST, passed=False, check="forecast_performance", observed=0.6)
    registered()
    assert sorted(post["check"] for post in hook.posts) == ["forecast_performance", "model_drift"]
    report(instance, FIRST, passed=True)  # drift passes, performance still failing
    registered()
    assert registered.state["alerted"] == {"forecast_performance": [FIRST]}
    report(instance, FIRST, passed=False)
    registered()
    assert len(hook.posts) == 3 and hook.posts[-1]["check"] == "model_drift"


def test_a_failing_webhook_is_retried_and_the_alert_delivered_later(fast, instance, hook, monkeypatch, caplog):
    monkeypatch.setenv(ALERT_WEBHOOK_ENV, hook.url)
    hook.default_status = 500
    report(instance, FIRST, passed=False)
    report(instance, SECOND, passed=False)

    message = fast()

    assert len(hook.posts) == FAST.attempts, "one alert retried, then the webhook is left alone for this tick"
    assert "webhook failed: HTTP 500 after 3 attempt(s)" in message and "2 alert(s) pending" in message
    assert any("webhook failed" in r.getMessage() for r in caplog.records if r.levelname == "WARNING")
    assert fast.state["pending"] == {"model_drift": sorted([FIRST, SECOND])}

    hook.default_status = 200
    hook.posts.clear()
    assert "2 alert(s) posted" in fast()
    assert sorted(post["isbn"] for post in hook.posts) == sorted([FIRST, SECOND])
    assert fast.state == {
        "after": fast.state["after"],
        "alerted": {"model_drift": sorted([FIRST, SECOND])},
        "pending": {},
    }
    fast()
    assert len(hook.posts) == 2, "delivered alerts are not sent again"
    assert len(_alert_lines(caplog)) == 2, "the alert line is written once, not at each retry"


def test_a_transient_error_is_retried_within_the_evaluation(fast, instance, hook, monkeypatch):
    monkeypatch.setenv(ALERT_WEBHOOK_ENV, hook.url)
    hook.statuses = [503, 500]
    report(instance, FIRST, passed=False)
    assert "1 alert(s) posted" in fast()
    assert len(hook.posts) == 3
    assert fast.state["pending"] == {}


def test_alerts_beyond_the_per_evaluation_cap_wait_for_the_next_evaluation(defs, instance, hook, monkeypatch, caplog):
    capped = Evaluator(build_drift_alert_sensor(retry=FAST, max_alerts_per_evaluation=1), instance, defs, caplog)
    monkeypatch.setenv(ALERT_WEBHOOK_ENV, hook.url)
    report(instance, FIRST, passed=False)
    report(instance, SECOND, passed=False)
    assert "1 alert(s) posted" in capped() and "1 alert(s) pending" in capped.messages[-1]
    assert len(hook.posts) == 1
    capped()
    assert sorted(post["isbn"] for post in hook.posts) == sorted([FIRST, SECOND])
    assert capped.state["pending"] == {}


def test_a_closed_port_does_not_raise_and_the_alert_stays_pending(fast, instance, monkeypatch):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv(ALERT_WEBHOOK_ENV, f"http://127.0.0.1:{port}/hook")
    report(instance, FIRST, passed=False)
    started = time.monotonic()
    message = fast()
    assert time.monotonic() - started < 5
    assert "webhook failed" in message and "after 3 attempt(s)" in message
    assert fast.state["pending"] == {"model_drift": [FIRST]}


def test_a_resolved_episode_is_not_delivered_late(fast, instance, hook, monkeypatch):
    monkeypatch.setenv(ALERT_WEBHOOK_ENV, hook.url)
    hook.default_status = 500
    report(instance, FIRST, passed=False)
    fast()
    report(instance, FIRST, passed=True)
    hook.default_status = 200
    hook.posts.clear()
    assert fast() == "no new failed checks"
    assert hook.posts == [] and fast.state["pending"] == {}


def test_credentials_in_the_url_are_sent_as_basic_auth_and_never_logged(
    fast, instance, hook, monkeypatch, caplog, capsys
):
    port = hook.server_address[1]
    url = f"http://alerts:s3cr3t-pw@127.0.0.1:{port}/hook/T0KEN-PATH?token=tok-123"
    monkeypatch.setenv(ALERT_WEBHOOK_ENV, url)
    hook.default_status = 500
    report(instance, FIRST, passed=False)
    fast()
    hook.default_status = 200
    fast()

    assert hook.posts[-1]["isbn"] == FIRST
    assert hook.headers_seen[-1]["Authorization"] == "Basic " + base64.b64encode(b"alerts:s3cr3t-pw").decode()
    captured = capsys.readouterr()
    seen = "\n".join([caplog.text, captured.out, captured.err, *fast.messages, fast.cursor or ""])
    assert f"127.0.0.1:{port}" in seen, "the host is named"
    for secret in ("s3cr3t-pw", "T0KEN-PATH", "tok-123", "alerts:"):
        assert secret not in seen, secret


def test_unset_url_writes_the_log_line_only(fast, instance, hook, monkeypatch, caplog):
    monkeypatch.delenv(ALERT_WEBHOOK_ENV, raising=False)
    report(instance, FIRST, passed=False)
    message = fast()
    assert message == f"1 new alert(s), logged only ({ALERT_WEBHOOK_ENV} is not set)"
    [line] = _alert_lines(caplog)
    assert f"Drift alert: ISBN {FIRST}: check model_drift failed: {DRIFT_REASON} (observed 6.1, threshold 4)" in line
    assert fast.state["alerted"] == {"model_drift": [FIRST]}

    monkeypatch.setenv(ALERT_WEBHOOK_ENV, hook.url)  # read at each evaluation; the logged alert is not re-sent
    fast()
    assert hook.posts == []
    report(instance, SECOND, passed=False)
    fast()
    assert [post["isbn"] for post in hook.posts] == [SECOND]


def test_cursor_survives_garbage_and_stays_small() -> None:
    assert AlertCursor.parse("not json") == AlertCursor()
    assert AlertCursor.parse(None) == AlertCursor()
    state = AlertCursor(after=12, alerted={"model_drift": {SECOND, FIRST}}, pending={"forecast_performance": set()})
    assert state.dumps() == f'{{"after":12,"alerted":{{"model_drift":["{SECOND}","{FIRST}"]}},"pending":{{}}}}'
    assert AlertCursor.parse(state.dumps()).alerted == {"model_drift": {FIRST, SECOND}}


def test_post_json_bounds_retries_and_does_not_retry_a_client_error(hook) -> None:
    hook.default_status = 404
    delivery = post_json(hook.url, {"text": "x"}, FAST)
    assert (delivery.ok, delivery.attempts, delivery.status, delivery.error) == (False, 1, 404, "HTTP 404")
    hook.default_status = 500
    slow = RetryPolicy(attempts=10, timeout_seconds=1.0, backoff_seconds=0.2, max_total_seconds=0.5)
    started = time.monotonic()
    delivery = post_json(hook.url, {"text": "x"}, slow)
    assert not delivery.ok and 1 < delivery.attempts < 10
    assert time.monotonic() - started < 1.5
    assert post_json("ftp://example.org/hook", {"text": "x"}).attempts == 0
