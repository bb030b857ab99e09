"""The transport seam: one small async byte-stream interface that every kind of port implements.

    SerialTransport   pyserial's serial_for_url: /dev/ttyUSB0, a pty, socket://, rfc2217://, loop://
    MemoryTransport   an in-memory pair for tests, optionally paced at a baud rate (virtual time)
    FaultyTransport   wraps any transport and drops, corrupts, duplicates, delays or splits bytes

The link sees only `read()`, `write()` and `close()` (and `push_to()`, which a transport may
offer to hand bytes over as they arrive instead of waking a reader), so a test swaps the real
port for a memory pair or a manipulated one without the link knowing (python-can's bus,
pymodbus's null modem).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable

from massagectl.routines.errors import PortError


class Transport(ABC):
    """A byte stream to one board. Opening is the implementation's business."""

    name: str = "port"

    @abstractmethod
    async def read(self) -> bytes:
        """Wait for at least one byte. PortError once the port vanished or was closed."""

    def push_to(
        self,
        receiver: Callable[[bytes], None] | None,
        on_gone: Callable[[PortError], None] | None = None,
    ) -> bool:
        """Hand arriving bytes to `receiver` as they arrive, and the port vanishing to
        `on_gone`, instead of through read(); None: back to read(). False: this transport only
        offers read()."""
        return False

    @abstractmethod
    def write(self, data: bytes) -> None:
        """Hand the bytes to the port before returning. PortError if the port is gone."""

    @abstractmethod
    async def close(self) -> None:
        """Release the port: no thread, no file descriptor and no timer is left behind."""

    @property
    @abstractmethod
    def closed(self) -> bool:
        """True after close() or once the port vanished."""


def vanished(name: str, detail: str = "") -> PortError:
    text = f"serial port {name} vanished" + (f" ({detail})" if detail else "")
    # Said to whoever reads it after the fact (a session already ended safe, or a doctor run):
    # what to look at, not what the link may do next.
    return PortError(text, "check the USB cable and the board's power")


def closed_error(name: str) -> PortError:
    return PortError(f"serial port {name} is closed")
