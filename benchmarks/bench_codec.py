"""Codec cost per frame, and the line budget of a plan's segment rate as a model.

    python -m benchmarks --only codec

Rows (section 9 of the command's table):
1. encode and decode cost per frame (median, p99), the project's codec (precompiled structs,
   table CRC, one pass) against a naive one measured in the same run (struct.pack per field,
   bitwise CRC, bytes rebuilt per field);
2. the line budget, computed from the frame sizes (not measured: section 4 measures what every
   routine really sends): bytes per second each way for a plan sending SEGMENT_RATE segments
   per second and the remote's display sent TEXT_RATE rows per second (ShowText of a full
   20-character row; a session measured 93 rows in 2.5 minutes, 0.62 a second), as a share of
   a 115200 baud line, next to streaming every channel sampled at 50 Hz.
(STOP latency is measured end to end, across processes, by `--only stop`.)
"""

from __future__ import annotations

import struct
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # also run as a script

from benchmarks.figures import Figure
from massagectl.firmware_bridge import messages as m
from massagectl.firmware_bridge.codec import QUEUED_IDS, decode_messages, encode_message
from massagectl.firmware_bridge.crc import crc16_bitwise
from massagectl.firmware_bridge.framing import BlockDecoder, encode_block
from massagectl.firmware_bridge.identity import device_profile_map
from massagectl.firmware_bridge.memory_transport import BITS_PER_BYTE
from massagectl.firmware_bridge.watchdog_pace import CLEAN_PERIOD_S, CLOCK_SAMPLE_PERIOD_S
from massagectl.firmware_bridge.wire import (
    BLOCK_OVERHEAD_BYTES,
    HOST_BLOCK_KINDS,
    READING_BYTES,
    BlockKind,
)
from massagectl.routines.device import load_device
from massagectl.sim.board import SENSOR_VALUES_PER_REPORT
from massagectl.sim.remote import DISPLAY_COLUMNS

BAUD = 115200
# A Heartbeat or a KeepAlive (same size) where a clean line is otherwise silent for 125 ms: at
# most this often (every segment or display row written in between leaves one out).
WATCHDOG_FRAME_HZ = round(1 / CLEAN_PERIOD_S)
CLOCK_SAMPLE_HZ = 1 / CLOCK_SAMPLE_PERIOD_S  # the Heartbeats the board answers
TELEMETRY_HZ = 20
STATUS_HZ = 2
SAMPLED_HZ = 50  # the naive alternative: every channel's value streamed at 50 Hz

SEGMENT = m.ScheduleSegment(8, 4_294_000_000, 5_000_000, 0.0, 8.0, 1.5, 2_000_000)


# --- the naive codec, for comparison: bitwise CRC, struct.pack per field ----------------------


def naive_encode(segment: m.ScheduleSegment, sequence: int) -> bytes:
    payload = b""
    payload += struct.pack("<B", 0x02)
    payload += struct.pack("<B", segment.channel)
    payload += struct.pack("<I", segment.start_clock & 0xFFFFFFFF)
    payload += struct.pack("<I", segment.duration_ticks)
    payload += struct.pack("<i", round(segment.start_value * 1000))
    payload += struct.pack("<i", round(segment.end_value * 1000))
    payload += struct.pack("<i", round(segment.amplitude * 1000))
    payload += struct.pack("<I", segment.period_ticks)
    head = struct.pack("<B", len(payload) + 5) + struct.pack("<B", 0x10 | sequence) + payload
    crc = crc16_bitwise(head)
    return head + struct.pack(">H", crc) + b"\x7e"


def naive_decode(frame: bytes) -> m.ScheduleSegment:
    length = frame[0]
    if frame[length - 1] != 0x7E or crc16_bitwise(frame[: length - 3]) != struct.unpack(
        ">H", frame[length - 3 : length - 1]
    )[0]:
        raise ValueError("bad frame")
    offset = 3
    (channel,) = struct.unpack_from("<B", frame, offset)
    (start,) = struct.unpack_from("<I", frame, offset + 1)
    (duration,) = struct.unpack_from("<I", frame, offset + 5)
    (v0,) = struct.unpack_from("<i", frame, offset + 9)
    (v1,) = struct.unpack_from("<i", frame, offset + 13)
    (amplitude,) = struct.unpack_from("<i", frame, offset + 17)
    (period,) = struct.unpack_from("<I", frame, offset + 21)
    return m.ScheduleSegment(channel, start, duration, v0 / 1000, v1 / 1000, amplitude / 1000,
                             period)


# --- the project's codec ---------------------------------------------------------------------


def fast_encode(segment: m.ScheduleSegment, sequence: int) -> bytes:
    return encode_block(BlockKind.DATA, sequence, encode_message(segment))


_decoder = BlockDecoder(HOST_BLOCK_KINDS)


def fast_decode(frame: bytes) -> m.ScheduleSegment:
    _decoder.feed(frame)
    block = _decoder.next_item()
    return decode_messages(block.payload, QUEUED_IDS)[0]


def timed(function, argument, repeat: int) -> list[float]:
    samples = []
    clock = time.perf_counter_ns
    for _ in range(repeat):
        start = clock()
        function(*argument) if isinstance(argument, tuple) else function(argument)
        samples.append((clock() - start) / 1000)  # microseconds
    return samples


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def codec_figures(repeat: int) -> list[Figure]:
    frame = fast_encode(SEGMENT, 5)
    assert frame == naive_encode(SEGMENT, 5), "the naive codec must produce the same bytes"
    assert fast_decode(frame) == naive_decode(frame)
    for _ in range(1000):  # warm up both
        fast_encode(SEGMENT, 5), naive_encode(SEGMENT, 5)
    result = []
    for what, ours, naive, argument in (("encode", fast_encode, naive_encode, (SEGMENT, 5)),
                                        ("decode", fast_decode, naive_decode, frame)):
        result.append(Figure(
            "9 codec", f"{what} one ScheduleSegment frame ({len(frame)} B)", "us",
            timed(ours, argument, repeat), None,
            Figure("9 codec", "struct.pack per field, bitwise CRC", "us",
                   timed(naive, argument, repeat))))
    return result


# --- line budget -----------------------------------------------------------------------------


def budget_figures(segment_rate: float, text_rate: float) -> list[Figure]:
    chair = load_device("chair")
    identity = device_profile_map(chair)
    line = BAUD / BITS_PER_BYTE
    segment_block = len(fast_encode(SEGMENT, 0))
    heartbeat = len(encode_block(BlockKind.IMMEDIATE, 0, encode_message(m.Heartbeat())))
    assert heartbeat == len(encode_block(BlockKind.IMMEDIATE, 0, encode_message(m.KeepAlive())))
    ack = BLOCK_OVERHEAD_BYTES
    clock_report = len(encode_block(BlockKind.REPORT, 0, encode_message(m.ClockReport(0))))
    sensors = len(identity.sensors)
    reports = -(-sensors // SENSOR_VALUES_PER_REPORT)
    telemetry = reports * (BLOCK_OVERHEAD_BYTES + 7) + READING_BYTES * sensors
    status = BLOCK_OVERHEAD_BYTES + len(encode_message(m.StatusReport(
        0, m.DeviceState.READY, m.StopCause.NONE, True, 0, 1.0, 0, 0)))
    text_block = len(encode_block(BlockKind.DATA, 0, encode_message(
        m.ShowText(1, "x" * DISPLAY_COLUMNS))))
    segments = segment_rate * segment_block
    watchdog = WATCHDOG_FRAME_HZ * heartbeat
    rows = text_rate * text_block
    down = segments + watchdog + rows
    up_link = (segment_rate + text_rate) * ack + CLOCK_SAMPLE_HZ * clock_report
    up_telemetry = TELEMETRY_HZ * telemetry + STATUS_HZ * status
    channels = len(chair.channels)
    sampled = SAMPLED_HZ * (BLOCK_OVERHEAD_BYTES + 1 + 4 * channels)  # one frame of all values
    model = (f"computed from frame sizes, not measured (section 4 measures); {segment_rate:g} "
             f"segments/s, {text_rate:g} display rows/s")
    return [
        Figure("9 codec", "line budget model: host -> board", "% line", [100 * down / line],
               note=f"{model}: segments {segments:.0f} B/s ({segment_block} B each), watchdog "
               f"frames at most {watchdog:.0f} B/s ({heartbeat} B at {WATCHDOG_FRAME_HZ} Hz), "
               f"display "
               f"rows {rows:.0f} B/s; sampling all {channels} channels at {SAMPLED_HZ} Hz: "
               f"{sampled:.0f} B/s, {sampled / down:.0f}x the model's total"),
        Figure("9 codec", "line budget model: board -> host", "% line",
               [100 * (up_link + up_telemetry) / line],
               note=f"{model}: acks and clock reports at {CLOCK_SAMPLE_HZ:g} Hz "
               f"{up_link:.0f} B/s; telemetry at {TELEMETRY_HZ} Hz ({reports} reports) and "
               f"status at {STATUS_HZ} Hz {up_telemetry:.0f} B/s"),
    ]


SEGMENT_RATE = 4.0  # segments per second of a busy plan
TEXT_RATE = 0.62  # display rows per second: 93 rows in 2.5 minutes


def figures(quick: bool) -> list[Figure]:
    return (codec_figures(2_000 if quick else 20_000)
            + budget_figures(SEGMENT_RATE, TEXT_RATE))


if __name__ == "__main__":
    from benchmarks.__main__ import main

    sys.exit(main(["--only", "codec", *sys.argv[1:]]))
