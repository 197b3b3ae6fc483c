"""Drift alerts as Slack-compatible webhook messages: the payload, and a JSON POST with bounded retries.

Plain Python (no Dagster): `arima_assets.defs.alerts` decides when an alert is due. A failing webhook never
raises here; `post_json` returns a `Delivery` whose error text never contains the URL's credentials.
"""

from __future__ import annotations

import base64
import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from arima_assets.environment import redact_uri

__all__ = [
    "ALERT_WEBHOOK_ENV",
    "Alert",
    "Delivery",
    "RetryPolicy",
    "alert_payload",
    "alert_text",
    "describe_webhook",
    "post_json",
    "webhook_url",
]

ALERT_WEBHOOK_ENV = "ARIMA_ALERT_WEBHOOK_URL"
_RETRYABLE_STATUS = {408, 425, 429, 500, 502, 503, 504}


@dataclass(frozen=True)
class Alert:
    """One failed check evaluation of one ISBN: the start of an alert episode."""

    isbn: str
    check: str
    reason: str
    observed: float | None = None
    threshold: float | None = None
    run_id: str | None = None
    evaluated_at: float | None = None  # POSIX timestamp of the check evaluation
    asset: str = "arima_model"


@dataclass(frozen=True)
class RetryPolicy:
    """How hard one alert is pushed in one sensor evaluation: `attempts` POSTs of at most `timeout_seconds`
    each, waiting `backoff_seconds`, then twice as long, ... between them, all within `max_total_seconds`."""

    attempts: int = 3
    timeout_seconds: float = 5.0
    backoff_seconds: float = 1.0
    max_total_seconds: float = 20.0


@dataclass(frozen=True)
class Delivery:
    """Outcome of `post_json`: `ok` on a 2xx answer; `error` is safe to log."""

    ok: bool
    attempts: int
    status: int | None = None
    error: str | None = None


def _number(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4g}"


def alert_text(alert: Alert) -> str:
    """The one-line message: what failed, why, observed vs threshold, and the run."""
    text = f"ISBN {alert.isbn}: check {alert.check} failed: {alert.reason}"
    if alert.observed is not None or alert.threshold is not None:
        text += f" (observed {_number(alert.observed)}, threshold {_number(alert.threshold)})"
    if alert.run_id:
        text += f" [run {alert.run_id[:8]}]"
    return text


def alert_payload(alert: Alert) -> dict[str, object]:
    """Slack-compatible body: `text` for incoming webhooks, and the structured fields beside it."""
    evaluated_at = (
        datetime.fromtimestamp(alert.evaluated_at, UTC).isoformat(timespec="seconds") if alert.evaluated_at else None
    )
    return {
        "text": f":warning: arima_assets drift alert. {alert_text(alert)}",
        "asset": alert.asset,
        "isbn": alert.isbn,
        "check": alert.check,
        "passed": False,
        "observed": alert.observed,
        "threshold": alert.threshold,
        "reason": alert.reason,
        "run_id": alert.run_id,
        "evaluated_at": evaluated_at,
    }


def webhook_url(environ: Mapping[str, str] | None = None) -> str | None:
    """`ARIMA_ALERT_WEBHOOK_URL`, read now (not at import); None when unset or blank."""
    value = (os.environ if environ is None else environ).get(ALERT_WEBHOOK_ENV, "").strip()
    return value or None


def describe_webhook(url: str) -> str:
    """A loggable name for the webhook: scheme, host and port only (the path of a Slack webhook is its
    secret), with any ``user:pass@`` replaced by ``***``."""
    parts = urllib.parse.urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return "<invalid webhook URL>"
    return redact_uri(f"{parts.scheme}://{parts.netloc}") + ("/…" if parts.path.strip("/") or parts.query else "")


def _scrub(text: str, url: str) -> str:
    """`text` with the webhook URL and each of its secret-bearing parts replaced by ***."""
    parts = urllib.parse.urlsplit(url)
    secrets = [url, parts.path, parts.query, parts.password, parts.username]
    for secret in sorted((s for s in secrets if s and len(s) > 1), key=len, reverse=True):
        text = text.replace(secret, "***")
    return redact_uri(text)


def _request(url: str, payload: Mapping[str, object]) -> urllib.request.Request:
    """A POST request; ``user:pass@`` in the URL becomes a basic Authorization header (urllib ignores it)."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValueError("webhook URL must be http(s)://host/...")
    headers = {"Content-Type": "application/json", "User-Agent": "arima-assets-alerts"}
    if parts.username is not None:
        userinfo = f"{urllib.parse.unquote(parts.username)}:{urllib.parse.unquote(parts.password or '')}"
        headers["Authorization"] = "Basic " + base64.b64encode(userinfo.encode()).decode()
        parts = parts._replace(netloc=parts.netloc.rpartition("@")[2])
    body = json.dumps(payload).encode()
    return urllib.request.Request(urllib.parse.urlunsplit(parts), data=body, headers=headers, method="POST")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is an error: it would resend the body (and the Authorization header) elsewhere."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: ANN001, ANN201
        return None


_OPENER = urllib.request.build_opener(_NoRedirect())


def _attempt(request: urllib.request.Request, timeout: float) -> tuple[int | None, str | None, bool]:
    """One POST: (status, error, retryable)."""
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            response.read(65536)
            return response.status, None, False
    except urllib.error.HTTPError as exc:
        return exc.code, f"HTTP {exc.code}", exc.code in _RETRYABLE_STATUS
    except (urllib.error.URLError, OSError) as exc:  # refused, DNS, timeout (TimeoutError is an OSError)
        reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        return None, f"{type(reason).__name__}: {reason}", True


def post_json(
    url: str,
    payload: Mapping[str, object],
    policy: RetryPolicy = RetryPolicy(),
    deadline: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Delivery:
    """POST `payload` as JSON to `url`, retrying connection errors, timeouts, 408/425/429 and 5xx with
    exponential backoff, within `policy` and before the `time.monotonic()` `deadline`. Never raises."""
    start = time.monotonic()
    limit = start + policy.max_total_seconds
    limit = min(limit, deadline) if deadline is not None else limit
    try:
        request = _request(url, payload)
    except ValueError as exc:
        return Delivery(ok=False, attempts=0, error=_scrub(str(exc), url))
    attempts, status, error = 0, None, None
    wait = policy.backoff_seconds
    while attempts < max(1, policy.attempts):
        remaining = limit - time.monotonic()
        if remaining <= 0:
            error = (error + "; " if error else "") + "time budget exhausted"
            break
        attempts += 1
        try:
            status, error, retryable = _attempt(request, timeout=min(policy.timeout_seconds, remaining))
        except Exception as exc:  # an alert must never break the caller
            status, error, retryable = None, f"{type(exc).__name__}: {exc}", True
        if error is None and status is not None and 200 <= status < 300:
            return Delivery(ok=True, attempts=attempts, status=status)
        if not retryable or attempts >= policy.attempts or time.monotonic() + wait >= limit:
            break
        sleep(wait)
        wait *= 2
    return Delivery(ok=False, attempts=attempts, status=status, error=_scrub(error or f"HTTP {status}", url))
