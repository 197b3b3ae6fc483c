"""The retraining report: what the last model step did for each ISBN, summed up (plain Python)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from arima_assets.store import Outcome

__all__ = ["build_report"]


def build_report(outcomes: dict[str, Outcome], isbns: list[str], configuration: dict[str, Any]) -> dict[str, Any]:
    """Summarise outcomes by ISBN.

    Args:
        outcomes: the last outcome of each ISBN's model step (ISBNs without one count as not run).
        isbns: every ISBN in scope (the partition set, or the ISBNs a pipeline call selected).
        configuration: the settings used (reported as they are).

    Returns:
        total_books, successful_models (trained + kept + promoted + reused), reused_models, newly_trained_models
        (a fit was run: the challenger won, or lost and stays pending), failed_models, not_run, reuse_rate
        (reused / successful),
        configuration, retraining_stats (triggers fired, promotions, fit seconds spent and saved) and
        decisions (per ISBN: status, triggers, reasons, error).
    """
    in_scope = {isbn: outcomes[isbn] for isbn in isbns if isbn in outcomes}
    status = Counter(outcome.status for outcome in in_scope.values())
    trained = status["trained"] + status["kept"]
    reused = status["reused"]
    successful = trained + reused + status["promoted"]
    triggers: Counter[str] = Counter()
    for outcome in in_scope.values():
        triggers.update(outcome.decision.get("fired", []))
    decisions = {
        isbn: {
            "status": outcome.status,
            "triggers": outcome.decision.get("fired", []),
            "reasons": outcome.decision.get("reasons", []),
            "promotion": outcome.promotion,
            "fit_seconds": round(outcome.fit_seconds, 3),
            "error": outcome.error,
            "run_id": outcome.run_id,
        }
        for isbn, outcome in sorted(in_scope.items())
    }
    return {
        "total_books": len(isbns),
        "successful_models": successful,
        "reused_models": reused,
        "newly_trained_models": trained,
        "failed_models": status["failed"],
        "not_run": len(isbns) - len(in_scope),
        "reuse_rate": round(reused / successful, 4) if successful else 0.0,
        "configuration": configuration,
        "retraining_stats": {
            "triggers": dict(sorted(triggers.items())),
            "new_champions": status["trained"],
            "champion_kept": status["kept"],
            "pending_challengers_promoted": status["promoted"],
            "fit_seconds_spent": round(sum(o.fit_seconds for o in in_scope.values()), 3),
            "fit_seconds_saved": round(sum(o.fit_seconds_saved for o in in_scope.values()), 3),
        },
        "decisions": decisions,
    }
