"""What the collector fuzz target found (``fuzz/``, issue #7), each reduced to the input
that shows it: ``dcmread`` and the dataset's use (``str``, DICOM JSON, ``save_as``) raise
only dicomstream errors, and an unchanged dataset saves as the bytes it was read from.

The inputs are datasets without file meta in explicit VR little endian (as the
regression files in ``tests/hardening/fuzz_regressions/`` are), built here element by
element so that each test says what it is about.
"""

from __future__ import annotations

import io
import re
import struct
import warnings
from typing import Any

import pytest

import dicomstream
from dicomstream.collector import Dataset, collect
from dicomstream.errors import DicomStreamWarning, InvalidValueError
from dicomstream.parser import Parser
from dicomstream.values import DEFAULT_CHARSET, CharacterSet

_LONG = frozenset({"OB", "OW", "SQ", "UN", "UT"})


def element(tag: int, vr: str, value: bytes) -> bytes:
    """One explicit VR little endian element (``value`` as given: no padding)."""
    head = struct.pack("<HH2s", tag >> 16, tag & 0xFFFF, vr.encode())
    if vr in _LONG:
        return head + struct.pack("<HI", 0, len(value)) + value
    return head + struct.pack("<H", len(value)) + value


def sequence(tag: int, *items: bytes) -> bytes:
    """A sequence of undefined length whose items (of undefined length) hold ``items``."""
    out = [struct.pack("<HH2sHI", tag >> 16, tag & 0xFFFF, b"SQ", 0, 0xFFFFFFFF)]
    for item in items:
        out += [struct.pack("<HHI", 0xFFFE, 0xE000, 0xFFFFFFFF), item,
                struct.pack("<HHI", 0xFFFE, 0xE00D, 0)]
    out.append(struct.pack("<HHI", 0xFFFE, 0xE0DD, 0))
    return b"".join(out)


def part10(meta: bytes, body: bytes) -> bytes:
    return bytes(128) + b"DICM" + meta + body


def saved(ds: Dataset) -> bytes:
    out = io.BytesIO()
    ds.save_as(out)
    return out.getvalue()


def chunked(data: bytes, size: int = 1, **options: Any) -> Dataset:
    """The dataset of ``data`` fed ``size`` bytes at a time to a parser with ``options``."""
    parser = Parser(**options)
    batches = []
    for i in range(0, len(data), size):
        parser.receive_data(data[i:i + size])
        batches.extend(parser.events())
    parser.receive_data(b"")
    batches.extend(parser.events())
    return collect(batches)


TS_EXPLICIT = element(0x00020010, "UI", b"1.2.840.10008.1.2.1\0")
NAME = element(0x00100010, "PN", b"A^B ")


# -- DICOM JSON of an IS or DS that is not a number --------------------------------------------

@pytest.mark.parametrize(("vr", "text"), [("IS", b"1A"), ("DS", b"1.5x"), ("IS", b"1\\B ")])
def test_json_refuses_a_number_that_is_not_one(vr: str, text: bytes) -> None:
    """collector-json-invalid-integer-string.bin: a plain ``ValueError`` from ``int()``
    escaped; now an ``InvalidValueError`` naming the element (still a ``ValueError``, what
    pydicom raises), and ``suppress_invalid_tags`` leaves the element out."""
    data = element(0x00280008, vr, text)
    ds = dicomstream.dcmread(data)
    with pytest.warns(DicomStreamWarning):  # the value is decoded with a warning
        with pytest.raises(InvalidValueError, match="00280008.* not a number") as info:
            ds.to_json_dict()
    assert isinstance(info.value, ValueError)
    with pytest.warns(DicomStreamWarning, match="00280008 left out"):
        assert ds.to_json_dict(suppress_invalid_tags=True) == {}
    assert saved(ds) == data


def test_json_from_a_document_with_a_number_that_is_not_one() -> None:
    with pytest.raises(InvalidValueError, match="00280008"):
        Dataset.from_json({"00280008": {"vr": "IS", "Value": ["1A"]}})


# -- Specific Character Set terms that name no usable codec ------------------------------------

@pytest.mark.parametrize("term", ["A\0B", "base64", "rot13", "hex", "idna", "punycode",
                                  "undefined", "unicode_escape"])
def test_unusable_character_set_falls_back_to_the_default(term: str) -> None:
    """collector-nul-in-character-set.bin: ``codecs.lookup`` raised ``ValueError`` for a
    term with a NUL. Like every unknown term (pydicom's fallback), such a term — and one
    naming a Python codec that is no text encoding or cannot decode any bytes — gives the
    default repertoire with a warning, instead of an exception when reading or decoding.
    (Terms are resolved once per process: the warning is checked on the uncached class.)"""
    with pytest.warns(DicomStreamWarning, match="unknown Specific Character Set term"):
        assert CharacterSet([term]) == DEFAULT_CHARSET
    data = element(0x00080005, "CS", term.encode() + b" " * (len(term) & 1)) \
        + element(0x00100010, "PN", b"Doe^J\xe9")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DicomStreamWarning)
        ds = dicomstream.dcmread(data)
        assert str(ds.PatientName) == "Doe^J\xe9"
        assert "Doe^J" in str(ds)
        assert ds.to_json_dict()["00100010"]["Value"] == [{"Alphabetic": "Doe^J\xe9"}]
    assert saved(ds) == data


def test_a_python_text_codec_name_still_works() -> None:
    with pytest.warns(DicomStreamWarning, match="is a Python codec name"):
        charset = CharacterSet(["latin-1"])
    assert charset.decode(b"Doe^J\xe9", "PN") == "Doe^J\xe9"


# -- a value written with VR SQ ---------------------------------------------------------------

def test_meta_element_written_as_sq_is_read_as_un() -> None:
    """collector-meta-element-with-vr-sq.bin: the parser opens no sequence in the file
    meta group, so (0002,0001) written with VR SQ comes as an element with its bytes;
    ``str(ds)`` iterated those bytes as items (``TypeError``). It is read as UN, with a
    warning, and written back as read."""
    data = part10(element(0x00020001, "SQ", b"\x00\x01") + TS_EXPLICIT, NAME)
    with pytest.warns(DicomStreamWarning, match=r"\(0002,0001\) is written with VR SQ"):
        ds = dicomstream.dcmread(data)
    elem = ds.file_meta[0x00020001]
    assert (elem.VR, elem.value) == ("UN", b"\x00\x01")
    assert re.search(r"\(0002, 0001\) File Meta Information Version +UN: b'\\x00\\x01'",
                     str(ds))
    assert ds.to_json_dict() == {"00100010": {"vr": "PN", "Value": [{"Alphabetic": "A^B"}]}}
    assert saved(ds) == data
    with pytest.warns(DicomStreamWarning, match="written with VR SQ"):
        streamed = chunked(data, 3, value_threshold=0, chunk_size=8)  # ValueStart … ValueEnd
    assert streamed.file_meta[0x00020001].VR == "UN" and streamed == ds
    assert saved(streamed) == data


def test_un_sequence_that_is_not_one_is_used_as_bytes() -> None:
    """The same crash for a value written as UN whose dictionary VR is SQ (CP-246) and
    whose bytes are no sequence: decoding turns it into UN, after ``str``, ``iterall``,
    ``walk`` and DICOM JSON had decided to iterate it as a sequence."""
    data = element(0x00081115, "UN", b"\x00\x01") + NAME
    seen: list[str] = []
    for use in (str, lambda ds: list(ds.iterall()), Dataset.to_json_dict,
                lambda ds: ds.walk(lambda _ds, elem: seen.append(elem.VR))):
        ds = dicomstream.dcmread(data)
        with pytest.warns(DicomStreamWarning, match="not a sequence"):
            use(ds)
        assert ds[0x00081115].VR == "UN"
        assert saved(ds) == data
    assert len(seen) == 2
    ds = dicomstream.dcmread(data)
    with pytest.warns(DicomStreamWarning, match="not a sequence"):
        assert ds[0x00081115].VR == "UN"  # asking for the VR settles it
    assert re.search(r"\(0008, 1115\) Referenced Series Sequence +UN: b'\\x00\\x01'", str(ds))
    assert ds.to_json_dict()["00081115"] == {"vr": "UN", "InlineBinary": "AAE="}


# -- a tag read twice --------------------------------------------------------------------------

PID1 = element(0x00100020, "LO", b"1 ")
PID2 = element(0x00100020, "LO", b"2 ")
BIRTH = element(0x00100030, "DA", b"")
ACCESSION = element(0x00080050, "SH", b"ACC1")


@pytest.mark.parametrize("body", [
    PID1 + BIRTH + PID2,                        # the fuzzer's (after a greater tag)
    PID1 + ACCESSION + PID2,                    # after a smaller one: was not even noticed
    PID1 + PID2 + BIRTH,                        # adjacent
    NAME + PID1 + ACCESSION + PID2 + BIRTH + PID1 + ACCESSION,  # three times, two tags
    sequence(0x00081115, PID1 + BIRTH + PID2, NAME + ACCESSION + NAME) + PID2,  # in items
], ids=["after-greater", "after-smaller", "adjacent", "thrice", "in-items"])
def test_repeated_tag_saves_as_read(body: bytes) -> None:
    """collector-non-adjacent-duplicate-tags-reordered.bin: the last element of a tag
    wins, as in pydicom (silently, as there), and the earlier ones are written back where
    they were read, so the unchanged dataset saves as its input — whole, and read from a
    chunked parser with small values streamed."""
    ds = dicomstream.dcmread(body)
    assert saved(ds) == body
    streamed = chunked(body, 1, value_threshold=1, chunk_size=2)
    assert streamed == ds
    assert saved(streamed) == body
    assert saved(ds.copy()) == body


def test_repeated_tag_last_one_wins() -> None:
    ds = dicomstream.dcmread(PID1 + BIRTH + PID2)
    assert ds.PatientID == "2"
    assert [e.tag for e in ds] == [0x00100020, 0x00100030]
    assert str(ds).count("Patient ID") == 1


def test_repeated_tag_in_file_meta_saves_as_read() -> None:
    """The fuzzer found it in the file meta group: (0002,0002) (0002,0003) (0002,0002)."""
    sop_class = element(0x00020002, "UI", b"1.2.3\0")
    meta = (sop_class + element(0x00020003, "UI", b"1.2.3.4\0") + TS_EXPLICIT
            + element(0x00020002, "UI", b"1.2.840.10008.5.1.4.1.1.7\0"))
    data = part10(meta, NAME)
    ds = dicomstream.dcmread(data)
    assert ds.file_meta.MediaStorageSOPClassUID == "1.2.840.10008.5.1.4.1.1.7"
    assert saved(ds) == data


@pytest.mark.parametrize("change", ["set", "replace", "delete"])
def test_changed_repeated_tag_is_written_once(change: str) -> None:
    """The earlier element goes with the last one: once the tag is given another value,
    replaced or deleted, a stale copy of it is not written (an old Patient ID left in a
    file whose Patient ID was changed would leak it)."""
    ds = dicomstream.dcmread(PID1 + BIRTH + PID2)
    if change == "set":
        ds.PatientID = "X"
    elif change == "replace":
        ds[0x00100020] = dicomstream.DataElement(0x00100020, "LO", "X")
    else:
        del ds.PatientID
    out = dicomstream.dcmread(saved(ds))
    written = saved(ds)
    assert b"1 " not in written.replace(BIRTH, b"")
    if change == "delete":
        assert written == BIRTH
    else:
        assert out.PatientID == "X" and written.count(b"\x10\x00\x20\x00") == 1
