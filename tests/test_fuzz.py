"""Junk in, no harm out: routine, device and user profile files, and bytes on the board's line.

Bounded examples in CI (the `ci` hypothesis profile); `HYPOTHESIS_PROFILE=fuzz` runs 20,000
each. A loader given junk either accepts a valid file or refuses it with InvalidFileError that
names the file; no other exception escapes. A board fed junk bytes starts nothing: no segment
runs and every output stays safe. (The frame decoder's own properties, never raising and
bounded memory, are in tests/firmware_bridge/test_framing.py.)
"""

from __future__ import annotations

import asyncio
import tempfile
import tomllib
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from massagectl.firmware_bridge import messages as m
from massagectl.firmware_bridge.codec import encode_message
from massagectl.firmware_bridge.framing import encode_block
from massagectl.firmware_bridge.memory_transport import memory_pair
from massagectl.firmware_bridge.wire import BlockKind
from massagectl.routines import library
from massagectl.routines.device import DeviceProfile, load_device
from massagectl.routines.errors import InvalidFileError
from massagectl.routines.loading import validate_data
from massagectl.routines.routine import Routine, load_routine
from massagectl.routines.user import UserProfile, load_user
from massagectl.sim.attach import AttachedBoard
from massagectl.sim.board import SimBoard
from massagectl.sim.trace import SegmentOutcome

PACKAGE = Path(library.__file__).parent
ROUTINE_DATA = tomllib.loads((PACKAGE / "library" / "full_body.toml").read_text())
CHAIR_DATA = tomllib.loads((PACKAGE / "devices" / "chair.toml").read_text())
USER_DATA = {"name": "anna", "shoulder_height_mm": 585, "back_length_mm": 430,
             "preferred_intensity": 2, "precautions": ["dvt"], "on_precaution": "adapt",
             "limits": {"temperature_c": 40, "session_min": 20}}

junk_values = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**40), 2**40),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=20),
    st.lists(st.integers(-5, 5), max_size=3), st.dictionaries(st.text(max_size=5),
                                                              st.integers(), max_size=2),
)


def leaf_paths(data: Any, path: tuple = ()) -> list[tuple]:
    if isinstance(data, dict):
        return [p for key, value in data.items() for p in leaf_paths(value, (*path, key))]
    if isinstance(data, list):
        return [p for i, value in enumerate(data) for p in leaf_paths(value, (*path, i))]
    return [path]


def replaced(data: Any, path: tuple, value: Any) -> Any:
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(data, dict):
        return {**data, head: replaced(data[head], rest, value)}
    copy = list(data)
    copy[head] = replaced(copy[head], rest, value)
    return copy


def mutations(data: dict) -> st.SearchStrategy[dict]:
    """A valid document with one to three leaves replaced by junk, or a key dropped."""
    paths = leaf_paths(data)

    @st.composite
    def mutate(draw) -> dict:
        result = data
        for _ in range(draw(st.integers(1, 3))):
            path = draw(st.sampled_from(paths))
            result = replaced(result, path, draw(junk_values))
        return result

    return mutate()


def refused_or_valid(load) -> None:
    try:
        load()
    except InvalidFileError as error:
        assert str(error), "a refusal says what is wrong"


@given(mutations(ROUTINE_DATA))
def test_a_damaged_routine_is_refused_with_a_message_or_valid(data):
    refused_or_valid(lambda: validate_data("damaged.toml", data, Routine))


@given(mutations(CHAIR_DATA))
def test_a_damaged_device_profile_is_refused_with_a_message_or_valid(data):
    refused_or_valid(lambda: validate_data("damaged.toml", data, DeviceProfile))


@given(mutations(USER_DATA))
def test_a_damaged_user_profile_is_refused_with_a_message_or_valid(data):
    refused_or_valid(lambda: validate_data("damaged.toml", data, UserProfile))


@given(st.one_of(st.binary(max_size=300),
                 st.text(max_size=300).map(str.encode),
                 st.sampled_from([b"[[steps]]\n" * 200, b"a = [" * 500, b"\xff\xfe",
                                  b"name = 'x'\n" * 2])))
def test_junk_files_are_refused_naming_the_file(content):
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "junk.toml"
        path.write_bytes(content)
        for load in (load_routine, load_device, load_user):
            try:
                load(path)
            except InvalidFileError as error:
                assert "junk.toml" in str(error)


async def _board_fed(chunks: list[bytes]) -> SimBoard:
    host_end, board_end = memory_pair()
    board = SimBoard(load_device("chair"), now_s=asyncio.get_running_loop().time(),
                     trace_samples=False)
    attached = AttachedBoard(board, board_end)
    attached.start()
    try:
        for chunk in chunks:
            attached.receive(chunk)
            await asyncio.sleep(0)
    finally:
        attached.driver.close()
        await attached.aclose()
        await board_end.close()
        await host_end.close()
    return board


SEGMENT = encode_block(BlockKind.DATA, 0, encode_message(
    m.ScheduleSegment(5, 1000, 1_000_000, 0.0, 5.0)))


@given(st.lists(st.binary(max_size=80), max_size=12),
       st.lists(st.integers(0, len(SEGMENT) - 1), min_size=1, max_size=3, unique=True))
def test_junk_on_the_line_starts_nothing_on_the_board(noise, flips):
    # Noise, and a real segment with bytes flipped (a damaged frame must not run either).
    damaged = bytearray(SEGMENT)
    for index in flips:
        damaged[index] ^= 0x5A
    with asyncio.Runner() as runner:
        board = runner.run(_board_fed([*noise, bytes(damaged)]))
    started = board.trace.segments["outcome"] == SegmentOutcome.EXECUTED
    assert not started.any()
    assert board.outputs_safe()
