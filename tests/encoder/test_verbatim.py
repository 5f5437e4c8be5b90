"""The encoder's verbatim path: unchanged parser batches written as the bytes they came from.

:class:`~dicomstream.events.EventBatch` carries the input bytes of a batch's self-contained
stretch, and the encoder writes those instead of rebuilding every header when nothing in
the batch changed. These tests hold that path to the event-by-event one: over the whole
corpus and many chunkings the two give the same bytes (the input's), the fast path really
is taken, and any change to a batch — in place or by a new list — falls back to encoding
the events.
"""

from __future__ import annotations

import random
import warnings
from typing import TYPE_CHECKING, Any

import pytest
from corpus import NOT_BYTE_EXACT, PARSEABLE_IDS, read_bytes

from dicomstream.encoder import Encoder
from dicomstream.events import DatasetStart, Element, EventBatch
from dicomstream.parser import Parser
from dicomstream.transfer_syntax import EXPLICIT_VR_BIG_ENDIAN, EXPLICIT_VR_LITTLE_ENDIAN

if TYPE_CHECKING:
    from collections.abc import Iterable

    from dicomstream.events import Event

EXACT_IDS = [name for name in PARSEABLE_IDS if name not in NOT_BYTE_EXACT]


def _batches(chunks: Iterable[bytes], **options: Any) -> list[EventBatch]:
    parser = Parser(**options)
    out: list[EventBatch] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for chunk in chunks:
            parser.receive_data(chunk)
            while batch := parser.next_batch():
                out.append(batch)
        parser.receive_data(b"")
        while batch := parser.next_batch():
            out.append(batch)
    return out


def _encode(batches: Iterable[list[Event]], ts: str | None = None) -> bytes:
    encoder = Encoder(ts)
    out = b"".join(b"".join(bytes(p) for p in encoder.send_all_parts(b)) for b in batches)
    assert encoder.finished
    return out


def _event_path(batches: Iterable[EventBatch], ts: str | None = None) -> bytes:
    """The same batches as plain lists: the encoder rebuilds every header."""
    return _encode([list(b) for b in batches], ts)


def _split(data: bytes, seed: int, most: int) -> list[bytes]:
    rng = random.Random(seed)
    chunks, pos = [], 0
    while pos < len(data):
        step = rng.randint(1, most)
        chunks.append(data[pos:pos + step])
        pos += step
    return chunks


@pytest.mark.parametrize("name", EXACT_IDS)
def test_whole_file_batches_are_written_verbatim(name: str) -> None:
    data = read_bytes(name)
    batches = _batches([data])
    assert batches[0].raw is not None, "a whole file's first batch has its raw stretch"
    assert _encode(batches) == data
    assert _event_path(batches) == data


@pytest.mark.parametrize("name", EXACT_IDS)
@pytest.mark.parametrize(("seed", "most"), [(1, 7), (2, 300), (3, 5000)])
def test_any_chunking_gives_the_input(name: str, seed: int, most: int) -> None:
    """Batches end anywhere (inside containers, values, headers): the stretches that are
    self-contained go out verbatim, the rest event by event, and the bytes are the input's."""
    data = read_bytes(name)
    batches = _batches(_split(data, seed, most), value_threshold=512, chunk_size=1024)
    assert _encode(batches) == data


def test_the_fast_path_is_taken_on_split_input() -> None:
    data = read_bytes("test_files/rtplan.dcm")
    batches = _batches(_split(data, 5, 400))
    assert sum(b.raw is not None for b in batches) >= len(batches) // 3
    assert _encode(batches) == data


def _replace_name(batch: list[Event]) -> list[Event]:
    return [Element(e.tag, e.vr, 8, b"ANON^ME ", e.offset, e.path)
            if type(e) is Element and e.tag == 0x00100010 else e for e in batch]


def test_a_batch_changed_in_place_is_encoded_from_its_events() -> None:
    data = read_bytes("test_files/CT_small.dcm")
    batches = _batches([data])
    expected = _event_path([EventBatch(_replace_name(b)) for b in batches])
    assert b"ANON^ME " in expected and expected != data
    for batch in batches:
        batch[:] = _replace_name(batch)  # same list object, new content
    assert _encode(batches) == expected


def test_a_batch_with_an_event_removed_or_added_is_encoded_from_its_events() -> None:
    data = read_bytes("test_files/CT_small.dcm")
    first = _batches([data])
    index = next(i for i, e in enumerate(first[0]) if type(e) is Element and e.tag == 0x00100010)
    removed = first[0].pop(index)
    out = _encode(first)
    assert b"CompressedSamples^CT1" not in out
    assert out == _event_path(first)
    again = _batches([data])
    again[0].insert(index, removed)  # the same event twice
    assert _encode(again).count(b"CompressedSamples^CT1") == 2


def test_next_event_then_batches() -> None:
    """Events taken one by one leave the batch without its stretch: still exact."""
    data = read_bytes("test_files/rtplan.dcm")
    parser = Parser()
    parser.receive_data(data)
    first = [parser.next_event() for _ in range(5)]
    rest = parser.next_batch()
    assert rest.raw is None
    parser.receive_data(b"")
    end = parser.next_batch()
    assert _encode([first, rest, end]) == data  # type: ignore[list-item]


def test_retargeting_never_copies_the_input() -> None:
    data = read_bytes("test_files/rtplan.dcm")
    for ts in (EXPLICIT_VR_LITTLE_ENDIAN.uid, EXPLICIT_VR_BIG_ENDIAN.uid):  # rtplan: implicit
        out = _encode(_batches([data]), ts)
        assert out == _event_path(_batches([data]), ts)
        assert out != data


def test_lenient_end_is_encoded_from_its_events() -> None:
    """The ends a lenient parser adds were never in the input: no stretch covers them."""
    data = read_bytes("test_files/rtplan.dcm")
    cut = data[: len(data) - 100]
    batches = _batches([cut], lenient=True)
    assert all(b.raw is None for b in batches if len(b) > 1)
    assert _encode(batches) == _event_path(batches)


def test_deflated_input_has_no_stretch() -> None:
    data = read_bytes("test_files/image_dfl.dcm")
    batches = _batches([data])
    assert all(b.raw is None for b in batches)
    start = next(e for b in batches for e in b if type(e) is DatasetStart)
    assert _encode(batches)[: start.offset] == data[: start.offset]


def test_batches_regrouped_by_a_stage_are_encoded_from_their_events() -> None:
    data = read_bytes("test_files/rtplan.dcm")
    batches = _batches(_split(data, 9, 2000))
    merged: list[Event] = [e for b in batches for e in b]
    assert _encode([merged]) == data


# ------------------------------------------------------------------ batches stages changed


def _derived(batches: list[EventBatch], change: Any) -> list[EventBatch]:
    return [b.derive(change(list(b))) for b in batches]


@pytest.mark.parametrize("name", EXACT_IDS)
@pytest.mark.parametrize(("seed", "most"), [(0, 1 << 30), (4, 3000)])
def test_a_copied_batch_is_still_the_input(name: str, seed: int, most: int) -> None:
    """A stage that rebuilt the list without changing it: every element run is copied."""
    data = read_bytes(name)
    batches = _batches(_split(data, seed, most), value_threshold=512, chunk_size=1024)
    assert _encode(_derived(batches, list)) == data


def _drop_private(events: list[Event]) -> list[Event]:
    out: list[Event] = []
    skip = 0
    for e in events:
        tag = getattr(e, "tag", 0)
        if skip:
            if type(e).__name__ in ("SequenceStart", "FragmentsStart"):
                skip += 1
            elif type(e).__name__ in ("SequenceEnd", "FragmentsEnd"):
                skip -= 1
            continue
        if type(e).__name__ in ("Element", "SequenceStart") and tag >> 16 & 1 \
                and tag >> 16 not in (0xFFFE, 0xFFFF):
            if type(e).__name__ == "SequenceStart":
                skip = 1
            continue
        out.append(e)
    return out


@pytest.mark.parametrize("name", EXACT_IDS)
@pytest.mark.parametrize("change", [_replace_name, _drop_private])
def test_changed_batches_equal_the_event_path(name: str, change: Any) -> None:
    """Edits and deletions (also inside defined-length items, whose lengths change):
    copying the untouched runs gives exactly what encoding every event gives."""
    data = read_bytes(name)
    for chunks in ([data], _split(data, 7, 2500)):
        batches = _batches(chunks, value_threshold=512, chunk_size=1024)
        expected = _encode([change(list(b)) for b in batches])
        assert _encode(_derived(batches, change)) == expected


def test_an_element_moved_to_another_item_is_encoded_there() -> None:
    """Moved from the top level into an item: not where it was read, so encoded anew."""
    data = read_bytes("test_files/rtplan.dcm")
    batches = _batches([data])
    events = list(batches[0])
    name = next(e for e in events if type(e) is Element and e.tag == 0x00100010)
    events.remove(name)
    item = next(i for i, e in enumerate(events) if type(e).__name__ == "ItemStart")
    events.insert(item + 1, name)
    moved = [batches[0].derive(events), *batches[1:]]
    assert _encode(moved) == _encode([events, *map(list, batches[1:])])


async def _run_stages(data: bytes, stages: list[Any], plain: bool) -> bytes:
    from dicomstream.io import BytesSource
    from dicomstream.pipeline import apply_stages
    from dicomstream.streams import aiter_events

    async def batches() -> Any:
        async for batch in aiter_events(BytesSource(data, chunk_size=4096)):
            yield list(batch) if plain else batch

    encoder = Encoder()
    out = []
    async for batch in apply_stages(batches(), stages):
        out.extend(bytes(p) for p in encoder.send_all_parts(batch))
    return b"".join(out)


@pytest.mark.asyncio
@pytest.mark.parametrize("name", ["test_files/CT_small.dcm", "test_files/rtplan.dcm",
                                  "test_files/MR_small.dcm", "test_files/rtstruct.dcm"])
async def test_real_stages_through_the_pipeline(name: str) -> None:
    from dicomstream.stages import EditStage, FilterStage

    data = read_bytes(name)

    def stages() -> list[Any]:
        return [EditStage(set={"PatientName": "ANON", "PatientID": "X1",
                               "ReferencedSOPSequence[*].ReferencedSOPInstanceUID": "1.2.3"}),
                FilterStage(remove_private=True)]

    derived = await _run_stages(data, stages(), plain=False)
    assert derived == await _run_stages(data, stages(), plain=True)
    assert b"ANON" in derived and derived != data


def _explicit_with_un_sequence() -> bytes:
    """An explicit VR LE dataset (no meta) with a sequence written as UN (CP-246): its
    item is implicit VR, so the same element is written differently inside it."""
    import struct

    def explicit(group: int, elem: int, vr: bytes, value: bytes) -> bytes:
        return struct.pack("<HH2sH", group, elem, vr, len(value)) + value

    def implicit(group: int, elem: int, value: bytes) -> bytes:
        return struct.pack("<HHL", group, elem, len(value)) + value

    item = implicit(0x0008, 0x1150, b"1.2.3\x00") + implicit(0x0008, 0x1155, b"1.2.3.4\x00")
    sequence = (struct.pack("<HH2sHL", 0x0008, 0x1140, b"UN", 0, 0xFFFFFFFF)
                + struct.pack("<HHL", 0xFFFE, 0xE000, 0xFFFFFFFF) + item
                + struct.pack("<HHL", 0xFFFE, 0xE00D, 0)
                + struct.pack("<HHL", 0xFFFE, 0xE0DD, 0))
    return (explicit(0x0008, 0x0016, b"UI", b"1.2.840.10008.5.1.4.1.1.2\x00") + sequence
            + explicit(0x0010, 0x0010, b"PN", b"DOE^JOHN"))


def test_an_element_moved_into_a_un_sequence_is_encoded_in_its_encoding() -> None:
    data = _explicit_with_un_sequence()
    batches = _batches([data], transfer_syntax="1.2.840.10008.1.2.1")
    assert _encode(batches) == data
    first = batches[0]
    assert first.raw is not None
    events = list(first)
    name = next(e for e in events if type(e) is Element and e.tag == 0x00100010)
    events.remove(name)
    item = next(i for i, e in enumerate(events) if type(e).__name__ == "ItemStart")
    events.insert(item + 1, name)
    expected = _encode([events, *map(list, batches[1:])])
    assert b"\x10\x00\x10\x00\x08\x00\x00\x00DOE^JOHN" in expected  # implicit header
    assert _encode([first.derive(events), *batches[1:]]) == expected
