"""Faults and the latch: a fault blocks every new session until a person clears it.

The latch is restored from the fault log when a controller starts, so a crash or a restart
does not forget a fault that was never cleared.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from massagectl.routines.errors import FaultLatchedError
from massagectl.safety.fault_log import FaultLog, FaultLogReading, LogEvent


class FaultCause(StrEnum):
    OVER_PRESSURE = "over_pressure"
    PRESSURE_HELD = "pressure_held_too_long"
    OVER_TEMPERATURE = "over_temperature"
    UNDER_TEMPERATURE = "under_temperature"  # a cooled surface below the cold floor
    THERMAL_DOSE = "thermal_dose"
    HEAT_TIMEOUT = "heat_timeout"  # a heat zone on longer than the heat timeout
    STUCK_VALVE = "stuck_valve"  # pressure does not follow the set point down
    RISE_TOO_FAST = "rise_too_fast"  # a bag fills (a head presses) faster than admitted
    HEATER_STUCK_ON = "heater_stuck_on"  # temperature rises with the heat off
    COOLER_STUCK_ON = "cooler_stuck_on"  # temperature falls with the cooling off
    HEATER_NOT_HEATING = "heater_not_heating"  # the heat failed, or its cut-off opened
    STALE_TELEMETRY = "stale_telemetry"
    SENSOR_OUT_OF_RANGE = "sensor_out_of_range"
    SENSOR_STUCK = "sensor_stuck"  # a reading frozen while its controller drives hard
    SENSOR_IMPLAUSIBLE = "sensor_implausible"  # a reading its command or other sensors belie
    SEAT_IMPLAUSIBLE = "seat_implausible"  # "occupied", yet rollers and airbags find nobody
    MOTOR_STALL = "motor_stall"
    END_STOP = "end_stop"  # a drive measured beyond its end stop
    SEAT_VACATED = "seat_vacated"
    LINK_LOST = "link_lost"
    BOARD_SHUTDOWN = "board_shutdown"  # the board shut down on its own (watchdog, range, ...)
    BOARD_FAULT = "board_fault"  # a FaultReport from the board
    BOARD_RESET = "board_reset"  # the board restarted during a session
    SEGMENT_REFUSED = "segment_refused"  # an outgoing segment broke a limit
    SUPERVISOR_ERROR = "supervisor_error"  # the supervisor itself failed: it cannot judge
    STOP_UNCONFIRMED = "stop_unconfirmed"  # the board never confirmed a STOP: port closed
    NOT_SAFE_AFTER_STOP = "not_safe_after_stop"  # an output did not reach its safe state in time


@dataclass(frozen=True)
class Fault:
    cause: str  # a FaultCause (or, restored from an older log, its text)
    detail: str  # one line for people
    host_s: float | None = None
    device_clock: int | None = None
    values: dict[str, tuple[float, str]] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.cause}: {self.detail}"


class FaultLatch:
    """Holds the faults since the last clear; `latched` blocks new sessions."""

    def __init__(self, log: FaultLog | None = None) -> None:
        self.log = log if log is not None else FaultLog(None)
        self.faults: list[Fault] = []
        self.generation = 0  # counts clears, so watchers can re-arm after one

    @classmethod
    def restored(cls, log: FaultLog, reading: FaultLogReading) -> FaultLatch:
        """A latch holding every latched fault the log records after its last clear."""
        latch = cls(log)
        for record in reading.records:
            if record.event == LogEvent.CLEAR:
                latch.faults.clear()
            elif record.event == LogEvent.FAULT and record.latched:
                # `trip` logs the fault's detail as the outcome and the STOP as the action.
                what = record.outcome or record.action
                detail = f"{what} (restored from the fault log, {record.time})"
                latch.faults.append(Fault(record.cause, detail, None, record.device_clock))
        return latch

    @property
    def latched(self) -> bool:
        return bool(self.faults)

    def trip(self, fault: Fault, source: str, action: str) -> None:
        self.faults.append(fault)
        self.log.append(
            LogEvent.FAULT, source, fault.cause, host_s=fault.host_s,
            device_clock=fault.device_clock, values=fault.values, action=action,
            outcome=fault.detail, latched=True,
        )

    def raise_if_latched(self) -> None:
        if self.faults:
            causes = ", ".join(dict.fromkeys(str(f.cause) for f in self.faults))
            raise FaultLatchedError(
                f"a fault is latched ({causes}): {self.faults[0].detail}",
                "check the chair, then clear the fault with the remote's OK key or "
                "`massagectl faults --clear`",
            )

    def clear(self, by: str, host_s: float | None = None) -> list[Fault]:
        """Clear every latched fault (a person decided it is safe); returns what was cleared."""
        cleared, self.faults = self.faults, []
        self.generation += 1
        causes = ", ".join(str(f.cause) for f in cleared) or "nothing latched"
        self.log.append(LogEvent.CLEAR, by, "cleared", host_s=host_s, action=f"cleared: {causes}")
        return cleared
