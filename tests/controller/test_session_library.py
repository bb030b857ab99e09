"""Every built-in routine runs to its end on every device it fits, and the board does the plan."""

from __future__ import annotations

import pytest

from massagectl.controller.session.state import SessionState
from massagectl.routines.device import load_device
from massagectl.routines.library import library_entries, load_builtin
from tests.controller.sessions import board_outputs_against_plan, run_on_simulator

CASES = [(entry.name, device) for entry in library_entries() for device in entry.devices]
# The board evaluates the same segment formula; the wire carries values in thousandths of
# their unit (hardware.md), so that is as close as board and plan can agree.
TOLERANCE = 0.001


def test_every_routine_fits_the_chair_but_cold_and_those_without_airbags_fit_the_pad():
    assert {name for name, device in CASES if device == "chair"} == {
        entry.name for entry in library_entries()} - {"cold_therapy"}  # the chair cannot cool
    assert len([case for case in CASES if case[1] == "pad"]) >= 8
    assert ("cold_therapy", "pad") in CASES


@pytest.mark.parametrize("routine_name, device_name", CASES)
def test_a_built_in_routine_runs_to_its_end_as_planned(routine_name, device_name,
                                                       run_virtual_time):
    device = load_device(device_name)
    routine = load_builtin(routine_name)
    ran = run_virtual_time(run_on_simulator(device, routine, intensity=3))
    assert ran.outcome.ended == "finished", ran.outcome
    assert ran.outcome.faults == ()
    assert ran.outcome.massage_s == pytest.approx(ran.plan.duration_s, abs=0.01)
    assert ran.session.state is SessionState.IDLE
    assert ran.board.outputs_safe()
    worst = board_outputs_against_plan(ran, level=3)
    assert max(worst.values()) < TOLERANCE, worst
    late = ran.board.trace.segments["late"]
    assert not late.any(), f"{late.sum()} segments ran late"
