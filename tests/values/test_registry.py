"""The codec table, the entry points' edge cases, text VR stripping rules and the public API."""

from __future__ import annotations

import doctest
import warnings

import pytest
from pydicom import config as pydicom_config
from pydicom.dataelem import RawDataElement, empty_value_for_VR
from pydicom.multival import MultiValue
from pydicom.tag import Tag
from pydicom.values import convert_value

import dicomstream.values as values_api
from dicomstream.errors import DicomStreamError, DicomStreamWarning, EncodeError
from dicomstream.values import (
    CODECS,
    CharacterSet,
    InvalidValueError,
    PersonName,
    check_every_vr_has_codec,
    decode_value,
    encode_value,
)
from dicomstream.vr import VR, padding_byte


def test_every_vr_has_a_codec() -> None:
    check_every_vr_has_codec()
    assert set(CODECS) == {v.value for v in VR} - {"SQ"}


def test_codec_table_is_read_only() -> None:
    with pytest.raises(TypeError):
        CODECS["XX"] = CODECS["US"]  # type: ignore[index]


@pytest.mark.parametrize("vr", sorted(set(VR) - {VR.SQ}))
def test_empty_values_are_pydicoms(vr: VR) -> None:
    expected = empty_value_for_VR(vr.value)
    ours = decode_value(vr, b"")
    assert ours == expected
    assert type(ours) is (PersonName if vr == "PN" else type(expected))
    assert encode_value(vr, ours) == b""
    assert encode_value(vr, None) == b""


def _pydicom_decode(vr: str, raw: bytes) -> object:
    element = RawDataElement(Tag(0x00100010), vr, len(raw), raw, 0, False, True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = convert_value(vr, element, None)
    return list(value) if isinstance(value, MultiValue) else value


@pytest.mark.parametrize(
    ("vr", "raw", "expected"),
    [
        ("AE", b" STORESCP \\ B ", ["STORESCP", "B"]),
        ("AS", b"045Y", "045Y"),
        ("CS", b" A \\B  ", [" A ", "B"]),
        ("CS", b"ORIGINAL\x00", "ORIGINAL"),
        ("UI", b"1.2.840.10008.1.2\x00", "1.2.840.10008.1.2"),
        ("UI", b"1.2\x00\\1.3\x00", ["1.2\x00", "1.3"]),
        ("SH", b" ab \\ cd\x00", [" ab", " cd"]),
        ("LO", b"a\\b", ["a", "b"]),
        ("UC", b"x\\y ", ["x", "y"]),
        ("LT", b" line 1\r\nline 2\\x \x00 ", " line 1\r\nline 2\\x"),
        ("ST", b"text  ", "text"),
        ("UT", b"text\\more", "text\\more"),
        ("UR", b"http://x/y \t", "http://x/y"),
        ("DA", b"20240101\\20240102 ", ["20240101", "20240102"]),
        ("TM", b"1430 \\15 ", ["1430 ", "15"]),
        ("PN", b"Doe^John \\Roe ", ["Doe^John ", "Roe"]),
    ],
)
def test_text_stripping_is_pydicoms(vr: str, raw: bytes, expected: object) -> None:
    ours = decode_value(vr, raw)
    assert ours == expected
    theirs = _pydicom_decode(vr, raw)
    if isinstance(theirs, list):
        assert [str(v) for v in theirs] == ours
    else:
        assert str(theirs) == ours


def test_text_values_encode_padded() -> None:
    assert encode_value("CS", ["ORIGINAL", "PRIMARY"]) == b"ORIGINAL\\PRIMARY"
    assert encode_value("CS", "A") == b"A "
    assert encode_value("UI", "1.2.3") == b"1.2.3\x00"
    assert encode_value("LO", ("a", "bc")) == b"a\\bc"
    assert encode_value("LT", ["only one"]) == b"only one"
    assert encode_value("UR", "http://a") == b"http://a"
    assert encode_value("AE", "ANY") == b"ANY "
    with pytest.raises(EncodeError, match="cannot be multi-valued"):
        encode_value("LT", ["a", "b"])
    with pytest.raises(EncodeError):
        encode_value("CS", 5)


@pytest.mark.parametrize("vr", sorted(set(VR) - {VR.SQ}))
def test_padding_byte(vr: VR) -> None:
    value: object = {"OB": b"x", "OD": b"x", "OF": b"x", "OL": b"x", "OV": b"x", "OW": b"x",
                     "UN": b"x", "PN": PersonName("X"), "DS": "1", "IS": "1"}.get(vr, "X")
    if vr in ("US", "SS", "UL", "SL", "UV", "SV", "AT", "FL", "FD"):
        return  # binary numbers are never odd
    assert encode_value(vr, value)[-1:] == padding_byte(vr)


def test_vr_enum_and_str_are_the_same() -> None:
    assert decode_value(VR.US, b"\x01\x00") == decode_value("US", b"\x01\x00") == 1
    assert encode_value(VR.LO, "a") == b"a "


def test_sq_and_unknown_vrs() -> None:
    with pytest.raises(InvalidValueError):
        decode_value("SQ", b"")
    with pytest.warns(DicomStreamWarning, match="unknown VR"):
        assert decode_value("XX", b"ab") == b"ab"
    with pytest.raises(EncodeError):
        encode_value("SQ", [])
    with pytest.raises(EncodeError):
        encode_value("XX", b"ab")


def test_charset_reaches_text_only() -> None:
    latin = CharacterSet.from_terms(["ISO_IR 100"])
    assert decode_value("LO", b"Caf\xe9", charset=latin) == "Café"
    assert encode_value("LO", "Café", charset=latin) == b"Caf\xe9"
    assert decode_value("US", b"\x01\x00", charset=latin) == 1


def test_errors_are_dicomstream_errors() -> None:
    assert issubclass(InvalidValueError, DicomStreamError)
    assert issubclass(InvalidValueError, ValueError)
    assert issubclass(EncodeError, DicomStreamError)


def test_public_api() -> None:
    assert isinstance(values_api.__all__, tuple)
    assert sorted(values_api.__all__) == sorted(set(values_api.__all__))
    public = {name for name in dir(values_api) if not name.startswith("_")} - {"annotations"}
    assert public == set(values_api.__all__)
    for name in values_api.__all__:
        obj = getattr(values_api, name)
        module = getattr(obj, "__module__", None)
        # InvalidValueError belongs to the one exception tree, in dicomstream.errors
        allowed = ("dicomstream.errors",) if name == "InvalidValueError" else ()
        assert module in (None, "dicomstream.values", "typing", "types", *allowed), (name, module)


def test_pydicom_config_untouched() -> None:
    """Our defaults are pydicom's defaults (no configuration is consulted or changed)."""
    assert pydicom_config.use_none_as_empty_text_VR_value is False
    assert pydicom_config.datetime_conversion is False
    assert pydicom_config.use_DS_decimal is False


def test_package_docstring_example() -> None:
    failed, attempted = doctest.testmod(values_api)
    assert attempted > 0
    assert failed == 0
