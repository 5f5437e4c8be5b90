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
