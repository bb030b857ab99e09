"""CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, no final xor), table driven."""

from __future__ import annotations

CRC_POLY = 0x1021
CRC_INIT = 0xFFFF
CRC_CHECK_VALUE = 0x29B1  # crc16(b"123456789"), the catalogue's check value


def crc16_bitwise(data: bytes | bytearray) -> int:
    """The definition, one bit at a time (hardware.md); the reference the table is checked by."""
    crc = CRC_INIT
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ CRC_POLY if crc & 0x8000 else crc << 1) & 0xFFFF
    return crc


def _table_entry(byte: int) -> int:
    crc = byte << 8
    for _ in range(8):
        crc = ((crc << 1) ^ CRC_POLY) if crc & 0x8000 else (crc << 1)
    return crc & 0xFFFF


# One entry per value of the top byte: eight shift-and-xor steps folded into one lookup.
_TABLE = tuple(_table_entry(byte) for byte in range(256))


def crc16(data: bytes | bytearray | memoryview, crc: int = CRC_INIT) -> int:
    table = _TABLE
    for byte in data:
        crc = ((crc << 8) & 0xFF00) ^ table[(crc >> 8) ^ byte]
    return crc
