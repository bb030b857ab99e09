"""The firmware bridge: the wire protocol to the chair's board and the host's link over it.

Sans-IO protocol (no serial, no asyncio):
    wire.py             constants and size bounds of the protocol
    crc.py              CRC-16/CCITT-FALSE
    messages.py         the messages, as frozen dataclasses
    codec.py            messages <-> payload bytes (fixed point, little-endian)
    framing.py          blocks: encode, and find them again in damaged bytes
    events.py           NEED_DATA, FrameError, BadMessage, HostFrame
    rto.py              RFC 6298 retransmission timeout
    host_protocol.py    HostProtocol: the host's end (window, acks, naks, retransmission)
    device_protocol.py  DeviceProtocol: the board's end (what firmware and sim/ run)
    identity.py         the actuator map, device_profile_map(), map_differences()
    clock_wrap.py       the board's 32-bit clock unwrapped (the link, the supervisor, sim/)
    clock.py            ClockSync: the board's clock fitted on host time
    segment_check.py    the last hard-limit check before a segment reaches the wire
    conformance.py      the board's duties from hardware.md, checked over the line

Transports and the link (asyncio):
    transport.py        the Transport seam
    serial_transport.py pyserial serial_for_url: device paths, ptys, socket://, rfc2217://, loop://
    memory_transport.py an in-memory pair, paced at a baud rate for virtual time
    faults.py           FaultyTransport: drop, corrupt, duplicate, delay, split bytes in flight
    link.py             Link: handshake, streaming, STOP, heartbeat, loss and reconnect
    counters.py         LinkCounters
    streamer.py         a Plan's segments on the board's absolute clock, through the link
    probe.py            a bare host writing blocks exactly as asked, for the conformance checks

hardware.md at the repository root describes the protocol byte for byte.
"""
