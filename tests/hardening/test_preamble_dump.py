"""``dicomstream dump`` tells about a preamble that is not all zeros.

An executable header there (PE, ELF, Mach-O, a #! script) makes the file a program too
(the DICOM-PE polyglot, CVE-2019-11687): a warning line. Anything else non-zero (TIFF in
dual-personality files, the corpus's CT_small.dcm) is a note. Neither changes the exit
status, and the element lines are those of the same file with a zero preamble.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from corpus import DATA_ROOT

from dicomstream.cli import main
from dicomstream.cli.dump import preamble_note

if TYPE_CHECKING:
    from pathlib import Path

RTPLAN = DATA_ROOT / "test_files" / "rtplan.dcm"  # a zero preamble
CT = DATA_ROOT / "test_files" / "CT_small.dcm"    # a TIFF header in the preamble

EXECUTABLES = {
    "pe": (b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff", "Windows executable (PE)"),
    "elf": (b"\x7fELF\x02\x01\x01\x00", "ELF executable"),
    "macho64": (b"\xcf\xfa\xed\xfe\x07\x00\x00\x01", "Mach-O executable"),
    "macho32": (b"\xce\xfa\xed\xfe\x07\x00\x00\x00", "Mach-O executable"),
    "macho-be": (b"\xfe\xed\xfa\xce\x00\x00\x00\x12", "Mach-O executable"),
    "macho64-be": (b"\xfe\xed\xfa\xcf\x01\x00\x00\x07", "Mach-O executable"),
    "fat": (b"\xca\xfe\xba\xbe\x00\x00\x00\x02", "Mach-O universal binary"),
    "script": (b"#!/bin/sh\nrm -rf ~\n", "script"),
}


def dump_lines(capsys: pytest.CaptureFixture[str], path: Path) -> list[str]:
    assert main(["dump", str(path)]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    return out.splitlines()


@pytest.mark.parametrize("name", sorted(EXECUTABLES))
def test_executable_preamble_is_a_warning(name: str, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    header, kind = EXECUTABLES[name]
    data = RTPLAN.read_bytes()
    path = tmp_path / f"{name}.dcm"
    path.write_bytes(header.ljust(128, b"\0") + data[128:])
    lines = dump_lines(capsys, path)
    assert lines[0].startswith("# warning: the 128-byte preamble looks like")
    assert kind in lines[0]
    assert lines[1:] == dump_lines(capsys, RTPLAN)


def test_other_non_zero_preambles_are_a_note(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    assert dump_lines(capsys, CT)[0] == \
        "# note: the 128-byte preamble is not all zeros (TIFF data)"
    path = tmp_path / "odd.dcm"
    path.write_bytes(b"\x01\x02hidden".ljust(128, b"\0") + RTPLAN.read_bytes()[128:])
    assert dump_lines(capsys, path)[0] == \
        "# note: the 128-byte preamble is not all zeros (starts 01 02 68 69 64 64 65 6e)"
    assert not dump_lines(capsys, RTPLAN)[0].startswith("#")


def test_preamble_note() -> None:
    assert preamble_note(bytes(128)) is None
    assert preamble_note(b"MZ".ljust(128, b"\0")) == \
        "# warning: the 128-byte preamble looks like a Windows executable (PE)"
    assert "TIFF" in (preamble_note(b"MM\x00*".ljust(128, b"\0")) or "")
    assert "PDF" in (preamble_note(b"%PDF-1.7".ljust(128, b"\0")) or "")
