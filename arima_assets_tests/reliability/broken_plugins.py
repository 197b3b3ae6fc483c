"""Hostile custom triggers, loaded by import path in the silent-failure tests (not a test module)."""

from __future__ import annotations

import sys
import threading

import numpy as np

from arima_assets.triggers import TriggerContext, Verdict

#: Set by the tests to release the stalled trigger's thread once they are done.
RELEASE = threading.Event()


class Stalls:
    """Never answers (until the test releases it)."""

    name = "stalls"

    def __call__(self, context: TriggerContext) -> Verdict:
        RELEASE.wait(120)
        return Verdict(True, "answered far too late")


class Exits:
    """Calls sys.exit in the middle of a decision."""

    name = "exits"

    def __call__(self, context: TriggerContext) -> Verdict:
        sys.exit(3)


class Interrupts:
    """Raises KeyboardInterrupt itself (not a Ctrl-C of the caller)."""

    name = "interrupts"

    def __call__(self, context: TriggerContext) -> Verdict:
        raise KeyboardInterrupt("plug-in raised it")


def failing_factory() -> Verdict:
    """A factory that raises when called."""
    raise RuntimeError("factory is broken")


class _Answers:
    def __init__(self, name: str, verdict: object):
        self.name = name
        self.verdict = verdict

    def __call__(self, context: TriggerContext) -> object:
        return self.verdict


def text_false() -> _Answers:
    """fired='false': text, which bool() would read as True."""
    return _Answers("text_false", Verdict("false", "text instead of a bool"))  # type: ignore[arg-type]


def nan_fired() -> _Answers:
    """fired=NaN, also truthy."""
    return _Answers("nan_fired", Verdict(float("nan"), "NaN instead of a bool"))  # type: ignore[arg-type]


def text_observed() -> _Answers:
    """observed='high': not a number."""
    return _Answers("text_observed", Verdict(False, "observed is text", "high", 2.0))  # type: ignore[arg-type]


def infinite_threshold() -> _Answers:
    """threshold=inf."""
    return _Answers("infinite_threshold", Verdict(False, "threshold is infinite", 1.0, float("inf")))


def not_a_verdict() -> _Answers:
    """Returns a plain string."""
    return _Answers("not_a_verdict", "yes, retrain")


def numpy_verdict() -> _Answers:
    """numpy bool and numpy floats: a valid verdict."""
    return _Answers("numpy_verdict", Verdict(np.bool_(False), "numpy values", np.float64(1.5), np.int64(2)))  # type: ignore[arg-type]
