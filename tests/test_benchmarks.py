"""`python -m benchmarks --quick` still measures everything: a smoke check, no timing asserted."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SECTIONS = ["1 stop", "2 streaming", "3 host gone", "4 wire", "5 damaged line", "6 compile",
            "7 virtual", "8 footprint", "9 codec", "10 safety", "11 simulator"]


def test_quick_benchmark_run_reports_every_section_with_the_machine(tmp_path):
    out = tmp_path / "figures.json"
    done = subprocess.run([sys.executable, "-m", "benchmarks", "--quick", "--json", str(out)],
                          cwd=REPO, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(out.read_text())
    assert {"cpu", "cores", "python", "date"} <= set(report["machine"])
    figures = report["figures"]
    assert sorted({f["section"] for f in figures}) == sorted(SECTIONS)
    # Every section measured something (a quick run may leave a row empty: a few seconds of
    # streaming hold no segment sent after a session's first second).
    for section in SECTIONS:
        assert any(f["n"] >= 1 and f["median"] is not None
                   for f in figures if f["section"] == section), section
    # A quick run has too few samples for a p99 to mean anything: none is shown.
    stops = [f for f in figures if f["section"] == "1 stop"]
    assert stops and all(f["p99"] is None for f in stops)
    assert "| section" in done.stdout and "targets not met:" in done.stdout
