"""SetRiseLimit on the simulated board (hardware.md 4.7): the rate in force is the lower of the
host's and the map's, every kind of slew keeps it, and it lasts until power-on."""

from __future__ import annotations

import numpy as np
import pytest

from massagectl.firmware_bridge.messages import (
    ClearFault,
    FaultCode,
    FaultReport,
    Heartbeat,
    Reset,
    SetChannelMask,
    SetIntensity,
    SetRiseLimit,
    Stop,
)
from tests.sim.helpers import Host

SAMPLE_S = 0.05
CALVES = "airbag_calves"


def _calves(host: Host) -> int:
    return host.profile.channel_index(CALVES)


def _rises_per_s(host: Host, seconds: float) -> np.ndarray:
    values = [host.board.output(CALVES)]
    for _ in range(round(seconds / SAMPLE_S)):
        host.send(Heartbeat())
        host.wait(SAMPLE_S)
        values.append(host.board.output(CALVES))
    return np.diff(values) / SAMPLE_S


def test_a_late_segment_catches_up_at_exactly_the_lowered_rate():
    """The edge: 3 kPa/s where the map says 4, a 9 kPa hold arriving 1 s late into an empty
    bag: 0.15 kPa a sample, not a hair more, 3 s to reach the plan."""
    host = Host()
    host.send(SetRiseLimit(_calves(host), 3.0))
    host.schedule(CALVES, -1.0, 10.0, 9.0)
    rises = _rises_per_s(host, 3.5)
    assert rises.max() == pytest.approx(3.0, abs=1e-9)
    assert host.board.output(CALVES) == pytest.approx(9.0)
    host.stop()


@pytest.mark.parametrize("change", ["intensity", "mask"])
def test_an_intensity_rise_and_a_channel_on_again_rise_at_the_lowered_rate(change):
    host = Host()
    index = _calves(host)
    host.send(SetRiseLimit(index, 2.0))
    host.send(SetIntensity(0.2) if change == "intensity" else SetChannelMask(~(1 << index)))
    host.schedule(CALVES, 0.1, 20.0, 10.0)
    host.wait(1.0)
    host.send(SetIntensity(1.0) if change == "intensity" else SetChannelMask(0xFFFFFFFF))
    rises = _rises_per_s(host, 6.0)
    assert rises.max() == pytest.approx(2.0, abs=1e-9)
    assert host.board.output(CALVES) == pytest.approx(10.0)
    host.stop()


def test_a_rate_above_the_maps_counts_as_the_maps_and_restores_it():
    host = Host()
    index = _calves(host)
    own = host.profile.channel(CALVES).rise_per_s
    host.send(SetRiseLimit(index, 1.0))
    host.send(SetRiseLimit(index, own * 10))
    assert host.board.rise_per_s[index] == own
    host.schedule(CALVES, -1.0, 10.0, 9.0)
    assert _rises_per_s(host, 3.0).max() == pytest.approx(own, abs=1e-9)
    host.stop()


def test_a_lowered_rate_mid_slew_goes_on_from_where_the_output_is():
    host = Host()
    index = _calves(host)
    host.schedule(CALVES, -1.0, 10.0, 9.0)
    first = _rises_per_s(host, 0.5)
    at = host.board.output(CALVES)
    host.send(SetRiseLimit(index, 1.0))
    assert host.board.output(CALVES) == at  # no step, either way
    then = _rises_per_s(host, 1.0)
    host.stop()
    assert first.max() == pytest.approx(4.0) and then.max() == pytest.approx(1.0, abs=1e-9)


def test_the_lowered_rate_survives_stop_reset_and_clear_fault_but_not_a_restart():
    host = Host()
    index = _calves(host)
    own = host.profile.channel(CALVES).rise_per_s
    host.send(SetRiseLimit(index, 3.0))
    for message in (Stop(), Reset(), ClearFault(), Reset()):
        host.send(message)
        assert host.board.rise_per_s[index] == 3.0, message
    host.board.inject_fault("reset", now_s=host.now_s)  # a brown-out: RAM is lost
    assert host.board.rise_per_s[index] == own


def test_in_shutdown_it_still_takes_effect():
    host = Host()
    index = _calves(host)
    host.send(Stop())
    host.send(SetRiseLimit(index, 2.5))
    assert host.board.rise_per_s[index] == 2.5


@pytest.mark.parametrize("message", [SetRiseLimit(20, 3.0), SetRiseLimit(8, 0.0),
                                     SetRiseLimit(8, -1.0), SetRiseLimit(8, float("nan"))])
def test_an_unknown_channel_or_no_rate_is_refused_and_changes_nothing(message):
    host = Host()
    before = list(host.board.rise_per_s)
    host.messages()
    host.send(message)
    [fault] = host.messages(FaultReport)
    assert fault.code is FaultCode.BAD_SEGMENT
    assert host.board.rise_per_s == before
