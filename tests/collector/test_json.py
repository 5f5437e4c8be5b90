"""DICOM JSON (PS3.18 Annex F) out and in, with pydicom as the oracle.

``to_json_dict`` of every corpus file equals pydicom's (binary values inline as base64);
``from_json`` of it, saved and read back by pydicom, equals pydicom's reading of the
original. Bulk data goes out as ``BulkDataURI`` through a handler and comes back in
through one.
"""

from __future__ import annotations

import base64
import io
import json
import math
from typing import TYPE_CHECKING, Any

import pytest
from corpus import PARSEABLE_IDS, path_of
from pydicom.multival import MultiValue
from pydicom.sequence import Sequence as PydicomSequence

from collector.helpers import json_differences, pydicom_quiet, pydicom_read, read_corpus
from dicomstream import DataElement, Dataset
from dicomstream.errors import DicomStreamWarning

if TYPE_CHECKING:
    import pydicom

PYDICOM_REFUSES = {
    "test_files/badVR.dcm": "an IS value '1A' cannot be a JSON number (pydicom: ValueError)",
}


@pytest.mark.parametrize("name", PARSEABLE_IDS)
def test_to_json_dict_equals_pydicom(name: str) -> None:
    ours = read_corpus(name)
    theirs = pydicom_read(path_of(name))
    if name in PYDICOM_REFUSES:
        with pydicom_quiet(), pytest.raises(ValueError):
            theirs.to_json_dict()
        with pytest.raises(ValueError):
            ours.to_json_dict()
        return
    with pydicom_quiet():
        expected = theirs.to_json_dict()
    assert json_differences(ours.to_json_dict(), expected) == []


def _pydicom_equal(a: Any, b: Any) -> bool:
    """pydicom values equal; an odd-length byte value may have gained its pad byte."""
    if isinstance(b, PydicomSequence):
        return len(a) == len(b) and all(_pydicom_ds_equal(x, y) for x, y in zip(a, b,
                                                                                 strict=True))
    if isinstance(b, bytes) and isinstance(a, bytes) and len(b) % 2:
        return a in (b, b + b"\x00")
    if isinstance(b, MultiValue | list):
        return len(a) == len(b) and all(_pydicom_equal(x, y) for x, y in zip(a, b,
                                                                             strict=True))
    if isinstance(b, float) and math.isnan(b):
        return math.isnan(a)
    return bool(a == b)


def _pydicom_ds_equal(a: pydicom.Dataset, b: pydicom.Dataset) -> bool:
    if list(a.keys()) != list(b.keys()):
        return False
    return all(a[t].VR == b[t].VR and _pydicom_equal(a[t].value, b[t].value)
               for t in b.keys())


@pytest.mark.parametrize("name", [n for n in PARSEABLE_IDS if n not in PYDICOM_REFUSES])
def test_from_json_then_save_reads_equal_in_pydicom(name: str) -> None:
    document = read_corpus(name).to_json()
    ds = Dataset.from_json(document)
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    original = pydicom_read(path_of(name))
    again = pydicom_read(io.BytesIO(out.getvalue()))
    with pydicom_quiet():
        assert _pydicom_ds_equal(again, original)


def test_json_document_round_trip() -> None:
    ds = read_corpus("test_files/rtplan.dcm")
    text = ds.to_json()
    assert json.loads(text) == ds.to_json_dict()
    assert Dataset.from_json(text) == Dataset.from_json(text.encode())
    assert Dataset.from_json(json.loads(text)).to_json_dict() == ds.to_json_dict()


def test_bulk_data_out_through_a_handler() -> None:
    name = "test_files/CT_small.dcm"
    ours = read_corpus(name)
    theirs = pydicom_read(path_of(name))

    def handler(elem: Any) -> str:
        return f"https://example.org/bulk/{int(elem.tag):08X}"

    got = ours.to_json_dict(bulk_data_threshold=64, bulk_data_element_handler=handler)
    with pydicom_quiet():
        expected = theirs.to_json_dict(bulk_data_threshold=64,
                                       bulk_data_element_handler=handler)
    assert json_differences(got, expected) == []
    assert got["7FE00010"] == {"vr": "OW",
                               "BulkDataURI": "https://example.org/bulk/7FE00010"}


def test_bulk_data_in_through_a_handler() -> None:
    pixels = bytes(range(256)) * 4
    document = {
        "00100010": {"vr": "PN", "Value": [{"Alphabetic": "Doe^Jane"}]},
        "7FE00010": {"vr": "OW", "BulkDataURI": "https://example.org/bulk/1"},
        "00281201": {"vr": "OW", "BulkDataURI": "https://example.org/bulk/2"},
    }
    seen: list[tuple[str, ...]] = []

    def three(tag: str, vr: str, uri: str) -> bytes:
        seen.append((tag, vr, uri))
        return pixels

    ds = Dataset.from_json(document, three)
    assert ds.PixelData == pixels
    assert ("7FE00010", "OW", "https://example.org/bulk/1") in seen

    def one(uri: str) -> bytes:
        return uri.encode() + b"\x00"

    ds = Dataset.from_json(document, one)
    assert ds[0x00281201].value == b"https://example.org/bulk/2\x00"

    with pytest.warns(DicomStreamWarning, match="no bulk data URI handler"):
        ds = Dataset.from_json(document)
    assert ds.PixelData is None
    assert str(ds.PatientName) == "Doe^Jane"


def test_json_values_by_vr() -> None:
    ds = Dataset()
    ds.PatientName = "Yamada^Tarou=山田^太郎=やまだ^たろう"
    ds.ImageType = ["ORIGINAL", "PRIMARY"]
    ds.PixelSpacing = ["0.5", 0.25]
    ds.InstanceNumber = "7"
    ds.Rows = 512
    ds.FrameIncrementPointer = 0x00181063
    ds.RedPaletteColorLookupTableData = b"\x01\x02"
    ds.ReferencedImageSequence = [Dataset()]
    ds.ReferencedImageSequence[0].ReferencedSOPInstanceUID = "1.2.3"
    ds.StudyDate = ""
    got = ds.to_json_dict()
    assert got["00100010"] == {"vr": "PN", "Value": [{
        "Alphabetic": "Yamada^Tarou", "Ideographic": "山田^太郎", "Phonetic": "やまだ^たろう"}]}
    assert got["00080008"] == {"vr": "CS", "Value": ["ORIGINAL", "PRIMARY"]}
    assert got["00280030"] == {"vr": "DS", "Value": [0.5, 0.25]}
    assert got["00200013"] == {"vr": "IS", "Value": [7]}
    assert got["00280010"] == {"vr": "US", "Value": [512]}
    assert got["00280009"] == {"vr": "AT", "Value": ["00181063"]}
    assert got["00281201"] == {"vr": "OW",
                               "InlineBinary": base64.b64encode(b"\x01\x02").decode()}
    assert got["00081140"] == {"vr": "SQ", "Value": [
        {"00081155": {"vr": "UI", "Value": ["1.2.3"]}}]}
    assert got["00080020"] == {"vr": "DA"}
    back = Dataset.from_json(got)
    assert back == ds
    assert back.FrameIncrementPointer == 0x00181063
    assert back.PatientName.ideographic == "山田^太郎"


def test_json_errors() -> None:
    with pytest.raises(KeyError, match="vr"):
        Dataset.from_json({"00100010": {"Value": ["x"]}})
    with pytest.raises(TypeError, match="must be a list"):
        Dataset.from_json({"00100010": {"vr": "PN", "Value": "x"}})
    with pytest.raises(TypeError):
        Dataset.from_json("[1, 2]")
    with pytest.raises(ValueError, match="not an integer"):
        DataElement(0x00200013, "IS", "x1")
    ds = read_corpus("test_files/badVR.dcm")  # an IS of '1A', kept as text
    with pytest.raises(ValueError):
        ds.to_json_dict()
    with pytest.warns(DicomStreamWarning, match="00280008 left out"):
        got = ds.to_json_dict(suppress_invalid_tags=True)
    assert "00280008" not in got
    assert "00280010" in got
