"""The safety layer wired to the real link and the simulated board, as a controller would.

    async with SimRig(CHAIR) as rig:
        admitted = rig.admit(plan, user)
        rig.start(admitted)                  # begin the session, stream with checks
        await rig.run_for(30.0)              # let the board work
        rig.board.inject_fault(...)          # then wait for the supervisor
        outcome = await rig.until_stopped()
"""

from __future__ import annotations

import asyncio

from massagectl.firmware_bridge.link import Link
from massagectl.firmware_bridge.memory_transport import memory_pair
from massagectl.firmware_bridge.streamer import anchor_after, wire_segments
from massagectl.routines.device import DeviceProfile
from massagectl.routines.plan import Plan
from massagectl.routines.user import UserProfile
from massagectl.safety.admission import admit
from massagectl.safety.fault_log import FaultLog
from massagectl.safety.limits import DEFAULT_LIMITS, SafetyLimits
from massagectl.safety.stop_path import StopOutcome, StopPath, StopSource
from massagectl.safety.supervisor import SegmentRefusedError, Supervisor
from massagectl.safety.verdicts import AdmittedPlan
from massagectl.sim.attach import AttachedBoard
from massagectl.sim.board import SimBoard

BAUD = 115200


class SimRig:
    def __init__(self, device: DeviceProfile, limits: SafetyLimits = DEFAULT_LIMITS) -> None:
        self.device = device
        self.limits = limits  # the owner's
        self.log = FaultLog(None)
        self.refused: list[SegmentRefusedError] = []
        self._streaming: asyncio.Task | None = None

    async def __aenter__(self) -> SimRig:
        self.loop = asyncio.get_running_loop()
        self.host_end, self.board_end = memory_pair(baud=BAUD)
        self.board = SimBoard(self.device, now_s=self.loop.time())
        self.attached = AttachedBoard(self.board, self.board_end)
        self.attached.start()
        self.link = await Link.open(self.host_end, self.device)
        self.stop_path = StopPath(self.link, self.log)
        self.supervisor = Supervisor(self.device, self.stop_path,
                                     clock_hz=self.link.identity.info.clock_hz,
                                     safety_limits=self.limits)
        self._remove = self.link.add_listener(
            lambda message: self.supervisor.on_message(message, self.loop.time()))
        self._watch = self.loop.create_task(self.supervisor.watch(), name="supervisor timer")
        return self

    async def __aexit__(self, *exc_info) -> None:
        for task in (self._streaming, self._watch):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        await self.stop_path.finished()
        if not self.board.outputs_safe():  # a session still running: end it the safe way
            await self.stop_path.stop(StopSource.TERMINAL, "end of the test")
        self._remove()
        await self.link.close()
        await self.attached.aclose()
        await self.board_end.close()

    def admit(self, plan: Plan, user: UserProfile | None = None) -> AdmittedPlan:
        verdict = admit(plan, self.device, user or UserProfile(), self.limits)
        assert isinstance(verdict, AdmittedPlan), str(verdict)
        return verdict

    def start(self, admitted: AdmittedPlan) -> None:
        """Begin the session and stream its segments, each checked before it is sent."""
        if self._streaming is not None:
            self._streaming.cancel()  # the last session's segments must not follow this one's
        anchor = anchor_after(self.link)
        self.supervisor.begin_session(admitted, self.loop.time(), anchor_clock=anchor)
        segments = wire_segments(admitted.plan, anchor, self.link.identity.info.clock_hz)
        self._streaming = self.loop.create_task(self._stream(segments), name="streaming")

    async def _stream(self, segments) -> None:
        for segment in segments:
            try:
                self.supervisor.check_segment(segment)
            except SegmentRefusedError as error:
                self.refused.append(error)
                return
            await self.link.schedule(segment)

    async def run_for(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    def stop_seen(self) -> bool:
        return self.stop_path.stopping or self.stop_path.last_outcome is not None

    async def until_stopped(self, limit_s: float = 600.0) -> StopOutcome:
        """Wait (bounded) until a stop happened and ended; its outcome."""
        deadline_s = self.loop.time() + limit_s
        while not self.stop_seen() and self.loop.time() < deadline_s:
            await asyncio.sleep(0.05)
        outcome = await self.stop_path.finished()
        assert outcome is not None, f"no stop within {limit_s} s"
        return outcome
