"""The fault log for people: one entry per event, with what followed from it folded in.

One unplugged cable leaves five records (the fault, two stop requests, the stop's end, and the
unconfirmed STOP it caused); a person wants to read one event. Records that follow a fault or a
stop within FOLLOW_WINDOW_S and only report its stop, or the stop's unconfirmed end, are folded
into it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from massagectl.safety.fault_log import FaultRecord, LogEvent
from massagectl.safety.faults import FaultCause

# Everything a stop path does after one event (requests, escalation, the port closed) happens
# within its escalation timeouts, well under this.
FOLLOW_WINDOW_S = 5.0


@dataclass
class FaultEntry:
    first: FaultRecord
    followers: list[FaultRecord] = field(default_factory=list)

    @property
    def records(self) -> list[FaultRecord]:
        return [self.first, *self.followers]

    @property
    def latched(self) -> bool:
        return any(record.latched for record in self.records)

    def headline(self) -> str:
        first = self.first
        when = first.time[:19].replace("T", " ")
        if first.event == LogEvent.STOP:
            what = f"stop by {first.source}"
        elif first.event == LogEvent.CLEAR:
            what = f"cleared by {first.source}"
        else:
            what = f"{first.event} {first.cause} ({first.source})"
        return f"{when}  {what}" + ("  LATCHED" if self.latched else "")

    def details(self) -> list[str]:
        first = self.first
        if first.event == LogEvent.STOP:
            lines = [first.cause]
        elif first.event == LogEvent.CLEAR:
            lines = [first.action]
        else:
            lines = [first.outcome or first.action]
            if first.values:
                lines[0] += " (" + ", ".join(
                    f"{name} {value['value']} {value['unit']}"
                    for name, value in first.values.items()) + ")"
        stops = [r for r in self.records if r.event == LogEvent.STOP and r.outcome != "requested"]
        if stops:
            lines.append(f"stop: {stops[-1].action}; {stops[-1].outcome}")
        elif first.event != LogEvent.STOP and first.action and first.outcome:
            lines.append(first.action)
        also = [r.cause for r in self.followers if r.event == LogEvent.FAULT and r.latched]
        if also:
            lines.append(f"also latched: {', '.join(also)}")
        return [line for line in lines if line]


def _follows(entry: FaultEntry, record: FaultRecord) -> bool:
    if entry.first.event not in (LogEvent.FAULT, LogEvent.STOP):
        return False
    if record.host_s is None or entry.first.host_s is None:
        return False
    if not 0 <= record.host_s - entry.first.host_s <= FOLLOW_WINDOW_S:
        return False
    # host_s is one process's loop clock; the wall clock tells two processes apart.
    try:
        apart_s = (datetime.fromisoformat(record.time)
                   - datetime.fromisoformat(entry.first.time)).total_seconds()
    except ValueError:
        return False
    if not 0 <= apart_s <= FOLLOW_WINDOW_S:
        return False
    return record.event == LogEvent.STOP or record.cause == FaultCause.STOP_UNCONFIRMED


def fault_entries(records: Sequence[FaultRecord]) -> list[FaultEntry]:
    entries: list[FaultEntry] = []
    for record in records:
        if entries and _follows(entries[-1], record):
            entries[-1].followers.append(record)
        else:
            entries.append(FaultEntry(record))
    return entries
