"""`massagectl conformance` against the simulator: every duty passes on a good board, and each
firmware bug that breaks a duty fails a check naming its section of hardware.md."""

from __future__ import annotations

import asyncio

import pytest

from massagectl.firmware_bridge.conformance import CheckResult, check_board
from massagectl.firmware_bridge.memory_transport import memory_pair
from massagectl.routines.device import load_device
from massagectl.sim.attach import AttachedBoard
from massagectl.sim.board import SimBoard
from massagectl.sim.faults import FIRMWARE_BUGS, FaultKind

CHAIR = load_device("chair")


async def _conformance(*faults: tuple[FaultKind, str | None]) -> tuple[list[CheckResult], bool]:
    loop = asyncio.get_running_loop()
    host_end, board_end = memory_pair(baud=115200)
    board = SimBoard(CHAIR, now_s=loop.time())
    for kind, target in faults:
        board.inject_fault(kind, target, now_s=loop.time())
    try:
        async with AttachedBoard(board, board_end):
            results = await check_board(host_end, CHAIR)
        return results, board.outputs_safe()
    finally:
        await host_end.close()
        await board_end.close()


def test_a_good_board_passes_every_check_it_can_be_given_from_the_line(run_virtual_time):
    results, safe = run_virtual_time(_conformance())
    assert [r.line() for r in results if r.passed is False] == []
    sections = {r.section for r in results}
    assert {"4.2", "4.3", "4.7", "4.8", "4.9", "4.10", "5"} <= sections
    assert len([r for r in results if r.passed]) >= 25
    assert [r.name for r in results if r.passed is None] == ["thermal cut-off"]
    assert safe  # the checks leave the board stopped


# Each bug, and the check (section and a word of its name) that must catch it.
CAUGHT_BY = {
    FaultKind.DEAF_TO_STOP: ("5", "Stop: SHUTDOWN"),
    FaultKind.NO_WATCHDOG: ("5", "watchdog"),
    FaultKind.NO_CLAMP: ("4.10", "beyond a channel's max"),
    FaultKind.NO_MAX_DURATION: ("4.10", "longer than max_duration"),
    FaultKind.NO_SLEW: ("5", "intensity slew"),
    FaultKind.FORGETFUL_LATCH: ("5", "latch survives Reset"),
    FaultKind.NO_RANGE_CHECK: ("5", "sensor range"),
    FaultKind.NO_NAK: ("4.3", "after a gap"),
    FaultKind.REPEATS_DUPLICATES: ("4.3", "duplicate DATA"),
    FaultKind.IGNORES_RISE_LIMIT: ("4.10", "SetRiseLimit"),
}


def test_every_firmware_bug_has_a_check_that_catches_it():
    assert set(CAUGHT_BY) == FIRMWARE_BUGS


@pytest.mark.parametrize("bug", sorted(CAUGHT_BY, key=str), ids=str)
def test_a_board_with_a_firmware_bug_fails_the_check_of_that_duty(bug, run_virtual_time):
    faults = [(bug, None)]
    if bug is FaultKind.NO_RANGE_CHECK:  # only shows with a sensor out of range
        faults.append((FaultKind.DEAD_SENSOR, "temp_calves"))
    results, safe = run_virtual_time(_conformance(*faults))
    section, words = CAUGHT_BY[bug]
    failed = [r for r in results if r.passed is False]
    assert any(r.section == section and words in r.name for r in failed), [
        r.line() for r in failed]
    assert r"FAIL" in next(r.line() for r in failed if words in r.name)
    assert safe
