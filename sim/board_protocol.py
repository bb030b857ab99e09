"""The simulated board's protocol endpoint: the reference one, with firmware bugs to switch on.

    NO_NAK              the board never sends a NAK (the host waits for its timer instead)
    REPEATS_DUPLICATES  a duplicate DATA block is acted on again (a retransmission repeats work)

They exist so that `massagectl conformance` can be shown to catch them (sim.faults).
"""

from __future__ import annotations

from massagectl.firmware_bridge.codec import QUEUED_IDS
from massagectl.firmware_bridge.device_protocol import DeviceProtocol
from massagectl.firmware_bridge.events import Disposition, HostFrame
from massagectl.firmware_bridge.framing import Block
from massagectl.sim.board_faults import FaultSwitches


class SimDeviceProtocol(DeviceProtocol):
    def __init__(self, faults: FaultSwitches) -> None:
        super().__init__()
        self.faults = faults

    def _nak(self) -> None:
        if not self.faults.no_nak:
            super()._nak()

    def _on_block(self, block: Block) -> None:
        super()._on_block(block)
        if not self.faults.repeats_duplicates or not self._events:
            return
        last = self._events[-1]
        if isinstance(last, HostFrame) and last.disposition is Disposition.DUPLICATE:
            self._deliver(block, QUEUED_IDS)
