"""``dicomstream rewrite SRC DST`` with no options is the identity, for files and trees.

Outputs are byte-identical to their inputs (the deflated file: an equal dataset); a bad
file in a tree fails alone (exit status 1, the others written, no temporary file left,
the report names it with its error); a re-run skips what is already written.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
import warnings
from typing import TYPE_CHECKING, Any

import pydicom
import pytest
from corpus import KNOWN_PARSE_FAILURES, NOT_BYTE_EXACT, path_of, read_bytes

if TYPE_CHECKING:
    from pathlib import Path

TREE = [
    "test_files/dicomdirtests/DICOMDIR",
    "test_files/dicomdirtests/DICOMDIR-bigEnd",
    "test_files/dicomdirtests/DICOMDIR-implicit",
    "test_files/dicomdirtests/77654033/CR1/6154",
    "test_files/dicomdirtests/77654033/CT2/17106",
    "test_files/dicomdirtests/98892001/CT2N/6293",
    "test_files/dicomdirtests/98892003/MR700/4467",
    "test_files/image_dfl.dcm",
    "test_files/rtplan.dcm",
    "test_files/MR_small_bigendian.dcm",
    "test_files/UN_sequence.dcm",
    "test_files/JPEG2000.dcm",
    "charset_files/chrSQEncoding.dcm",
]
"""A slice of the corpus, copied as a tree: DICOMDIRs, extension-less files, a deflated,
a big endian, an encapsulated and a CP-246 file."""

BAD = {
    "test_files/dicomdirtests/DICOMDIR-nooffset": KNOWN_PARSE_FAILURES[
        "test_files/dicomdirtests/DICOMDIR-nooffset"][0].__name__,
    "test_files/MR_truncated.dcm": "LengthExceedsSourceError",  # the size of a file is known
}
"""Corpus files that fail, and the error the report must name."""

TEMP_SUFFIX = ".dicomstream-tmp"


def rewrite(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "dicomstream", "rewrite",
                           "--progress", "never", *map(str, args)],
                          capture_output=True, text=True, timeout=120, check=False)


def make_tree(root: Path, names: list[str]) -> Path:
    for name in names:
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path_of(name), target)
    return root


def assert_same(name: str, output: bytes) -> None:
    original = read_bytes(name)
    if name not in NOT_BYTE_EXACT:
        assert output == original, name
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs: Any = pydicom.dcmread(io.BytesIO(original), force=True)
        ours: Any = pydicom.dcmread(io.BytesIO(output), force=True)
        assert ours == theirs, name


def read_report(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def leftovers(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.endswith(TEMP_SUFFIX)]


@pytest.mark.parametrize("name", ["test_files/rtplan.dcm", "test_files/image_dfl.dcm",
                                  "test_files/dicomdirtests/77654033/CR1/6154"])
def test_rewrite_one_file(tmp_path: Path, name: str) -> None:
    target = tmp_path / "out" / "copy.dcm"
    result = rewrite(path_of(name), target)
    assert result.returncode == 0, result.stderr
    assert_same(name, target.read_bytes())
    assert leftovers(tmp_path) == []


def test_rewrite_tree(tmp_path: Path) -> None:
    source = make_tree(tmp_path / "in", TREE)
    report = tmp_path / "report.jsonl"
    result = rewrite(source, tmp_path / "out", "--report", report)
    assert result.returncode == 0, result.stderr
    for name in TREE:
        assert_same(name, (tmp_path / "out" / name).read_bytes())
    written = sorted(p.relative_to(tmp_path / "out").as_posix()
                     for p in (tmp_path / "out").rglob("*") if p.is_file())
    assert written == sorted(TREE)
    records = read_report(report)
    assert len(records) == len(TREE)
    assert {r["status"] for r in records} == {"ok"}
    assert all(r["error"] is None for r in records)


def test_bad_files_fail_alone_and_rerun_skips(tmp_path: Path) -> None:
    source = make_tree(tmp_path / "in", TREE + list(BAD))
    # And a file cut in the middle of a sequence, and one that is not DICOM at all.
    cut = source / "cut" / "rtplan_half.dcm"
    cut.parent.mkdir()
    cut.write_bytes(read_bytes("test_files/rtplan.dcm")[:1400])
    (source / "notes.txt").write_text("not a DICOM file\n")
    bad = {**{name: error for name, error in BAD.items()},
           "cut/rtplan_half.dcm": "LengthExceedsSourceError",
           "notes.txt": "NotDicomError"}
    out = tmp_path / "out"
    report = tmp_path / "report.jsonl"

    result = rewrite(source, out, "--report", report, "--jobs", "3")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    for name in TREE:
        assert_same(name, (out / name).read_bytes())
    for name in bad:
        assert not (out / name).exists(), name
    assert leftovers(out) == []
    records = {r["source"]: r for r in read_report(report)}
    assert len(records) == len(TREE) + len(bad)
    for name, error in bad.items():
        record = records[str(source / name)]
        assert record["status"] == "error"
        assert error in record["error"], record
        assert "offset" in record["error"] or error == "NotDicomError"
        assert name.rsplit("/", 1)[-1] in result.stderr
    assert sum(r["status"] == "ok" for r in records.values()) == len(TREE)

    # A second run skips what exists and tries the bad ones again.
    again = tmp_path / "again.jsonl"
    result = rewrite(source, out, "--report", again)
    assert result.returncode == 1
    statuses = {r["source"]: r["status"] for r in read_report(again)}
    assert {statuses[str(source / n)] for n in TREE} == {"skipped"}
    assert {statuses[str(source / n)] for n in bad} == {"error"}
    assert leftovers(out) == []
    for name in TREE:
        assert_same(name, (out / name).read_bytes())
