"""When the host sends the board's watchdog frames, and which one: a pure policy, no I/O.

    pace = WatchdogPace()
    pace.restart(now_s)                      # connected: a clock sample was just taken
    pace.wrote(now_s)                        # any block written to the board (a DATA block, a
                                             # retransmission, a Stop, a watchdog frame)
    guarded = pace.guarded(now_s, protocol.last_damage_s, quiet)
    frame = pace.frame_due(now_s, guarded)   # HEARTBEAT, KEEPALIVE or None
    pace.next_tick_s(now_s, guarded)         # when to ask again

The board shuts down when no valid host block arrived for 500 ms, and every valid host block
feeds it (hardware.md 4.3 and 5). So on a clean line a watchdog frame is needed only where the
host would otherwise be silent: one goes out when nothing else was written for CLEAN_PERIOD_S.
With k frames in a row lost the board waits (k + 1) x CLEAN_PERIOD_S: two may be lost (375 ms),
the third trips it (500 ms). A clean line loses none; what it takes to lose one is damage, and
the host sees damage at once (a bad frame among the board's 1,500 bytes/s of telemetry, a NAK,
a retransmission timeout). From then on, for DAMAGE_MEMORY_S, the line is **guarded**: a frame
every GUARDED_PERIOD_S whatever else was written, ten per watchdog period, so eight may be lost
in a row (450 ms) and the ninth trips it. A board silent for half the link's silence limit is
guarded too (the link then asks a Heartbeat every frame: the quiet board may be a dead line).

The frame is a Heartbeat, which the board answers with its clock (a clock sample), when
CLOCK_SAMPLE_PERIOD_S has passed since the last one, and a KeepAlive, which it does not answer,
otherwise. A Heartbeat is sent when due even while other blocks keep the watchdog fed: the
clock sync needs its samples.
"""

from __future__ import annotations

from enum import Enum

# A frame when nothing was written for this long on a clean line: four per clock sample, so the
# Heartbeat is every fourth; at most 8 frames (48 bytes) a second, and two frames in a row may
# be lost before the board's 500 ms watchdog trips.
CLEAN_PERIOD_S = 0.125
# On a line that showed damage: ten frames per 500 ms watchdog period. At 3 % damaged bytes a
# 6-byte frame is lost with probability 1 - 0.97**6 = 0.17; nine lost in a row (the board's
# watchdog trips) then happen once in 20 x 0.83 x 0.17**9 = 1.7e-6 per second: once a week of
# such a line.
GUARDED_PERIOD_S = 0.05
# Damage seen this recently keeps the line guarded. A line damaging one byte in ten thousand
# shows damage every few seconds, so it stays guarded; a glitch once an hour costs one minute.
DAMAGE_MEMORY_S = 60.0
# Two clock samples a second are plenty for a crystal that drifts by parts per million
# (Klipper asks about once a second); clock.py keeps the last 64, half a minute of them.
CLOCK_SAMPLE_PERIOD_S = 0.5
# Loop timers fire at the time asked, give or take the float arithmetic of adding periods.
TICK_SLACK_S = 1e-6


class Frame(Enum):
    HEARTBEAT = "heartbeat"
    KEEPALIVE = "keepalive"


class WatchdogPace:
    """See the module docstring. `clean_period_s=None`: always the guarded pace."""

    def __init__(self, *, guarded_period_s: float = GUARDED_PERIOD_S,
                 clean_period_s: float | None = CLEAN_PERIOD_S,
                 clock_sample_period_s: float = CLOCK_SAMPLE_PERIOD_S,
                 damage_memory_s: float = DAMAGE_MEMORY_S) -> None:
        if clean_period_s is not None and clean_period_s < guarded_period_s:
            raise ValueError("the clean line's period must not be shorter than the guarded one")
        self.guarded_period_s = guarded_period_s
        self.clean_period_s = clean_period_s
        self.clock_sample_period_s = clock_sample_period_s
        self.damage_memory_s = damage_memory_s
        self.last_written_s = 0.0
        self.last_heartbeat_s = 0.0

    def restart(self, now_s: float) -> None:
        """The link connected: a Heartbeat was just answered, and the board was just fed."""
        self.last_written_s = self.last_heartbeat_s = now_s

    def wrote(self, now_s: float) -> None:
        self.last_written_s = now_s

    def heartbeat_sent(self, now_s: float) -> None:
        self.last_heartbeat_s = self.last_written_s = now_s

    def guarded(self, now_s: float, last_damage_s: float | None, quiet: bool = False) -> bool:
        """Whether the line needs the guarded pace now."""
        if quiet or self.clean_period_s is None:
            return True
        return last_damage_s is not None and now_s - last_damage_s < self.damage_memory_s

    def period_s(self, guarded: bool) -> float:
        if guarded or self.clean_period_s is None:
            return self.guarded_period_s
        return self.clean_period_s

    def frame_due(self, now_s: float, guarded: bool) -> Frame | None:
        """The frame to send at this tick, if any."""
        period_s = self.period_s(guarded)
        # Due half a period early: ticks come a period apart, and a sample a little early is
        # better than one a whole period late.
        if now_s - self.last_heartbeat_s >= self.clock_sample_period_s - period_s / 2:
            return Frame.HEARTBEAT
        if guarded or now_s - self.last_written_s >= period_s - TICK_SLACK_S:
            return Frame.KEEPALIVE
        return None

    def next_tick_s(self, now_s: float, guarded: bool) -> float:
        """When to call frame_due() again (after sending what it asked for)."""
        due_s = self.last_written_s + self.period_s(guarded)
        if guarded or due_s <= now_s:  # (the latter: nothing could be written, the port is gone)
            return now_s + self.guarded_period_s
        return due_s
