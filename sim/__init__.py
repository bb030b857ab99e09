"""The simulated chair board: its firmware behaviour and honest physics, in-process or on a pty.

    board.py          SimBoard: queue, scheduler on its own clock, watchdog, checks, telemetry
    host_messages.py  what the board does with each host message
    schedule.py       one channel's queue;  segments.py: the segment formula and its checks
    clock.py          the board's tick counter on host time (32 bits on the wire)
    sensors.py        noise, quantisation, broken sensors, the range and limit checks
    physics/          airbags, heat, drives and motors, the occupant, all of it as a Plant
    faults.py         device faults a test can switch;  board_faults.py: how they take hold
    remote.py         the handheld remote: keys and display
    trace.py          what happened, as numpy columns; saved to and loaded from .npz
    driver.py         runs a board on an asyncio loop's clock (virtual or real time)
    attach.py         a board behind the device end of the protocol, on any byte transport
    pty_runner.py     a board behind a pseudo-terminal (`massagectl sim`)
    registry.py       every live board, and any left with an output on
    virtual_loop.py   event loops on a virtual clock
"""
