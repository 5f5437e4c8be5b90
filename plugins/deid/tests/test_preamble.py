"""The 128-byte preamble: de-identification always writes zeros there.

A preamble may hold anything (PS3.10 §7.1) — a TIFF header (the corpus's CT_small.dcm
has one), or an executable header that makes the file a Windows/Linux/macOS program too
(the DICOM-PE polyglot, CVE-2019-11687). ``anonymize`` zeroes any non-zero preamble,
says so in the audit and the report, and the output still reads as DICOM.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
from typing import TYPE_CHECKING

import pydicom
import pytest
from deid_support import DATA_ROOT, KEY, PYTHON, deid_bytes

from dicomstream import DicomStreamError
from dicomstream_deid import DeidConfig, ListAudit
from dicomstream_deid._transform import ZERO_PREAMBLE, preamble_kind

if TYPE_CHECKING:
    from pathlib import Path

CT = DATA_ROOT / "test_files" / "CT_small.dcm"  # its preamble starts with a TIFF header
MR = DATA_ROOT / "test_files" / "MR_small.dcm"  # TIFF too
RTPLAN = DATA_ROOT / "test_files" / "rtplan.dcm"  # zeros

PE = (b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00\xb8" + bytes(43)
      + b"\x80\x00\x00\x00" + b"\x0e\x1f\xba\x0e\x00\xb4\x09\xcd\x21\xb8\x01\x4c\xcd\x21"
      + b"This program cannot be run in DOS mode.\r\r\n$").ljust(128, b"\0")
ELF = (b"\x7fELF\x02\x01\x01\x00" + bytes(8) + b"\x02\x00\x3e\x00\x01\x00\x00\x00"
       + b"\x78\x00\x40\x00\x00\x00\x00\x00").ljust(128, b"\0")
MACHO = (b"\xcf\xfa\xed\xfe\x07\x00\x00\x01\x03\x00\x00\x00\x02\x00\x00\x00").ljust(128, b"\0")
FAT = b"\xca\xfe\xba\xbe\x00\x00\x00\x02".ljust(128, b"\0")
HEADERS = {"pe": (PE, "executable:PE"), "elf": (ELF, "executable:ELF"),
           "macho": (MACHO, "executable:Mach-O"), "fat": (FAT, "executable:Mach-O universal")}


def with_preamble(preamble: bytes, base: Path = MR) -> bytes:
    data = base.read_bytes()
    assert data[128:132] == b"DICM" and len(preamble) == 128
    return preamble + data[128:]


def test_kinds() -> None:
    assert preamble_kind(bytes(128)) is None
    assert preamble_kind(CT.read_bytes()[:128]) == "non-zero"
    for preamble, kind in HEADERS.values():
        assert preamble_kind(preamble) == kind
    assert preamble_kind(b"#!/bin/sh\n".ljust(128, b"\0")) == "executable:script"


@pytest.mark.parametrize("name", sorted(HEADERS))
def test_executable_preamble_is_zeroed_and_audited(name: str) -> None:
    preamble, kind = HEADERS[name]
    audit = ListAudit(values=True)
    out, report = deid_bytes(with_preamble(preamble),
                             DeidConfig.create(KEY, audit=audit))
    assert out[:128] == ZERO_PREAMBLE and out[128:132] == b"DICM"
    assert report["preamble"] == f"zeroed ({kind})"
    record = next(r for r in audit.records if r["keyword"] == "Preamble")
    assert record["action"] == "Z" and record["rule"] == f"preamble:{kind}"
    assert record["original"] == preamble.hex() and record["new"] == bytes(128).hex()
    assert record["sop_instance_uid"] == report["sop_instance_uid"]
    ds = pydicom.dcmread(io.BytesIO(out))
    assert ds.preamble == bytes(128) and ds.SOPInstanceUID == report["sop_instance_uid"]


def test_zero_preamble_is_left_alone() -> None:
    audit = ListAudit()
    out, report = deid_bytes(RTPLAN.read_bytes(), DeidConfig.create(KEY, audit=audit))
    assert out[:128] == bytes(128)
    assert "preamble" not in report
    assert not any(r["keyword"] == "Preamble" for r in audit.records)


def test_tiff_preamble_is_zeroed_too() -> None:
    out, report = deid_bytes(CT.read_bytes())
    assert out[:128] == bytes(128) and report["preamble"] == "zeroed (non-zero)"


def test_no_preamble_stays_without() -> None:
    data = RTPLAN.read_bytes()[132:]  # file meta, no preamble and no DICM
    try:
        out, _ = deid_bytes(data)
    except DicomStreamError:
        pytest.skip("a meta group without DICM is not read")
    assert out[:4] != b"DICM" and not out.startswith(ZERO_PREAMBLE)


def test_anonymize_command(tmp_path: Path) -> None:
    src, dst = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    for name, (preamble, _) in HEADERS.items():
        (src / f"{name}.dcm").write_bytes(with_preamble(preamble))
    (src / "tiff.dcm").write_bytes(CT.read_bytes())
    report, audit = tmp_path / "report.jsonl", tmp_path / "audit.jsonl"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DICOMSTREAM_DEID")}
    dump = subprocess.run([PYTHON, "-m", "dicomstream", "dump", str(src / "pe.dcm")],
                          capture_output=True, text=True, env=env, timeout=120)
    assert dump.returncode == 0, dump.stderr
    assert "preamble looks like a Windows executable (PE)" in dump.stdout.splitlines()[0]
    result = subprocess.run(
        [PYTHON, "-m", "dicomstream", "anonymize", str(src), str(dst), "--random-key",
         "--report", str(report), "--audit", str(audit)],
        capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    for out in dst.iterdir():
        data = out.read_bytes()
        assert data[:128] == bytes(128), out.name
        assert pydicom.dcmread(out).preamble == bytes(128)
    lines = [json.loads(line) for line in report.read_text().splitlines()]
    assert {line["details"]["deid"]["preamble"] for line in lines} == {
        "zeroed (executable:PE)", "zeroed (executable:ELF)", "zeroed (executable:Mach-O)",
        "zeroed (executable:Mach-O universal)", "zeroed (non-zero)"}
    rules = [json.loads(r)["rule"] for r in audit.read_text().splitlines()
             if json.loads(r)["keyword"] == "Preamble"]
    assert sorted(rules) == sorted(
        [*(f"preamble:{kind}" for _, kind in HEADERS.values()), "preamble:non-zero"])
    dumped = subprocess.run([PYTHON, "-m", "dicomstream", "dump", str(dst / "pe.dcm")],
                            capture_output=True, text=True, env=env, timeout=120)
    assert dumped.returncode == 0 and "preamble" not in dumped.stdout
