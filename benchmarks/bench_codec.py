"""Codec cost per frame and the line budget of a plan's segment rate.

Run from the repository root:

    python benchmarks/bench_codec.py                       # default: 4 segments/s
    python benchmarks/bench_codec.py --segment-rate 12 --repeat 20000

Prints two tables:
1. encode and decode cost per frame (median, p99), the project's codec (precompiled structs,
   table CRC, one pass) against a naive one measured in the same run (struct.pack per field,
   bitwise CRC, bytes rebuilt per field), with the ratio;
2. the line budget: bytes per second each way for a plan sending `--segment-rate` segments per
   second and the remote's display sent `--text-rate` rows per second (ShowText of a full
   20-character row; a session measured 93 rows in 2.5 minutes, 0.62 a second), as a share of
   a 115200 baud line, next to streaming every channel sampled at 50 Hz.
(STOP latency is measured end to end, across processes, by `python -m benchmarks --only stop`;
the wire's measured share per routine by `--only wire`.)
"""

from __future__ import annotations

import argparse
import statistics
import struct
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from massagectl.firmware_bridge import messages as m
from massagectl.firmware_bridge.codec import QUEUED_IDS, decode_messages, encode_message
from massagectl.firmware_bridge.crc import crc16_bitwise
from massagectl.firmware_bridge.framing import BlockDecoder, encode_block
from massagectl.firmware_bridge.identity import device_profile_map
from massagectl.firmware_bridge.link import CLOCK_SAMPLE_EVERY, HEARTBEAT_PERIOD_S
from massagectl.firmware_bridge.memory_transport import BITS_PER_BYTE
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
WATCHDOG_FRAME_HZ = round(1 / HEARTBEAT_PERIOD_S)  # a Heartbeat or a KeepAlive, same size
CLOCK_SAMPLE_HZ = WATCHDOG_FRAME_HZ / CLOCK_SAMPLE_EVERY  # the Heartbeats the board answers
TELEMETRY_HZ = 20
STATUS_HZ = 2
SAMPLED_HZ = 50  # the naive alternative: every channel's value streamed at 50 Hz

LOOP_WORK_NS = 300_000  # the STOP benchmark's loop runs other work in 0.3 ms slices

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


def row(name: str, ours: list[float], naive: list[float]) -> str:
    ours_med, naive_med = statistics.median(ours), statistics.median(naive)
    return (
        f"| {name:<28} | {ours_med:8.2f} | {percentile(ours, 0.99):8.2f} | {naive_med:8.2f} "
        f"| {percentile(naive, 0.99):8.2f} | {naive_med / ours_med:6.1f}x |"
    )


def codec_table(repeat: int) -> None:
    frame = fast_encode(SEGMENT, 5)
    assert frame == naive_encode(SEGMENT, 5), "the naive codec must produce the same bytes"
    assert fast_decode(frame) == naive_decode(frame)
    for _ in range(1000):  # warm up both
        fast_encode(SEGMENT, 5), naive_encode(SEGMENT, 5)
    print(f"\nCodec, one ScheduleSegment frame ({len(frame)} bytes), {repeat} runs, microseconds")
    print("| operation                    |  median  |   p99    | naive med | naive p99 | ratio |")
    print("|------------------------------|----------|----------|-----------|-----------|-------|")
    print(row("encode (message + block)", timed(fast_encode, (SEGMENT, 5), repeat),
              timed(naive_encode, (SEGMENT, 5), repeat)))
    print(row("decode (block + message)", timed(fast_decode, frame, repeat),
              timed(naive_decode, frame, repeat)))


# --- line budget -----------------------------------------------------------------------------


def budget_table(segment_rate: float, text_rate: float) -> None:
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
    down = segment_rate * segment_block + WATCHDOG_FRAME_HZ * heartbeat + text_rate * text_block
    up_link = (segment_rate + text_rate) * ack + CLOCK_SAMPLE_HZ * clock_report
    up_telemetry = TELEMETRY_HZ * telemetry + STATUS_HZ * status
    channels = len(chair.channels)
    sampled = SAMPLED_HZ * (BLOCK_OVERHEAD_BYTES + 1 + 4 * channels)  # one frame of all values
    print(f"\nLine budget, chair ({channels} channels, {sensors} sensors), 115200 baud = "
          f"{line:.0f} bytes/s each way, {segment_rate:g} segments/s, {text_rate:g} display "
          "rows/s")
    print("| traffic                                        | bytes/s | share of line |")
    print("|------------------------------------------------|---------|---------------|")
    for name, rate in [
        (f"host -> board: segments ({segment_block} B each)", segment_rate * segment_block),
        (f"host -> board: watchdog frames ({heartbeat} B at {WATCHDOG_FRAME_HZ} Hz)",
         WATCHDOG_FRAME_HZ * heartbeat),
        (f"host -> board: display rows ({text_block} B each)", text_rate * text_block),
        ("host -> board: total", down),
        (f"board -> host: acks, clock reports at {CLOCK_SAMPLE_HZ:g} Hz", up_link),
        (f"board -> host: telemetry {TELEMETRY_HZ} Hz ({reports} reports), status "
         f"{STATUS_HZ} Hz", up_telemetry),
        (f"naive: all channels sampled at {SAMPLED_HZ} Hz", sampled),
    ]:
        print(f"| {name:<55} | {rate:7.0f} | {100 * rate / line:12.2f}% |")
    print(f"segments use {sampled / (segment_rate * segment_block):.0f}x fewer bytes than "
          f"sampling at {SAMPLED_HZ} Hz ({sampled / down:.0f}x counting heartbeats)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--segment-rate", type=float, default=4.0,
                        help="segments per second of the busiest plan (default 4)")
    parser.add_argument("--text-rate", type=float, default=0.62,
                        help="display rows per second (default 0.62: 93 rows in 2.5 minutes)")
    parser.add_argument("--repeat", type=int, default=20_000, help="codec runs per operation")
    args = parser.parse_args()
    codec_table(args.repeat)
    budget_table(args.segment_rate, args.text_rate)


if __name__ == "__main__":
    main()
