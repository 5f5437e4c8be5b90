"""Every value of every DICOM file shipped with pydicom, decoded and re-encoded.

pydicom is the oracle: each file is read with ``dcmread(force=True)``, every element at
every depth is taken as the raw bytes pydicom read (its ``RawDataElement``) and decoded
with :func:`decode_value` under the byte order and the Specific Character Set in scope;
the result must equal what pydicom decodes (numbers as numbers, DS/IS with the same
original string, names as strings, multi-values as lists). Then :func:`encode_value` of
the decoded value must give the raw bytes back, except for the values listed in
:data:`ROUND_TRIP_EXCEPTIONS`, whose bytes are not canonical.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pydicom
import pytest
from pydicom.dataelem import RawDataElement
from pydicom.multival import MultiValue
from pydicom.valuerep import IS as PydicomIS
from pydicom.valuerep import DSfloat as PydicomDSfloat
from pydicom.valuerep import ISfloat as PydicomISfloat
from pydicom.valuerep import PersonName as PydicomPersonName

from dicomstream.errors import DicomStreamWarning
from dicomstream.values import (
    DA,
    DT,
    IS,
    TM,
    CharacterSet,
    DSfloat,
    ISfloat,
    PersonName,
    decode_value,
    encode_value,
)
from dicomstream.vr import VR

if TYPE_CHECKING:
    from collections.abc import Iterator

    from pydicom.dataset import Dataset

DATA_ROOT = Path(pydicom.data.__file__).parent
_NOT_DICOM = {".py", ".pyc", ".json", ".txt", ".md", ".gz", ".icc", ".dump"}
FILES = sorted(
    str(p.relative_to(DATA_ROOT))
    for p in DATA_ROOT.rglob("*")
    if p.is_file()
    and p.suffix not in _NOT_DICOM
    and p.name != "README"
    and "__pycache__" not in p.parts
)

ROUND_TRIP_EXCEPTIONS: dict[tuple[str, int], str] = {
    ("charset_files/chrKoreanMulti.dcm", 0x001021B0): (
        "LT ends in a redundant ESC ( B: KS X 1001 is designated to G1, G0 never left "
        "ASCII, so no escape is written (pydicom writes none either)"
    ),
    ("test_files/SC_rgb_gdcm_KY.dcm", 0x00080008): "CS padded with two spaces",
    ("test_files/examples_ybr_color.dcm", 0x00102160): (
        "SH of padding only (two spaces): decodes as empty, encodes as empty"
    ),
    ("test_files/no_meta.dcm", 0x08200500): "UN value of odd length; encoding pads it",
    ("test_files/no_meta_group_length.dcm", 0x00020013): "SH padded with NUL, not space",
    ("test_files/no_meta_group_length.dcm", 0x00020016): "AE padded with spaces to 16",
    ("test_files/rtplan_truncated.dcm", 0x300A012C): (
        "DS of odd length (the file is cut inside the value); encoding pads it"
    ),
}
"""Values whose bytes are not canonical, with why they do not round-trip byte for byte."""

EXPECTED_WARNINGS: dict[tuple[str, int], str] = {
    ("test_files/badVR.dcm", 0x00280008): "IS value '1A' is not valid",
}
"""Values whose decoding warns (and what the warning starts with)."""


class Row:
    """One raw element with what pydicom made of it."""

    def __init__(self, tag: int, vr: str, raw: RawDataElement, value: Any,
                 charset: bytes | None) -> None:
        self.tag, self.vr, self.raw, self.value, self.charset = tag, vr, raw, value, charset


def _charset_raw(ds: Dataset, inherited: bytes | None) -> bytes | None:
    if 0x00080005 not in ds:
        return inherited
    item = ds.get_item(0x00080005)
    if isinstance(item, RawDataElement):
        return item.value
    value = item.value
    if not value:
        return b""
    return (value if isinstance(value, str) else "\\".join(value)).encode("latin_1")


def _walk(ds: Dataset, charset: bytes | None) -> Iterator[Row]:
    charset = _charset_raw(ds, charset)
    for tag in list(ds.keys()):
        raw = ds.get_item(tag)
        if not isinstance(raw, RawDataElement):
            continue  # already converted by pydicom while reading; no raw bytes left
        element = ds[tag]
        if element.VR == "SQ":
            for item in element.value:
                yield from _walk(item, charset)
        else:
            yield Row(int(tag), str(element.VR), raw, element.value, charset)


def read_rows(relative: str) -> list[Row]:
    """Every raw element of a file (dataset and file meta), as pydicom decodes it."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydicom's own warnings about odd files
        ds = pydicom.dcmread(DATA_ROOT / relative, force=True)
        rows = list(_walk(ds, None))
        if getattr(ds, "file_meta", None) is not None:
            rows += _walk(ds.file_meta, None)
    return rows


def canonical(value: Any) -> Any:
    """A comparable form of a pydicom value or ours: type family, text and number."""
    if isinstance(value, MultiValue | list):
        return [canonical(v) for v in value]
    if isinstance(value, PydicomPersonName | PersonName):
        return ("PN", str(value))
    if isinstance(value, PydicomDSfloat | DSfloat):
        number = float(value)
        return ("DS", str(value), "nan" if math.isnan(number) else number)
    if isinstance(value, PydicomISfloat | ISfloat):
        return ("ISfloat", str(value), float(value))
    if isinstance(value, PydicomIS | IS):
        return ("IS", str(value), int(value))
    if isinstance(value, float):
        return ("float", "nan" if math.isnan(value) else value)
    if isinstance(value, int):
        return ("int", int(value))
    if isinstance(value, str):
        return ("str", str(value))
    if isinstance(value, bytes):
        return ("bytes", value)
    assert value is None, f"unexpected pydicom value {value!r}"
    return None


_DATE_TYPES = {"DA": DA, "TM": TM, "DT": DT}


def _check_types(vr: str, value: Any) -> None:
    for v in value if isinstance(value, list) else [value]:
        if vr in _DATE_TYPES and v:
            assert isinstance(v, _DATE_TYPES[vr])
        if vr == "PN":
            assert isinstance(v, PersonName)


@pytest.mark.parametrize("relative", FILES)
def test_corpus_file(relative: str) -> None:
    rows = read_rows(relative)
    warned: dict[int, str] = {}
    round_trip_failures: set[int] = set()
    for row in rows:
        assert row.vr in VR.__members__, f"{relative} {row.tag:08X}: VR {row.vr}"
        charset = CharacterSet.from_raw(row.charset)
        little = bool(row.raw.is_little_endian)
        raw = row.raw.value
        assert isinstance(raw, bytes)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            ours = decode_value(row.vr, raw, little_endian=little, charset=charset)
        for w in caught:
            assert issubclass(w.category, DicomStreamWarning)
            warned[row.tag] = str(w.message)
        where = f"{relative} ({row.tag >> 16:04X},{row.tag & 0xFFFF:04X}) {row.vr}"
        assert canonical(ours) == canonical(row.value), where
        _check_types(row.vr, ours)
        encoded = encode_value(row.vr, ours, little_endian=little, charset=charset)
        if encoded != raw:
            round_trip_failures.add(row.tag)
            assert (relative, row.tag) in ROUND_TRIP_EXCEPTIONS, (
                f"{where}: {raw[:80]!r} re-encodes as {encoded[:80]!r}"
            )
    expected_failures = {tag for (name, tag) in ROUND_TRIP_EXCEPTIONS if name == relative}
    assert round_trip_failures == expected_failures
    expected_warnings = {tag: msg for (name, tag), msg in EXPECTED_WARNINGS.items()
                         if name == relative}
    assert set(warned) == set(expected_warnings)
    for tag, start in expected_warnings.items():
        assert warned[tag].startswith(start)


def test_corpus_is_all_there() -> None:
    """The walk sees the corpus it is meant to: ~190 files, every VR but SQ in use."""
    assert len(FILES) > 180
    assert any(name.startswith("charset_files/chr") for name in FILES)
    assert any(name.startswith("test_files/dicomdirtests/") for name in FILES)
    assert any(name.startswith("palettes/") for name in FILES)
