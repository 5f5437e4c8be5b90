"""NaN float values and element equality (``tests/hardening/fuzz_regressions/
collector-nan-float-unequal-to-itself.bin``).

``float("nan") != float("nan")``, so comparing decoded values made an element holding a
NaN unequal to the same element read again, and a dataset read with ``dcmread`` unequal
to the one ``read_dataset`` read from the same bytes once one of them had decoded it.
``DataElement.__eq__`` now compares the raw bytes of elements unchanged since they were
read (decoded or not), and values with NaN equal to NaN; ``is_unchanged`` compares the
floats of a decoded multi-valued element bit for bit, so a NaN left as it is (or brought
back by a pickle as another ``float`` object) is unchanged and saves as the bytes read.
"""

from __future__ import annotations

import copy
import io
import math
import pickle
import struct
from typing import TYPE_CHECKING

import anyio
import pytest

from dicomstream import dcmread, read_dataset
from dicomstream.collector import DataElement, Dataset
from dicomstream.io import IterableSource

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

NAN_TAG = 0x00271045
QUIET_NAN = b"\x00\x00\xc0\x7f"
SIGNALING_NAN = b"\x01\x00\x80\x7f"  # payload 1, quiet bit clear: float() would change it
ONE = struct.pack("<f", 1.0)


def element(tag: int, vr: str, value: bytes) -> bytes:
    """One explicit VR little endian element with a 2-byte length."""
    return struct.pack("<HH2sH", tag >> 16, tag & 0xFFFF, vr.encode(), len(value)) + value


def nan_file(value: bytes = QUIET_NAN) -> bytes:
    """A private creator and a private FL element holding ``value``, no file meta."""
    return element(0x00270010, "LO", b"GEMS_IMAG_01") + element(NAN_TAG, "FL", value)


def streamed(data: bytes) -> Dataset:
    """``read_dataset`` fed one byte at a time from a source of unknown size."""
    async def produce() -> AsyncIterator[bytes]:
        for i in range(len(data)):
            yield data[i:i + 1]

    async def read() -> Dataset:
        return await read_dataset(IterableSource(produce()))

    return anyio.run(read)


def saved(ds: Dataset) -> bytes:
    out = io.BytesIO()
    ds.save_as(out)
    return out.getvalue()


@pytest.mark.parametrize("value", [QUIET_NAN, SIGNALING_NAN, QUIET_NAN + ONE],
                         ids=["quiet", "signaling", "quiet-and-one"])
@pytest.mark.parametrize("decoded", ["first", "second", "both"])
def test_read_nan_element_equals_itself_after_decoding(value: bytes, decoded: str) -> None:
    data = nan_file(value)
    first, second = dcmread(io.BytesIO(data)), streamed(data)
    if decoded in ("first", "both"):
        assert math.isnan(first[NAN_TAG].value if len(value) == 4
                          else first[NAN_TAG].value[0])
    if decoded in ("second", "both"):
        _ = second[NAN_TAG].value
    assert first[NAN_TAG] == second[NAN_TAG]
    assert second[NAN_TAG] == first[NAN_TAG]
    assert first[NAN_TAG] == first[NAN_TAG]
    assert first == second
    assert not first != second


def test_nan_values_compare_equal() -> None:
    """Elements made from values (no raw bytes): a NaN equals a NaN, also in a list."""
    nan = DataElement(NAN_TAG, "FL", float("nan"))
    assert nan == DataElement(NAN_TAG, "FL", float("nan"))
    assert nan == DataElement(NAN_TAG, "FL", -math.nan)  # sign and payload do not count
    assert DataElement(NAN_TAG, "FD", [math.nan, 1.0]) \
        == DataElement(NAN_TAG, "FD", [float("nan"), 1.0])
    assert nan != DataElement(NAN_TAG, "FL", 1.0)
    assert DataElement(NAN_TAG, "FL", 1.0) != nan
    assert nan != DataElement(NAN_TAG, "FD", float("nan"))  # another VR
    assert DataElement(NAN_TAG, "FD", [math.nan, 1.0]) \
        != DataElement(NAN_TAG, "FD", [math.nan, 2.0])
    assert DataElement(NAN_TAG, "FD", [math.nan]) != DataElement(NAN_TAG, "FD", [1.0])
    assert DataElement(NAN_TAG, "FD", [math.nan]) \
        != DataElement(NAN_TAG, "FD", [math.nan, math.nan])
    assert DataElement(NAN_TAG, "FD", 0.0) == DataElement(NAN_TAG, "FD", -0.0)  # as ==


@pytest.mark.parametrize("value", [QUIET_NAN + ONE, SIGNALING_NAN + ONE],
                         ids=["quiet", "signaling"])
def test_unchanged_nan_element_is_unchanged(value: bytes) -> None:
    """A decoded multi-valued NaN element left alone is unchanged, also after a pickle
    or a deep copy (another NaN ``float`` object), and saves as the bytes read — a
    re-encoded signaling NaN would come back quiet (01 00 C0 7F)."""
    data = nan_file(value)
    ds = dcmread(io.BytesIO(data))
    elem = ds[NAN_TAG]
    assert math.isnan(elem.value[0])
    assert elem.is_unchanged()
    pickled = pickle.loads(pickle.dumps(ds))
    # pickle does not share floats: the value and the copy taken when it was decoded
    # now hold two NaN objects, unequal with ==
    assert pickled[NAN_TAG]._snapshot[0] is not pickled[NAN_TAG].value[0]
    for again in (pickled, copy.deepcopy(ds)):
        assert again[NAN_TAG].is_unchanged()
        assert again[NAN_TAG] == elem
        assert again == ds
        assert saved(again) == saved(ds)
        assert value in saved(again)


def test_changed_nan_element_is_unequal_to_the_original() -> None:
    data = nan_file(QUIET_NAN + ONE)
    original = dcmread(io.BytesIO(data))

    ds = dcmread(io.BytesIO(data))
    ds[NAN_TAG].value[1] = 2.0  # changed in place
    assert not ds[NAN_TAG].is_unchanged()
    assert ds[NAN_TAG] != original[NAN_TAG]
    assert ds != original
    assert struct.pack("<f", 2.0) in saved(ds)

    ds = dcmread(io.BytesIO(data))
    ds[NAN_TAG].value = [1.0, 1.0]  # set
    assert not ds[NAN_TAG].is_unchanged()
    assert ds[NAN_TAG] != original[NAN_TAG]
    assert ds != original

    ds = dcmread(io.BytesIO(nan_file(QUIET_NAN)))
    ds[NAN_TAG].value = 1.0
    assert ds[NAN_TAG] != dcmread(io.BytesIO(nan_file(QUIET_NAN)))[NAN_TAG]


def test_other_float_bits_are_a_change_yet_an_equal_value() -> None:
    """``is_unchanged`` compares floats bit for bit (the raw bytes must still hold the
    value), ``==`` compares values: a NaN with another payload, or -0.0 for 0.0, is a
    change that is saved, in an element still equal to the original."""
    data = nan_file(SIGNALING_NAN + struct.pack("<f", 0.0))
    original = dcmread(io.BytesIO(data))
    for index, value in ((0, float("nan")), (1, -0.0)):
        ds = dcmread(io.BytesIO(data))
        ds[NAN_TAG].value[index] = value
        assert not ds[NAN_TAG].is_unchanged()
        assert ds[NAN_TAG] == original[NAN_TAG]
        assert saved(ds) != saved(original)
