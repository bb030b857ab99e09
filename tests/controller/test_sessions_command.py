"""`massagectl sessions`: the past sessions from the trace folder, traces named by their start."""

from __future__ import annotations

import json
from datetime import datetime

import numpy as np

from massagectl.controller.cli import main
from tests.controller.sessions import TINY


def test_sessions_lists_when_what_whose_how_it_ended_and_the_trace(capsys, tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('[logs]\ndirectory = "state"\n')
    routine = tmp_path / "tiny.toml"
    routine.write_text(TINY)
    assert main(["sessions", "--config", str(config)]) == 0
    assert capsys.readouterr().out.startswith("no sessions yet (kept in ")

    assert main(["run", str(routine), "--speed", "max", "--quiet", "--no-scan", "--config",
                 str(config)]) == 0
    capsys.readouterr()
    traces = tmp_path / "state" / "chairs" / "SIM-chair-1" / "traces"
    [trace] = traces.glob("*.npz")
    with np.load(trace) as data:
        started = datetime.fromisoformat(json.loads(str(data["meta"]))["started"])
    # Named by when the session started (local time), so the folder lists them in order.
    assert trace.name == started.astimezone().strftime("%Y%m%d-%H%M%S") + "-tiny.npz"
    (traces / "00000000-000000-cut.npz").write_bytes(b"PK\x03\x04 cut short")

    assert main(["sessions", "--config", str(config)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["chair", "started", "routine", "user", "length", "ended",
                                "trace"]
    row = lines[1].split()
    assert row[1] + " " + row[2] == started.astimezone().strftime("%Y-%m-%d %H:%M")
    assert row[0] == "SIM-chair-1"
    assert row[3:] == ["tiny", "default", row[5], "finished", trace.name]
    assert "unreadable trace" in lines[2] and "00000000-000000-cut.npz" in lines[2]
    assert lines[-1].startswith(f"traces in {tmp_path / 'state' / 'chairs'}/SERIAL/traces")


def test_sessions_of_earlier_versions_in_the_top_level_trace_folder_are_listed(capsys,
                                                                               tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('[logs]\ndirectory = "state"\n')
    traces = tmp_path / "state" / "traces"  # where `massagectl run` kept them before
    traces.mkdir(parents=True)
    meta = {"format": 1, "routine": "relax", "user": "anna", "started": "2026-12-05T12:00:00+00:00"}
    events = [{"t_s": 30.0, "kind": "end", "detail": "finished: routine complete"}]
    with (traces / "20261205-120000-relax.npz").open("wb") as handle:
        np.savez_compressed(handle, meta=np.array(json.dumps(meta)),
                            events=np.array("\n".join(json.dumps(e) for e in events)))
    assert main(["sessions", "--config", str(config)]) == 0
    row = capsys.readouterr().out.splitlines()[1].split()
    assert row[0] == "-" and row[3:5] == ["relax", "anna"]
    assert row[-1] == "20261205-120000-relax.npz"


def test_a_fault_during_a_session_is_named_from_the_fault_log(tmp_path):
    from massagectl.controller.session_history import past_sessions
    from massagectl.safety.fault_log import FaultRecord

    traces = tmp_path / "traces"
    traces.mkdir()
    meta = {"format": 1, "routine": "relax", "user": "anna", "started": "2026-12-05T12:00:00+00:00"}
    events = [{"t_s": 30.0, "kind": "end", "detail": "fault: link_lost: the board went away"}]
    with (traces / "20261205-120000-relax.npz").open("wb") as handle:
        np.savez_compressed(handle, meta=np.array(json.dumps(meta)),
                            events=np.array("\n".join(json.dumps(e) for e in events)))
    during = FaultRecord("2026-12-05T12:00:29+00:00", "fault", "supervisor", "link_lost")
    later = FaultRecord("2026-12-05T13:00:00+00:00", "fault", "supervisor", "over_pressure")
    [session] = past_sessions(traces, [during, later])
    assert (session.routine, session.user, session.ended, session.faults) == (
        "relax", "anna", "fault", ("link_lost",))
    assert session.detail == "link_lost: the board went away"
