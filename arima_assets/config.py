"""Typed configuration: presets per deployment, overridden by environment variables and explicit arguments.

Precedence, highest first: explicit argument to :func:`get_arima_config` > environment variable
(``ARIMA_<FIELD>``) > preset of the environment (``DEPLOYMENT_ENV``) > field default.

Plain Python: the Dagster resource that carries these settings lives in `arima_assets.defs.resources`.
"""

from __future__ import annotations

import atexit
import functools
import math
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from arima_assets.data import ABSENT_WEEKS
from arima_assets.environment import ENVIRONMENTS, get_environment, redact_uri, state_dir
from arima_assets.forecasting import DEFAULT_DRIFT_THRESHOLD, SEARCH_SPACES
from arima_assets.triggers import DEFAULT_TRIGGER_TIMEOUT_SECONDS, parse_trigger_paths
from arima_assets.triggers.calendar import check_calendar

__all__ = [
    "MAX_SEED",
    "redact_uri",
    "ArimaConfig",
    "PRESETS",
    "ENV_VARS",
    "get_arima_config",
    "default_tracking_uri",
    "config_table",
]


#: Largest seed numpy and Optuna's samplers accept.
MAX_SEED = 2**32 - 1


class ArimaConfig(BaseModel):
    """Settings for tuning, retraining triggers, forecasting and storage (frozen: derive a new one to change it)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    environment: str = "development"
    # tuning
    n_trials: int = 20
    patience: int = 8
    min_improvement: float = 0.005
    time_budget_seconds: float | None = 60.0
    cv_folds: int = 3
    max_train_weeks: int = 520
    search_space: str = "default"
    seed: int = 42
    # retraining triggers
    max_model_age_days: float = 90.0
    performance_threshold: float = 0.25
    drift_threshold: float = DEFAULT_DRIFT_THRESHOLD
    min_evidence_weeks: int = 8
    cooldown_weeks: int = 13
    change_trials: int = 6
    dm_alpha: float = 0.05
    force_retrain: bool = False
    automation_interval_seconds: int = 30
    batch_size: int = 100
    custom_triggers: str = ""
    trigger_calendar: str = ""
    trigger_timeout_seconds: float = DEFAULT_TRIGGER_TIMEOUT_SECONDS
    # forecasting
    forecast_horizon: int = 13
    holdout_weeks: int = 13
    # ingest
    absent_weeks: str = "zero"
    max_weekly_volume: float = 10_000_000.0
    # storage
    sales_path: str = ""
    state_dir: str = ""
    mlflow_tracking_uri: str = ""
    mlflow_ui_url: str = ""

    def as_dict(self) -> dict[str, Any]:
        """All settings as a plain dict, secrets included (to rebuild a configuration; never persist it)."""
        return {name: getattr(self, name) for name in type(self).model_fields}

    def public_dict(self) -> dict[str, Any]:
        """All settings with credentials in URIs redacted: what reports, metadata and MLflow params show."""
        return {name: redact_uri(value) if isinstance(value, str) else value for name, value in self.as_dict().items()}

    def with_overrides(self, values: Mapping[str, Any], source: str = "") -> ArimaConfig:
        """A copy with `values` parsed and validated like :func:`get_arima_config`'s arguments.

        Args:
            values: field values; text is parsed as from an environment variable.
            source: prefix of the name an error shows for a field (e.g. the run-config path).

        Raises:
            ValueError: an unknown field or an invalid value, naming `source` + field and what is allowed.
        """
        _check_known(values)
        parsed = {name: _parse(name, raw, f"{source}{name}") for name, raw in values.items()}
        return self.model_copy(update=parsed)


@dataclass(frozen=True)
class _Rule:
    """How a field is parsed from text and which values are allowed."""

    kind: type
    allowed: str
    check: Any  # callable(value) -> bool


def _positive(v: float) -> bool:
    return v > 0


def _non_negative(v: float) -> bool:
    return v >= 0


def _trigger_paths_ok(text: str) -> bool:
    parse_trigger_paths(text)  # raises ValueError naming the bad entry
    return True


class _Detail(ValueError):
    """A check's own explanation of a bad value, appended to the message of :func:`_parse`."""


def _calendar_ok(path: str) -> bool:
    if path.strip():
        try:
            check_calendar(path.strip())  # an existing file must parse; a missing one is read when it appears
        except ValueError as exc:
            raise _Detail(str(exc)) from exc
    return True


_RULES: dict[str, _Rule] = {
    "n_trials": _Rule(int, "an integer >= 1", lambda v: v >= 1),
    "patience": _Rule(int, "an integer >= 1", lambda v: v >= 1),
    "min_improvement": _Rule(float, "a number >= 0", _non_negative),
    "time_budget_seconds": _Rule(float, "a number > 0, or 'none' for no budget", lambda v: v is None or v > 0),
    "cv_folds": _Rule(int, "an integer >= 1", lambda v: v >= 1),
    "max_train_weeks": _Rule(int, "an integer >= 104", lambda v: v >= 104),
    "search_space": _Rule(str, f"one of: {', '.join(SEARCH_SPACES)}", lambda v: v in SEARCH_SPACES),
    "seed": _Rule(int, f"an integer between 0 and {MAX_SEED}", lambda v: 0 <= v <= MAX_SEED),
    "max_model_age_days": _Rule(float, "a number of days > 0", _positive),
    "performance_threshold": _Rule(float, "a relative number > 0 (0.25 = 25 % worse)", _positive),
    "drift_threshold": _Rule(float, "a number > 0 (in standard errors; 4 = about 4 sigma)", _positive),
    "min_evidence_weeks": _Rule(int, "an integer >= 1", lambda v: v >= 1),
    "cooldown_weeks": _Rule(int, "an integer >= 0 (weeks)", _non_negative),
    "change_trials": _Rule(int, "an integer >= 1 (trials of a retrain after a detected change)", lambda v: v >= 1),
    "dm_alpha": _Rule(float, "a number strictly between 0 and 1", lambda v: 0 < v < 1),
    "automation_interval_seconds": _Rule(
        int, "an integer >= 5 (seconds between two automation ticks)", lambda v: v >= 5
    ),
    "batch_size": _Rule(
        int, "an integer between 1 and 10000 (ISBN partitions at most per Dagster run)", lambda v: 1 <= v <= 10_000
    ),
    "custom_triggers": _Rule(
        str, "comma-separated import paths package.module:attribute of custom triggers", _trigger_paths_ok
    ),
    "trigger_calendar": _Rule(
        str, "a csv with the header line isbn,date,event,lead_weeks and a row per event, or empty", _calendar_ok
    ),
    "trigger_timeout_seconds": _Rule(
        float,
        "a number of seconds > 0 (a custom trigger slower than this to load or answer counts as failed)",
        lambda v: 0 < v < math.inf,
    ),
    "force_retrain": _Rule(bool, "true/false, 1/0, yes/no, on/off", lambda v: isinstance(v, bool)),
    "forecast_horizon": _Rule(int, "an integer between 1 and 104", lambda v: 1 <= v <= 104),
    "holdout_weeks": _Rule(int, "an integer between 1 and 104", lambda v: 1 <= v <= 104),
    "absent_weeks": _Rule(
        str,
        "'zero' (absent from a full weekly export = 0 sales, up to the end of the title's file) or 'unknown' "
        "(a title's series ends at its own last reported week)",
        lambda v: v in ABSENT_WEEKS,
    ),
    "max_weekly_volume": _Rule(float, "a number of units > 0 (larger weekly volumes are reported)", _positive),
    "sales_path": _Rule(str, "a path to a csv/xlsx file or a folder", lambda v: True),
    "state_dir": _Rule(str, "a folder path", lambda v: True),
    "mlflow_tracking_uri": _Rule(str, "an MLflow tracking URI", lambda v: True),
    "mlflow_ui_url": _Rule(
        str,
        "the http(s) URL of the MLflow UI the Dagster metadata links to, or empty (an http(s) tracking server "
        "itself, else `mlflow ui`'s http://127.0.0.1:5000)",
        lambda v: v == "" or v.startswith(("http://", "https://")),
    ),
}

#: Environment variable for each field.
ENV_VARS: dict[str, str] = {name: f"ARIMA_{name.upper()}" for name in _RULES}

PRESETS: dict[str, dict[str, Any]] = {
    "development": {
        "n_trials": 12,
        "patience": 5,
        "time_budget_seconds": 20.0,
        "max_model_age_days": 90.0,
        # a laptop with a few hundred ISBNs: a tick costs well under a second, so new sales are picked up fast
        "automation_interval_seconds": 10,
    },
    "testing": {
        "n_trials": 3,
        "patience": 2,
        "time_budget_seconds": 10.0,
        "cv_folds": 2,
        "max_train_weeks": 260,
        "search_space": "arima",
        "max_model_age_days": 30.0,
        "automation_interval_seconds": 10,
    },
    "production": {
        "n_trials": 25,
        "patience": 8,
        "time_budget_seconds": 60.0,
        "max_model_age_days": 182.0,
    },
}

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _parse(name: str, raw: Any, source: str) -> Any:
    """Convert `raw` (text from the environment, or a Python value) to the field's type and validate it."""
    rule = _RULES[name]
    value: Any = raw
    try:
        if isinstance(raw, str):
            text = raw.strip()
            if rule.kind is bool:
                if text.lower() not in _TRUE | _FALSE:
                    raise ValueError
                value = text.lower() in _TRUE
            elif name == "time_budget_seconds" and text.lower() in {"", "none", "off"}:
                value = None
            elif rule.kind in (int, float):
                value = rule.kind(text)
            else:
                value = text
        elif rule.kind is float and isinstance(raw, int) and not isinstance(raw, bool):
            value = float(raw)
        elif rule.kind is int and (isinstance(raw, bool) or not isinstance(raw, int)):
            raise ValueError
        elif rule.kind is bool and not isinstance(raw, bool):
            raise ValueError
        ok, detail = rule.check(value), ""
    except _Detail as exc:
        ok, detail = False, f": {exc}"
    except (TypeError, ValueError):
        ok, detail = False, ""
    if not ok:
        raise ValueError(f"{source}={raw!r} is invalid for {name}: expected {rule.allowed}{detail}")
    return value


def _check_known(values: Mapping[str, Any]) -> None:
    unknown = sorted(set(values) - set(_RULES))
    if unknown:
        raise ValueError(f"unknown config field(s) {unknown}; allowed: {', '.join(sorted(_RULES))}")


def get_arima_config(environment: str | None = None, **overrides: Any) -> ArimaConfig:
    """Build the configuration for an environment.

    Args:
        environment: development, testing or production; default `DEPLOYMENT_ENV`, else development.
        **overrides: field values that win over environment variables and the preset.

    Raises:
        ValueError: an unknown field, environment, or an invalid value; the message names the variable
            (or argument) and what is allowed.
    """
    env = get_environment(environment)
    _check_known(overrides)
    values: dict[str, Any] = {"environment": env}
    for name in _RULES:
        if name in overrides and overrides[name] is not None:
            values[name] = _parse(name, overrides[name], name)
        elif os.environ.get(ENV_VARS[name]) is not None:
            values[name] = _parse(name, os.environ[ENV_VARS[name]], ENV_VARS[name])
        elif name in PRESETS[env]:
            values[name] = PRESETS[env][name]
    if not values.get("state_dir"):
        values["state_dir"] = str(state_dir())
    if not values.get("sales_path"):
        from arima_assets.data.sample import SAMPLE_PATH

        values["sales_path"] = str(SAMPLE_PATH)
    if not values.get("mlflow_tracking_uri"):
        values["mlflow_tracking_uri"] = default_tracking_uri(env, Path(values["state_dir"]))
    return ArimaConfig(**values)


def default_tracking_uri(env: str, folder: Path) -> str:
    """development: sqlite under the state folder; testing: sqlite in a temporary folder (one per process);
    production: `MLFLOW_TRACKING_URI` (required)."""
    if env == "production":
        uri = os.environ.get("MLFLOW_TRACKING_URI", "").strip()
        if not uri:
            raise ValueError(
                "production needs MLFLOW_TRACKING_URI (or ARIMA_MLFLOW_TRACKING_URI) set to the MLflow server"
            )
        return uri
    if env == "testing":
        return f"sqlite:///{_testing_mlflow_dir() / 'mlflow.db'}"
    return f"sqlite:///{folder / 'mlflow' / 'mlflow.db'}"


@functools.cache
def _testing_mlflow_dir() -> Path:
    """This process's throw-away MLflow folder, removed when the process exits."""
    folder = Path(tempfile.mkdtemp(prefix="arima-assets-mlflow-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def config_table(presets: Mapping[str, Mapping[str, Any]] = PRESETS) -> str:
    """Markdown table of every field: environment variable, default and preset values (for the README)."""
    defaults = {name: field.default for name, field in ArimaConfig.model_fields.items()}
    head = "| field | environment variable | allowed | " + " | ".join(ENVIRONMENTS) + " |"
    rows = [head, "|" + "---|" * (3 + len(ENVIRONMENTS))]
    for name, rule in _RULES.items():
        cells = [str(presets[env].get(name, defaults[name])) or "(derived)" for env in ENVIRONMENTS]
        rows.append(f"| {name} | `{ENV_VARS[name]}` | {rule.allowed} | " + " | ".join(cells) + " |")
    return "\n".join(rows)
