"""Binary VRs: numbers, AT and bytes, in both byte orders, against struct and pydicom."""

from __future__ import annotations

import math
import struct
import warnings

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydicom.values import convert_ATvalue, convert_numbers

from dicomstream.errors import DicomStreamWarning, EncodeError
from dicomstream.values import decode_value, encode_value

INT_RANGES = {
    "US": (0, 2**16 - 1),
    "SS": (-(2**15), 2**15 - 1),
    "UL": (0, 2**32 - 1),
    "SL": (-(2**31), 2**31 - 1),
    "UV": (0, 2**64 - 1),
    "SV": (-(2**63), 2**63 - 1),
}
FORMATS = {"US": "H", "SS": "h", "UL": "L", "SL": "l", "UV": "Q", "SV": "q", "FL": "f",
           "FD": "d"}


def _int_values(vr: str) -> st.SearchStrategy[list[int]]:
    low, high = INT_RANGES[vr]
    return st.lists(st.integers(low, high), min_size=1, max_size=8)


@settings(max_examples=40, deadline=None)
@given(data=st.data(), little=st.booleans())
@pytest.mark.parametrize("vr", sorted(INT_RANGES))
def test_integers_round_trip(vr: str, little: bool, data: st.DataObject) -> None:
    values = data.draw(_int_values(vr))
    value: int | list[int] = values[0] if len(values) == 1 else values
    raw = encode_value(vr, value, little_endian=little)
    assert raw == struct.pack(f"{'<' if little else '>'}{len(values)}{FORMATS[vr]}", *values)
    assert decode_value(vr, raw, little_endian=little) == value
    assert decode_value(vr, raw, little_endian=little) == convert_numbers(raw, little,
                                                                          FORMATS[vr])


@settings(max_examples=40, deadline=None)
@given(values=st.lists(st.floats(width=32), min_size=1, max_size=8), little=st.booleans())
def test_fl_round_trip(values: list[float], little: bool) -> None:
    raw = encode_value("FL", values, little_endian=little)
    decoded = decode_value("FL", raw, little_endian=little)
    decoded = decoded if isinstance(decoded, list) else [decoded]
    assert [math.isnan(v) for v in decoded] == [math.isnan(v) for v in values]
    assert [v for v in decoded if not math.isnan(v)] == [v for v in values if not math.isnan(v)]
    assert encode_value("FL", decoded, little_endian=little) == raw


@settings(max_examples=40, deadline=None)
@given(value=st.floats(allow_nan=False), little=st.booleans())
def test_fd_round_trip(value: float, little: bool) -> None:
    raw = encode_value("FD", value, little_endian=little)
    assert len(raw) == 8
    assert decode_value("FD", raw, little_endian=little) == value


@settings(max_examples=40, deadline=None)
@given(tags=st.lists(st.integers(0, 0xFFFFFFFF), min_size=1, max_size=6), little=st.booleans())
def test_at_round_trip(tags: list[int], little: bool) -> None:
    value: int | list[int] = tags[0] if len(tags) == 1 else tags
    raw = encode_value("AT", value, little_endian=little)
    assert decode_value("AT", raw, little_endian=little) == value
    assert decode_value("AT", raw, little_endian=little) == convert_ATvalue(raw, little)


def test_at_byte_layout() -> None:
    """A tag is two 16-bit numbers, group first, each in the stream's byte order."""
    assert encode_value("AT", 0x00100020) == b"\x10\x00\x20\x00"
    assert encode_value("AT", 0x00100020, little_endian=False) == b"\x00\x10\x00\x20"
    assert decode_value("AT", b"\x00\x10\x00\x20", little_endian=False) == 0x00100020


@pytest.mark.parametrize("vr", sorted(FORMATS) + ["AT"])
def test_empty_is_none(vr: str) -> None:
    assert decode_value(vr, b"") is None
    assert encode_value(vr, None) == b""
    assert encode_value(vr, []) == b""
    assert encode_value(vr, "") == b""


def test_left_over_bytes_warn() -> None:
    with pytest.warns(DicomStreamWarning, match="ignoring the last 2 bytes"):
        assert decode_value("UL", b"\x01\x00\x00\x00\x02\x00") == 1
    with pytest.warns(DicomStreamWarning, match="not a multiple of 4"):
        assert decode_value("AT", b"\x10\x00\x10\x00\x20\x00") == 0x00100010
    with pytest.warns(DicomStreamWarning):
        assert decode_value("US", b"\x01") is None


@pytest.mark.parametrize(
    ("vr", "value"),
    [
        ("US", -1),
        ("US", 65536),
        ("SS", 40000),
        ("UL", 2**32),
        ("SV", 2**63),
        ("US", 1.0),
        ("US", "1"),
        ("FL", "1.5"),
        ("FL", 1e300),
        ("AT", -1),
        ("AT", 2**32),
        ("AT", "00100010"),
        ("OB", "abc"),
        ("OW", [1, 2]),
    ],
)
def test_bad_values_raise(vr: str, value: object) -> None:
    with pytest.raises(EncodeError):
        encode_value(vr, value)


def test_ints_and_bools_are_accepted_where_numbers_are() -> None:
    assert encode_value("FD", 1) == struct.pack("<d", 1.0)
    assert encode_value("US", True) == b"\x01\x00"
    assert encode_value("US", (1, 2)) == b"\x01\x00\x02\x00"


@pytest.mark.parametrize("vr", ["OB", "OD", "OF", "OL", "OV", "OW", "UN"])
def test_bytes_are_left_as_they_are(vr: str) -> None:
    """No byte swapping, whatever the byte order; odd values are padded with NUL."""
    raw = bytes(range(16))
    for little in (True, False):
        assert decode_value(vr, raw, little_endian=little) == raw
        assert encode_value(vr, raw, little_endian=little) == raw
    assert decode_value(vr, memoryview(raw)) == raw
    assert encode_value(vr, b"abc") == b"abc\x00"
    assert encode_value(vr, bytearray(b"ab")) == b"ab"
    assert decode_value(vr, b"") is None


def test_pydicom_agrees_on_big_endian_floats() -> None:
    raw = struct.pack(">3f", 1.5, -2.25, 0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = convert_numbers(raw, False, "f")
    assert decode_value("FL", raw, little_endian=False) == expected == [1.5, -2.25, 0.0]
