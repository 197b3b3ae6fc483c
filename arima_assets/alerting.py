"""Drift alerts as Slack-compatible webhook messages: the payload, and a JSON POST with bounded retries.

Plain Python (no Dagster): `arima_assets.defs.alerts` decides when an alert is due. A failing webhook never
raises here; `post_json` returns a `Delivery` whose error text never contains the URL's credentials.

Once a POST is sent its answer is awaited for the policy's full `timeout_seconds` (a time budget only decides
whether an attempt starts, it never cuts one short), and a POST that got no answer in time is not repeated in the
same call: the webhook may have received it, and a second POST would deliver the alert twice. Each payload
carries an `alert_id` (also sent as the `Idempotency-Key` header), the same for every POST of one alert, so a
receiver can drop the rare repeat after such a timeout.
"""

from __future__ import annotations

import base64
import hashlib
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
    "alert_id",
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
    """How hard one alert is pushed in one sensor evaluation: up to `attempts` POSTs, each awaiting its answer for
    `timeout_seconds`, waiting `backoff_seconds`, then twice as long, ... between them; no attempt starts after
    `max_total_seconds` (an attempt under way is not cut short)."""

    attempts: int = 3
    timeout_seconds: float = 10.0
    backoff_seconds: float = 1.0
    max_total_seconds: float = 20.0


@dataclass(frozen=True)
class Delivery:
    """Outcome of `post_json`: `ok` on a 2xx answer; `error` is safe to log. `unconfirmed`: the last POST was sent
    but not answered in time, so the webhook may have received it."""

    ok: bool
    attempts: int
    status: int | None = None
    error: str | None = None
    unconfirmed: bool = False


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


def alert_id(alert: Alert) -> str:
    """A stable id of one alert (ISBN, check, run and evaluation time): the same for every POST of it."""
    key = f"{alert.asset}|{alert.check}|{alert.isbn}|{alert.run_id or ''}|{alert.evaluated_at or ''}"
    return hashlib.sha256(key.encode()).hexdigest()[:32]


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
        "alert_id": alert_id(alert),
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
    if isinstance(payload.get("alert_id"), str):
        headers["Idempotency-Key"] = str(payload["alert_id"])
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


@dataclass(frozen=True)
class _Answer:
    status: int | None
    error: str | None
    retryable: bool
    unconfirmed: bool = False  # sent, but no answer in time: the webhook may have it


def _attempt(request: urllib.request.Request, timeout: float) -> _Answer:
    """One POST."""
    try:
        response = _OPENER.open(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        return _Answer(exc.code, f"HTTP {exc.code}", exc.code in _RETRYABLE_STATUS)
    except urllib.error.URLError as exc:  # before the request was sent: refused, DNS, connect timeout
        return _Answer(None, f"{type(exc.reason).__name__}: {exc.reason}", True)
    except TimeoutError:  # sent (urllib wraps errors before that in URLError), no answer within the timeout
        return _Answer(None, f"no answer within {timeout:g} s after the alert was sent", False, unconfirmed=True)
    except OSError as exc:  # the connection dropped before an answer
        return _Answer(None, f"{type(exc).__name__}: {exc}", True)
    with response:
        try:
            response.read(65536)
        except OSError:
            pass  # the status is the answer; a slow or cut body does not undo a delivery
        return _Answer(response.status, None, False)


def post_json(
    url: str,
    payload: Mapping[str, object],
    policy: RetryPolicy = RetryPolicy(),
    deadline: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Delivery:
    """POST `payload` as JSON to `url`, retrying connection errors, 408/425/429 and 5xx with exponential backoff;
    no attempt starts after `policy.max_total_seconds` or the `time.monotonic()` `deadline`, and each sent POST
    awaits its answer for `policy.timeout_seconds`. A POST sent but not answered in time is not repeated
    (`Delivery.unconfirmed`). Never raises."""
    start = time.monotonic()
    limit = start + policy.max_total_seconds
    limit = min(limit, deadline) if deadline is not None else limit
    try:
        request = _request(url, payload)
    except ValueError as exc:
        return Delivery(ok=False, attempts=0, error=_scrub(str(exc), url))
    attempts, answer = 0, _Answer(None, None, False)
    wait = policy.backoff_seconds
    while attempts < max(1, policy.attempts):
        if time.monotonic() >= limit:
            error = (answer.error + "; " if answer.error else "") + "time budget exhausted"
            answer = _Answer(answer.status, error, False, answer.unconfirmed)
            break
        attempts += 1
        try:
            answer = _attempt(request, timeout=policy.timeout_seconds)
        except Exception as exc:  # an alert must never break the caller
            answer = _Answer(None, f"{type(exc).__name__}: {exc}", True)
        if answer.error is None and answer.status is not None and 200 <= answer.status < 300:
            return Delivery(ok=True, attempts=attempts, status=answer.status)
        if not answer.retryable or attempts >= policy.attempts or time.monotonic() + wait >= limit:
            break
        sleep(wait)
        wait *= 2
    error = answer.error or f"HTTP {answer.status}"
    return Delivery(
        ok=False, attempts=attempts, status=answer.status, error=_scrub(error, url), unconfirmed=answer.unconfirmed
    )
