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

Plug-ins run isolated (`load_trigger_set`, `evaluate_trigger`): each import, factory call and trigger call runs
on a daemon thread with a time limit (``trigger_timeout_seconds``, default 5 s); every exception it raises,
``SystemExit`` and ``KeyboardInterrupt`` included, is caught; a verdict is validated (``fired`` a bool,
``observed`` and ``threshold`` finite numbers or None). A plug-in that fails is reported by name and never
fires; the other triggers are evaluated as usual. Plain Python: no Dagster, no MLflow.
"""

from __future__ import annotations

import functools
import importlib
import math
import numbers
import os
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

    from arima_assets.decision import ModelRecord

__all__ = [
    "DEFAULT_TRIGGER_TIMEOUT_SECONDS",
    "PluginFailure",
    "TriggerContext",
    "TriggerPlugin",
    "TriggerSet",
    "Verdict",
    "evaluate_trigger",
    "load_trigger_set",
    "load_triggers",
    "parse_trigger_paths",
    "validate_verdict",
]

DEFAULT_TRIGGER_TIMEOUT_SECONDS = 5.0
"""Seconds a plug-in may take to load (import + factory) or to answer one call before it counts as failed."""


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


class PluginFailure(Exception):
    """A plug-in failed to load or to answer: it raised, timed out, or returned an invalid verdict."""


def parse_trigger_paths(text: str) -> tuple[str, ...]:
    """The import paths in a comma-separated setting.

    Raises:
        ValueError: an entry is not of the form ``package.module:attribute``.
    """
    paths = tuple(part.strip() for part in text.split(",") if part.strip())
    for path in paths:
        _check_path(path)
    return paths


def _check_path(path: str) -> None:
    module, _, attribute = path.partition(":")
    if not module or not attribute or not all(p.isidentifier() for p in (*module.split("."), attribute)):
        raise ValueError(f"custom trigger {path!r} is not of the form package.module:attribute")


def _described(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


@dataclass
class _Call:
    """One plug-in call handed to a worker, and its outcome."""

    run: Callable[[], Any]
    done: threading.Event = field(default_factory=threading.Event)
    value: Any = None
    error: BaseException | None = None


class _Worker:
    """A daemon thread that runs one plug-in's calls, one at a time (a thread per call cost ~0.1 ms a call)."""

    def __init__(self, label: str) -> None:
        self._calls: queue.SimpleQueue[_Call] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._late: _Call | None = None  # a call that outlived its limit and has not returned yet
        threading.Thread(target=self._serve, name=f"arima-trigger {label}", daemon=True).start()

    def _serve(self) -> None:
        while True:
            call = self._calls.get()
            try:
                call.value = call.run()
            except BaseException as exc:  # noqa: BLE001 - a plug-in's sys.exit or raise must not end the caller
                call.error = exc
            finally:
                call.done.set()

    def call(self, run: Callable[[], Any], timeout_seconds: float) -> Any:
        """`run()` on this worker, waiting at most `timeout_seconds` (PluginFailure on any failure)."""
        with self._lock:
            if self._late is not None and not self._late.done.is_set():
                limit = f"{timeout_seconds:g} s limit"
                raise PluginFailure(f"an earlier call is still running past the {limit}; not called")
            self._late = None
            call = _Call(run)
            self._calls.put(call)
        if not call.done.wait(timeout_seconds):  # a real Ctrl-C of the caller interrupts this wait and propagates
            with self._lock:
                self._late = call
            limit = f"{timeout_seconds:g} s limit"
            raise PluginFailure(f"no answer within the {limit} (trigger_timeout_seconds); abandoned")
        if call.error is not None:
            raise PluginFailure(_described(call.error)) from call.error
        return call.value


#: One worker per plug-in (and per entry being loaded), created on first use; a hung plug-in holds its worker only.
_WORKERS: dict[object, _Worker] = {}
_WORKERS_LOCK = threading.Lock()
os.register_at_fork(after_in_child=_WORKERS.clear)  # a forked child has none of the parent's threads


def _run_limited(key: object, label: str, call: Callable[[], Any], timeout_seconds: float) -> Any:
    """`call()` on the worker of `key`, waiting at most `timeout_seconds`.

    Raises:
        PluginFailure: the call raised (any BaseException: SystemExit and KeyboardInterrupt included), did not
            return in time, or an earlier call of the same plug-in is still running.
    """
    with _WORKERS_LOCK:
        worker = _WORKERS.get(key)
        if worker is None:
            worker = _WORKERS[key] = _Worker(label)
    return worker.call(call, timeout_seconds)


def _number_or_none(value: object, field_name: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        raise PluginFailure(f"invalid verdict: {field_name}={value!r} ({type(value).__name__}) is not a number or None")
    number = float(value)
    if not math.isfinite(number):
        raise PluginFailure(f"invalid verdict: {field_name}={value!r} is not a finite number")
    return number


def validate_verdict(answer: object) -> Verdict:
    """`answer` as a clean Verdict: ``fired`` a bool (a numpy bool is accepted), ``reason`` text, ``observed`` and
    ``threshold`` finite numbers or None.

    Raises:
        PluginFailure: naming the field and the value (``fired='false'`` is text, not False; NaN is not a number).
    """
    missing = [name for name in ("fired", "reason") if not hasattr(answer, name)]
    if missing:
        raise PluginFailure(f"invalid verdict: returned {type(answer).__name__} {answer!r:.80}, not a Verdict")
    fired = answer.fired  # type: ignore[attr-defined]
    if not isinstance(fired, bool | np.bool_):
        raise PluginFailure(f"invalid verdict: fired={fired!r} ({type(fired).__name__}) is not a bool (True/False)")
    reason = answer.reason  # type: ignore[attr-defined]
    if not isinstance(reason, str):
        raise PluginFailure(f"invalid verdict: reason={reason!r:.80} ({type(reason).__name__}) is not text")
    observed = _number_or_none(getattr(answer, "observed", None), "observed")
    threshold = _number_or_none(getattr(answer, "threshold", None), "threshold")
    return Verdict(bool(fired), reason, observed, threshold)


def evaluate_trigger(plugin: TriggerPlugin, context: TriggerContext, timeout_seconds: float) -> Verdict:
    """One plug-in's validated verdict, the call isolated (own thread, time limit, every exception caught).

    Raises:
        PluginFailure: the plug-in raised, did not answer within `timeout_seconds`, or returned an invalid verdict.
    """
    return validate_verdict(_run_limited(("call", id(plugin)), plugin.name, lambda: plugin(context), timeout_seconds))


class _LoadError(ValueError):
    """A custom-trigger entry that cannot be loaded; the message names the entry and the stage that failed."""


def _load_one(path: str) -> TriggerPlugin:
    """The trigger an entry names (runs on the loading thread: every exception becomes a `_LoadError`)."""
    module_name, _, attribute = path.partition(":")
    try:
        module = importlib.import_module(module_name)
    except BaseException as exc:  # noqa: BLE001 - SystemExit on import is a broken plug-in, not a shutdown
        raise _LoadError(f"custom trigger {path!r} cannot be loaded: importing it raised {_described(exc)}") from exc
    try:
        target: Any = getattr(module, attribute)
    except AttributeError as exc:
        raise _LoadError(f"custom trigger {path!r} cannot be loaded: {_described(exc)}") from exc
    is_instance = isinstance(target, TriggerPlugin) and not isinstance(target, type)
    try:
        plugin = target if is_instance else target()  # a class or a factory is called without arguments
    except TypeError as exc:
        raise _LoadError(f"custom trigger {path!r} cannot be built without arguments: {exc}") from exc
    except BaseException as exc:  # noqa: BLE001
        raise _LoadError(f"custom trigger {path!r} cannot be built: calling it raised {_described(exc)}") from exc
    try:
        name = plugin.name
    except BaseException as exc:  # noqa: BLE001
        raise _LoadError(f"custom trigger {path!r} has no readable name: {_described(exc)}") from exc
    if not isinstance(plugin, TriggerPlugin) or not isinstance(name, str) or not name:
        raise _LoadError(f"custom trigger {path!r} is not a trigger (a callable with a non-empty `name`)")
    return plugin


@dataclass(frozen=True)
class TriggerSet:
    """The triggers that loaded, and the entries that did not: (entry, why), each reported, never fired."""

    plugins: tuple[TriggerPlugin, ...]
    failures: tuple[tuple[str, str], ...] = ()


@functools.cache
def load_trigger_set(
    custom_triggers: str = "", trigger_calendar: str = "", timeout_seconds: float = DEFAULT_TRIGGER_TIMEOUT_SECONDS
) -> TriggerSet:
    """The configured triggers, each entry loaded on its own: a bad entry (not importable, a module that raises or
    exits on import, a factory that raises, not a trigger, a repeated name, slower than `timeout_seconds`) is a
    named failure, and the other entries and the release calendar still load. Cached per process."""
    from arima_assets.triggers.calendar import ReleaseCalendarTrigger

    plugins: list[TriggerPlugin] = []
    failures: list[tuple[str, str]] = []
    for path in (part.strip() for part in custom_triggers.split(",") if part.strip()):
        try:
            _check_path(path)
            plugin: TriggerPlugin = _run_limited(("load", path), path, lambda p=path: _load_one(p), timeout_seconds)
        except PluginFailure as exc:
            cause = exc.__cause__
            failures.append((path, str(cause) if isinstance(cause, _LoadError) else f"custom trigger {path!r}: {exc}"))
            continue
        except ValueError as exc:
            failures.append((path, str(exc)))
            continue
        same = next((p for p in plugins if p.name == plugin.name), None)
        if same is not None:
            failures.append((path, f"custom trigger {path!r} has the name {plugin.name!r} of an earlier trigger"))
            continue
        plugins.append(plugin)
    if trigger_calendar.strip():
        calendar = ReleaseCalendarTrigger(trigger_calendar.strip())
        if any(p.name == calendar.name for p in plugins):
            failures.append((calendar.name, f"a custom trigger took the name {calendar.name!r}; calendar not loaded"))
        else:
            plugins.append(calendar)
    return TriggerSet(tuple(plugins), tuple(failures))


def load_triggers(custom_triggers: str = "", trigger_calendar: str = "") -> tuple[TriggerPlugin, ...]:
    """The configured triggers, strictly: what `load_trigger_set` loads, or an error naming every bad entry.

    Raises:
        ValueError: a path that cannot be loaded or is not a trigger; two triggers with one name.
    """
    loaded = load_trigger_set(custom_triggers, trigger_calendar)
    if loaded.failures:
        raise ValueError("; ".join(reason for _, reason in loaded.failures))
    return loaded.plugins
