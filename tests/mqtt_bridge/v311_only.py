"""A relay in front of Mosquitto that behaves like a broker that only speaks MQTT 3.1.1.

An MQTT 5 CONNECT is answered the way a 3.1.1 broker answers an unknown protocol level
(CONNACK with return code 1, "unacceptable protocol version") and closed; every other
connection is relayed to the real broker byte for byte.
"""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager, suppress

REFUSED_PROTOCOL_CONNACK = bytes([0x20, 0x02, 0x00, 0x01])
MQTT_5 = 5


async def _protocol_level(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """Read the CONNECT's fixed header, length and variable header up to the protocol level."""
    seen = bytearray(await reader.readexactly(1))
    while True:  # remaining length: a varint of up to four bytes
        byte = await reader.readexactly(1)
        seen += byte
        if not byte[0] & 0x80:
            break
    name_length = await reader.readexactly(2)
    name = await reader.readexactly(int.from_bytes(name_length, "big"))
    level = await reader.readexactly(1)
    return level[0], bytes(seen + name_length + name + level)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        with suppress(ConnectionError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
    finally:
        writer.close()


@asynccontextmanager
async def v311_only_relay(host: str, port: int):
    tasks: set[asyncio.Task] = set()
    refused = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            level, head = await _protocol_level(reader)
        except asyncio.IncompleteReadError:
            writer.close()
            return
        if level == MQTT_5:
            refused.append(level)
            writer.write(REFUSED_PROTOCOL_CONNACK)
            await writer.drain()
            writer.close()
            return
        up_reader, up_writer = await asyncio.open_connection(host, port)
        up_writer.write(head)
        for task in (asyncio.create_task(_pipe(reader, up_writer)),
                     asyncio.create_task(_pipe(up_reader, writer))):
            tasks.add(task)
            task.add_done_callback(tasks.discard)

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1], refused
    finally:
        server.close()
        for task in list(tasks):
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await server.wait_closed()
