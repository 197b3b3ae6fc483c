"""Drift alerts: a sensor that reports each failed drift/performance check once per ISBN and episode.

An episode of (check, ISBN) starts with a failed evaluation and ends with the next passed one; only its start
is alerted. The sensor reads the check evaluations from the Dagster event log incrementally (storage-id
high-water mark), writes one line per new alert to its log, and, when `ARIMA_ALERT_WEBHOOK_URL` is set, posts
a Slack-compatible JSON message (`arima_assets.alerting`). An alert the webhook did not accept stays pending
in the cursor and is retried on the next evaluation; the sensor itself never fails because of the webhook.

Cursor (JSON): ``{"after": <event storage id>, "alerted": {check: [isbn, ...]}, "pending": {check: [...]}}``:
`alerted` holds the open episodes already delivered, `pending` those still to deliver.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import dagster as dg

from arima_assets.alerting import (
    ALERT_WEBHOOK_ENV,
    Alert,
    RetryPolicy,
    alert_id,
    alert_payload,
    alert_text,
    describe_webhook,
    post_json,
    webhook_url,
)
from arima_assets.defs._dagster_internals import AssetCheckExecutionRecordStatus, PartitionKeyFilter

__all__ = ["ALERT_CHECKS", "DRIFT_ALERT_SENSOR", "AlertCursor", "build_drift_alert_sensor", "load_alert"]

DRIFT_ALERT_SENSOR = "drift_alert_sensor"
ALERT_CHECKS: tuple[str, ...] = ("model_drift", "forecast_performance")
_MODEL = dg.AssetKey("arima_model")


@dataclass
class AlertCursor:
    """The sensor's state: how far the event log was read, and the open episodes by check."""

    after: int | None = None
    alerted: dict[str, set[str]] = field(default_factory=dict)
    pending: dict[str, set[str]] = field(default_factory=dict)

    @classmethod
    def parse(cls, raw: str | None) -> AlertCursor:
        """The cursor from its JSON; an empty or unreadable cursor starts afresh."""
        try:
            data = json.loads(raw) if raw else {}
            return cls(
                after=int(data["after"]) if data.get("after") is not None else None,
                alerted={check: set(isbns) for check, isbns in data.get("alerted", {}).items()},
                pending={check: set(isbns) for check, isbns in data.get("pending", {}).items()},
            )
        except (ValueError, TypeError, AttributeError, KeyError):
            return cls()

    def dumps(self) -> str:
        """Compact JSON with sorted ISBNs; checks without open episodes are left out."""

        def compact(episodes: dict[str, set[str]]) -> dict[str, list[str]]:
            return {check: sorted(isbns) for check, isbns in sorted(episodes.items()) if isbns}

        return json.dumps(
            {"after": self.after, "alerted": compact(self.alerted), "pending": compact(self.pending)},
            separators=(",", ":"),
        )

    def is_open(self, check: str, isbn: str) -> bool:
        return isbn in self.alerted.get(check, ()) or isbn in self.pending.get(check, ())

    def open_episode(self, check: str, isbn: str) -> None:
        self.pending.setdefault(check, set()).add(isbn)

    def close_episode(self, check: str, isbn: str) -> None:
        self.alerted.get(check, set()).discard(isbn)
        self.pending.get(check, set()).discard(isbn)

    def mark_alerted(self, check: str, isbn: str) -> None:
        self.pending.get(check, set()).discard(isbn)
        self.alerted.setdefault(check, set()).add(isbn)

    def pending_alerts(self) -> list[tuple[str, str]]:
        return sorted((check, isbn) for check, isbns in self.pending.items() for isbn in isbns)


def _scan(instance: dg.DagsterInstance, checks: Sequence[str], state: AlertCursor) -> list[tuple[str, str]]:
    """Advance `state` over the check evaluations stored since `state.after`: a pass closes the episode, a
    failure outside an open episode opens one. Returns the opened (check, isbn) pairs."""
    keys = [dg.AssetCheckKey(_MODEL, check) for check in checks]
    infos = instance.event_log_storage.get_asset_check_partition_info(keys, after_storage_id=state.after)
    opened = []
    high = state.after or 0
    for info in infos:
        high = max(high, info.latest_check_event_storage_id, info.latest_materialization_storage_id or 0)
        check, isbn, status = info.check_key.name, info.partition_key, info.latest_execution_status.value
        if isbn is None:
            continue
        if status == "SUCCEEDED":
            state.close_episode(check, isbn)
        elif status == "FAILED" and not state.is_open(check, isbn):
            state.open_episode(check, isbn)
            opened.append((check, isbn))
    state.after = high or state.after
    return sorted(opened)


def _metadata_value(metadata: dict, key: str) -> object:
    value = metadata.get(key)
    return getattr(value, "value", value)


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def load_alert(instance: dg.DagsterInstance, check: str, isbn: str) -> Alert | None:
    """The alert for the latest failed evaluation of (check, isbn), from the event log; None if there is none."""
    records = instance.event_log_storage.get_asset_check_execution_history(
        dg.AssetCheckKey(_MODEL, check),
        limit=1,
        status={AssetCheckExecutionRecordStatus.FAILED},
        partition_filter=PartitionKeyFilter(key=isbn),
    )
    if not records or records[0].event is None or records[0].event.dagster_event is None:
        return None
    record = records[0]
    evaluation = record.event.dagster_event.event_specific_data
    metadata = dict(getattr(evaluation, "metadata", None) or {})
    reason = _metadata_value(metadata, "reason") or getattr(evaluation, "description", None) or "check failed"
    return Alert(
        isbn=isbn,
        check=check,
        reason=str(reason),
        observed=_number(_metadata_value(metadata, "observed")),
        threshold=_number(_metadata_value(metadata, "threshold")),
        run_id=record.run_id or None,
        evaluated_at=record.event.timestamp,
    )


def _deliver(
    context: dg.SensorEvaluationContext,
    url: str,
    state: AlertCursor,
    alerts: dict[tuple[str, str], Alert],
    retry: RetryPolicy,
    max_alerts: int,
    budget_seconds: float,
) -> tuple[int, str | None]:
    """Post pending alerts until one fails (the webhook is then down for this evaluation), `max_alerts` were
    sent or the time budget is spent (no POST starts after it; one under way gets its full answer time, so a slow
    webhook that accepts an alert is not cut off and sent it again). Returns (sent, error)."""
    deadline = time.monotonic() + budget_seconds
    sent = 0
    for check, isbn in state.pending_alerts()[:max_alerts]:
        if time.monotonic() >= deadline:
            break  # the rest stays pending for the next evaluation
        alert = alerts.get((check, isbn)) or load_alert(context.instance, check, isbn)
        if alert is None:  # the failed evaluation is gone (wiped): nothing to report
            state.close_episode(check, isbn)
            continue
        delivery = post_json(url, alert_payload(alert), retry, deadline=deadline)
        if not delivery.ok:
            error = f"{delivery.error} after {delivery.attempts} attempt(s)"
            if delivery.unconfirmed:
                error += f" (it may have arrived; re-sent later with the same alert_id {alert_id(alert)})"
            return sent, error
        state.mark_alerted(check, isbn)
        sent += 1
    return sent, None


def _alerts_for(
    context: dg.SensorEvaluationContext, state: AlertCursor, opened: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], Alert]:
    """Load and log each newly opened episode's alert (the log line is written whatever the webhook does)."""
    alerts = {}
    for check, isbn in opened:
        alert = load_alert(context.instance, check, isbn)
        if alert is None:
            state.close_episode(check, isbn)
            continue
        alerts[(check, isbn)] = alert
        context.log.warning(f"Drift alert: {alert_text(alert)}")
    return alerts


def build_drift_alert_sensor(
    checks: Sequence[str] = ALERT_CHECKS,
    retry: RetryPolicy | None = None,
    max_alerts_per_evaluation: int = 25,
    budget_seconds: float = 30.0,
    minimum_interval_seconds: int = 30,
) -> dg.SensorDefinition:
    """The `drift_alert_sensor`: alerts once per failed (check, ISBN) episode; requests no runs.

    `retry` bounds one POST; `budget_seconds` bounds all POSTs of one evaluation (Dagster's sensor timeout
    is 60 s). The webhook URL is read from `ARIMA_ALERT_WEBHOOK_URL` at each evaluation.
    """
    retry = retry or RetryPolicy()

    @dg.sensor(
        name=DRIFT_ALERT_SENSOR,
        minimum_interval_seconds=minimum_interval_seconds,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"Alerts once per ISBN and episode when {', '.join(checks)} fails: a line in this log and, "
        f"if {ALERT_WEBHOOK_ENV} is set, a Slack-compatible JSON POST.",
    )
    def drift_alert_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
        state = AlertCursor.parse(context.cursor)
        opened = _scan(context.instance, checks, state)
        alerts = _alerts_for(context, state, opened)
        url = webhook_url()
        if url is None:
            for check, isbn in state.pending_alerts():  # logged when opened: the log is the channel
                state.mark_alerted(check, isbn)
            message = f"{len(alerts)} new alert(s), logged only ({ALERT_WEBHOOK_ENV} is not set)"
            return dg.SensorResult(skip_reason=message if alerts else "no new failed checks", cursor=state.dumps())
        if not state.pending_alerts():
            return dg.SensorResult(skip_reason="no new failed checks", cursor=state.dumps())
        sent, error = _deliver(context, url, state, alerts, retry, max_alerts_per_evaluation, budget_seconds)
        message = f"{sent} alert(s) posted to {describe_webhook(url)}"
        left = len(state.pending_alerts())
        if error:
            message += f"; webhook failed: {error}; {left} alert(s) pending, retried at the next evaluation"
        elif left:
            message += f"; {left} alert(s) pending for the next evaluation"
        (context.log.warning if error else context.log.info)(message)
        return dg.SensorResult(skip_reason=message, cursor=state.dumps())

    return drift_alert_sensor
