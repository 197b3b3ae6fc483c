"""Checks and conversions of what callers hand to the registry: ISBNs, versions, MLflow keys, params,
metrics, tags and JSON payloads. Bad input raises ValueError naming what is wrong, before MLflow is called."""

from __future__ import annotations

import json
import numbers
import re
from collections.abc import Mapping
from typing import Any

__all__ = [
    "MAX_PAYLOAD_BYTES",
    "check_isbn",
    "check_key",
    "check_reason",
    "check_run_id",
    "check_version",
    "flatten",
    "metric_values",
    "param_values",
    "payload_json",
    "tag_values",
    "to_json",
]

MAX_PAYLOAD_BYTES = 64_000
"""Largest params-only JSON accepted; keeps a registered version (JSON + MLmodel + env files) under 100 KB."""
_ISBN_PATTERN = re.compile(r"[0-9A-Za-z][0-9A-Za-z_.\-]{0,99}")
_KEY_PATTERN = re.compile(r"[\w\-. /:]{1,250}")
_MAX_PARAM_VALUE = 6000
_MAX_TAG_VALUE = 8000


def check_isbn(isbn: str) -> str:
    if not isinstance(isbn, str) or not _ISBN_PATTERN.fullmatch(isbn):
        raise ValueError(f"isbn must be 1-100 letters, digits, '_', '.' or '-' (first a letter or digit), got {isbn!r}")
    return isbn


def check_version(version: int | str) -> int:
    if isinstance(version, bool):
        raise ValueError(f"version must be a positive integer, got {version!r}")
    if isinstance(version, str) and version.isdigit():
        version = int(version)
    if not isinstance(version, numbers.Integral) or version < 1:
        raise ValueError(f"version must be a positive integer, got {version!r}")
    return int(version)


def check_run_id(run_id: str, name: str = "run_id") -> str:
    if not isinstance(run_id, str) or not run_id.strip():
        raise ValueError(f"{name} must be a non-empty MLflow run id, got {run_id!r}")
    return run_id


def check_key(key: Any, where: str) -> str:
    if not isinstance(key, str) or not _KEY_PATTERN.fullmatch(key):
        raise ValueError(f"{where}: key {key!r} must be 1-250 characters among letters, digits and _-. /:")
    return key


def flatten(values: Mapping[str, Any], where: str, prefix: str = "") -> dict[str, Any]:
    """Nested mappings to dotted keys: ``{"spec": {"order": [1, 1, 0]}}`` -> ``{"spec.order": [1, 1, 0]}``."""
    if not isinstance(values, Mapping):
        raise ValueError(f"{where} must be a mapping of names to values, got {type(values).__name__}")
    flat: dict[str, Any] = {}
    for key, value in values.items():
        full = check_key(f"{prefix}{key}" if isinstance(key, str) else key, where)
        if isinstance(value, Mapping):
            flat.update(flatten(value, where, prefix=f"{full}."))
        else:
            flat[full] = value
    return flat


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list | tuple):
        return "; ".join(_text(v) for v in value)
    return json.dumps(value, default=str) if isinstance(value, Mapping) else str(value)


def param_values(params: Mapping[str, Any]) -> dict[str, str]:
    """Params as MLflow text (nested dicts as dotted keys, lists as JSON)."""
    out: dict[str, str] = {}
    for key, value in flatten(params, "params").items():
        text = json.dumps(value) if isinstance(value, list | tuple) else str(value)
        if len(text) > _MAX_PARAM_VALUE:
            raise ValueError(f"params: value of {key!r} has {len(text)} characters, MLflow allows {_MAX_PARAM_VALUE}")
        out[key] = text
    return out


def metric_values(metrics: Mapping[str, Any], where: str = "metrics") -> dict[str, float]:
    """Metrics as floats; anything but a real number (None, text, bool) is refused."""
    out: dict[str, float] = {}
    for key, value in flatten(metrics, where).items():
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise ValueError(f"{where}: {key!r} must be a real number, got {value!r}")
        out[key] = float(value)
    return out


def tag_values(tags: Mapping[str, Any] | None, where: str = "tags") -> dict[str, str]:
    """Tag values as text; overlong values are cut (the full values live in JSON artifacts)."""
    if tags is None:
        return {}
    out: dict[str, str] = {}
    for key, value in flatten(tags, where).items():
        text = _text(value)
        out[key] = text if len(text) <= _MAX_TAG_VALUE else text[: _MAX_TAG_VALUE - 3] + "..."
    return out


def to_json(value: Any, where: str) -> str:
    """Strict JSON (sorted keys, no NaN) of a dict."""
    if not isinstance(value, Mapping):
        raise ValueError(f"{where} must be a JSON-serialisable dict, got {type(value).__name__}")
    try:
        return json.dumps(value, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where} is not JSON-serialisable (finite numbers, strings, lists, dicts): {exc}") from exc


def payload_json(payload: Mapping[str, Any]) -> str:
    """Strict JSON of a params-only model, at most MAX_PAYLOAD_BYTES."""
    text = to_json(payload, "payload")
    size = len(text.encode("utf-8"))
    if size > MAX_PAYLOAD_BYTES:
        raise ValueError(f"payload JSON is {size} bytes, the limit is {MAX_PAYLOAD_BYTES} (a params-only model is ~KB)")
    return text


def check_reason(reason: str) -> str:
    """A non-empty promotion reason, cut to the MLflow tag length."""
    if not isinstance(reason, str) or not reason.strip():
        raise ValueError(f"reason must be a non-empty string explaining the promotion decision, got {reason!r}")
    return reason if len(reason) <= _MAX_TAG_VALUE else reason[: _MAX_TAG_VALUE - 3] + "..."
