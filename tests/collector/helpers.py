"""Shared by the collector tests: reading corpus files both ways, comparing datasets.

pydicom is the oracle. :func:`differences` walks a dicomstream dataset and a pydicom
dataset side by side — same tags at every depth, same VRs, equal values (numbers as
numbers, text as text, person names as their string, bytes as bytes) — and lists what
differs, so a failing test says where.
"""

from __future__ import annotations

import contextlib
import math
import re
import warnings
from typing import TYPE_CHECKING, Any

import pydicom
import pytest
from corpus import EXPECTED_WARNINGS, path_of
from pydicom.multival import MultiValue
from pydicom.sequence import Sequence as PydicomSequence
from pydicom.valuerep import PersonName as PydicomPersonName

import dicomstream
from dicomstream.errors import DicomStreamWarning

if TYPE_CHECKING:
    from collections.abc import Iterator

    from dicomstream import Dataset

VALUE_WARNINGS: dict[str, str] = {
    "test_files/badVR.dcm": "IS value '1A' is not valid",
}
"""Files one of whose values warns when decoded (an IS that is no integer)."""

_TAG = re.compile(r"\(([0-9a-fA-F]{4}), ?([0-9a-fA-F]{4})\)")


def normalise_tags(text: str) -> str:
    """pydicom 3 spells tags ``(300A,0182)``, dicomstream as pydicom 2 ``(300a, 0182)``."""
    return _TAG.sub(lambda m: f"({m.group(1).lower()},{m.group(2).lower()})", text)


@contextlib.contextmanager
def pydicom_quiet() -> Iterator[None]:
    """Silence pydicom's warnings about odd values (it warns when a value is first
    used), while any warning of dicomstream's still fails the test."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=UserWarning)
        warnings.filterwarnings("error", category=DicomStreamWarning)
        yield


def pydicom_read(source: Any, **options: Any) -> pydicom.Dataset:
    """pydicom's reading (its own warnings about odd files silenced)."""
    with pydicom_quiet():
        return pydicom.dcmread(source, force=True, **options)


@contextlib.contextmanager
def expected_warnings(name: str, *, values: bool = False) -> Iterator[None]:
    """The parser's documented warning for ``name`` (and, with ``values``, the value
    decoding warning), or none at all."""
    messages = []
    if name in EXPECTED_WARNINGS:
        messages.append(EXPECTED_WARNINGS[name][:40])
    if values and name in VALUE_WARNINGS:
        messages.append(VALUE_WARNINGS[name])
    if not messages:
        yield
        return
    with pytest.warns(DicomStreamWarning) as record:
        yield
    got = [str(w.message) for w in record]
    for message in messages:
        assert any(m.startswith(message) for m in got), (message, got)


def read_corpus(name: str, **options: Any) -> Dataset:
    """dicomstream's reading of corpus file ``name``, every value decoded."""
    with expected_warnings(name, values=True):
        ds = dicomstream.dcmread(path_of(name), **options)
        for elem in ds.iterall():
            elem.value  # noqa: B018 - decode now, under the expected warnings
    return ds


def same_value(ours: Any, theirs: Any) -> bool:
    """Equal decoded values, as the issue defines equal."""
    if isinstance(theirs, PydicomSequence):
        return isinstance(ours, list) and len(ours) == len(theirs) and all(
            not _differences(a, b, "") for a, b in zip(ours, theirs, strict=True))
    if isinstance(theirs, MultiValue | list):
        return isinstance(ours, list) and len(ours) == len(theirs) and all(
            same_value(a, b) for a, b in zip(ours, theirs, strict=True))
    if isinstance(theirs, float):
        return isinstance(ours, float | int) and (
            ours == theirs or (math.isnan(ours) and math.isnan(theirs)))
    if isinstance(theirs, int):
        return isinstance(ours, int) and ours == theirs
    if isinstance(theirs, str | PydicomPersonName):
        return isinstance(ours, str) and str(ours) == str(theirs)
    if isinstance(theirs, bytes):
        return isinstance(ours, bytes) and ours == theirs
    if theirs is None:
        return ours is None
    return bool(ours == theirs)


def differences(ours: Dataset, theirs: pydicom.Dataset, where: str = "") -> list[str]:
    """What differs between the two datasets (empty when they agree)."""
    with pydicom_quiet():
        return _differences(ours, theirs, where)


def _differences(ours: Dataset, theirs: pydicom.Dataset, where: str) -> list[str]:
    out: list[str] = []
    our_tags = [int(t) for t in ours.keys()]
    their_tags = [int(t) for t in theirs.keys()]
    if our_tags != their_tags:
        extra = sorted(set(our_tags) ^ set(their_tags))
        return [f"{where}tags differ: {[f'{t:08X}' for t in extra]}"]
    for tag in their_tags:
        theirs_elem = theirs[tag]
        ours_elem = ours[tag]
        here = f"{where}({tag >> 16:04X},{tag & 0xFFFF:04X})"
        if ours_elem.VR != theirs_elem.VR:
            out.append(f"{here}: VR {ours_elem.VR} != {theirs_elem.VR}")
        elif theirs_elem.VR == "SQ":
            if len(ours_elem.value) != len(theirs_elem.value):
                out.append(f"{here}: {len(ours_elem.value)} items != "
                           f"{len(theirs_elem.value)}")
                continue
            for i, (a, b) in enumerate(zip(ours_elem.value, theirs_elem.value, strict=True)):
                out.extend(_differences(a, b, f"{here}[{i}] > "))
        elif not same_value(ours_elem.value, theirs_elem.value):
            out.append(f"{here}: {ours_elem.value!r:.80} != {theirs_elem.value!r:.80}")
    return out


def json_differences(ours: Any, theirs: Any, where: str = "") -> list[str]:
    """Differences between two JSON models (str subclasses and enums compare as str)."""
    if isinstance(ours, dict) and isinstance(theirs, dict):
        if ours.keys() != theirs.keys():
            return [f"{where}: keys {sorted(set(ours) ^ set(theirs))}"]
        return [d for key in ours for d in json_differences(ours[key], theirs[key],
                                                            f"{where}/{key}")]
    if isinstance(ours, list) and isinstance(theirs, list):
        if len(ours) != len(theirs):
            return [f"{where}: {len(ours)} values != {len(theirs)}"]
        return [d for i, (a, b) in enumerate(zip(ours, theirs, strict=True))
                for d in json_differences(a, b, f"{where}[{i}]")]
    if isinstance(ours, str) and isinstance(theirs, str):
        return [] if str(ours) == str(theirs) else [f"{where}: {ours!r} != {theirs!r}"]
    if isinstance(theirs, float) and isinstance(ours, float) and math.isnan(theirs):
        return [] if math.isnan(ours) else [f"{where}: {ours!r} != nan"]
    if type(ours) is not type(theirs) or ours != theirs:
        return [f"{where}: {ours!r} != {theirs!r}"]
    return []
