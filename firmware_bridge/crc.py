"""CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, no final xor)."""

from __future__ import annotations

import binascii

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


def crc16(data: bytes | bytearray | memoryview, crc: int = CRC_INIT) -> int:
    """The CRC of `data`. binascii.crc_hqx is this very CRC (poly 0x1021, MSB first, no final
    xor) in C, with the initial value as its argument; the tests hold it to the bitwise
    definition above."""
    return binascii.crc_hqx(data, crc)
