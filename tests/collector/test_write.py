"""Writing: ``save_as`` / ``dcmwrite`` through the encoder, ``Dataset.events()``.

Unchanged datasets give their input's bytes (see ``test_corpus``); here: re-targeting to
every uncompressed syntax agrees with pydicom doing the same conversion, files made in
memory get a proper Part 10 header on request, outputs are atomic, and the event stream
of a dataset goes through any encoder or stage.
"""

from __future__ import annotations

import array
import io
import os
from typing import TYPE_CHECKING, Any

import pydicom
import pytest
from corpus import path_of, read_bytes, uncompressed_ids
from pydicom.uid import (
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
)

import dicomstream
from collector.helpers import pydicom_quiet, pydicom_read, read_corpus
from dicomstream import DataElement, Dataset, dcmwrite
from dicomstream.collector import dataset_batches
from dicomstream.encoder import Encoder
from dicomstream.errors import EncodeError
from dicomstream.events import DatasetStart, Preamble

if TYPE_CHECKING:
    from pathlib import Path

TARGETS = {
    "implicit": ImplicitVRLittleEndian,
    "explicit": ExplicitVRLittleEndian,
    "deflated": DeflatedExplicitVRLittleEndian,
    "big": ExplicitVRBigEndian,
}
PYDICOM_CANNOT_READ = {
    ("test_files/meta_missing_tsyntax.dcm", "big"): (
        "a big endian dataset starting with group 0001: pydicom guesses its encoding wrong "
        "(dcmdump and dicomstream read it)"),
}
NO_META = {"test_files/ExplVR_BigEndNoMeta.dcm", "test_files/ExplVR_LitEndNoMeta.dcm",
           "test_files/rtstruct.dcm"}
"""Files without file meta: a deflated dataset cannot be written without one."""


def _without_group_lengths(ds: pydicom.Dataset) -> dict[int, Any]:
    """Elements by tag, group lengths left out (pydicom drops them when it writes; the
    encoder passes them through)."""
    return {int(t): ds[t] for t in ds.keys() if int(t) & 0xFFFF}


_SWAPPED_VRS = {"OW": 2, "OF": 4, "OL": 4, "OD": 8, "OV": 8}


def _swap(data: bytes, unit: int) -> bytes:
    words = array.array({2: "H", 4: "I", 8: "Q"}[unit])
    words.frombytes(data[:len(data) - len(data) % unit])
    words.byteswap()
    return words.tobytes() + data[len(data) - len(data) % unit:]


def _same(ours: pydicom.Dataset, theirs: pydicom.Dataset, swapped: bool) -> list[str]:
    """Differences; with ``swapped``, OW/OF/OL/OD/OV bytes may differ by the swap the
    encoder applies (pydicom writes them as they are; the VR that decides the swap is
    the one in the source, which an implicit VR target no longer shows)."""
    a, b = _without_group_lengths(ours), _without_group_lengths(theirs)
    if a.keys() != b.keys():
        return [f"tags {sorted(set(a) ^ set(b))}"]
    out = []
    for tag, elem in b.items():
        mine = a[tag]
        if elem.VR == "SQ" and mine.VR == "SQ":
            if len(elem.value) != len(mine.value):
                out.append(f"{tag:08X}: items")
            for x, y in zip(mine.value, elem.value, strict=False):
                out.extend(_same(x, y, swapped))
        elif swapped and elem.VR in _SWAPPED_VRS and mine.VR == elem.VR \
                and isinstance(mine.value, bytes):
            if elem.value not in (mine.value, _swap(mine.value, _SWAPPED_VRS[elem.VR])):
                out.append(f"{tag:08X}: swapped bytes differ")
        elif mine != elem:
            out.append(f"{tag:08X}: {mine!r:.60} != {elem!r:.60}")
    return out


@pytest.mark.parametrize("name", uncompressed_ids())
def test_retarget_agrees_with_pydicom(name: str) -> None:
    """To each uncompressed syntax, our conversion read by pydicom equals pydicom's own
    conversion read back."""
    ds = read_corpus(name)
    original = pydicom_read(path_of(name))
    for target, uid in TARGETS.items():
        out = io.BytesIO()
        if target == "deflated" and name in NO_META:
            with pytest.raises(EncodeError, match="file meta"):
                ds.save_as(out, transfer_syntax=target)
            continue
        ds.save_as(out, transfer_syntax=target)
        again = dicomstream.dcmread(out.getvalue())
        assert again.transfer_syntax is not None and again.transfer_syntax.uid == uid
        if (name, target) in PYDICOM_CANNOT_READ:
            continue
        ours = pydicom_read(io.BytesIO(out.getvalue()))
        assert ours.file_meta.get("TransferSyntaxUID", uid) == uid
        with pydicom_quiet():
            if "TransferSyntaxUID" in original.file_meta:
                original.file_meta.TransferSyntaxUID = uid
            converted = io.BytesIO()
            pydicom.dcmwrite(converted, original, implicit_vr=uid.is_implicit_VR,
                             little_endian=uid.is_little_endian, force_encoding=True)
            theirs = pydicom_read(io.BytesIO(converted.getvalue()))
            swapped = ds.is_little_endian != uid.is_little_endian
            assert _same(ours, theirs, swapped) == [], target


def test_big_endian_words_are_swapped() -> None:
    ds = read_corpus("test_files/MR_small_bigendian.dcm")
    little = read_corpus("test_files/MR_small.dcm")
    out = io.BytesIO()
    ds.save_as(out, transfer_syntax="explicit")
    assert dicomstream.dcmread(out.getvalue()).PixelData == little.PixelData
    out = io.BytesIO()
    little.save_as(out, transfer_syntax=ExplicitVRBigEndian)
    assert dicomstream.dcmread(out.getvalue()).PixelData == ds.PixelData


def test_syntax_from_options_and_changed_meta() -> None:
    ds = read_corpus("test_files/rtplan.dcm")
    cases: list[tuple[dict[str, Any], str]] = [
        ({"implicit_vr": False}, ExplicitVRLittleEndian),
        ({"little_endian": False}, ExplicitVRBigEndian),
        ({"implicit_vr": True, "little_endian": True}, ImplicitVRLittleEndian),
    ]
    for options, uid in cases:
        out = io.BytesIO()
        ds.save_as(out, **options)
        assert pydicom.dcmread(io.BytesIO(out.getvalue())).file_meta.TransferSyntaxUID == uid
    with pytest.raises(EncodeError):
        ds.save_as(io.BytesIO(), implicit_vr=True, little_endian=False)
    ds.file_meta.TransferSyntaxUID = ExplicitVRBigEndian
    out = io.BytesIO()
    ds.save_as(out)
    theirs = pydicom.dcmread(io.BytesIO(out.getvalue()))
    assert theirs.file_meta.TransferSyntaxUID == ExplicitVRBigEndian
    assert theirs.PatientName == "Last^First^mid^pre"


def test_encapsulated_pixel_data_cannot_change_syntax() -> None:
    ds = read_corpus("test_files/JPEG2000.dcm")
    with pytest.raises(EncodeError, match="transcode"):
        ds.save_as(io.BytesIO(), transfer_syntax="explicit")


def test_encapsulated_pixel_data_set_as_bytes() -> None:
    original = read_corpus("test_files/JPEG2000.dcm")
    ds = read_corpus("test_files/JPEG2000.dcm")
    ds.PixelData = bytes(ds.PixelData)  # the pydicom form: items with their headers
    out = io.BytesIO()
    ds.save_as(out)
    assert out.getvalue() == read_bytes("test_files/JPEG2000.dcm")
    assert dicomstream.dcmread(out.getvalue()) == original
    ds.PixelData = b"\x01\x02\x03\x04\x05\x06\x07\x08"
    with pytest.raises(EncodeError, match="items"):
        ds.save_as(io.BytesIO())


def test_a_dataset_made_in_memory(tmp_path: Path) -> None:
    ds = Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    ds.SOPInstanceUID = "1.2.3.4.5"
    ds.PatientName = "Doe^Jane"
    ds.Rows = ds.Columns = 2
    ds.BitsAllocated = 16
    ds.PixelData = b"\x01\x00" * 4
    bare = tmp_path / "bare.dcm"
    ds.save_as(bare)
    assert not bare.read_bytes().startswith(b"\x00" * 128)
    assert pydicom.dcmread(bare, force=True).PatientName == "Doe^Jane"
    full = tmp_path / "full.dcm"
    ds.save_as(full, enforce_file_format=True)
    theirs = pydicom.dcmread(full)  # no force: a proper Part 10 file
    assert theirs.file_meta.MediaStorageSOPClassUID == ds.SOPClassUID
    assert theirs.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
    assert theirs.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
    assert theirs.PixelData == ds.PixelData
    assert "file_meta" not in ds.__dict__  # the caller's dataset is left as it was
    again = dicomstream.dcmread(full)
    assert again.preamble == b"\x00" * 128 and again == ds
    ds.file_meta = dicomstream.FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian
    implicit = tmp_path / "implicit.dcm"
    ds.save_as(implicit, enforce_file_format=True)
    assert pydicom.dcmread(implicit).file_meta.TransferSyntaxUID == ImplicitVRLittleEndian


def test_files_are_written_atomically(tmp_path: Path) -> None:
    target = tmp_path / "out.dcm"
    ds = read_corpus("test_files/rtplan.dcm")
    dcmwrite(target, ds)
    before = target.read_bytes()
    with pytest.raises(FileExistsError):
        dcmwrite(target, ds, overwrite=False)
    ds.add(DataElement(0x00200013, "IS", 1))
    ds["InstanceNumber"]._vr = "US"  # a value that cannot be encoded any more
    ds["InstanceNumber"]._value = "one"
    with pytest.raises(EncodeError):
        ds.save_as(target)
    assert target.read_bytes() == before
    assert os.listdir(tmp_path) == ["out.dcm"]


def test_events_go_through_any_encoder() -> None:
    data = read_bytes("test_files/rtplan.dcm")
    ds = dicomstream.dcmread(data)
    events = list(ds.events())
    assert type(events[0]) is Preamble
    assert Encoder().send_all(events) == data
    bare = list(ds.events(meta=False))
    assert type(bare[0]) is DatasetStart and not bare[0].has_meta
    assert pydicom.dcmread(io.BytesIO(Encoder().send_all(bare)), force=True) == \
        pydicom.dcmread(io.BytesIO(data))
    ds.PatientSetupSequence[0].PatientPosition = "HFP"
    paths = {getattr(e, "path", None) for e in ds.events()
             if getattr(e, "tag", None) == 0x00185100}
    assert paths == {((0x300A0180, 0),)}


def test_dataset_events_feed_a_stage_pipeline() -> None:
    import anyio

    from dicomstream.pipeline import apply_stages
    from dicomstream.stages import EditStage

    ds = read_corpus("test_files/rtplan.dcm")

    async def run() -> bytes:
        encoder = Encoder()
        out = b""
        stages = [EditStage(set={"PatientID": "X1"})]
        async for batch in apply_stages(dataset_batches(ds, size=16), stages):
            out += encoder.send_all(batch)
        return out

    theirs = pydicom.dcmread(io.BytesIO(anyio.run(run)))
    assert theirs.PatientID == "X1"


def test_write_to_a_file_object_and_dicomio(tmp_path: Path) -> None:
    from dicomstream import dicomio

    ds = read_corpus("test_files/CT_small.dcm")
    with open(tmp_path / "a.dcm", "wb") as f:
        dicomio.write_file(f, ds)
    assert (tmp_path / "a.dcm").read_bytes() == read_bytes("test_files/CT_small.dcm")
    head = dicomio.read_file(tmp_path / "a.dcm", stop_before_pixels=True)
    assert "PixelData" not in head and "PixelRepresentation" in head
    assert dicomio.dcmread is dicomstream.dcmread


def test_pydicom_reads_modified_datasets_equal() -> None:
    ds = read_corpus("test_files/reportsi.dcm")
    theirs = pydicom_read(path_of("test_files/reportsi.dcm"))
    for d in (ds, theirs):
        d.ContentSequence[0].ConceptNameCodeSequence[0].CodeMeaning = "Changed meaning"
        del d.ContentSequence[1]
        d.PatientName = "Other^Name"
    out = io.BytesIO()
    ds.save_as(out)
    with pydicom_quiet():
        assert pydicom_read(io.BytesIO(out.getvalue())) == theirs


def test_changed_file_meta_gets_a_true_group_length() -> None:
    ds = read_corpus("test_files/rtplan.dcm")
    ds.file_meta.ImplementationVersionName = "A_LONGER_VERSION"
    del ds.file_meta.MediaStorageSOPInstanceUID
    out = _saved_bytes(ds)
    theirs = pydicom.dcmread(io.BytesIO(out))
    meta_end = 132 + 12 + theirs.file_meta.FileMetaInformationGroupLength
    assert out[meta_end:meta_end + 2] == b"\x08\x00"  # the dataset starts right there
    assert theirs.file_meta.ImplementationVersionName == "A_LONGER_VERSION"
    assert "MediaStorageSOPInstanceUID" not in theirs.file_meta


def _saved_bytes(ds: Dataset) -> bytes:
    out = io.BytesIO()
    ds.save_as(out)
    return out.getvalue()
