"""Intensity down and zones off act at once; nothing goes above what admission accepted."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from massagectl.firmware_bridge.messages import SetChannelMask, SetIntensity
from massagectl.routines.device import Zone
from massagectl.routines.errors import LinkLostError
from massagectl.safety.runtime_limits import RuntimeLimitError, RuntimeLimits, board_rise_limits
from tests.safety.plans import CHAIR


class Port:
    """Records what was written, in order."""

    def __init__(self) -> None:
        self.sent: list[object] = []
        self.gone = False

    def send_immediate(self, message) -> bool:
        if self.gone:
            return False
        self.sent.append(message)
        return True

    def set_rise_limits(self, rates_per_s) -> bool:
        if self.gone:
            return False
        self.sent.append(("rise limits", dict(rates_per_s)))
        return True

    async def close(self) -> None:
        self.gone = True


def test_intensity_down_is_written_to_the_board_at_once():
    port = Port()
    limits = RuntimeLimits(port, CHAIR)
    limits.set_scale(0.6)
    assert port.sent == [SetIntensity(0.6)]
    assert limits.lower_scale(0.2) == pytest.approx(0.4)
    assert port.sent[-1] == SetIntensity(pytest.approx(0.4))
    calves = CHAIR.channel_index("airbag_calves")
    assert limits.effective(calves, 10.0) == pytest.approx(4.0)
    heat = CHAIR.channel_index("heat_calves")
    assert limits.effective(heat, 40.0) == 40.0  # heat is not intensity-scaled


def test_intensity_levels_map_onto_the_scale_of_the_plan_compiled_at_level_5():
    port = Port()
    limits = RuntimeLimits(port, CHAIR)
    limits.set_level(3)
    assert port.sent == [SetIntensity(0.75)]
    limits.set_level(5)
    assert limits.scale == 1.0
    with pytest.raises(RuntimeLimitError):
        limits.set_level(6)


def test_raising_above_the_admitted_plan_is_refused_and_sends_nothing():
    port = Port()
    limits = RuntimeLimits(port, CHAIR)
    for scale in (1.01, -0.1, math.nan, math.inf):
        with pytest.raises(RuntimeLimitError):
            limits.set_scale(scale)
    assert port.sent == [] and limits.scale == 1.0
    limits.set_scale(0.3)
    limits.set_scale(1.0)  # back up to what admission accepted is fine
    assert limits.scale == 1.0


def test_zone_off_masks_its_channels_and_only_admitted_channels_come_back():
    port = Port()
    limits = RuntimeLimits(port, CHAIR)
    calves = CHAIR.channel_index("airbag_calves")
    heat_calves = CHAIR.channel_index("heat_calves")
    limits.begin(admitted_mask=limits.all_channels_mask & ~(1 << heat_calves))
    limits.zone_off(Zone.CALVES)
    assert not limits.enabled(calves) and not limits.enabled(heat_calves)
    assert port.sent[-1] == SetChannelMask(limits.enabled_mask)
    assert limits.effective(calves, 12.0) == 0.0
    with pytest.raises(RuntimeLimitError):
        limits.zone_on(Zone.CALVES)  # heat_calves was held off by admission
    limits.channels_on(["airbag_calves"])
    assert limits.enabled(calves) and not limits.enabled(heat_calves)


def test_a_lost_port_is_reported_and_the_state_does_not_pretend():
    port = Port()
    limits = RuntimeLimits(port, CHAIR)
    port.gone = True
    with pytest.raises(LinkLostError):
        limits.set_scale(0.5)
    assert limits.scale == 1.0


operations = st.lists(st.one_of(
    st.tuples(st.just("scale"), st.floats(-1, 2) | st.just(math.nan)),
    st.tuples(st.just("off"), st.sampled_from(list(Zone))),
    st.tuples(st.just("on"), st.sampled_from(list(Zone))),
), max_size=20)


@given(st.integers(0, (1 << len(CHAIR.channels)) - 1), operations)
def test_run_time_limits_can_only_stay_within_what_admission_accepted(admitted_mask, steps):
    port = Port()
    limits = RuntimeLimits(port, CHAIR)
    limits.begin(admitted_mask)
    for kind, argument in steps:
        before = len(port.sent)
        try:
            change = {"scale": limits.set_scale, "off": limits.zone_off, "on": limits.zone_on}
            change[kind](argument)
        except RuntimeLimitError:
            assert len(port.sent) == before  # a refused change sends nothing
        assert 0.0 <= limits.scale <= 1.0
        assert limits.enabled_mask & ~admitted_mask == 0
    for message in port.sent:
        if isinstance(message, SetIntensity):
            assert 0.0 <= message.scale <= 1.0
        elif isinstance(message, SetChannelMask):
            assert message.enabled_mask & ~admitted_mask == 0


CALVES = CHAIR.channel_index("airbag_calves")
CALF_BOARD_RISE = CHAIR.channels[CALVES].rise_per_s  # 4 kPa/s on the reference chair


def test_a_session_begins_by_telling_the_board_the_admitted_rise_before_anything_else():
    port = Port()
    limits = RuntimeLimits(port, CHAIR)
    limits.begin(admitted_rise={CALVES: 3.0})
    kind, rates = port.sent[0]
    assert kind == "rise limits" and port.sent[1:] == [
        SetIntensity(1.0), SetChannelMask(limits.all_channels_mask)]
    assert rates[CALVES] == 3.0
    # Every channel the board slews is told, at the board's own rate where nothing lower was
    # admitted (undoing what an earlier session may have left); drives that hold their
    # position are never slewed and are not told.
    slewed = {i for i, c in enumerate(CHAIR.channels) if c.safe_default is not None}
    assert set(rates) == slewed
    assert all(rates[i] == CHAIR.channels[i].rise_per_s for i in slewed - {CALVES})


@pytest.mark.parametrize("admitted, told", [
    (CALF_BOARD_RISE, CALF_BOARD_RISE),  # at the board's own rate: its own
    (CALF_BOARD_RISE + 0.001, CALF_BOARD_RISE),  # above it: never more than the board's
    (CALF_BOARD_RISE - 0.001, CALF_BOARD_RISE - 0.001),  # the wire's step below it
    (2.3, 2.3),  # 2299.9999999999995 thousandths is 2.3, not 2.299
    (2.3009, 2.3),  # rounded down, never up past what was admitted
    (0.001, 0.001),  # the wire's smallest rate
])
def test_the_rise_told_is_the_admitted_one_at_the_wires_resolution_never_above(admitted, told):
    rates = board_rise_limits(CHAIR, {CALVES: admitted})
    assert rates[CALVES] == pytest.approx(told, abs=1e-12)
    assert rates[CALVES] <= min(admitted, CALF_BOARD_RISE)


def test_a_session_whose_rise_limits_cannot_be_written_does_not_begin():
    port = Port()
    port.gone = True
    with pytest.raises(LinkLostError, match="rise limits"):
        RuntimeLimits(port, CHAIR).begin(admitted_rise={CALVES: 3.0})
