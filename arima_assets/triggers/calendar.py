"""Retrain before a known promotion or reissue: a release calendar as a custom trigger.

The calendar is a csv with the columns ``isbn``, ``date`` (YYYY-MM-DD) and optionally ``event`` (text shown in
the reason) and ``lead_weeks`` (default 4). For each event the trigger fires from ``lead_weeks`` before its
date until the date, unless the champion was trained or confirmed inside that window already: the title enters
the event with a model fitted on its latest weeks, once per event. The file is re-read when it changes.
"""

from __future__ import annotations

import csv
import functools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from arima_assets.triggers import TriggerContext, Verdict

__all__ = ["CalendarEvent", "ReleaseCalendarTrigger", "read_calendar"]

DEFAULT_LEAD_WEEKS = 4


@dataclass(frozen=True)
class CalendarEvent:
    """One dated event of one ISBN."""

    isbn: str
    date: datetime
    event: str
    lead_weeks: int

    @property
    def window_start(self) -> datetime:
        """When the trigger starts to fire for this event."""
        return self.date - timedelta(weeks=self.lead_weeks)


def read_calendar(path: str | Path) -> tuple[CalendarEvent, ...]:
    """The events of a calendar csv.

    Raises:
        ValueError: the file is missing or unreadable, a column is missing, or a row has a bad date or lead
            (the message names the file and row).
    """
    path = Path(path)
    try:
        return _read_calendar(str(path), path.stat().st_mtime_ns)
    except OSError as exc:
        raise ValueError(f"trigger calendar {str(path)!r} cannot be read: {exc.strerror or exc}") from exc


@functools.lru_cache(maxsize=8)
def _read_calendar(path: str, mtime_ns: int) -> tuple[CalendarEvent, ...]:
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = {"isbn", "date"} - set(reader.fieldnames or [])
        if missing:
            raise ValueError(f"trigger calendar {path!r} lacks the column(s) {sorted(missing)}")
        events = []
        for row_number, row in enumerate(reader, start=2):
            try:
                date = datetime.fromisoformat(row["date"].strip()).replace(tzinfo=UTC)
                lead = int(row.get("lead_weeks") or DEFAULT_LEAD_WEEKS)
                if lead < 0:
                    raise ValueError("lead_weeks must be >= 0")
            except (ValueError, AttributeError) as exc:
                raise ValueError(f"trigger calendar {path!r} row {row_number}: {exc}") from exc
            isbn = (row["isbn"] or "").strip()
            events.append(CalendarEvent(isbn, date, (row.get("event") or "event").strip() or "event", lead))
    return tuple(events)


class ReleaseCalendarTrigger:
    """Fires in the weeks before a listed event of the ISBN until its model is refitted or confirmed."""

    name = "release_calendar"

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"ReleaseCalendarTrigger({str(self.path)!r})"

    def __call__(self, context: TriggerContext) -> Verdict:
        """The verdict for one ISBN at `context.now` (reads the calendar; raises ValueError if it is bad)."""
        now = context.now if context.now.tzinfo else context.now.replace(tzinfo=UTC)
        upcoming = sorted(
            (e for e in read_calendar(self.path) if e.isbn == context.isbn and e.window_start <= now <= e.date),
            key=lambda e: e.date,
        )
        if not upcoming:
            return Verdict(False, "no listed event in the coming weeks")
        event = upcoming[0]
        days = (event.date - now).total_seconds() / 86400
        clock = context.age_clock_start
        if clock is not None and (clock if clock.tzinfo else clock.replace(tzinfo=UTC)) >= event.window_start:
            return Verdict(False, f"{event.event} on {event.date.date()}: model already refreshed for it", days)
        return Verdict(
            True,
            f"{event.event} on {event.date.date()} in {days:.0f} days: retrain before it",
            days,
            float(event.lead_weeks * 7),
        )
