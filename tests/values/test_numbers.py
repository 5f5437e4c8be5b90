"""DS and IS: decoding, the original string, formatting — with pydicom's classes as oracle."""

from __future__ import annotations

import math
import pickle
import warnings
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydicom.valuerep import IS as PydicomIS
from pydicom.valuerep import DSfloat as PydicomDSfloat
from pydicom.valuerep import format_number_as_ds

from dicomstream.errors import DicomStreamWarning, EncodeError
from dicomstream.values import (
    IS,
    DSfloat,
    InvalidValueError,
    ISfloat,
    decode_value,
    encode_value,
    format_ds,
    format_is,
)

DS_STRINGS = ["1.5", "1.50", " 2 ", "+1", "-0", "1e3", "1.5E-3", ".5", "5.", "0012",
              "-1.234567890123"]


@pytest.mark.parametrize("text", DS_STRINGS)
def test_dsfloat_is_pydicoms(text: str) -> None:
    ours = DSfloat(text)
    theirs = PydicomDSfloat(text, validation_mode=0)
    assert float(ours) == float(theirs)
    assert str(ours) == str(theirs)
    assert repr(ours) == repr(theirs)
    assert ours == text.strip()
    assert ours == float(theirs)
    assert hash(ours) == hash(float(theirs))


@pytest.mark.parametrize("number", [1.5, 0.1, 1e-7, -3.0, 12345678901234567.0, 5])
def test_dsfloat_from_number(number: float) -> None:
    ours, theirs = DSfloat(number), PydicomDSfloat(number, validation_mode=0)
    assert str(ours) == str(theirs)
    assert repr(ours) == repr(theirs)
    assert ours.original_string is None
    assert ours.to_ds() == format_ds(float(number))
    assert len(ours.to_ds()) <= 16


def test_dsfloat_auto_format() -> None:
    value = DSfloat("3.14159265358979323846", auto_format=True)
    assert str(value) == format_number_as_ds(float(value)) == "3.14159265358979"
    assert str(DSfloat("1.5", auto_format=True)) == "1.5"
    assert str(DSfloat(math.pi, auto_format=True)) == "3.14159265358979"
    assert DSfloat(DSfloat("1.50")).original_string == "1.50"
    assert DSfloat(Decimal("1.25")) == 1.25


def test_dsfloat_arithmetic_and_pickle() -> None:
    value = DSfloat("1.50")
    assert type(value + 1) is float
    assert value + 1 == 2.5
    again = pickle.loads(pickle.dumps(value))
    assert type(again) is DSfloat
    assert again.original_string == "1.50"
    assert pickle.loads(pickle.dumps(DSfloat(0.25))) == 0.25


@pytest.mark.parametrize("text", ["5", " +5 ", "-12", "007", "5.0", "2147483647"])
def test_is_is_pydicoms(text: str) -> None:
    ours = IS(text)
    theirs = PydicomIS(text, validation_mode=0)
    assert int(ours) == int(theirs)
    assert str(ours) == str(theirs)
    assert repr(ours) == repr(theirs)
    assert ours == text.strip()
    assert type(ours + 1) is int
    assert pickle.loads(pickle.dumps(ours)).original_string == text.strip()


def test_is_rejects_non_integers() -> None:
    with pytest.raises(InvalidValueError):
        IS("1.5")
    with pytest.raises(ValueError):  # InvalidValueError is a ValueError too
        IS("abc")
    with pytest.raises(InvalidValueError):
        IS(1.5)
    with pytest.raises(InvalidValueError):
        DSfloat("one")
    assert IS(7.0) == 7
    assert str(IS(7)) == "7"
    assert repr(IS(7)) == "'7'"


@pytest.mark.parametrize(
    ("raw", "expected", "canonical"),
    [
        (b"1.5 ", DSfloat("1.5"), b"1.5 "),
        (b" 1.5\\2.50 ", [DSfloat("1.5"), DSfloat("2.50")], b"1.5\\2.50"),
        (b"1\\\\2", [DSfloat("1"), "", DSfloat("2")], b"1\\\\2"),
        (b"  ", "", b""),
        (b"1e-3", DSfloat("1e-3"), b"1e-3"),
    ],
)
def test_decode_ds(raw: bytes, expected: object, canonical: bytes) -> None:
    value = decode_value("DS", raw)
    assert value == expected
    assert [str(v) for v in (value if isinstance(value, list) else [value])] == [
        str(v) for v in (expected if isinstance(expected, list) else [expected])
    ]
    assert encode_value("DS", value) == canonical


def test_decode_is() -> None:
    assert decode_value("IS", b"42") == 42
    assert isinstance(decode_value("IS", b"42"), IS)
    assert decode_value("IS", b"1\\-2 ") == [1, -2]
    assert decode_value("IS", b"") is None
    assert decode_value("DS", b"") is None
    value = decode_value("IS", b"1.5 ")
    assert isinstance(value, ISfloat)
    assert value == 1.5
    assert str(value) == "1.5"
    assert encode_value("IS", value) == b"1.5 "


@pytest.mark.parametrize(("vr", "raw"), [("DS", b"1.5\\abc "), ("IS", b"1A"), ("DS", b"--")])
def test_invalid_numbers_decode_as_text(vr: str, raw: bytes) -> None:
    """As pydicom: a value that is no number is returned as text (with a warning here)."""
    with pytest.warns(DicomStreamWarning, match="returning it as text"):
        value = decode_value(vr, raw)
    texts = value if isinstance(value, list) else [value]
    assert all(type(v) is str for v in texts)
    assert encode_value(vr, value) == raw


@pytest.mark.parametrize(
    ("vr", "value", "raw"),
    [
        ("DS", 1.5, b"1.5 "),
        ("DS", 2, b"2.0 "),
        ("DS", Decimal("1.25"), b"1.25"),
        ("DS", [0.1, -3.0], b"0.1\\-3.0"),
        ("DS", math.pi, b"3.14159265358979"),
        ("DS", "  7.10", b"  7.10"),
        ("DS", IS("12"), b"12"),
        ("IS", 5, b"5 "),
        ("IS", [1, -22], b"1\\-22 "),
        ("IS", 3.0, b"3 "),
        ("IS", IS("+05"), b"+05 "),
        ("IS", "007", b"007 "),
    ],
)
def test_encode_numbers(vr: str, value: object, raw: bytes) -> None:
    assert encode_value(vr, value) == raw


@pytest.mark.parametrize(
    ("vr", "value"),
    [("DS", math.nan), ("DS", math.inf), ("DS", True), ("DS", object()), ("IS", 2**31),
     ("IS", -(2**31) - 1), ("IS", 1.5), ("IS", math.inf), ("IS", b"1")],
)
def test_encode_bad_numbers(vr: str, value: object) -> None:
    with pytest.raises(EncodeError):
        encode_value(vr, value)


finite = st.floats(allow_nan=False, allow_infinity=False)


@settings(max_examples=300, deadline=None)
@given(value=finite)
def test_format_ds_is_pydicoms(value: float) -> None:
    text = format_ds(value)
    theirs = format_number_as_ds(value)
    assert text == theirs or math.isinf(float(theirs))  # pydicom rounds 1.8e308 up to inf
    assert len(text) <= 16
    assert math.isclose(float(text), value, rel_tol=1e-8, abs_tol=1e-300)


@settings(max_examples=200, deadline=None)
@given(values=st.lists(finite, min_size=1, max_size=5))
def test_ds_round_trip(values: list[float]) -> None:
    raw = encode_value("DS", values)
    assert len(raw) % 2 == 0
    decoded = decode_value("DS", raw)
    decoded = decoded if isinstance(decoded, list) else [decoded]
    assert [str(v) for v in decoded] == [format_ds(v) for v in values]
    assert encode_value("DS", decoded) == raw  # the original strings are kept
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert [float(PydicomDSfloat(str(v))) for v in decoded] == [float(v) for v in decoded]


@settings(max_examples=200, deadline=None)
@given(values=st.lists(st.integers(-(2**31), 2**31 - 1), min_size=1, max_size=6))
def test_is_round_trip(values: list[int]) -> None:
    raw = encode_value("IS", values)
    decoded = decode_value("IS", raw)
    assert decoded == (values[0] if len(values) == 1 else values)
    assert encode_value("IS", decoded) == raw
    assert format_is(values[0]) == str(values[0])
