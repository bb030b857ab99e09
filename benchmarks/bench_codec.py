"""Codec cost per frame: the project's codec against a naive one, measured in the same run.

Run from the repository root:

    python benchmarks/bench_codec.py
    python benchmarks/bench_codec.py --repeat 100000

Encode and decode cost per frame (median, p99) of the project's codec (precompiled structs,
table CRC, one pass) against a naive one (struct.pack per field, bitwise CRC, bytes rebuilt per
field), with the ratio. (STOP latency and the wire's share are measured end to end by
`python -m benchmarks --only stop,wire`.)
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
from massagectl.firmware_bridge.link import CLOCK_SAMPLE_EVERY, HEARTBEAT_PERIOD_S
from massagectl.firmware_bridge.wire import (
    HOST_BLOCK_KINDS,
    BlockKind,
)

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
    payload += struct.pack("<i", int(round(segment.start_value * 1000)))
    payload += struct.pack("<i", int(round(segment.end_value * 1000)))
    payload += struct.pack("<i", int(round(segment.amplitude * 1000)))
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20_000, help="codec runs per operation")
    args = parser.parse_args()
    codec_table(args.repeat)


if __name__ == "__main__":
    main()
