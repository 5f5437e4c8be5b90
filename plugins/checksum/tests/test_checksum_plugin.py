"""The checksum plugin, found through the entry points of its installed distribution."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import warnings
from pathlib import Path

import pydicom
import pytest
from pydicom.encaps import generate_fragments

from dicomstream.plugin import STAGES, discover, load

DATA = Path(pydicom.data.__file__).parent / "test_files"


def test_discovered_from_its_distribution() -> None:
    found = {(p.group, p.name): p for p in discover()}
    info = found[(STAGES, "checksum")]
    assert info.distribution == "dicomstream-checksum"
    assert info.error is None
    from dicomstream_checksum import ChecksumStage

    assert load(STAGES, "checksum") is ChecksumStage


def expected_digest(path: Path) -> tuple[str, int]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = pydicom.dcmread(path)
    if ds.file_meta.TransferSyntaxUID.is_encapsulated:
        frags = list(generate_fragments(ds.PixelData))[1:]  # skip the Basic Offset Table
        return hashlib.sha256(b"".join(frags)).hexdigest(), sum(map(len, frags))
    return hashlib.sha256(ds.PixelData).hexdigest(), len(ds.PixelData)


@pytest.mark.parametrize("name", ["CT_small.dcm", "MR_small_bigendian.dcm", "JPEG2000.dcm",
                                  "SC_rgb_rle_2frame.dcm", "rtdose.dcm"])
def test_rewrite_with_checksum_stage_reports_pixel_digest(name: str, tmp_path: Path) -> None:
    report = tmp_path / "r.jsonl"
    result = subprocess.run(
        [sys.executable, "-m", "dicomstream", "rewrite", str(DATA / name),
         str(tmp_path / "out.dcm"), "--stage", "checksum", "--report", str(report)],
        capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    details = json.loads(report.read_text())["details"]
    digest, size = expected_digest(DATA / name)
    assert details == {"pixel_sha256": digest, "pixel_bytes": size}
    # the stage observes only: the output is the input
    assert (tmp_path / "out.dcm").read_bytes() == (DATA / name).read_bytes()


def test_algorithm_option(tmp_path: Path) -> None:
    report = tmp_path / "r.jsonl"
    subprocess.run([sys.executable, "-m", "dicomstream", "rewrite", str(DATA / "CT_small.dcm"),
                    str(tmp_path / "o.dcm"), "--stage", "checksum:algorithm=blake2b",
                    "--report", str(report)], check=True, timeout=60)
    details = json.loads(report.read_text())["details"]
    ds = pydicom.dcmread(DATA / "CT_small.dcm")
    assert details["pixel_blake2b"] == hashlib.blake2b(ds.PixelData).hexdigest()


def test_no_pixel_data_reports_none(tmp_path: Path) -> None:
    import anyio

    from dicomstream.io import BytesSource, MemorySink
    from dicomstream.pipeline import rewrite
    from dicomstream_checksum import ChecksumStage

    stage = ChecksumStage()
    data = (DATA / "rtplan.dcm").read_bytes()
    anyio.run(lambda: rewrite(BytesSource(data), MemorySink(), stages=[stage]))
    assert stage.report() == {"pixel_sha256": None, "pixel_bytes": 0}
