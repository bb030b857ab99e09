"""Plan segments -> absolute-clock ScheduleSegments, streamed in order through the link.

A plan is in plan seconds from 0; the session picks an anchor, the board clock at which plan
time 0 falls. Boundaries are rounded once, on the absolute tick grid, so consecutive segments of
a channel meet exactly (no gap or overlap of a tick, however long the session):

    start_clock    = anchor_clock + round(start_s * clock_hz)
    duration_ticks = round(end_s * clock_hz) - round(start_s * clock_hz)

The link's schedule() paces the sending (no further ahead than its window, counted late inside
the minimum lead). Pause and resume belong to the controller: it stops the Streamer, and starts
a new one later with a new anchor and `start_index` where the old one stopped.
"""

from __future__ import annotations

import asyncio

import numpy as np

from massagectl.firmware_bridge.messages import ScheduleSegment
from massagectl.routines.plan import Plan

# The default anchor leaves this much time before plan time 0: more than the link's minimum
# lead, so the first segments are not late.
ANCHOR_LEAD_S = 0.25


def wire_segments(plan: Plan, anchor_clock: int, clock_hz: int) -> list[ScheduleSegment]:
    """Every segment of the plan, in plan order, as the board receives it."""
    table = plan.table
    start_ticks = np.rint(table["start_s"] * clock_hz).astype(np.int64)
    end_ticks = np.rint((table["start_s"] + table["duration_s"]) * clock_hz).astype(np.int64)
    period_ticks = np.rint(table["period_s"] * clock_hz).astype(np.int64)
    return [
        ScheduleSegment(
            channel=int(row["channel"]),
            start_clock=anchor_clock + int(start),
            duration_ticks=int(end - start),
            start_value=float(row["start_value"]),
            end_value=float(row["end_value"]),
            amplitude=float(row["amplitude"]),
            period_ticks=int(period),
        )
        for row, start, end, period in zip(table, start_ticks, end_ticks, period_ticks)
    ]


def anchor_after(link, lead_s: float = ANCHOR_LEAD_S) -> int:
    """The board clock `lead_s` from now: an anchor for a plan that should start soon."""
    return link.clock.clock_at(asyncio.get_running_loop().time() + lead_s)


class Streamer:
    """Sends a plan's segments from `start_index` on; `next_index` says how far it got."""

    def __init__(self, link, plan: Plan, anchor_clock: int, *, start_index: int = 0) -> None:
        self.link = link
        self.plan = plan
        self.anchor_clock = anchor_clock
        self.segments = wire_segments(plan, anchor_clock, link.identity.info.clock_hz)
        self.next_index = start_index

    @property
    def done(self) -> bool:
        return self.next_index >= len(self.segments)

    async def run(self) -> None:
        """Stream until every segment is sent (cancel the task to stop early)."""
        while not self.done:
            await self.link.schedule(self.segments[self.next_index])
            self.next_index += 1
