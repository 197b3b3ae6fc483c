"""Retrain before a known promotion or reissue: a release calendar as a custom trigger.

The calendar is a csv whose first line is the header ``isbn,date,event,lead_weeks``: ``isbn``, ``date``
(YYYY-MM-DD, or YYYY-MM-DDTHH:MM, in UTC) and optionally ``event`` (text shown in the reason) and ``lead_weeks``
(default 4). For each event the trigger fires from ``lead_weeks`` before its
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

__all__ = ["CALENDAR_HEADER", "CalendarEvent", "ReleaseCalendarTrigger", "check_calendar", "read_calendar"]

DEFAULT_LEAD_WEEKS = 4
CALENDAR_HEADER = "isbn,date,event,lead_weeks"
"""The header line a calendar csv starts with (``event`` and ``lead_weeks`` may be left out)."""


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
        header = [name.strip() for name in reader.fieldnames or []]
        reader.fieldnames = header
        missing = {"isbn", "date"} - set(header)
        if missing:
            first = ",".join(header)
            looks_like_data = bool(header) and header[0].replace("-", "").isdigit()
            raise ValueError(
                f"trigger calendar {path!r} must start with the header line {CALENDAR_HEADER!r} (event and "
                f"lead_weeks may be left out); its first line {first!r} "
                + (
                    "is a data row: add the header line above it"
                    if looks_like_data
                    else f"lacks the column(s) {sorted(missing)}"
                )
            )
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


def check_calendar(path: str | Path) -> None:
    """Read a configured calendar once when the settings are built, so a malformed file (no header line, a bad
    date) fails the command or the code location at load time, naming the file. A file that does not exist yet
    passes: it is read when it appears (the trigger reports it as unreadable until then).

    Raises:
        ValueError: the file exists but cannot be read or parsed (see :func:`read_calendar`).
    """
    if Path(path).exists():
        read_calendar(path)


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
