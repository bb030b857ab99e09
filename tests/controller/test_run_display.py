"""`massagectl run`'s remote display: what reaches the line, in-process against the simulator."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console

from massagectl.controller.app import RunOptions, run_routine
from massagectl.controller.config import Config, LogSettings
from massagectl.firmware_bridge import messages as m
from massagectl.firmware_bridge.link import Link
from tests.controller.sessions import TINY


def test_the_display_is_drawn_once_the_session_runs_and_only_with_the_rows_it_keeps(
        tmp_path: Path, monkeypatch):
    routine = tmp_path / "tiny.toml"
    routine.write_text(TINY)
    shown: list[m.ShowText] = []
    send_nowait = Link.send_nowait

    def recording(link: Link, message: object) -> bool:
        if isinstance(message, m.ShowText):
            shown.append(message)
        return send_nowait(link, message)

    monkeypatch.setattr(Link, "send_nowait", recording)
    options = RunOptions(routine=str(routine), config=Config(logs=LogSettings(
        directory=tmp_path / "state")), speed=None, show_status=False, body_scan=False)
    result = run_routine(options, Console(file=io.StringIO()))
    assert result.outcome.ended == "finished"
    # The first rows are the running screen's, each row once: no menu to choose from (a run
    # has one routine), no scanning screen passed through on the way, no row redrawn at once.
    texts = [(row.row, row.text.rstrip()) for row in shown]
    assert texts[:4] == [(0, "tiny           00:15"), (1, "warm-up"), (2, "int 3/5"),
                         (3, "OK:options")]
    # Then only what changes: the clock once a second, the step; at the end the menu again.
    running = texts[:texts.index((0, "Stopping..."))]
    steps = [(row, text) for row, text in running[4:] if row != 0]
    assert steps == [(1, "knead"), (1, "cool-down")]
    assert len(running[4:]) == 15 + 2  # 00:14 .. 00:00, and the two steps
    assert not any("Body scan" in text or "Choose" in text for _, text in running)
