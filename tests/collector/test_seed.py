"""The seed's session, verbatim with ``pydicom`` replaced by ``dicomstream``.

The classic pydicom example: read ``rtplan.dcm``, look at the patient's name, find the
setup sequence by ``dir``, print its item, change the patient position and save. pydicom
must read the saved file as the original with exactly that change, and the bytes must
differ from the input only inside that value.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pydicom
from corpus import path_of

from collector.helpers import normalise_tags
from dicomstream import dicomio

if TYPE_CHECKING:
    from pathlib import Path

RTPLAN = path_of("test_files/rtplan.dcm")


def test_classic_session(tmp_path: Path) -> None:
    ds = dicomio.read_file(str(RTPLAN))
    assert repr(ds.PatientName) == "'Last^First^mid^pre'"
    assert ds.dir("setup") == ["PatientSetupSequence"]
    item = ds.PatientSetupSequence[0]
    assert str(item).splitlines() == [
        "(0018, 5100) Patient Position                    CS: 'HFS'",
        "(300a, 0182) Patient Setup Number                IS: '1'",
        "(300a, 01b2) Setup Technique Description         ST: ''",
    ]
    assert normalise_tags(str(item)) == normalise_tags(str(
        pydicom.dcmread(RTPLAN).PatientSetupSequence[0]))

    ds.PatientSetupSequence[0].PatientPosition = "HFP"
    out = tmp_path / "rtplan2.dcm"
    ds.save_as(str(out))

    original = pydicom.dcmread(RTPLAN)
    saved = pydicom.dcmread(out)
    assert saved.PatientSetupSequence[0].PatientPosition == "HFP"
    original.PatientSetupSequence[0].PatientPosition = "HFP"
    assert saved == original
    assert saved.file_meta == original.file_meta

    before, after = RTPLAN.read_bytes(), out.read_bytes()
    assert len(before) == len(after)
    changed = [i for i, (a, b) in enumerate(zip(before, after, strict=True)) if a != b]
    value_at = before.index(b"HFS")
    assert changed == [value_at + 2]  # 'HFS' -> 'HFP'
    assert before.count(b"HFS") == 1


def test_modern_spelling_and_write_file(tmp_path: Path) -> None:
    import dicomstream

    ds = dicomstream.dcmread(RTPLAN)
    out = tmp_path / "copy.dcm"
    dicomio.write_file(str(out), ds)
    assert out.read_bytes() == RTPLAN.read_bytes()
    assert dicomio.read_file(out) == ds
