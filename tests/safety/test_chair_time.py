"""Time on the chair: the session timer and the heat a session spends, over pauses and plans."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from massagectl.routines.user import UserProfile
from massagectl.safety.admission import admit
from massagectl.safety.chair_time import ChairTime, HeatSpent, less_spent
from massagectl.safety.channel_limits import plan_limits
from massagectl.safety.stop_path import StopSource
from massagectl.safety.verdicts import AdmittedPlan, Refusal, ViolationKind
from tests.safety.plans import CHAIR, PAD, lane, plan_of
from tests.safety.rig import Rig

HEAT = CHAIR.channel_index("heat_calves")
TEN_MINUTES_S = 600.0


def test_the_chair_clock_runs_only_while_the_board_works_and_never_goes_back():
    clock = ChairTime(auto_off_s=TEN_MINUTES_S)
    assert clock.deadline_s() == math.inf  # not started: nothing to end
    clock.run(100.0)
    clock.run(150.0)  # a second plan while running does not restart the clock
    assert clock.on_chair_s(160.0) == 60.0
    assert clock.deadline_s() == 700.0
    clock.halt(200.0)
    clock.halt(250.0)  # halting twice counts nothing twice
    assert clock.on_chair_s(1000.0) == 100.0 and clock.deadline_s() == math.inf
    clock.run(300.0)  # a resume: the 100 s pause is not counted, the 100 s before are
    assert clock.deadline_s() == 800.0
    assert clock.on_chair_s(750.0) == 550.0
    clock.halt(400.0)  # a second pause adds the second stretch to the first, never replaces it
    assert clock.on_chair_s(500.0) == 200.0
    clock.run(500.0)
    assert clock.deadline_s() == 900.0


# Times on a quarter-second grid add up exactly in binary floating point, so the oracle below
# and the clock must agree to the last bit.
QUARTER_S = 0.25


@given(steps=st.lists(st.tuples(st.sampled_from(["run", "halt", "look"]), st.integers(0, 40)),
                      max_size=40),
       auto_off_quarters=st.integers(1, 400))
def test_time_on_the_chair_is_every_quarter_second_the_board_worked_and_no_more(
        steps, auto_off_quarters):
    """Any order of runs, halts and looks at the clock: time on the chair is what a tally of
    the quarter seconds the board worked says; the timer falls due exactly when that reaches
    the session timer (never later), and never while the board is halted."""
    auto_off_s = auto_off_quarters * QUARTER_S
    clock = ChairTime(auto_off_s=auto_off_s)
    working = False
    worked_quarters = 0
    now_quarters = 0
    for action, wait_quarters in steps:
        if working:
            worked_quarters += wait_quarters
        now_quarters += wait_quarters
        now_s = now_quarters * QUARTER_S
        if action == "run":
            clock.run(now_s)
            working = True
        elif action == "halt":
            clock.halt(now_s)
            working = False
        on_chair_s = worked_quarters * QUARTER_S
        assert clock.on_chair_s(now_s) == on_chair_s
        if not working:
            assert clock.deadline_s() == math.inf
        elif on_chair_s < auto_off_s:
            assert clock.deadline_s() == now_s + auto_off_s - on_chair_s
        else:
            assert clock.deadline_s() <= now_s  # due now: the supervisor's next poll stops it


def test_stretches_shorter_than_a_second_count_exactly():
    """A pause pressed a fraction of a second after a resume: the chair counts that fraction,
    not a second more and not nothing; a halt at the very moment of the run counts zero."""
    clock = ChairTime(auto_off_s=TEN_MINUTES_S)
    clock.run(10.0)
    assert clock.on_chair_s(10.25) == 0.25
    clock.halt(10.25)
    clock.run(10.5)
    clock.halt(10.5)
    assert clock.on_chair_s(11.0) == 0.25
    clock.run(11.0)
    # A look at the clock from before the run began (an earlier reading) takes nothing off.
    assert clock.on_chair_s(10.75) == 0.25
    clock.halt(10.75)
    assert clock.on_chair_s(12.0) == 0.25


@pytest.mark.parametrize("before_s, due_after_s", [
    (TEN_MINUTES_S - 0.5, 0.5),  # half a second left: due half a second after the resume
    (TEN_MINUTES_S, 0.0),  # none left: due at once
    (TEN_MINUTES_S + 30.0, 0.0),  # over (a timer shortened by a later plan): due at once
])
def test_a_resume_near_the_end_of_the_timer_gets_only_what_is_left(before_s, due_after_s):
    clock = ChairTime(auto_off_s=TEN_MINUTES_S)
    clock.run(0.0)
    clock.halt(before_s)
    clock.run(1000.0)
    assert clock.deadline_s() == 1000.0 + due_after_s


def test_less_spent_leaves_each_heat_zone_what_the_session_has_not_used():
    limits = plan_limits(CHAIR, UserProfile())
    budget = limits.channels[HEAT].heat
    lowered = less_spent(limits, {HEAT: HeatSpent(on_s=600.0, dose=0.02)})
    assert lowered.channels[HEAT].heat.max_on_s == budget.max_on_s - 600.0
    assert lowered.channels[HEAT].heat.dose_budget == pytest.approx(budget.dose_budget - 0.02)
    overspent = less_spent(limits, {HEAT: HeatSpent(on_s=1e6, dose=1.0)})
    assert overspent.channels[HEAT].heat.max_on_s == 0.0
    assert overspent.channels[HEAT].heat.dose_budget == 0.0
    other = CHAIR.channel_index("heat_lower_back")
    assert lowered.channels[other] == limits.channels[other]


PAD_HEAT = PAD.channel_index("heat_lower_back")
PAD_COOL = PAD.channel_index("cool_lower_back")


def test_less_spent_leaves_a_cool_zone_the_application_time_the_session_has_not_used():
    """The pad's module heats and cools: what the session spent of each is taken off each,
    whichever the record lists first, and a cool zone's floor stays where it was."""
    limits = plan_limits(PAD, UserProfile())
    cold = limits.channels[PAD_COOL].cold
    heat = limits.channels[PAD_HEAT].heat
    for spent in ({PAD_COOL: HeatSpent(on_s=300.0), PAD_HEAT: HeatSpent(on_s=60.0, dose=0.01)},
                  {PAD_HEAT: HeatSpent(on_s=60.0, dose=0.01), PAD_COOL: HeatSpent(on_s=300.0)}):
        lowered = less_spent(limits, spent)
        assert lowered.channels[PAD_COOL].cold.max_on_s == cold.max_on_s - 300.0
        assert lowered.channels[PAD_COOL].cap == limits.channels[PAD_COOL].cap
        assert lowered.channels[PAD_COOL].floor == limits.channels[PAD_COOL].floor
        assert lowered.channels[PAD_HEAT].heat.max_on_s == heat.max_on_s - 60.0
        assert lowered.channels[PAD_HEAT].heat.dose_budget == pytest.approx(
            heat.dose_budget - 0.01)
    overspent = less_spent(limits, {PAD_COOL: HeatSpent(on_s=cold.max_on_s + 0.5)})
    assert overspent.channels[PAD_COOL].cold.max_on_s == 0.0


def cold_plan(on_s: float):
    """The pad's lower back cooled to 20 C, cooling for `on_s` in all (its ramps count)."""
    off_c = PAD.channel("cool_lower_back").safe_default
    return plan_of(PAD, lane("cool_lower_back", (5.0, off_c, 20.0), (on_s - 10.0, 20.0, 20.0),
                             (5.0, 20.0, off_c)))


@pytest.mark.parametrize("left_s, admitted", [(100.0, True), (99.9, False)])
def test_a_cold_plan_continuing_a_session_is_admitted_only_within_the_cold_time_left(
        left_s, admitted):
    budget_s = plan_limits(PAD, UserProfile()).channels[PAD_COOL].cold.max_on_s
    verdict = admit(cold_plan(100.0), PAD, UserProfile(),
                    spent={PAD_COOL: HeatSpent(on_s=budget_s - left_s)})
    assert isinstance(verdict, AdmittedPlan) is admitted, str(verdict)
    if isinstance(verdict, Refusal):
        assert {v.kind for v in verdict.violations} == {ViolationKind.COLD_TIME}


def heat_plan(on_s: float):
    """The calves heated at 38 C, on for `on_s` in all (its ramps up and down count as on)."""
    return plan_of(CHAIR, lane("heat_calves", (8.0, 0.0, 38.0), (on_s - 16.0, 38.0, 38.0),
                               (8.0, 38.0, 0.0)))


@pytest.mark.parametrize("left_s, admitted", [(100.0, True), (99.9, False)])
def test_a_plan_continuing_a_session_is_admitted_only_within_the_heat_time_left(left_s,
                                                                                 admitted):
    budget_s = plan_limits(CHAIR, UserProfile()).channels[HEAT].heat.max_on_s
    spent = {HEAT: HeatSpent(on_s=budget_s - left_s)}
    verdict = admit(heat_plan(100.0), CHAIR, UserProfile(), spent=spent)
    assert isinstance(verdict, AdmittedPlan) is admitted, str(verdict)
    if isinstance(verdict, Refusal):
        assert verdict.violations[0].kind is ViolationKind.HEAT_TIME
    else:  # the admitted plan carries the session's whole budget: the supervisor counts it all
        assert verdict.limits.channels[HEAT].heat.max_on_s == budget_s


def test_the_segment_guard_counts_the_heat_of_every_plan_of_one_session(run_virtual_time):
    """The supervisor refuses a segment of a later plan that would heat past the session's
    heat timeout, though that plan alone is far inside it."""

    async def scenario():
        budget_s = plan_limits(CHAIR, UserProfile()).channels[HEAT].heat.max_on_s
        first = Rig(heat_plan(budget_s - 50.0))
        first.begin()
        supervisor = first.supervisor
        supervisor.pause_session(first.now)
        later = admit(heat_plan(60.0), CHAIR, UserProfile())  # admitted without `spent`
        supervisor.continue_session(later, first.now, anchor_clock=first.board.clock())
        segments = list(later.plan.segments())
        with pytest.raises(Exception, match="heat timeout"):
            for segment in segments:
                supervisor.check_segment(segment)
        return await first.stopped()

    outcome = run_virtual_time(scenario())
    assert outcome.sources[0] is StopSource.SUPERVISOR


@pytest.mark.parametrize("pause_s", [0.0, 120.0])
def test_the_session_timer_fires_at_ten_minutes_on_the_chair_not_a_poll_earlier(
        pause_s, run_virtual_time):
    """Just under the timer the session runs on; at it, the timer stops it. A pause moves the
    end by exactly its length; a plan continuing the session does not restart the timer."""

    async def scenario():
        rig = Rig(heat_plan(900.0), UserProfile(limits={"session_min": 10}))
        rig.begin(send=False)
        start_s = rig.now
        await rig.run(100.0)
        rig.supervisor.pause_session(rig.now)
        await rig.run(pause_s)
        rig.supervisor.continue_session(rig.admitted, rig.now, anchor_clock=rig.board.clock())
        await rig.run(TEN_MINUTES_S + pause_s - (rig.now - start_s) - 0.1)
        running_just_under = not rig.stop_seen()
        await rig.run(1.0, until=rig.stop_seen)
        outcome = await rig.stopped()
        return running_just_under, outcome.requested_s - start_s, outcome

    running_just_under, stopped_after_s, outcome = run_virtual_time(scenario())
    assert running_just_under
    assert outcome.sources[0] is StopSource.SESSION_TIMER
    assert stopped_after_s == pytest.approx(TEN_MINUTES_S + pause_s, abs=0.06)
