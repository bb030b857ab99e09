"""Protocol constants: block layout, block kinds, sequence space and every size bound.

Each bound names the threat or the arithmetic behind it; hardware.md repeats them for the
firmware side. Changing any value here changes the protocol: bump PROTOCOL_VERSION.
"""

from __future__ import annotations

from enum import IntEnum

# The one place the protocol version is set; hardware.md section 4 states it once.
# 2: KeepAlive, and readings as 24-bit values (one report per sample).
# 3: the board's serial number and display size, a stop cause and a fault latch that only
#    ClearFault ends, and a rise rate per channel no output may pass moving away from safe.
# 4: SetRiseLimit, a channel's rise rate lowered by the host to what it admitted.
PROTOCOL_VERSION = 4

SYNC_BYTE = 0x7E  # ends every block; 0x7E is above MAX_BLOCK_BYTES, so it is never a length

# Block: length, control, payload, CRC-16 (big-endian), sync.
BLOCK_HEADER_BYTES = 2
BLOCK_TRAILER_BYTES = 3
BLOCK_OVERHEAD_BYTES = BLOCK_HEADER_BYTES + BLOCK_TRAILER_BYTES
MIN_BLOCK_BYTES = BLOCK_OVERHEAD_BYTES  # an empty block is an ack
# A board with a few hundred bytes of RAM receives one block at a time; 64 bytes keeps that
# buffer small and a corrupt length byte can make the receiver wait for at most 64 bytes.
MAX_BLOCK_BYTES = 64
MAX_PAYLOAD_BYTES = MAX_BLOCK_BYTES - BLOCK_OVERHEAD_BYTES

# The board handles one block per pass of its main loop; 16 messages bounds that pass
# (two ScheduleSegments fill a block, so only the small messages can come near it).
MAX_MESSAGES_PER_BLOCK = 16

SEQUENCE_MODULUS = 16  # the sequence number is the low nibble of the control byte
# Unacked blocks the host may have in flight. Half the sequence space, so the board can tell a
# retransmitted old block (seq in [expected - 8, expected)) from a new one that arrived after a
# gap (seq in (expected, expected + 8)). 8 full blocks are 512 bytes, 44 ms at 115200 baud.
MAX_UNACKED_BLOCKS = SEQUENCE_MODULUS // 2

# Values on the wire are signed 32-bit integers in thousandths of the channel's or sensor's unit.
VALUE_SCALE = 1000
INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1
UINT32_MAX = 2**32 - 1
CLOCK_MODULUS = 2**32  # device clock fields are 32-bit and wrap

# A display row of 20 characters, most of them two bytes in UTF-8 (accented letters).
MAX_TEXT_BYTES = 40
# Firmware version strings are short tags ("1.4.2+g3f2a1c"), serial numbers shorter still
# ("MC7-2026-000123"); with the 12 fixed bytes and two length bytes, both at their longest fill
# one block's 59-byte payload, so DeviceInfo always travels in one block.
MAX_FIRMWARE_VERSION_BYTES = 24
MAX_SERIAL_NUMBER_BYTES = 20
# SensorReport readings are signed 24-bit thousandths: +/-8,388.607 units is far beyond any
# sensor's valid range (a chair's largest is under 1,000 mm), and three bytes a reading let one
# report carry a whole chair. A reading beyond it is sent as the nearest limit: still outside
# every valid range, so the host's range check sees a broken sensor, as it should.
READING_BYTES = 3
READING_MIN = -(2**23)
READING_MAX = 2**23 - 1
# 17 readings of 3 bytes + 7 header bytes + 5 framing bytes = 63 <= 64: one SensorReport per
# block, and one per sample time for a board of up to 17 sensors (the chair has 16).
MAX_SENSOR_VALUES_PER_REPORT = 17
# SetChannelMask is a 32-bit mask, so a board can have at most 32 channels (the profile agrees).
MAX_CHANNELS = 32
# Sensor indices are one byte; 64 is the profile's own bound and keeps the handshake short.
MAX_SENSORS = 64
INTENSITY_SCALE_MAX_PERMILLE = 1000  # SetIntensity never asks for more than 1.0

# The host's time limits that a board maker must know (hardware.md sections 4.4 and 5).
# The board sends telemetry at 20 Hz and its status at 2 Hz whatever the host does, and
# answers two heartbeats a second (every frame once it has been quiet for half a second): a
# second of silence means the board or the cable is gone. A gap in telemetry shorter than this
# is a damaged line the link rides through (no retransmission brings a report back; the next
# sample replaces it), so the supervisor calls telemetry stale after the same second.
SILENCE_LIMIT_S = 1.0
TELEMETRY_STALE_S = SILENCE_LIMIT_S


class BlockKind(IntEnum):
    """High nibble of the control byte."""

    DATA = 0x1  # host -> board: queued messages, sequenced, acked, retransmitted
    IMMEDIATE = 0x2  # host -> board: immediate messages, unsequenced, acted on at arrival
    REPORT = 0x3  # board -> host: messages (or none: a pure ack); nibble = board's next seq
    NAK = 0x4  # board -> host: no payload; nibble = the seq the board wants next


HOST_BLOCK_KINDS = frozenset({BlockKind.DATA, BlockKind.IMMEDIATE})
DEVICE_BLOCK_KINDS = frozenset({BlockKind.REPORT, BlockKind.NAK})


def control_byte(kind: BlockKind, sequence: int) -> int:
    return (int(kind) << 4) | (sequence % SEQUENCE_MODULUS)


def sequence_distance(from_seq: int, to_seq: int) -> int:
    """Steps forward from `from_seq` to `to_seq` in the 4-bit sequence space (0..15)."""
    return (to_seq - from_seq) % SEQUENCE_MODULUS
