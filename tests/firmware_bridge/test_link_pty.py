"""The link over a real pty and pyserial, in real time: handshake, streaming, unplug, replug."""

from __future__ import annotations

import asyncio

import pytest

from massagectl.firmware_bridge import messages as m
from massagectl.firmware_bridge.link import Link, LinkState
from massagectl.routines.device import load_device
from massagectl.routines.errors import PortError
from tests.firmware_bridge.fake_board import FakeBoard
from tests.firmware_bridge.pty_master import PtyMaster

PAD = load_device("pad")


def test_a_session_over_a_pty(tmp_path):
    async def session():
        pty = PtyMaster()
        board = FakeBoard(pty, PAD)
        link = await Link.open(pty.path, PAD)
        try:
            loop = asyncio.get_running_loop()
            start = link.clock.clock_at(loop.time() + 0.2)
            sent = [m.ScheduleSegment(1, start + n * 50_000, 50_000, 10.0, 20.0) for n in range(5)]
            for segment in sent:
                await link.schedule(segment)
            await link.drain()
            assert board.received == sent
            with pytest.raises(PortError, match="busy"):
                await Link.open(pty.path, PAD)  # a second controller on the same port
            link.send_immediate(m.Stop())
            for _ in range(200):  # bounded polling: a real pty takes well under a millisecond
                if board.state is m.DeviceState.SHUTDOWN:
                    break
                await asyncio.sleep(0.005)
            assert board.state is m.DeviceState.SHUTDOWN and board.queue == []
        finally:
            await link.close()
            await board.close()

    asyncio.run(session())


def test_the_link_reconnects_when_the_port_comes_back(tmp_path):
    stable_name = tmp_path / "massage-pad"  # stands in for a /dev/serial/by-id link

    async def unplug_and_replug():
        first = PtyMaster()
        stable_name.symlink_to(first.path)
        board = FakeBoard(first, PAD)
        link = await Link.open(str(stable_name), PAD)
        second = None
        try:
            await board.close()  # unplugged
            reason = await asyncio.wait_for(link.wait_lost(), 2.0)
            assert "vanished" in reason and link.state is LinkState.LOST
            second = PtyMaster()  # plugged in again: a new device node behind the same name
            stable_name.unlink()
            stable_name.symlink_to(second.path)
            board = FakeBoard(second, PAD)
            await link.reconnect(timeout_s=5.0)
            assert link.state is LinkState.CONNECTED and link.counters.reconnects == 1
            assert board.state is m.DeviceState.READY and m.Reset() in board.host_messages
        finally:
            await link.close()
            await board.close()

    asyncio.run(unplug_and_replug())
