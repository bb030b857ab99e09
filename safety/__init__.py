"""The safety layer: admission of plans, supervision at run time, one stop path, the fault log.

Two tiers, and neither trusts the other (DESIGN.md, Safety):

    admit(plan, device, user, limits)  -> AdmittedPlan | Refusal      (safety.admission)
    Supervisor(device, stop_path, clock_hz=...)                        (safety.supervisor)
        .begin_session(admitted, host_s)  .check_segment(segment)  .on_message(message, host_s)
    StopPath(port).request(source, detail) -> Future[StopOutcome]      (safety.stop_path)
    RuntimeLimits(port, device).set_scale(0.6) / .zone_off(zone)       (safety.runtime_limits)
    FaultLog(path), read_fault_log(path), FaultLatch                   (safety.fault_log, .faults)

Where the numbers live: safety.limits (owner-configurable caps and budgets, hard constants),
safety.thermal_dose (burn dose), safety.precautions (health precautions as rules),
safety.body_map (back zone bands), safety.detectors (telemetry thresholds), safety.stop_path
(stop timing). safety imports routines and firmware_bridge.messages only.
"""

from massagectl.safety.admission import admit
from massagectl.safety.channel_limits import PlanLimits, check_user_limits, plan_limits
from massagectl.safety.fault_log import FaultLog, FaultRecord, LogEvent, read_fault_log
from massagectl.safety.faults import Fault, FaultCause, FaultLatch
from massagectl.safety.limits import DEFAULT_LIMITS, SafetyLimits
from massagectl.safety.ports import BoardPort
from massagectl.safety.runtime_limits import RuntimeLimitError, RuntimeLimits
from massagectl.safety.stop_path import StopEnd, StopOutcome, StopPath, StopSource
from massagectl.safety.supervisor import SegmentRefusedError, Supervisor
from massagectl.safety.verdicts import AdmittedPlan, Change, Refusal, Violation, ViolationKind

__all__ = [
    "DEFAULT_LIMITS", "AdmittedPlan", "BoardPort", "Change", "Fault", "FaultCause", "FaultLatch",
    "FaultLog", "FaultRecord", "LogEvent", "PlanLimits", "Refusal", "RuntimeLimitError",
    "RuntimeLimits", "SafetyLimits", "SegmentRefusedError", "StopEnd", "StopOutcome", "StopPath",
    "StopSource", "Supervisor", "Violation", "ViolationKind", "admit", "check_user_limits",
    "plan_limits", "read_fault_log",
]
