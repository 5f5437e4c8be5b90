"""Built-in stages against pydicom doing the same edit in memory, over the real corpus.

For each file the same change is made twice: by streaming the events through a stage
and encoding them, and by pydicom on a fully read dataset. pydicom must read our output
equal to its own result — at the top level and inside nested sequences — and dcmdump
must read the output without error where lengths had to be repaired.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import warnings
from typing import TYPE_CHECKING, Any

import anyio
import pydicom
import pytest
from corpus import EXPECTED_WARNINGS, PARSEABLE_IDS, read_bytes, transfer_syntax_of

from dicomstream.encoder import Encoder
from dicomstream.errors import DicomStreamWarning
from dicomstream.events import Element, SequenceStart
from dicomstream.parser import Parser
from dicomstream.pipeline import apply_stages
from dicomstream.stages import (
    EditStage,
    FilterStage,
    MetaStage,
    TapStage,
    TranscodeStage,
)
from dicomstream.transfer_syntax import (
    EXPLICIT_VR_BIG_ENDIAN,
    lookup_transfer_syntax,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Sequence

    from pydicom.dataset import Dataset as PydicomDataset

    from dicomstream.events import Event
    from dicomstream.stages import Stage

DCMDUMP = shutil.which("dcmdump")

# pydicom validates values when comparing datasets; some corpus files hold invalid ones
# on purpose (e.g. IS '1A'). That is pydicom's opinion of the input, not of our output.
pytestmark = pytest.mark.filterwarnings("ignore:Invalid value for VR:UserWarning")


def _events(data: bytes) -> list[Event]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DicomStreamWarning)  # SC_rgb_jpeg.dcm, checked elsewhere
        parser = Parser()
        parser.receive_data(data)
        parser.receive_data(b"")
        return parser.events()


def run_stages(data: bytes, stages: Sequence[Stage], transfer_syntax: str | None = None
               ) -> bytes:
    """Parse ``data``, pass it through ``stages`` in batches of ~50 events, encode."""
    events = _events(data)

    async def batches() -> AsyncIterator[list[Event]]:
        for i in range(0, len(events), 50):
            yield events[i:i + 50]

    async def main() -> bytes:
        encoder = Encoder(transfer_syntax)
        out = bytearray()
        async for batch in apply_stages(batches(), stages):
            out += encoder.send_all(batch)
        assert encoder.finished
        return bytes(out)

    return anyio.run(main)


def pydicom_read(data: bytes, **kw: Any) -> PydicomDataset:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pydicom.dcmread(io.BytesIO(data), force=True, **kw)


def assert_dcmdump_reads(data: bytes, tmp_path: Any) -> None:
    if DCMDUMP is None:
        pytest.fail("dcmdump is not installed (scripts/test.sh installs dcmtk)")
    path = tmp_path / "out.dcm"
    path.write_bytes(data)
    result = subprocess.run([DCMDUMP, "-q", str(path)], capture_output=True)
    assert result.returncode == 0, result.stderr.decode(errors="replace")


# Files pydicom cannot compare after editing, with why.
_SKIP_EDIT = {
    "test_files/ExplVR_BigEndNoMeta.dcm": "no meta: pydicom guesses little endian on re-read",
}
EDITABLE = [n for n in PARSEABLE_IDS if n not in _SKIP_EDIT and n not in EXPECTED_WARNINGS]


@pytest.mark.parametrize("name", EDITABLE)
def test_edit_top_level_matches_pydicom(name: str) -> None:
    data = read_bytes(name)
    ours = run_stages(data, [EditStage(set={"PatientName": "ANON^TEST", "PatientID": "X12"},
                                       delete=["PatientBirthDate", "ReferringPhysicianName"])])
    theirs = pydicom_read(data)
    theirs.PatientName = "ANON^TEST"
    theirs.PatientID = "X12"
    for keyword in ("PatientBirthDate", "ReferringPhysicianName"):
        if keyword in theirs:
            delattr(theirs, keyword)
    got = pydicom_read(ours)
    assert got == theirs
    assert str(got.PatientName) == "ANON^TEST"
    assert "PatientBirthDate" not in got


def _first_nested_text(ds: PydicomDataset) -> tuple[str, str] | None:
    """A (sequence keyword, element keyword) pair: a text element in a top-level
    sequence's first item."""
    for elem in ds:
        if elem.VR == "SQ" and elem.keyword and len(elem.value) > 0:
            for inner in elem.value[0]:
                if inner.VR in ("LO", "SH", "CS", "LT", "ST") and inner.keyword and \
                        inner.value not in (None, "") and inner.tag != 0x00080005:
                    return elem.keyword, inner.keyword
    return None


def _nested_files() -> list[str]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return [n for n in EDITABLE
                if _first_nested_text(pydicom_read(read_bytes(n), stop_before_pixels=True))]


NESTED = _nested_files()


@pytest.mark.parametrize("name", NESTED)
def test_edit_inside_sequences_matches_pydicom(name: str, tmp_path: Any) -> None:
    data = read_bytes(name)
    theirs = pydicom_read(data)
    found = _first_nested_text(theirs)
    assert found is not None
    seq, key = found
    ours = run_stages(data, [EditStage(set={f"{seq}[0].{key}": "CHANGED VALUE"})])
    getattr(theirs, seq)[0].__setattr__(key, "CHANGED VALUE")
    got = pydicom_read(ours)
    assert got == theirs
    assert getattr(getattr(got, seq)[0], key) == "CHANGED VALUE"
    assert_dcmdump_reads(ours, tmp_path)
    # delete the element in every item, and insert a new one in every item
    ours = run_stages(data, [EditStage(delete=[f"{seq}[*].{key}"],
                                       insert={f"{seq}[*].PatientComments": "NEW"})])
    for item in getattr(theirs, seq):
        if key in item:
            delattr(item, key)
        if "PatientComments" not in item:
            item.PatientComments = "NEW"
    got = pydicom_read(ours)
    assert got == theirs
    assert_dcmdump_reads(ours, tmp_path)


def test_edit_defined_length_sequences_repairs_lengths(tmp_path: Any) -> None:
    """The generated CT has defined-length sequences and items: a longer value inside
    must give correct lengths (pydicom and dcmdump read the result)."""
    from benchmarks._generate import write_ct_series

    path = write_ct_series(tmp_path / "ct", 1, target_size=16 * 1024)[0]
    data = path.read_bytes()
    defined = [e for e in _events(data) if isinstance(e, SequenceStart)
               and e.length != 0xFFFFFFFF]
    assert defined, "the generated file should have defined-length sequences"
    seq_keyword = pydicom.datadict.keyword_for_tag(defined[0].tag)
    theirs = pydicom_read(data)
    item = getattr(theirs, seq_keyword)[0]
    target = next((e.keyword for e in item if e.VR in ("LO", "SH", "CS", "UI") and e.keyword),
                  None)
    assert target is not None, f"no text element in {seq_keyword}[0]"
    new_value = "A MUCH LONGER VALUE THAN BEFORE"
    ours = run_stages(data, [EditStage(set={f"{seq_keyword}[0].{target}": new_value})])
    setattr(item, target, new_value)
    assert pydicom_read(ours) == theirs
    assert_dcmdump_reads(ours, tmp_path)
    # and the re-parsed sequence still has a defined length, now the right one
    again = [e for e in _events(ours) if isinstance(e, SequenceStart) and e.tag == defined[0].tag]
    assert again[0].length != 0xFFFFFFFF
    assert again[0].length != defined[0].length


@pytest.mark.parametrize("name", EDITABLE)
def test_remove_private_matches_pydicom(name: str) -> None:
    data = read_bytes(name)
    ours = run_stages(data, [FilterStage(remove_private=True)])
    theirs = pydicom_read(data)
    theirs.remove_private_tags()
    assert pydicom_read(ours) == theirs


@pytest.mark.parametrize("name", EDITABLE)
def test_stop_before_pixels_matches_pydicom(name: str) -> None:
    data = read_bytes(name)
    ours = run_stages(data, [FilterStage(stop_before_pixels=True)])
    theirs = pydicom_read(data, stop_before_pixels=True)
    got = pydicom_read(ours)
    assert got == theirs
    assert "PixelData" not in got


def test_remove_groups_and_keep_tags() -> None:
    data = read_bytes("test_files/CT_small.dcm")
    ours = pydicom_read(run_stages(data, [FilterStage(remove_groups=[0x0018, 0x0043])]))
    assert not any(e.tag.group in (0x0018, 0x0043) for e in ours.iterall())
    kept = pydicom_read(run_stages(data, [FilterStage(keep_tags=["PatientName", "Rows"])]))
    assert [e.keyword for e in kept] == ["PatientName", "Rows"]
    assert kept.file_meta.TransferSyntaxUID == pydicom_read(data).file_meta.TransferSyntaxUID


UNCOMPRESSED = [n for n in EDITABLE
                if not lookup_transfer_syntax(transfer_syntax_of(_events(read_bytes(n))))
                .encapsulated]


@pytest.mark.parametrize("name", UNCOMPRESSED)
def test_transcode_stage_round_trips(name: str) -> None:
    data = read_bytes(name)
    source = lookup_transfer_syntax(transfer_syntax_of(_events(data)))
    if source.deflated:
        pytest.skip("deflated source: covered by the encoder's transcoding tests")
    big = run_stages(data, [TranscodeStage(EXPLICIT_VR_BIG_ENDIAN)])
    assert transfer_syntax_of(_events(big)) == EXPLICIT_VR_BIG_ENDIAN.uid
    back = run_stages(big, [TranscodeStage(source)])
    if source.implicit_vr or not any(isinstance(e, Element) for e in _events(data)):
        assert pydicom_read(back) == pydicom_read(data)
    else:
        assert back == data


def test_meta_stage_follows_sop_instance_uid() -> None:
    data = read_bytes("test_files/CT_small.dcm")
    out = run_stages(data, [EditStage(set={"SOPInstanceUID": "1.2.3.4.5"}), MetaStage()])
    ds = pydicom_read(out)
    assert ds.SOPInstanceUID == "1.2.3.4.5"
    assert ds.file_meta.MediaStorageSOPInstanceUID == "1.2.3.4.5"
    # unchanged input: the meta stage changes nothing
    assert run_stages(data, [MetaStage()]) == data


def test_tap_sees_every_event_and_changes_nothing() -> None:
    data = read_bytes("test_files/rtplan.dcm")
    seen: list[Event] = []
    elements: list[Event] = []

    async def acollect(element: Event) -> None:
        elements.append(element)

    out = run_stages(data, [TapStage(seen.append), TapStage(acollect, per="element")])
    assert out == data
    assert seen == _events(data)
    assert elements == [e for e in _events(data) if isinstance(e, Element)]


def test_five_noop_stages_keep_identity() -> None:
    from dicomstream.stages import Stage

    data = read_bytes("test_files/rtstruct.dcm")
    assert run_stages(data, [Stage() for _ in range(5)]) == data
