"""A reduced chaos bulk job (``scripts/chaos_bulk.py``): 200 inputs, two signals per
killing scenario, a full tmpfs; every check of the script must pass."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_chaos_bulk_reduced(tmp_path: Path) -> None:
    results = tmp_path / "results.json"
    proc = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "chaos_bulk.py"), "--files", "200",
         "--kills", "2", "--seed", "1", "--workdir", str(tmp_path / "work"),
         "--json", str(results)],
        capture_output=True, text=True, timeout=180, cwd=REPO)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = {row["scenario"]: row for row in json.loads(results.read_text())}
    assert set(rows) == {"clean", "sigkill", "sigterm", "enospc", "mixed"}
    ran = {name: row for name, row in rows.items() if "skipped" not in row}
    assert {"clean", "sigkill", "sigterm"} <= set(ran)
    for row in ran.values():
        assert row["ok"], row["problems"]
        assert row["outputs"] == rows["clean"]["outputs"] > 150
        assert row["failures_reported"] == rows["clean"]["failures_reported"] >= 7
        assert row["temporaries_left"] == row["mismatches"] == 0
    assert ran["sigkill"]["kills"] == {"SIGKILL": 2}
    assert ran["sigkill"]["swept"] >= 1  # the first kill lands while a temporary exists
    assert ran["sigterm"]["kills"] == {"SIGTERM": 2}
    for name in ("enospc", "mixed"):
        if name in ran:
            assert ran[name]["enospc_failures"] > 0
