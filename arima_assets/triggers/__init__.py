"""Custom retraining triggers: small plug-ins the decision engine evaluates beside its own.

A trigger is any object with a ``name`` (str) that is called with a `TriggerContext` and returns a `Verdict`.
Register one by its import path in the ``custom_triggers`` setting (``ARIMA_CUSTOM_TRIGGERS``, comma-separated
``package.module:attribute``; the attribute is a trigger, or a class/factory called without arguments that
returns one). The shipped example, `ReleaseCalendarTrigger`, is switched on by ``trigger_calendar``
(``ARIMA_TRIGGER_CALENDAR``, a csv of known promotion or reissue dates).

Verdicts are shown in the model's metadata and reasons, in the ``custom_triggers`` check and in the report's
``retraining_stats``. A fired custom trigger retrains like an age trigger: the challenger must still beat the
champion on the holdout (it brings no evidence that the series changed). Triggers that need no series (the
calendar) are also evaluated by the automation's clock condition, so they fire on time without new data.
Plain Python: no Dagster, no MLflow.
"""

from __future__ import annotations

import functools
import importlib
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    import pandas as pd

    from arima_assets.decision import ModelRecord

__all__ = ["TriggerContext", "TriggerPlugin", "Verdict", "load_triggers", "parse_trigger_paths"]


@dataclass(frozen=True)
class TriggerContext:
    """What a trigger may look at. `record` and `series` are None where the caller does not have them (the
    automation's clock condition passes only the ISBN and the age clock)."""

    isbn: str
    now: datetime
    age_clock_start: datetime | None
    record: ModelRecord | None = None
    series: pd.Series | None = None


@dataclass(frozen=True)
class Verdict:
    """A trigger's answer: fired or not, why, and optionally the observed value beside its threshold."""

    fired: bool
    reason: str
    observed: float | None = None
    threshold: float | None = None


@runtime_checkable
class TriggerPlugin(Protocol):
    """A custom retraining trigger."""

    name: str

    def __call__(self, context: TriggerContext) -> Verdict: ...


def parse_trigger_paths(text: str) -> tuple[str, ...]:
    """The import paths in a comma-separated setting.

    Raises:
        ValueError: an entry is not of the form ``package.module:attribute``.
    """
    paths = tuple(part.strip() for part in text.split(",") if part.strip())
    for path in paths:
        module, _, attribute = path.partition(":")
        if not module or not attribute or not all(p.isidentifier() for p in (*module.split("."), attribute)):
            raise ValueError(f"custom trigger {path!r} is not of the form package.module:attribute")
    return paths


def _load_one(path: str) -> TriggerPlugin:
    module_name, _, attribute = path.partition(":")
    try:
        target: Any = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"custom trigger {path!r} cannot be loaded: {type(exc).__name__}: {exc}") from exc
    is_instance = isinstance(target, TriggerPlugin) and not isinstance(target, type)
    try:
        plugin = target if is_instance else target()  # a class or a factory is called without arguments
    except TypeError as exc:
        raise ValueError(f"custom trigger {path!r} cannot be built without arguments: {exc}") from exc
    if not isinstance(plugin, TriggerPlugin) or not isinstance(plugin.name, str) or not plugin.name:
        raise ValueError(f"custom trigger {path!r} is not a trigger (a callable with a non-empty `name`)")
    return plugin


@functools.cache
def load_triggers(custom_triggers: str = "", trigger_calendar: str = "") -> tuple[TriggerPlugin, ...]:
    """The configured triggers: those named in `custom_triggers`, then the release calendar if a path is set.

    Raises:
        ValueError: a path that cannot be loaded or is not a trigger; two triggers with one name.
    """
    from arima_assets.triggers.calendar import ReleaseCalendarTrigger

    plugins = [_load_one(path) for path in parse_trigger_paths(custom_triggers)]
    if trigger_calendar.strip():
        plugins.append(ReleaseCalendarTrigger(trigger_calendar.strip()))
    names = [p.name for p in plugins]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise ValueError(f"custom triggers share the name(s) {duplicated}; each needs its own")
    return tuple(plugins)
