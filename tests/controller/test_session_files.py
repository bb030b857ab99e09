"""A session's files (its trace, the session history, the chair's safety record) are written off
the service's loop, in order: the session is known at once (status, events), a STOP meanwhile
acts at once, the files follow, whole or not at all, and closing the service waits for them."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from pathlib import Path

from massagectl.controller.service import session_actions
from massagectl.controller.service.operations import ChairState, Origin, SessionEnded
from massagectl.controller.service.traces import save_trace
from massagectl.controller.session.recorder import SessionRecorder, load_trace
from tests.controller.service_rig import running_service
from tests.controller.test_service_state import until

HELD_S = 10.0  # a write held longer than this is a test gone wrong, not a slow disk


def history_on_disk(folder: Path) -> list[tuple[str, str]]:
    path = folder / "sessions.json"
    if not path.exists():
        return []
    return [(entry["routine"], entry["ended_how"])
            for entry in json.loads(path.read_text())["sessions"]]


async def wait_in_thread_for(event: threading.Event) -> None:
    """Yield to the loop until another thread sets `event` (no virtual time passes)."""
    deadline_s = time.monotonic() + HELD_S
    while not event.is_set():
        assert time.monotonic() <= deadline_s
        await asyncio.sleep(0)


def test_a_stop_acts_while_the_last_session_is_still_being_written(tmp_path, run_virtual_time,
                                                                   monkeypatch):
    writing, release = threading.Event(), threading.Event()
    held: list[bool] = []

    def held_save(*args):
        writing.set()
        held.append(release.wait(HELD_S))
        return save_trace(*args)

    monkeypatch.setattr(session_actions, "save_trace", held_save)
    seen = {}

    async def scenario():
        async with running_service(tmp_path) as service:
            # Waited for without a timer: on a virtual-time loop the clock stands still while
            # a thread works, so a test that slept now would wait for the held write.
            ended = asyncio.Event()
            service.subscribe(lambda event: ended.set()
                              if isinstance(event, SessionEnded) else None)
            await service.start("tiny", Origin.SOCKET)
            await ended.wait()
            await wait_in_thread_for(writing)  # the trace is being written, and held there
            seen["known"] = (service.state(), service.snapshot().last_session.routine,
                             service.history.sessions[-1].routine)
            seen["on_disk_while_held"] = history_on_disk(service.state_folder)
            written = []  # called once the stop's STOP is written
            service.chair.stop_path.add_listener(lambda source, detail: written.append(detail))
            service.stop(Origin.SOCKET, "a stop while the files are written")
            seen["stop_written"] = written == ["a stop while the files are written"]
            seen["writing"] = service.files_writer.busy
            release.set()
            await service.files_writer.flush()
            seen["on_disk"] = history_on_disk(service.state_folder)
            seen["trace"] = load_trace(service.last_summary.trace).routine
            seen["folder"] = service.state_folder

    run_virtual_time(scenario())
    assert held == [True]
    assert seen["known"] == (ChairState.IDLE, "tiny", "tiny")  # in memory at once
    assert seen["on_disk_while_held"] == []  # the file follows
    assert seen["stop_written"] and seen["writing"]
    assert seen["on_disk"] == [("tiny", "finished")]
    assert seen["trace"] == "tiny"
    assert not list(seen["folder"].glob("traces/.*"))  # no temporary file left


def test_closing_the_service_waits_for_the_files_of_the_session_it_stopped(tmp_path,
                                                                           run_virtual_time):
    folders = []

    async def scenario():
        async with running_service(tmp_path) as service:
            folders.append(service.state_folder)
            for _ in range(3):
                await service.start("tiny", Origin.SOCKET)
                await asyncio.sleep(1.0)
                service.stop(Origin.SOCKET, "next")
                await until(lambda: service.state() is ChairState.IDLE)
            await service.start("tiny", Origin.SOCKET)
            await asyncio.sleep(1.0)
        # closed mid-session: the stop path, then every file

    run_virtual_time(scenario())
    folder = folders[0]
    assert history_on_disk(folder) == [("tiny", "stopped")] * 4
    entries = json.loads((folder / "sessions.json").read_text())["sessions"]
    traces = [entry["trace"] for entry in entries]
    assert len(set(traces)) == 4 and all(Path(trace).exists() for trace in traces)


def test_a_trace_that_cannot_be_written_leaves_no_file_and_the_history_says_so(
        tmp_path, run_virtual_time, monkeypatch):
    def failing_save(self, path: Path) -> Path:
        path.write_bytes(b"PK\x03\x04 half a trace")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(SessionRecorder, "save", failing_save)
    seen = {}

    async def scenario():
        async with running_service(tmp_path) as service:
            await service.start("tiny", Origin.SOCKET)
            await until(lambda: service.state() is ChairState.IDLE and service.last_summary)
            await service.files_writer.flush()
            seen["summary"] = service.last_summary
            seen["folder"] = service.state_folder

    run_virtual_time(scenario())
    assert seen["summary"].trace is None
    assert not list((seen["folder"] / "traces").glob("*"))
    [entry] = json.loads((seen["folder"] / "sessions.json").read_text())["sessions"]
    assert entry["trace"] is None and entry["ended_how"] == "finished"
