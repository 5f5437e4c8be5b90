"""The built-in stages' fast paths give exactly what their event-by-event walks give.

``edit`` with top-level edits only searches the tags of a batch instead of following
every event (``_jump``); ``filter`` with rules that look only at tags finds its
candidates at C speed (``_drop_by_tag``). Both describe their changes with a
:class:`~dicomstream.events.Splice`, which lets the encoder copy what they left alone
from the input bytes. Over the corpus, split in several ways, each fast path must produce
the same events as the walk it short-cuts, and the encoder must write the same bytes for
a spliced batch as for the same events in a plain list.
"""

from __future__ import annotations

import random
import struct
import warnings
from typing import TYPE_CHECKING, Any

import pytest
from corpus import PARSEABLE_IDS, read_bytes

from dicomstream.encoder import Encoder
from dicomstream.events import Element, EventBatch
from dicomstream.parser import Parser
from dicomstream.stages import EditStage, FilterStage
from dicomstream.values import decode_value

if TYPE_CHECKING:
    from collections.abc import Callable

    from dicomstream.events import Event
    from dicomstream.stages import SyncStage


def _batches(data: bytes, seed: int | None) -> list[EventBatch]:
    """The parser's batches of ``data``: whole, or split at random (small values and
    chunks, so values stream and batches end inside containers)."""
    options: dict[str, Any] = {}
    chunks = [data]
    if seed is not None:
        options = {"value_threshold": 512, "chunk_size": 1024}
        rng = random.Random(seed)
        chunks, pos = [], 0
        while pos < len(data):
            step = rng.randint(1, 3000)
            chunks.append(data[pos:pos + step])
            pos += step
    parser = Parser(**options)
    out: list[EventBatch] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for chunk in [*chunks, b""]:
            parser.receive_data(chunk)
            while batch := parser.next_batch():
                out.append(batch)
    return out


def _through(stage: SyncStage, batches: list[EventBatch], *, plain: bool) -> list[list[Event]]:
    out = []
    for batch in batches:
        result = stage.transform(list(batch) if plain else batch)
        if result and not plain and result is not batch:
            result = batch.derive(result)
        out.append(result)
    tail = stage.finish()
    return [*out, tail] if tail else out


def _encode(batches: list[list[Event]]) -> bytes:
    encoder = Encoder()
    data = b"".join(bytes(p) for b in batches for p in encoder.send_all_parts(b))
    assert encoder.finished
    return data


def _compare(name: str, make: Callable[[], SyncStage], slow: Callable[[SyncStage], None],
             seed: int | None) -> list[Event]:
    """Fast path on the parser's batches vs the walk on plain lists: same events, and
    the spliced batches encode to the bytes the plain events give."""
    data = read_bytes(name)
    try:
        fast_out = _through(make(), _batches(data, seed), plain=False)
    except Exception as exc:  # the walk must refuse the input the same way
        walker = make()
        slow(walker)
        with pytest.raises(type(exc)):
            _through(walker, _batches(data, seed), plain=True)
        return []
    walker = make()
    slow(walker)
    slow_out = _through(walker, _batches(data, seed), plain=True)
    spliced = [b for b in fast_out if type(b) is EventBatch and b.spans is not None]
    assert all(b.spans_hold() for b in spliced), "a stage's splice lost track of its events"
    fast_events = [e for b in fast_out for e in b]
    assert fast_events == [e for b in slow_out for e in b]
    assert _encode(fast_out) == _encode([list(b) for b in fast_out])
    return fast_events


def _walk_edits(stage: SyncStage) -> None:
    stage._top_only = False  # type: ignore[attr-defined]  # the general walk, level by level


def _walk_filter(stage: SyncStage) -> None:
    stage._by_tag_only = False  # type: ignore[attr-defined]


EDITS: dict[str, dict[str, Any]] = {
    "names": {"set": {"PatientName": "ANON", "PatientID": "X1"}},
    "mixed": {"insert": {"PatientComments": "inserted", "StudyID": "S1"},
              "replace": {"StudyDate": "20000101", "Rows": 2},
              "delete": ["SeriesDescription", "ReferencedStudySequence",
                         "ReferencedSOPSequence", "IconImageSequence"]},
    "pixels": {"set": {"PixelData": b"\x00\x01\x02\x03"}, "delete": ["0x7FE00008"]},
    "charset": {"set": {"SpecificCharacterSet": "ISO_IR 192", "PatientName": "Äneas^Ñ"}},
    "late": {"set": {"0x7FE10010": b"\x00\x00", "0x60003000": b"\x00\x00"}},
}


@pytest.mark.parametrize("name", PARSEABLE_IDS)
@pytest.mark.parametrize("edits", list(EDITS))
@pytest.mark.parametrize("seed", [None, 3])
def test_top_level_edits_jump_as_they_walk(name: str, edits: str, seed: int | None) -> None:
    _compare(name, lambda: EditStage(**EDITS[edits]), _walk_edits, seed)


FILTERS: dict[str, dict[str, Any]] = {
    "private": {"remove_private": True},
    "groups_tags": {"remove_groups": [0x0009, 0x0029, 0x0018, 0x6000],
                    "remove_tags": ["ReferencedImageSequence", 0x00100010, "PixelData"]},
    "all": {"remove_private": True, "remove_groups": [0x0008],
            "remove_tags": ["SharedFunctionalGroupsSequence"]},
}


@pytest.mark.parametrize("name", PARSEABLE_IDS)
@pytest.mark.parametrize("rules", list(FILTERS))
@pytest.mark.parametrize("seed", [None, 5])
def test_tag_rules_find_what_the_walk_drops(name: str, rules: str, seed: int | None) -> None:
    _compare(name, lambda: FilterStage(**FILTERS[rules]), _walk_filter, seed)


# ------------------------------------------------------------------ made-up datasets


def _explicit(tag: int, vr: bytes, value: bytes) -> bytes:
    if vr in (b"OB", b"SQ", b"UN"):
        return struct.pack("<HH2s2xL", tag >> 16, tag & 0xFFFF, vr, len(value)) + value
    return struct.pack("<HH2sH", tag >> 16, tag & 0xFFFF, vr, len(value)) + value


def _sequence(tag: int, *items: bytes) -> bytes:
    body = b"".join(struct.pack("<HHL", 0xFFFE, 0xE000, 0xFFFFFFFF) + item
                    + struct.pack("<HHL", 0xFFFE, 0xE00D, 0) for item in items)
    return (struct.pack("<HH2s2xL", tag >> 16, tag & 0xFFFF, b"SQ", 0xFFFFFFFF) + body
            + struct.pack("<HHL", 0xFFFE, 0xE0DD, 0))


def _edited(data: bytes, stage: EditStage, seed: int | None = None) -> list[Event]:
    parser = Parser(transfer_syntax="1.2.840.10008.1.2.1", value_threshold=16, chunk_size=16)
    rng = random.Random(seed)
    events: list[Event] = []
    pos = 0
    while pos <= len(data):
        step = len(data) if seed is None else rng.randint(1, 40)
        parser.receive_data(data[pos:pos + step] if pos < len(data) else b"")
        pos += step if pos < len(data) else 1
        while batch := parser.next_batch():
            events += stage.transform(batch)
    return events


def _values(events: list[Event], tag: int) -> list[tuple[Any, ...]]:
    return [(e.path, decode_value(e.vr, e.value)) for e in events
            if type(e) is Element and e.tag == tag]


# Tags out of order: PatientID (0010,0020) after the pixel data, and after a sequence that
# holds another PatientID (OtherPatientIDsSequence, whose items must not be edited).
UNSORTED = (
    _explicit(0x00080016, b"UI", b"1.2.840.10008.5.1.4.1.1.7\x00")
    + _explicit(0x00100010, b"PN", b"DOE^JOHN")
    + _sequence(0x00101002, _explicit(0x00100020, b"LO", b"OTHER1"),
                _explicit(0x00100020, b"LO", b"OTHER2"))
    + _explicit(0x00200010, b"SH", b"STUDY1")
    + _explicit(0x7FE00010, b"OB", bytes(64))
    + _explicit(0x00100020, b"LO", b"LATE")
    + _explicit(0x00100030, b"DA", b"19700101")
)


@pytest.mark.parametrize("seed", [None, 1, 2, 3, 4])
def test_a_top_level_element_out_of_tag_order_is_still_edited(seed: int | None) -> None:
    # (``replace``: a ``set`` would also insert one at its place in tag order, before
    # the first larger tag, as it does for any element it has not seen there.)
    stage = EditStage(replace={"PatientID": "ANON"}, set={"PatientName": "X"})
    events = _edited(UNSORTED, stage, seed)
    assert _values(events, 0x00100020) == [
        (((0x00101002, 0),), "OTHER1"), (((0x00101002, 1),), "OTHER2"), ((), "ANON")]
    assert _values(events, 0x00100010) == [((), "X")]


@pytest.mark.parametrize("seed", [None, 1, 2, 3, 4])
def test_deleting_a_sequence_or_streamed_value_drops_all_of_it(seed: int | None) -> None:
    events = _edited(UNSORTED, EditStage(delete=["OtherPatientIDsSequence", "PixelData"]),
                     seed)
    names = [type(e).__name__ for e in events]
    assert "SequenceStart" not in names and "ItemStart" not in names
    assert not [e for e in events if getattr(e, "tag", None) == 0x7FE00010]
    starts = [i for i, e in enumerate(events) if type(e).__name__ == "ValueStart"]
    assert all(type(events[i + 1]).__name__ == "ValueChunk" for i in starts)
    assert names.count("ValueChunk") < 6  # the SOP Class UID's, not the pixel data's
    assert _values(events, 0x00100020) == [((), "LATE")]
    assert _values(events, 0x00100030) == [((), "19700101")]


@pytest.mark.parametrize("seed", [None, 1, 2, 3])
def test_a_streamed_value_replaced_by_a_short_one(seed: int | None) -> None:
    events = _edited(UNSORTED, EditStage(set={"PixelData": b"\x01\x02"}), seed)
    pixels = [e for e in events if getattr(e, "tag", None) == 0x7FE00010]
    assert len(pixels) == 1 and type(pixels[0]) is Element
    assert pixels[0].value == b"\x01\x02"
    assert _values(events, 0x00100020)[-1] == ((), "LATE")


def test_inserts_go_before_the_first_larger_tag_or_at_the_end() -> None:
    stage = EditStage(insert={"0x00400001": "AE1", "0x00081030": "D", "0x7FE00020": b"\0\0"})
    events = _edited(UNSORTED, stage)
    tags = [e.tag for e in events  # type: ignore[attr-defined]
            if type(e).__name__ in ("Element", "ValueStart", "SequenceStart") and not e.path]  # type: ignore[attr-defined]
    assert tags.index(0x00081030) == tags.index(0x00080016) + 1
    assert tags.index(0x00400001) == tags.index(0x7FE00010) - 1
    assert tags[-1] == 0x7FE00020  # nothing larger comes: made at the end of the dataset


def test_an_edit_after_a_streamed_value_was_replaced_loses_nothing() -> None:
    """Replacing a streamed value starts a skip to its end; the next edit (of a whole
    element) must not inherit it and skip the streamed value after it (a bug the
    'stages' fuzz target found: StudyInstanceUID vanished)."""
    data = (_explicit(0x00100010, b"PN", b"A" * 20) + _explicit(0x00100020, b"LO", b"ID1 ")
            + _explicit(0x0020000D, b"UI", b"1.2.3.4.5.6.7.8.9.10.11\x00")
            + _explicit(0x00200010, b"SH", b"S1"))
    for top_only in (True, False):
        stage = EditStage(set={"PatientName": "X", "PatientID": "Y"})
        stage._top_only = top_only  # the jump and the walk
        events = _edited(data, stage)
        tags = [e.tag for e in events  # type: ignore[attr-defined]
                if type(e).__name__ in ("Element", "ValueStart")]
        assert tags == [0x00100010, 0x00100020, 0x0020000D, 0x00200010]
