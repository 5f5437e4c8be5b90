"""No leftovers: no original value of an attribute the profile removes, blanks or
replaces survives anywhere in the output bytes.

For every file of the pydicom corpus and every object of a generated study, the input is
walked (with dicomstream's parser, which is not the part under test) and every value the
Basic Profile does not keep is collected — attributes with a non-K row at any depth,
everything private, everything inside sequences the profile removes, empties or turns
into dummies — in the bytes the file had them in (its character set) and in UTF-8 and
Latin-1. Each must be absent from the output, unless the same bytes are also the value of
something the profile keeps (a value can legitimately occur twice). Private elements
must be gone, except those the safe private list names when that option is on.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

import pytest
from deid_support import (
    DATA_ROOT,
    UNREADABLE,
    corpus,
    deid_bytes,
    read,
    table_rows,
    write_study,
)

from dicomstream.dictionary import uid_type
from dicomstream.events import Element, ItemStart, SequenceEnd, SequenceStart, ValueChunk
from dicomstream.parser import Parser
from dicomstream.values import CharacterSet

if TYPE_CHECKING:
    from pathlib import Path

MIN_LENGTH = 5  # shorter values ("M", "CT", "1") occur by chance in any file
_CHARSET = 0x00080005


@functools.cache
def _codes() -> dict[int, str]:
    return {r.tag: r.basic for r in table_rows() if r.tag is not None}


def _masked(tag: int) -> str | None:
    group = tag >> 16
    if group & 0xFF01 == 0x5000 and group <= 0x501E:
        return "X"
    if group & 0xFF01 == 0x6000 and group <= 0x601E and tag & 0xFFFF in (0x3000, 0x4000):
        return "X"
    return None


def _events(data: bytes) -> list[object]:
    import warnings

    parser = Parser()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parser.receive_data(data)
        events: list[object] = list(parser.events())
        parser.receive_data(b"")
        events += parser.events()
    return events


def _variants(raw: bytes, vr: str, charset: CharacterSet) -> set[bytes]:
    value = raw.rstrip(b" \0")
    out = {value} if len(value) >= MIN_LENGTH else set()
    if vr in ("PN", "LO", "SH", "ST", "LT", "UT", "UC"):
        text = charset.decode(raw, vr).rstrip(" \0")
        parts = [text, *(p for p in text.replace("=", "^").split("^"))]
        for part in parts:
            for codec in ("utf-8", "latin-1"):
                try:
                    encoded = part.strip().encode(codec)
                except UnicodeEncodeError:
                    continue
                if len(encoded) >= MIN_LENGTH:
                    out.add(encoded)
    return out


FREE_TEXT = frozenset({"PN", "LO", "SH", "ST", "LT", "UT", "UC"})
# Code sequences whose codes are the structure of a dummy tree (an SR's concept names,
# units): PS3.15's D on a sequence replaces what a person wrote, not the coded structure.
CONCEPT_SEQUENCES = frozenset({0x0040A043, 0x0040A168, 0x004008EA, 0x0040A300, 0x0040A301,
                               0x00082218, 0x00082220, 0x0040A504})
DUMMIES = frozenset({b"ANONYMIZED", b"19000101", b"000000", b"19000101000000"})
_KEEP, _DUMMY, _REMOVE = 0, 1, 2


def leftover_candidates(data: bytes) -> tuple[dict[bytes, str], bytes]:
    """(value bytes → where it came from) for everything the profile must not keep, and
    the concatenated values the profile keeps.

    Inside a sequence the Basic Profile removes or empties, every value goes; inside one
    it replaces by a dummy (D), every free-text value goes (structure and the codes of
    concept sequences stay); elsewhere, values of attributes with a non-K row go.
    """
    codes = _codes()
    candidates: dict[bytes, str] = {}
    kept: list[bytes] = []
    charsets = [CharacterSet.from_raw(None)]
    modes: list[int] = [_KEEP]  # per open sequence
    for ev in _events(data):
        cls = type(ev)
        if cls is SequenceStart:
            tag = ev.tag  # type: ignore[attr-defined]
            code = codes.get(tag, "K")
            private = bool(tag >> 16 & 1)
            mode = modes[-1]
            if mode == _REMOVE or private or code in ("X", "Z", "X/Z"):
                mode = _REMOVE
            elif code == "D" or "D" in code.split("/"):
                mode = _DUMMY
            elif tag in CONCEPT_SEQUENCES and mode == _DUMMY:
                mode = _KEEP
            modes.append(mode)
        elif cls is SequenceEnd:
            modes.pop()
        elif cls is ItemStart:
            charsets.append(charsets[-1])
        elif cls is Element:
            tag, vr, raw = ev.tag, ev.vr, bytes(ev.value)  # type: ignore[attr-defined]
            if tag == _CHARSET:
                charsets[-1] = CharacterSet.from_raw(raw)
            code = codes.get(tag) or _masked(tag) or "K"
            private = bool(tag >> 16 & 1)
            if tag >> 16 == 0x0002 and code == "K":
                kept.append(raw)
                continue
            if vr == "UI":
                if any(uid_type(u) for u in raw.decode("latin-1").strip(" \0").split("\\")):
                    kept.append(raw)
                    continue
            mode = modes[-1]
            goes = mode == _REMOVE or private or code != "K" or \
                (mode == _DUMMY and vr in FREE_TEXT)
            if goes:
                for variant in _variants(raw, vr, charsets[-1]):
                    if variant not in DUMMIES:
                        candidates.setdefault(variant,
                                              f"({tag >> 16:04X},{tag & 0xFFFF:04X})")
            else:
                kept.append(raw)
        elif cls is ValueChunk:
            kept.append(bytes(ev.data))  # type: ignore[attr-defined]
    return candidates, b"\0".join(kept)


def assert_no_leftovers(data: bytes, out: bytes) -> None:
    candidates, kept = leftover_candidates(data)
    found = {where: value for value, where in candidates.items()
             if value in out and value not in kept}
    assert not found, f"original values survive: {found}"


def assert_no_private(out: bytes, *, allowed: frozenset[str] = frozenset()) -> None:
    import warnings

    ds = read(out)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        elements = list(ds.iterall())
    for element in elements:
        if element.tag.is_private:
            creator = element.private_creator if not element.tag.is_private_creator \
                else element.value
            assert creator in allowed, f"private {element.tag} ({creator}) survives"


CORPUS = [name for name in corpus() if name not in UNREADABLE]


@pytest.mark.parametrize("name", CORPUS)
def test_corpus_file_has_no_leftovers(name: str) -> None:
    data = (DATA_ROOT / name).read_bytes()
    out, _ = deid_bytes(data)
    assert_no_leftovers(data, out)
    assert_no_private(out)


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Path]]:
    return write_study(tmp_path_factory.mktemp("study"))


def test_study_has_no_leftovers(study: dict[str, list[Path]]) -> None:
    for kind, paths in study.items():
        for path in paths:
            data = path.read_bytes()
            for options in (frozenset(), frozenset({"clean-descriptors",
                                                    "clean-structured-content",
                                                    "retain-long-modified-dates"})):
                out, report = deid_bytes(data, options=options)
                if not options:
                    assert_no_leftovers(data, out)
                else:  # cleaned text keeps its words but never the identifying ones
                    for name in (b"M\xfcller", "Müller".encode(), b"Hans-J",
                                 b"Dupont", b"PID"):
                        assert name not in out, (kind, name)
                assert_no_private(out)
                assert report["burned_in"] == ("yes" if kind.startswith("sc") else "no")


def test_safe_private_kept_only_when_asked() -> None:
    from deid_support import to_bytes
    from pydicom.dataset import Dataset

    ds = Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.4"
    ds.SOPInstanceUID = "1.2.826.0.1.3680043.10.1.9.1"
    ds.PatientID = "P1"
    safe = ds.private_block(0x0019, "SIEMENS MR HEADER", create=True)
    safe.add_new(0x0C, "IS", "1000")  # B Value: on Table E.3.10-1
    safe.add_new(0x08, "CS", "SECRET_PROTOCOL")  # not on the list
    other = ds.private_block(0x0029, "SIEMENS CSA HEADER", create=True)
    other.add_new(0x10, "OB", b"Patient Name: Somebody")
    data = to_bytes(ds)
    basic = read(deid_bytes(data)[0])
    assert not any(e.tag.is_private for e in basic)
    kept_out = deid_bytes(data, options={"retain-safe-private"})[0]
    kept = read(kept_out)
    private = {int(e.tag): e.value for e in kept if e.tag.is_private}
    assert private[0x0019100C] == "1000"
    assert 0x00191008 not in private and 0x00291010 not in private
    assert b"Somebody" not in kept_out and b"SECRET_PROTOCOL" not in kept_out
    assert_no_private(kept_out, allowed=frozenset({"SIEMENS MR HEADER"}))


def test_overlays_and_curves(study: dict[str, list[Path]]) -> None:
    data = study["sc"][0].read_bytes()
    out = read(deid_bytes(data)[0])
    assert not any(e.tag.group & 0xFF00 in (0x5000, 0x6000) for e in out)
    graphics = read(deid_bytes(data, options={"clean-graphics"})[0])
    assert graphics[0x60003000].value == b"\x5a" * 8  # kept: a bitmap cannot be cleaned
    assert "Müller" not in str(graphics[0x60004000].value)  # comments are cleaned
    assert "Müller" not in str(graphics[0x50000022].value)
