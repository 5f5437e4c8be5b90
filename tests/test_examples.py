"""The scripts in ``examples/`` run as documented, on real files, and do what they say
(checked with pydicom). The cloud examples are run against real servers in
``tests/cloud/test_examples_cloud.py``."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pydicom
from corpus import path_of

from benchmarks._generate import write_ct_series

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
RTPLAN = "test_files/rtplan.dcm"
CT = "test_files/CT_small.dcm"


def run(script: str, *args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(EXAMPLES / script), *map(str, args)],
                          capture_output=True, text=True, timeout=120, check=True)


def test_dump_events_counts_what_pydicom_reads() -> None:
    done = run("01_dump_events.py", path_of(RTPLAN))
    lines = done.stdout.splitlines()
    assert lines[0].startswith("Preamble") and lines[-1].startswith("DatasetEnd")
    ds = pydicom.dcmread(path_of(RTPLAN))  # sequences are events of their own, not elements
    count = len(ds.file_meta) + sum(1 for elem in ds.iterall() if elem.VR != "SQ")
    assert done.stderr.strip() == f"{count} elements"
    assert sum(line.startswith("Element ") for line in lines) == count


def test_rewrite_file_edits_as_it_says(tmp_path: Path) -> None:
    out = tmp_path / "out.dcm"
    done = run("02_rewrite_file.py", path_of(CT), out)
    assert "bytes out" in done.stdout
    ds = pydicom.dcmread(out)
    assert ds.PatientName == "ANON" and ds.PatientID == "ANON"
    assert "PatientBirthDate" not in ds
    assert not any(elem.tag.is_private for elem in ds.iterall())
    assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID


def test_custom_stage_upper_cases_and_counts(tmp_path: Path) -> None:
    src = tmp_path / "in.dcm"
    ds = pydicom.dcmread(path_of(RTPLAN))
    ds.StudyDescription = "Pelvis plan"
    ds.save_as(src)
    out = tmp_path / "out.dcm"
    done = run("03_custom_stage.py", src, out)
    assert pydicom.dcmread(out).StudyDescription == "PELVIS PLAN"
    depths = ast.literal_eval(done.stdout.split("elements by depth: ", 1)[1])
    seen = pydicom.dcmread(src)
    expected: dict[int, int] = {0: len(seen.file_meta)}

    def walk(dataset: pydicom.Dataset, depth: int) -> None:
        for elem in dataset:
            if elem.VR != "SQ":
                expected[depth] = expected.get(depth, 0) + 1
                continue
            for item in elem.value:
                walk(item, depth + 1)

    walk(seen, 0)
    assert depths == expected


def test_rewrite_without_event_loop_file_and_tree(tmp_path: Path) -> None:
    done = run("04_rewrite_without_event_loop.py", path_of(CT), tmp_path / "one.dcm")
    assert "bytes out" in done.stdout
    assert pydicom.dcmread(tmp_path / "one.dcm").PatientName == "ANON"
    src = tmp_path / "tree"
    write_ct_series(src / "a", 3, target_size=16 * 1024)
    (src / "b").mkdir()
    (src / "b" / "bad.dcm").write_bytes(b"not DICOM at all" * 10)
    failed = subprocess.run([sys.executable, str(EXAMPLES / "04_rewrite_without_event_loop.py"),
                             str(src), str(tmp_path / "out")], capture_output=True,
                            text=True, timeout=120)
    assert failed.returncode == 1 and "bad.dcm" in failed.stderr
    assert failed.stdout.strip() == "3 written, 0 skipped, 1 failed"
    for out in (tmp_path / "out" / "a").iterdir():
        ds = pydicom.dcmread(out)
        assert ds.PatientName == "ANON" and "PatientBirthDate" not in ds
    again = run("04_rewrite_without_event_loop.py", src / "a", tmp_path / "out" / "a")
    assert again.stdout.strip() == "0 written, 3 skipped, 0 failed"
