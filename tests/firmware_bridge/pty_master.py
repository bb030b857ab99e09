"""The board's end of a pty, as a Transport, so tests drive the host over the real pyserial path."""

from __future__ import annotations

import asyncio
import os
import tty

from massagectl.firmware_bridge.transport import Transport, closed_error, vanished


class PtyMaster(Transport):
    """Opens a pty pair; the host opens `path` (the slave) with pyserial, like a USB adapter."""

    def __init__(self) -> None:
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)  # no echo or line editing before the host configures the port
        self.path = os.ttyname(self._slave)
        self.name = f"pty-master:{self.path}"
        self._closed = False

    @property
    def closed(self) -> bool:
        return self._closed

    async def read(self) -> bytes:
        loop = asyncio.get_running_loop()
        while True:
            if self._closed:
                raise closed_error(self.name)
            ready = loop.create_future()
            loop.add_reader(self._master, _wake, ready)
            try:
                await ready
            finally:
                if not self._closed:
                    loop.remove_reader(self._master)
            try:
                data = os.read(self._master, 4096)
            except BlockingIOError:
                continue
            except OSError as error:
                raise vanished(self.name, str(error)) from None
            if data:
                return data

    def write(self, data: bytes) -> None:
        if self._closed:
            raise closed_error(self.name)
        os.write(self._master, data)

    async def close(self) -> None:
        """Pull the cable: the host's reads fail with EIO."""
        if not self._closed:
            self._closed = True
            os.close(self._slave)
            os.close(self._master)


def _wake(ready: asyncio.Future) -> None:
    """The pty is readable: wake the reader once (the loop may call this again before it runs)."""
    if not ready.done():
        ready.set_result(None)
