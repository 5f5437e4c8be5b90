"""What the de-identification fuzz target found (``fuzz/``, issue #7), each reduced to the
input that shows it: the stage raises nothing but dicomstream errors on any input the
parser accepts, never keeps a value it could not process, and its output encodes and
parses.

The inputs are datasets without file meta in explicit VR little endian (as the
regression files in ``tests/hardening/fuzz_regressions/`` are), built element by element.
"""

from __future__ import annotations

import struct
from typing import Any

import anyio
import pytest
from deid_support import KEY

from dicomstream.encoder import Encoder
from dicomstream.events import Element, Event
from dicomstream.parser import Parser
from dicomstream_deid import DeidConfig, DeidStage
from dicomstream_deid._actions import shift_date_value

_LONG = frozenset({"OB", "OW", "SQ", "UN", "UT"})
ACQUISITION_TIME = 0x00080032
STUDY_DATE = 0x00080020


def element(tag: int, vr: str, value: bytes, length: int | None = None) -> bytes:
    """One explicit VR little endian element (``value`` as given: no padding)."""
    size = len(value) if length is None else length
    head = struct.pack("<HH2s", tag >> 16, tag & 0xFFFF, vr.encode())
    if vr in _LONG:
        return head + struct.pack("<HI", 0, size) + value
    return head + struct.pack("<H", size) + value


def run(data: bytes, options: set[str], **parser_options: Any
        ) -> tuple[list[Event], dict[str, Any]]:
    """The stage's output for ``data`` (checked to encode and parse) and its report."""
    parser = Parser(**parser_options)
    parser.receive_data(data)
    parser.receive_data(b"")
    events = list(parser.events())
    stage = DeidStage(DeidConfig.create(KEY, options))

    async def go() -> list[Event]:
        return [*await stage.process(events), *await stage.flush()]

    out = anyio.run(go)
    again = Parser()
    again.receive_data(Encoder().send_all(out))
    again.receive_data(b"")
    assert again.events()
    return out, stage.report()["deid"]


def values(events: list[Event], tag: int) -> list[bytes]:
    return [bytes(e.value) for e in events if type(e) is Element and e.tag == tag]


# -- a date or time that is not one, under an option that shifts dates ------------------------

@pytest.mark.parametrize("raw", [b"173\xff\xff\xff", b"JOHN", b"10\x0011", b"1011\xe9 "])
@pytest.mark.parametrize("option", ["retain-long-modified-dates", None])
def test_time_that_is_not_one_is_emptied(raw: bytes, option: str | None) -> None:
    """deid-non-ascii-time-shift.bin: the shift encoded the (unchanged) time as ASCII
    and raised ``UnicodeEncodeError``. A TM is now checked like a DA or DT: one that is
    not a time is emptied, never kept, and the report says so."""
    data = element(ACQUISITION_TIME, "TM", raw) + element(STUDY_DATE, "DA", b"20200101")
    out, report = run(data, {option} if option else set())
    if option is None:  # the basic profile empties it anyway
        assert values(out, ACQUISITION_TIME) == [b""]
        return
    assert values(out, ACQUISITION_TIME) == [b""]
    assert "(0008,0032): not a date, emptied" in report["warnings"]
    assert values(out, STUDY_DATE) != [b"20200101"]  # the date is still shifted


@pytest.mark.parametrize("raw", [b"101112", b"101112.5 ", b"10:11:12", b"1011-1200 ",
                                 b"10\\1112"])
def test_time_is_kept_as_it_is(raw: bytes) -> None:
    out, report = run(element(ACQUISITION_TIME, "TM", raw), {"retain-long-modified-dates"})
    assert [v.rstrip() for v in values(out, ACQUISITION_TIME)] == [raw.rstrip()]
    assert "(0008,0032): not a date, emptied" not in report.get("warnings", [])


@pytest.mark.parametrize(("vr", "text", "days", "expected"), [
    ("TM", "173\xff\xff\xff", -1, None),
    ("TM", "JOHN", -1, None),
    ("TM", "10111", -1, None),
    ("TM", "101112.1234567", -1, None),
    ("TM", "101112.123456", -1, "101112.123456"),
    ("TM", "1011-1200", -1, "1011-1200"),
    ("TM", "-1200", -1, "-1200"),
    ("DA", "2020010x", 0, None),  # not kept even when the offset is no offset
    ("DA", "20200101", 0, "20200101"),
])
def test_shift_checks_times(vr: str, text: str, days: int, expected: str | None) -> None:
    assert shift_date_value(vr, text, days) == expected


# -- a private creator's place holding no element ---------------------------------------------

SEQUENCE = element(0x00090010, "SQ", b"")
FRAGMENTS = element(0x00090010, "OB", struct.pack("<HHI", 0xFFFE, 0xE000, 0)
                    + struct.pack("<HHI", 0xFFFE, 0xE0DD, 0), length=0xFFFFFFFF)
BLOCK = element(0x00091001, "LO", b"SECRET")


@pytest.mark.parametrize(("creator", "parser_options"), [
    (SEQUENCE, {}),                                            # the fuzzer's
    (FRAGMENTS, {}),                                           # FragmentsStart
    (element(0x00090010, "LO", b"ELSCINT1"), {"value_threshold": 4}),  # ValueStart
], ids=["sequence", "fragments", "streamed-value"])
@pytest.mark.parametrize("option", ["retain-safe-private", None])
def test_creator_place_without_an_element_goes(creator: bytes, parser_options: dict[str, int],
                                               option: str | None) -> None:
    """deid-private-creator-not-an-element.bin: the stage read the creator from
    ``ev.value`` of a ``SequenceStart`` (``AttributeError``). A creator's place that holds
    no element names no creator: it goes, and so does the block it would reserve."""
    out, _report = run(creator + BLOCK, {option} if option else set(), **parser_options)
    assert [getattr(e, "tag", None) for e in out if getattr(e, "tag", 0) >> 16 == 9] == []


def test_private_block_after_a_removed_sequence_keeps_its_creator() -> None:
    """A removed sequence left the stage's context one level too deep (its start was
    noted, its end never was), so the creators read before it were forgotten: a safe
    private element after it went, although its creator is on the safe list."""
    data = (element(0x00E10010, "LO", b"ELSCINT1") + element(0x00E11001, "SQ", b"")
            + element(0x00E11021, "DS", b"1.5 "))
    out, _report = run(data, {"retain-safe-private"})
    assert values(out, 0x00E10010) == [b"ELSCINT1"]
    assert values(out, 0x00E11001) == []  # not on the safe list
    assert values(out, 0x00E11021) == [b"1.5 "]


# -- a UID that only looks registered ----------------------------------------------------------

STUDY_UID = 0x0020000D  # U (replace with a keyed UID) in Table E.1-1


@pytest.mark.parametrize("raw", [b"1.2.840.10008.5.1\xb6.1\x00", b"1.2.840.10008.\xff",
                                 b"1.2.3\xe9"])
def test_uid_with_non_ascii_bytes_gets_its_keyed_form(raw: bytes) -> None:
    """deid-non-ascii-registered-uid.bin: a value starting with the DICOM root counted as
    a registered UID and was kept, and encoding it as ASCII raised
    ``UnicodeEncodeError``. It is no UID: it gets a keyed UID like any other."""
    out, _ = run(element(STUDY_UID, "UI", raw), set())
    (new,) = values(out, STUDY_UID)
    assert new.isascii() and new != raw
    assert all(part.isdigit() for part in new.rstrip(b"\0").split(b"."))


def test_registered_uid_is_kept() -> None:
    raw = b"1.2.840.10008.5.1.4.1.1.2\x00"  # a registered UID (CT Image Storage)
    out, _ = run(element(STUDY_UID, "UI", raw), set())
    assert values(out, STUDY_UID) == [raw]
