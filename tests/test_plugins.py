"""Plugin discovery through real entry points: installed distributions, and a broken
plugin that is reported without breaking the others (no monkeypatching)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import TYPE_CHECKING

from corpus import read_bytes

from dicomstream.plugin import COMMANDS, STAGES, discover

if TYPE_CHECKING:
    from pathlib import Path


def test_builtins_are_registered_like_plugins() -> None:
    found = {(p.group, p.name): p for p in discover()}
    for name in ("edit", "filter", "transcode", "meta", "tap"):
        assert found[(STAGES, name)].distribution == "dicomstream"
        assert found[(STAGES, name)].error is None
    for name in ("dump", "rewrite", "plugins"):
        assert found[(COMMANDS, name)].error is None


def _fake_distribution(site: Path) -> None:
    """An installed distribution (dist-info metadata on sys.path) with one broken stage,
    one broken command and one working stage."""
    info = site / "brokenplugin-1.2.3.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: brokenplugin\n"
                                   "Version: 1.2.3\n")
    (info / "entry_points.txt").write_text(
        "[dicomstream.stages]\n"
        "broken = brokenplugin_mod:Missing\n"
        "fine = brokenplugin_ok:FineStage\n"
        "[dicomstream.commands]\n"
        "explode = brokenplugin_mod:command\n")
    (site / "brokenplugin_mod.py").write_text("raise ImportError('this plugin is broken')\n")
    (site / "brokenplugin_ok.py").write_text(
        "from dicomstream.stages import Stage\n\n"
        "class FineStage(Stage):\n    name = 'fine'\n")


def test_broken_plugin_is_reported_not_fatal(tmp_path: Path) -> None:
    site = tmp_path / "site"
    _fake_distribution(site)
    env = {**os.environ, "PYTHONPATH": str(site)}
    result = subprocess.run([sys.executable, "-m", "dicomstream", "plugins", "--json"],
                            capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    rows = {(r["group"], r["name"]): r for r in map(json.loads, result.stdout.splitlines())}
    assert "this plugin is broken" in rows[(STAGES, "broken")]["error"]
    assert rows[(STAGES, "broken")]["distribution"] == "brokenplugin"
    assert rows[(STAGES, "broken")]["version"] == "1.2.3"
    assert rows[(STAGES, "fine")]["error"] is None
    assert rows[(STAGES, "edit")]["error"] is None
    assert "this plugin is broken" in rows[(COMMANDS, "explode")]["error"]

    # The other commands still run (a command imports only what it needs), and the
    # broken one is reported where all commands are loaded: --help.
    data = read_bytes("test_files/CT_small.dcm")
    run = subprocess.run(
        [sys.executable, "-m", "dicomstream", "rewrite", "-", "-", "--stage", "fine"],
        input=data, capture_output=True, env=env, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout == data
    helped = subprocess.run([sys.executable, "-m", "dicomstream", "--help"],
                            capture_output=True, text=True, env=env, timeout=60)
    assert helped.returncode == 0
    assert "command 'explode'" in helped.stderr and "failed to load" in helped.stderr
    assert "rewrite" in helped.stdout
