"""Bulk runs through the real command line: bounded concurrency, failures contained,
a JSON-lines report, resumable, usage errors exit 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import PEAK_RSS_END, PEAK_RSS_START

from benchmarks._generate import write_ct_series

REPO = Path(__file__).resolve().parents[2]


def dicomstream(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "dicomstream", *args], capture_output=True,
                          text=True, timeout=timeout, cwd=REPO)


def report_lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture(scope="module")
def thousand(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """1,000 small CT files in nested folders, one of them corrupt (cut in half)."""
    root = tmp_path_factory.mktemp("bulk") / "in"
    for series in range(4):
        write_ct_series(root / f"series{series}", 250, target_size=8 * 1024, seed=series)
    bad = root / "series2" / "CT000125.dcm"
    bad.write_bytes(bad.read_bytes()[:3000])
    return root, bad


def test_thousand_files_one_corrupt(thousand: tuple[Path, Path], tmp_path: Path) -> None:
    src, bad = thousand
    dst = tmp_path / "out"
    report = tmp_path / "report.jsonl"
    script = PEAK_RSS_START + PEAK_RSS_END + (
        "import runpy, sys\n"
        "sys.argv = ['dicomstream', *sys.argv[1:]]\n"
        "try:\n"
        "    runpy.run_module('dicomstream', run_name='__main__')\n"
        "finally:\n"
        "    sys.stderr.write(f'PEAK_RSS_KIB {peak_rss_kib()}\\n')\n")
    result = subprocess.run(
        [sys.executable, "-c", script, "rewrite", str(src), str(dst), "--jobs", "64",
         "--report", str(report)], capture_output=True, text=True, timeout=600, cwd=REPO)
    peak_kib = int(result.stderr.rsplit("PEAK_RSS_KIB", 1)[1])
    assert result.returncode == 1, result.stderr
    outputs = sorted(p for p in dst.rglob("*") if p.is_file())
    assert len(outputs) == 999
    assert not any("dicomstream-tmp" in p.name for p in outputs)
    for out in outputs[::97]:
        assert out.read_bytes() == (src / out.relative_to(dst)).read_bytes()
    lines = report_lines(report)
    assert len(lines) == 1000
    errors = [line for line in lines if line["status"] == "error"]
    assert [e["source"] for e in errors] == [str(bad)]
    # the file size is known, so the cut is found at the header whose value runs past it
    assert "LengthExceedsSourceError" in str(errors[0]["error"])
    assert "offset" in str(errors[0]["error"])
    assert str(bad) in result.stderr and "1 failed" in result.stderr
    assert "Traceback" not in result.stderr
    assert peak_kib < 128 * 1024, f"peak RSS {peak_kib / 1024:.0f} MiB"  # 64 files at once

    # Re-running resumes: finished outputs are skipped, the bad file fails again.
    report2 = tmp_path / "report2.jsonl"
    again = dicomstream("rewrite", str(src), str(dst), "--jobs", "64", "--report", str(report2))
    assert again.returncode == 1
    statuses = [line["status"] for line in report_lines(report2)]
    assert statuses.count("skipped") == 999 and statuses.count("error") == 1


def test_resume_after_interrupted_run_sweeps_temporary_files(tmp_path: Path) -> None:
    src = tmp_path / "in"
    write_ct_series(src, 5, target_size=8 * 1024)
    dst = tmp_path / "out"
    dst.mkdir()
    (dst / ".CT000001.dcm.deadbeef.dicomstream-tmp").write_bytes(b"half a file")
    (dst / "CT000002.dcm").write_bytes((src / "CT000002.dcm").read_bytes())  # finished
    report = tmp_path / "r.jsonl"
    result = dicomstream("rewrite", str(src), str(dst), "--report", str(report))
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in dst.iterdir()) == [f"CT00000{i}.dcm" for i in range(1, 6)]
    statuses = {Path(str(line["source"])).name: line["status"] for line in report_lines(report)}
    assert statuses["CT000002.dcm"] == "skipped"
    assert statuses["CT000001.dcm"] == "ok"


def test_overwrite_rewrites_existing_outputs(tmp_path: Path) -> None:
    src = tmp_path / "in"
    write_ct_series(src, 2, target_size=8 * 1024)
    dst = tmp_path / "out"
    dst.mkdir()
    (dst / "CT000001.dcm").write_bytes(b"stale")
    assert dicomstream("rewrite", str(src), str(dst), "--overwrite").returncode == 0
    assert (dst / "CT000001.dcm").read_bytes() == (src / "CT000001.dcm").read_bytes()


@pytest.mark.parametrize("args", [
    ["--transfer-syntax", "no-such-syntax"],
    ["--jobs", "0"],
    ["--set", "NotAKeyword=1"],
    ["--set", "PatientName"],
    ["--stage", "no-such-stage"],
    ["--no-such-option"],
])
def test_usage_errors_exit_2(args: list[str], tmp_path: Path) -> None:
    src = tmp_path / "in.dcm"
    write_ct_series(tmp_path / "s", 1, target_size=8 * 1024)[0].rename(src)
    result = dicomstream("rewrite", str(src), str(tmp_path / "out.dcm"), *args)
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out.dcm").exists()


def test_stdin_to_stdout_with_edits(tmp_path: Path) -> None:
    src = write_ct_series(tmp_path / "s", 1, target_size=8 * 1024)[0]
    result = subprocess.run(
        [sys.executable, "-m", "dicomstream", "rewrite", "-", "-", "--set", "PatientID=P1",
         "--transfer-syntax", "big"], input=src.read_bytes(), capture_output=True, cwd=REPO,
        timeout=60)
    assert result.returncode == 0, result.stderr
    import io

    import pydicom

    ds = pydicom.dcmread(io.BytesIO(result.stdout))
    assert ds.PatientID == "P1"
    assert ds.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.2"


def test_no_progress_bar_in_a_pipe(tmp_path: Path) -> None:
    src = tmp_path / "in"
    write_ct_series(src, 3, target_size=8 * 1024)
    result = dicomstream("rewrite", str(src), str(tmp_path / "out"))
    assert result.returncode == 0
    assert "\x1b[" not in result.stderr  # no terminal control sequences
    assert result.stderr.strip().splitlines() == [
        line for line in result.stderr.strip().splitlines() if line.startswith("dicomstream")]
