"""What the board was told: the set point the supervisor compares every reading with.

`CommittedSchedule.commanded` remembers which segment answered recently so that the detectors'
many questions skip the walk along the queue. The property holds it to the plain rule, the walk
itself, through any order of segments, questions (forward and back in time), prunes and clears.
"""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st

from massagectl.routines.device import load_device
from massagectl.safety.committed import CommittedSchedule, Sent

CHAIR = load_device("chair")
AIRBAG = CHAIR.channel_index("airbag_calves")  # has a safe default: safe between segments
POSITION = CHAIR.channel_index("roller_position")  # holds where it stopped


def walked(schedule: CommittedSchedule, index: int, t_s: float) -> float | None:
    """The rule written plainly: the first segment in the queue whose span holds t_s."""
    channel = CHAIR.channels[index]
    previous = None
    for segment in schedule.sent[index]:
        if segment.start_s > t_s:
            break
        previous = segment
        if t_s < segment.end_s:
            return segment.value_at(t_s)
    if channel.safe_default is not None:
        return None  # between and after segments the board keeps it safe (hardware.md 4.10)
    return schedule.held[index] if previous is None else previous.value_at(previous.end_s)


segments = st.builds(
    Sent,
    start_s=st.integers(0, 12).map(lambda half_s: half_s / 2),
    duration_s=st.integers(1, 12).map(lambda quarter_s: quarter_s / 4),
    start_value=st.integers(0, 20).map(float),
    end_value=st.integers(0, 20).map(float),
    amplitude=st.sampled_from([0.0, 1.5]),
    period_s=st.sampled_from([0.0, 0.7]),
).filter(lambda s: (s.amplitude == 0) == (s.period_s == 0))
adds = st.tuples(st.just("add"), st.sampled_from([AIRBAG, POSITION]), segments)
asks = st.tuples(st.just("ask"), st.sampled_from([AIRBAG, POSITION]),
                 st.integers(-4, 40).map(lambda quarter_s: quarter_s / 4))
prunes = st.tuples(st.just("prune"), st.just(0), st.integers(0, 40).map(lambda t: t / 4))
clears = st.tuples(st.just("clear"), st.just(0), st.none())
# Mostly segments and questions: a queue needs a few segments before a prune or a clear.
steps = st.one_of(adds, adds, adds, adds, asks, asks, asks, asks, prunes, clears)


@given(st.lists(steps, min_size=20, max_size=60))
@example([  # overlapping segments: the later one answers at 2.5 s, the earlier one at 1.5 s
    ("add", AIRBAG, Sent(0.0, 2.0, 1.0, 1.0)), ("add", AIRBAG, Sent(1.0, 2.0, 5.0, 5.0)),
    ("ask", AIRBAG, 2.5),
])
def test_the_set_point_is_the_walks_answer_whatever_was_asked_before(program):
    schedule = CommittedSchedule(CHAIR)
    for action, index, argument in program:
        if action == "add":
            schedule.add(index, argument)
        elif action == "prune":
            schedule.prune(argument)
        elif action == "clear":
            schedule.clear()
        else:
            # As the detectors ask: a reading's time, then a second before it.
            for t_s in (argument, argument - 1.0, argument):
                assert schedule.commanded(index, t_s) == walked(schedule, index, t_s)


def test_a_pressure_reading_and_the_one_a_second_before_are_answered_from_memory():
    schedule = CommittedSchedule(CHAIR)
    for start_s in range(0, 10, 2):
        schedule.add(AIRBAG, Sent(float(start_s), 2.0, 5.0, 5.0 + start_s))
    walks = 0
    original = schedule._remember

    def counting(*args):
        nonlocal walks
        walks += 1
        original(*args)

    schedule._remember = counting
    for step in range(20, 180):  # 20 Hz from 1 s to 9 s
        now_s = step / 20
        assert schedule.commanded(AIRBAG, now_s) == walked(schedule, AIRBAG, now_s)
        assert schedule.commanded(AIRBAG, now_s - 1.0) == walked(schedule, AIRBAG, now_s - 1.0)
    assert walks <= 10  # once per segment and question, not once per reading
