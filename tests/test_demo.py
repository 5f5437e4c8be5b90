"""The README's main job, ``scripts/demo.sh``, runs to the end on a generated sample.

Why: it is the first thing a newcomer runs; a step that breaks (as the anonymize step
once did, when keys had to reach 16 bytes) must fail the suite, not the newcomer.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_demo_script_runs_every_step(tmp_path: Path) -> None:
    env = dict(os.environ, DICOMSTREAM_VENV=str(Path(sys.executable).parents[1]))
    run = subprocess.run(["bash", str(REPO / "scripts" / "demo.sh"), str(tmp_path)],
                         capture_output=True, text=True, env=env, timeout=300, check=False)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    assert "identical: 50 files" in run.stdout
    assert len(list((tmp_path / "identity").iterdir())) == 50
    assert len(list((tmp_path / "deid").rglob("*.dcm"))) == 50
    assert "All outputs are in" in run.stdout
