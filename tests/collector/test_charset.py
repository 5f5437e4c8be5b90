"""Specific Character Set through the dataset: decoding, writing back, per-item overrides.

The charset files of the pydicom wheel (``charset_files/chr*.dcm``): single-byte ISO 8859
sets, ISO 2022 code extensions (Japanese, Korean), UTF-8, GB18030, and items that carry
their own (0008,0005). Names decode as pydicom decodes them; a changed name written back
in the file's character set reads back (in pydicom and here) as written, and only that
element's bytes change.
"""

from __future__ import annotations

import io

import pydicom
import pytest
from corpus import CORPUS_IDS, path_of, read_bytes
from pydicom.multival import MultiValue

import dicomstream
from collector.helpers import pydicom_read, read_corpus
from dicomstream import Dataset
from dicomstream.errors import EncodeError
from dicomstream.events import Element
from dicomstream.parser import parse_bytes

PATIENT_NAME = 0x00100010

CHARSET_FILES = [n for n in CORPUS_IDS if n.startswith("charset_files/chr")]


def _swapped(name: str) -> str:
    """The name with the components of each group reversed (same repertoire)."""
    return "=".join("^".join(reversed(group.split("^"))) for group in name.split("="))


def _named(ds: dicomstream.Dataset) -> list[dicomstream.Dataset]:
    """The dataset and every item that has a Patient's Name."""
    return [d for d in [ds, *(i for e in ds.iterall() if e.VR == "SQ" for i in e.value)]
            if "PatientName" in d]


def test_every_charset_file_is_covered() -> None:
    assert len(CHARSET_FILES) >= 17


def _text(value: object) -> object:
    if isinstance(value, list | MultiValue):
        return [str(v) for v in value]
    return str(value)


def _elements(data: bytes) -> list[tuple[object, ...]]:
    """(path, tag, VR, raw value) of every whole element of an encoded file."""
    return [(e.path, e.tag, e.vr, bytes(e.value)) for e in parse_bytes(data)
            if type(e) is Element]


@pytest.mark.parametrize("name", CHARSET_FILES)
def test_text_decodes_as_pydicom_decodes(name: str) -> None:
    ours = read_corpus(name)
    theirs = pydicom_read(path_of(name))
    text_vrs = ("PN", "LO", "SH", "ST", "LT", "UT", "UC")
    ours_text = [(int(e.tag), _text(e.value)) for e in ours.iterall() if e.VR in text_vrs]
    theirs_text = [(int(e.tag), _text(e.value)) for e in theirs.iterall()
                   if e.VR in text_vrs]
    assert ours_text == theirs_text


@pytest.mark.parametrize("name", CHARSET_FILES)
def test_changed_name_round_trips_in_the_same_charset(name: str) -> None:
    ds = read_corpus(name)
    changed = []
    for target in _named(ds):
        new = _swapped(str(target.PatientName))
        target.PatientName = new
        changed.append(new)
    if not changed:
        pytest.skip("no Patient's Name at any level")
    out = io.BytesIO()
    ds.save_as(out)
    data = out.getvalue()
    again = dicomstream.dcmread(data)
    assert [str(d.PatientName) for d in _named(again)] == changed
    theirs = pydicom_read(io.BytesIO(data))
    pyd_named = [d for d in [theirs, *(i for e in theirs.iterall() if e.VR == "SQ"
                                       for i in e.value)] if "PatientName" in d]
    assert [str(d.PatientName) for d in pyd_named] == changed
    # only the names were re-encoded: every other element keeps its bytes
    before = [e for e in _elements(read_bytes(name)) if e[1] != PATIENT_NAME]
    after = [e for e in _elements(data) if e[1] != PATIENT_NAME]
    assert after == before


def test_item_with_its_own_charset() -> None:
    ds = read_corpus("charset_files/chrSQEncoding.dcm")
    assert ds.SpecificCharacterSet == "ISO_IR 192"
    item = ds.RequestedProcedureCodeSequence[0]
    assert item.SpecificCharacterSet == ["ISO 2022 IR 13", "ISO 2022 IR 87"]
    assert str(item.PatientName) == "ﾔﾏﾀﾞ^ﾀﾛｳ=山田^太郎=やまだ^たろう"
    item.PatientName = "ﾀﾛｳ^ﾔﾏﾀﾞ=太郎^山田"
    out = io.BytesIO()
    ds.save_as(out)
    raw = out.getvalue()
    assert "太郎".encode("iso2022_jp")[3:7] in raw  # JIS X 0208 bytes, not UTF-8
    assert "太郎".encode() not in raw
    theirs = pydicom.dcmread(io.BytesIO(raw))
    assert str(theirs.RequestedProcedureCodeSequence[0].PatientName) == "ﾀﾛｳ^ﾔﾏﾀﾞ=太郎^山田"


def test_changing_the_charset_transcodes_unchanged_text() -> None:
    ds = read_corpus("charset_files/chrFren.dcm")
    assert ds.SpecificCharacterSet == "ISO_IR 100"
    ds.SpecificCharacterSet = "ISO_IR 192"
    out = io.BytesIO()
    ds.save_as(out)
    assert "Jérôme".encode() in out.getvalue()
    theirs = pydicom.dcmread(io.BytesIO(out.getvalue()))
    assert str(theirs.PatientName) == "Buc^Jérôme"


def test_item_moved_into_another_charset_is_transcoded() -> None:
    french = read_corpus("charset_files/chrFren.dcm")
    host = Dataset()
    host.SpecificCharacterSet = "ISO_IR 192"
    item = Dataset()
    item.PatientName = french.PatientName
    host.OtherPatientIDsSequence = [item]
    out = io.BytesIO()
    host.save_as(out)
    assert "Jérôme".encode() in out.getvalue()
    assert str(dicomstream.dcmread(out.getvalue()).OtherPatientIDsSequence[0].PatientName) \
        == "Buc^Jérôme"


def test_text_outside_the_charset_is_an_encode_error() -> None:
    ds = read_corpus("charset_files/chrFren.dcm")
    ds.PatientName = "山田^太郎"
    with pytest.raises(EncodeError, match="Patient"):
        ds.save_as(io.BytesIO())


def test_default_repertoire_and_utf8_for_a_new_dataset() -> None:
    ds = Dataset()
    ds.PatientName = "Müller^Jürgen"
    with pytest.raises(EncodeError):
        ds.save_as(io.BytesIO())
    ds.SpecificCharacterSet = "ISO_IR 192"
    out = io.BytesIO()
    ds.save_as(out)
    assert str(dicomstream.dcmread(out.getvalue()).PatientName) == "Müller^Jürgen"
    assert ds.original_character_set == []
