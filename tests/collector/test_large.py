"""Collecting a ≥ 1 GiB multi-frame file with deferred values keeps memory flat.

The file is generated into ``tmp_path`` (on disk) by ``benchmarks/_generate.py``; a
fresh interpreter reads it with ``defer_size``, checks what it got, saves it back (the
pixel data streams from the file through the encoder) and reports its own peak RSS
(``VmHWM`` after resetting it: ``ru_maxrss`` would count the pages of the forked test
process), which must stay under 128 MiB.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from typing import TYPE_CHECKING

from conftest import PEAK_RSS_END, PEAK_RSS_START

if TYPE_CHECKING:
    from pathlib import Path

LIMIT_MIB = 128
CHILD = PEAK_RSS_START + PEAK_RSS_END + """
import hashlib, json, sys
import dicomstream

ds = dicomstream.dcmread(sys.argv[1], defer_size="1 MB")
read_rss = peak_rss_kib()
digest = hashlib.sha256()

class Sink:
    def write(self, data):
        digest.update(data)

ds.save_as(Sink())
print(json.dumps({
    "read_rss_kib": read_rss,
    "rss_kib": peak_rss_kib(),
    "frames": int(ds.NumberOfFrames),
    "items": len(ds.PerFrameFunctionalGroupsSequence),
    "deferred": ds["PixelData"].is_deferred,
    "pixel_bytes": ds["PixelData"].length_hint(),
    "sha256": digest.hexdigest(),
}))
"""


def test_one_gib_file_collects_in_little_memory(tmp_path: Path) -> None:
    from benchmarks._generate import write_multiframe  # the repository root is on sys.path

    path = write_multiframe(tmp_path / "multiframe.dcm", 1 << 30)
    size = path.stat().st_size
    assert size >= 1 << 30
    done = subprocess.run([sys.executable, "-c", CHILD, str(path)], capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["deferred"] and report["frames"] == report["items"] >= 2048
    assert report["pixel_bytes"] >= 1 << 30
    assert report["read_rss_kib"] < LIMIT_MIB * 1024, report
    assert report["rss_kib"] < LIMIT_MIB * 1024, report
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 24):
            digest.update(chunk)
    assert report["sha256"] == digest.hexdigest()  # saved back byte for byte
