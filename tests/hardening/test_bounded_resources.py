"""A reduced bounded-resources run (``scripts/bounded_resources.py``): 2,000 inputs under
``ulimit -n 64`` with ``--jobs 16``; descriptors, queues and memory stay bounded."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_bounded_resources_reduced(tmp_path: Path) -> None:
    results = tmp_path / "results.json"
    proc = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "bounded_resources.py"), "--inputs", "2000",
         "--nofile", "64", "--jobs", "16", "--workdir", str(tmp_path / "work"),
         "--json", str(results)],
        capture_output=True, text=True, timeout=180, cwd=REPO)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = json.loads(results.read_text())
    assert [row["io"] for row in rows] == ["inline", "threads"]
    for row in rows:
        assert row["ok"], row["problems"]
        assert row["outputs"] == 2000 - 4 and row["failures"] == 4
        assert 0 < row["max_fds"] <= row["fd_bound"] < 64
        assert row["max_queued"] <= row["queue_bound"] <= 16
        assert row["max_in_flight"] <= 16
        assert row["stats_lines"] >= 3
