"""`massagectl trace` reads every trace massagectl writes and refuses anything else in one line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from massagectl.controller.cli import main
from massagectl.sim.trace import Trace


def _board_trace(path: Path) -> Path:
    trace = Trace("chair", ["knead_speed", "roller_position"], ["knead_speed"], 1_000_000)
    trace.event(10.0, 0, "state", state="READY", cause="POWER_ON")
    for row in range(40):
        time_s = 10.0 + row * 0.05
        trace.add_sample(time_s, row * 50_000, 1, [20.0, None], [19.5, 300.0], [19.6])
    trace.event(12.0, 2_000_000, "state", state="SHUTDOWN", cause="HOST_STOP")
    return trace.save(path)


def test_a_board_trace_from_sim_is_summarised(capsys, tmp_path):
    path = _board_trace(tmp_path / "board.npz")
    assert main(["trace", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("board trace of a simulated chair, 00:02 long, 40 samples")
    assert "segments: 0 received" in out
    assert "knead_speed" in out and "20.0" in out and "19.5" in out
    assert "00:02 board SHUTDOWN (HOST_STOP)" in out


def _refusal(capsys, path: Path) -> str:
    assert main(["trace", str(path)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert len(captured.err.splitlines()) == 1, captured.err
    assert "Traceback" not in captured.err and "Error" not in captured.err
    return captured.err


def test_a_trace_cut_short_is_called_damaged(capsys, tmp_path):
    whole = _board_trace(tmp_path / "whole.npz").read_bytes()
    cut = tmp_path / "cut.npz"
    cut.write_bytes(whole[: len(whole) // 2])
    assert "damaged or incomplete" in _refusal(capsys, cut)


@pytest.mark.parametrize(("name", "content", "said"), [
    ("routine.toml", b'name = "x"\n', "a text file, not a trace"),
    ("plot.png", b"\x89PNG\r\n\x1a\n....", "an image (a plot?), not a trace"),
    ("faults.jsonl", b'{"time": "t", "event": "fault", "cause": "over_pressure"}\n',
     "the fault log, not a trace (read it with `massagectl faults FILE`)"),
    ("empty.npz", b"", "an empty file"),
])
def test_other_files_get_one_line_that_says_what_they_are(capsys, tmp_path, name, content,
                                                         said):
    path = tmp_path / name
    path.write_bytes(content)
    err = _refusal(capsys, path)
    assert err.startswith(f"massagectl trace: {path}: {said}")
    assert "massagectl sim --trace" in err or "faults" in err
    assert "allow_pickle" not in err


def test_a_folder_and_a_missing_file_are_named(capsys, tmp_path):
    assert "a folder, not a trace file" in _refusal(capsys, tmp_path)
    assert _refusal(capsys, tmp_path / "nope.npz").endswith("nope.npz: no such file\n")


def test_a_heaters_lag_is_told_apart_from_a_real_error():
    from massagectl.controller.trace_report import LAG_MUST_EXPLAIN, best_lag

    times = np.arange(0.0, 900.0, 0.5)
    planned = np.where(times >= 30.0, 40.0, 22.0)
    lagging = np.where(times >= 90.0, 40.0, 22.0)  # the same, a minute late
    lag_s, left = best_lag(times, planned, lagging)
    assert lag_s == pytest.approx(60.0, abs=2.0) and left < 0.1
    off = planned - 5.0  # a heater that never reaches its set point: a real error
    lag = best_lag(times, planned, off)
    assert lag is None or lag[1] >= 5.0 * LAG_MUST_EXPLAIN


def test_a_session_plot_marks_the_scan_pauses_and_stops():
    from massagectl.controller.trace_report import session_marks

    class Events:
        events = ({"t_s": 0.0, "kind": "plan", "detail": "scan"},
                  {"t_s": 68.0, "kind": "scan", "detail": "shoulder line 600 mm"},
                  {"t_s": 300.0, "kind": "pause", "detail": ""},
                  {"t_s": 360.0, "kind": "resume", "detail": ""},
                  {"t_s": 500.0, "kind": "stop", "detail": "terminal: q pressed"},
                  {"t_s": 501.0, "kind": "end", "detail": "stopped: terminal: q pressed"})
        duration_s = 501.0

    marks = session_marks(Events())  # type: ignore[arg-type]
    assert [(m.label, m.start_s, m.end_s) for m in marks] == [
        ("body scan", 0.0, 68.0), ("paused", 300.0, 360.0),
        ("stop: terminal: q pressed", 500.0, None)]
