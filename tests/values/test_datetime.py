"""DA, TM and DT: strings like pydicom's, Python objects on request (pydicom's DA/TM/DT
classes, used with ``datetime_conversion``, are the oracle)."""

from __future__ import annotations

import datetime
import pickle
import warnings

import pytest
from pydicom.valuerep import DA as PydicomDA
from pydicom.valuerep import DT as PydicomDT
from pydicom.valuerep import TM as PydicomTM

from dicomstream.errors import DicomStreamWarning, EncodeError
from dicomstream.values import (
    DA,
    DT,
    TM,
    InvalidValueError,
    decode_value,
    encode_value,
    format_da,
    format_dt,
    format_tm,
)


@pytest.mark.parametrize("text", ["20240229", "19000101", "2001.01.31", " 20240101 "])
def test_da_date(text: str) -> None:
    theirs = PydicomDA(text.strip())
    assert DA(text).date() == datetime.date(theirs.year, theirs.month, theirs.day)


@pytest.mark.parametrize("text", ["14", "1430", "143015", "143015.5", "143015.123456",
                                  "000000.000001", "235959"])
def test_tm_time(text: str) -> None:
    theirs = PydicomTM(text)
    assert TM(text).time() == datetime.time(theirs.hour, theirs.minute, theirs.second,
                                            theirs.microsecond)


def test_tm_variants() -> None:
    assert TM("14:30:15").time() == datetime.time(14, 30, 15)  # ACR-NEMA
    with pytest.warns(DicomStreamWarning, match="leap second"):
        assert TM("235960").time() == datetime.time(23, 59, 59)


@pytest.mark.parametrize(
    "text",
    ["2024", "202402", "20240229", "2024022913", "202402291330", "20240229133015",
     "20240229133015.25", "20240229133015.123456+0130", "20240229-0500", "2024+0000"],
)
def test_dt_datetime(text: str) -> None:
    ours, theirs = DT(text).datetime(), PydicomDT(text)
    assert ours == datetime.datetime(*theirs.timetuple()[:6], theirs.microsecond,
                                     tzinfo=theirs.tzinfo)
    assert ours.utcoffset() == theirs.utcoffset()
    assert (ours.tzname() or "") == (theirs.tzname() if theirs.tzinfo else "")


def test_dt_leap_second_warns() -> None:
    with pytest.warns(DicomStreamWarning):
        assert DT("20161231235960").datetime().second == 59


@pytest.mark.parametrize(
    ("kind", "text"),
    [(DA, ""), (DA, "2024"), (DA, "20240230"), (DA, "20240101-20241231"), (TM, ""),
     (TM, "24"), (TM, "1261"), (TM, "12-13"), (DT, ""), (DT, "20241301"), (DT, "202"),
     (DT, "2024010112.5"), (DT, "20240101+2400")],
)
def test_invalid_values_raise(kind: type[DA | TM | DT], text: str) -> None:
    value = kind(text)
    method = {DA: "date", TM: "time", DT: "datetime"}[kind]
    with pytest.raises(InvalidValueError):
        getattr(value, method)()
    with pytest.raises(ValueError):
        getattr(value, method)()


def test_strings_are_strings() -> None:
    """As pydicom's default: values are strings; ours are str subclasses."""
    assert decode_value("DA", b"20240229") == "20240229"
    assert isinstance(decode_value("DA", b"20240229"), DA)
    assert decode_value("TM", b"1430 ") == "1430"
    assert decode_value("DT", b"2024\\2025 ") == ["2024", "2025"]
    assert all(isinstance(v, DT) for v in decode_value("DT", b"2024\\2025 "))
    assert decode_value("DA", b"") == ""
    assert repr(DA("20240229")) == "'20240229'"
    assert pickle.loads(pickle.dumps(TM("1430"))) == TM("1430")


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (datetime.date(2024, 2, 29), "20240229"),
        (datetime.time(14, 30, 15), "143015"),
        (datetime.time(14, 30, 15, 250), "143015.000250"),
        (datetime.datetime(2024, 2, 29, 14, 30, 15), "20240229143015"),
        (datetime.datetime(2024, 2, 29, 14, 30, 15, 5,
                           tzinfo=datetime.timezone(datetime.timedelta(hours=-5))),
         "20240229143015.000005-0500"),
        (datetime.datetime(2024, 2, 29, tzinfo=datetime.timezone(
            datetime.timedelta(hours=5, minutes=45))), "20240229000000+0545"),
    ],
)
def test_formatting_is_pydicoms(value: datetime.date, text: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if isinstance(value, datetime.datetime):
            assert format_dt(value) == PydicomDT(value).original_string == text
            assert DT(value) == text
            assert encode_value("DT", value) == text.encode() + b" " * (len(text) % 2)
            assert encode_value("DA", value) == format_da(value).encode()
        elif isinstance(value, datetime.date):
            assert format_da(value) == PydicomDA(value).original_string == text
            assert DA(value) == text
            assert encode_value("DA", [value, value]) == f"{text}\\{text} ".encode()
            assert format_dt(value) == text
        else:
            assert format_tm(value) == PydicomTM(value).original_string == text
            assert TM(value) == text
            assert encode_value("TM", value) == text.encode() + b" " * (len(text) % 2)


def test_wrong_types_raise() -> None:
    with pytest.raises(EncodeError):
        encode_value("TM", datetime.date(2024, 1, 1))
    with pytest.raises(EncodeError):
        encode_value("DA", 20240101)
    with pytest.raises(EncodeError, match="default repertoire"):
        encode_value("DA", "2024０１０１")
