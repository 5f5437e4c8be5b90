"""``Splice``: what a stage makes of a batch, described as kept stretches and new events.

The result must hold exactly the events the calls describe, remember which stretches are
still the parser's (through several stages), and the encoder must write it as the event
path would — also when a later stage changes the spliced list in place.
"""

from __future__ import annotations

import pytest
from corpus import read_bytes

from dicomstream.encoder import Encoder
from dicomstream.events import Element, EventBatch, Splice
from dicomstream.parser import Parser


def _batch(name: str = "test_files/CT_small.dcm") -> EventBatch:
    parser = Parser()
    parser.receive_data(read_bytes(name))
    parser.receive_data(b"")
    batch = parser.next_batch()
    assert batch.raw is not None
    return batch


def _encode(*batches: list) -> bytes:  # type: ignore[type-arg]
    encoder = Encoder()
    return b"".join(bytes(p) for b in batches for p in encoder.send_all_parts(b))


def _element_indexes(batch: EventBatch) -> list[int]:
    return [i for i, e in enumerate(batch) if type(e) is Element and not e.path]


def test_nothing_changed_gives_the_batch_itself() -> None:
    batch = _batch()
    assert Splice(batch).result() is batch
    splice = Splice(batch)
    splice.drop(3, 3)
    splice.insert(5, [])
    assert not splice.changed and splice.result() is batch


def test_the_result_holds_what_the_calls_describe() -> None:
    batch = _batch()
    top = _element_indexes(batch)
    new = Element(0x00091001, "LO", 4, b"NEW ", -1, ())
    splice = Splice(batch)
    splice.drop(top[3])
    splice.replace(top[5], [new])
    splice.insert(top[8], [new, new])
    splice.drop(top[10], top[12])
    result = splice.result()
    expected = list(batch)
    del expected[top[10]:top[12]]
    expected[top[8]:top[8]] = [new, new]
    expected[top[5]] = new
    del expected[top[3]]
    assert list(result) == expected
    assert type(result) is EventBatch and result.spans is not None and result.spans_hold()
    # the spans cover every event that is not new, and only those
    assert sum(count for _, _, count in result.spans) == len(expected) - 3


def test_positions_must_not_go_back() -> None:
    splice = Splice(_batch())
    splice.drop(10)
    with pytest.raises(ValueError, match="must not go back"):
        splice.drop(5)
    with pytest.raises(ValueError, match="must not go back"):
        splice.insert(9, [])


def test_spans_follow_a_batch_through_two_splices() -> None:
    batch = _batch()
    top = _element_indexes(batch)
    first = Splice(batch)
    first.drop(top[2], top[4])
    once = first.result()
    second = Splice(once)
    second.drop(top[6] - 2)
    twice = second.result()
    assert type(twice) is EventBatch and twice.spans_hold()
    assert twice.originals is batch.originals
    expected = [e for i, e in enumerate(batch) if i not in (top[2], top[3], top[6])]
    assert list(twice) == expected
    assert _encode(twice) == _encode(list(twice))


def test_a_plain_list_gives_a_plain_list() -> None:
    events = list(_batch())
    splice = Splice(events)
    splice.drop(20)
    result = splice.result()
    assert type(result) is list and result == events[:20] + events[21:]


@pytest.mark.parametrize("name", ["test_files/CT_small.dcm", "test_files/rtplan.dcm",
                                  "test_files/MR_small.dcm"])
def test_a_spliced_batch_changed_in_place_is_still_encoded_right(name: str) -> None:
    batch = _batch(name)
    top = _element_indexes(batch)
    splice = Splice(batch)
    splice.drop(top[4])
    result = splice.result()
    assert type(result) is EventBatch
    new = Element(0x00100010, "PN", 4, b"ANON", -1, ())
    where = next(i for i, e in enumerate(result) if getattr(e, "tag", 0) == 0x00100010)
    result[where] = new  # a later stage edits the spliced list in place
    assert not result.spans_hold()
    assert _encode(result) == _encode(list(result))
    assert b"ANON" in _encode(result)
    del result[top[1]]  # and one that removes an event in place: the spans shift
    assert not result.spans_hold()
    assert _encode(result) == _encode(list(result))


def _repeated_sequences() -> bytes:
    """Explicit VR LE, no meta: the same sequence tag twice at the top level, so the two
    first items have equal paths; defined lengths, so a change inside one of them must
    rewrite its item and sequence lengths."""
    import struct

    def element(tag: int, vr: bytes, value: bytes) -> bytes:
        return struct.pack("<HH2sH", tag >> 16, tag & 0xFFFF, vr, len(value)) + value

    def sequence(*elements: bytes) -> bytes:
        body = b"".join(elements)
        item = struct.pack("<HHL", 0xFFFE, 0xE000, len(body)) + body
        return struct.pack("<HH2s2xL", 0x0008, 0x1140, b"SQ", len(item)) + item

    first = sequence(element(0x00081150, b"UI", b"1.2\x00"),
                     element(0x00091001, b"LO", b"PRIV"),
                     element(0x00081155, b"UI", b"1.3\x00"))
    second = sequence(element(0x00081150, b"UI", b"1.4\x00"),
                      element(0x00081155, b"UI", b"1.5\x00"))
    return (element(0x00080016, b"UI", b"1.2.3\x00") + first + second
            + element(0x00100010, b"PN", b"DOE^JOHN"))


def test_a_stretch_between_items_with_equal_paths_is_not_copied_whole() -> None:
    """Dropping the private element of the first item: the stretch after it runs out of
    that item and into the second, whose path is equal. Copied whole, the first item and
    sequence would keep their old lengths; the encoder must see they are two items."""
    data = _repeated_sequences()
    parser = Parser(transfer_syntax="1.2.840.10008.1.2.1")
    parser.receive_data(data)
    parser.receive_data(b"")
    batch = parser.next_batch()
    assert batch.raw is not None
    private = next(i for i, e in enumerate(batch) if getattr(e, "tag", 0) == 0x00091001)
    second = [i for i, e in enumerate(batch) if getattr(e, "tag", 0) == 0x00081150][1]
    assert batch[private].path == batch[second].path  # equal, yet two items
    splice = Splice(batch)
    splice.drop(private)
    splice.drop(second)
    result = splice.result()
    rest = list(iter(parser.next_batch, []))
    out = _encode(result, *rest)
    assert out == _encode(list(result), *rest)
    assert b"PRIV" not in out and b"1.4" not in out and len(out) == len(data) - 24


@pytest.mark.parametrize("how", ["spliced", "plain list"])
def test_many_changes_in_a_large_batch_cost_linear_time(how: str) -> None:
    """Every other element of a 60,000-element batch dropped: 30,000 stretches to copy.
    Finding and copying them must take time in proportion to the batch (a search that
    started from the batch's beginning for each stretch took tens of seconds)."""
    import struct
    import time

    count = 60_000
    body = b"".join(struct.pack("<HH2sH", 0x0011 + 2 * (k // 0xFF00), 0x1000 + k % 0xFF00,
                                b"LO", 2) + b"X " for k in range(count))
    parser = Parser(transfer_syntax="1.2.840.10008.1.2.1")
    parser.receive_data(body)
    parser.receive_data(b"")
    batch = parser.next_batch()
    assert batch.raw is not None and len(batch) >= count
    elements = [i for i, e in enumerate(batch) if type(e) is Element]
    started = time.perf_counter()
    splice = Splice(batch)
    for i in elements[::2]:
        splice.drop(i)
    result = splice.result()
    if how == "plain list":
        result = batch.derive(list(result))
    out = _encode(result, *iter(parser.next_batch, []))
    took = time.perf_counter() - started
    assert len(out) == len(body) // 2
    assert took < 5, f"{took:.1f} s for 30,000 stretches"


def test_many_changes_inside_items_cost_linear_time() -> None:
    """A sequence of 12,000 items, the second of four elements dropped in each: every
    stretch leaves one item and enters the next, so where it stops being self-contained
    is found from the nesting — in time in proportion to the stretch, not the batch."""
    import struct
    import time

    def element(elem: int) -> bytes:
        return struct.pack("<HH2sH", 0x0008, elem, b"LO", 2) + b"X "

    item = (struct.pack("<HHL", 0xFFFE, 0xE000, 0xFFFFFFFF)
            + b"".join(element(e) for e in (0x0100, 0x0102, 0x0104, 0x0106))
            + struct.pack("<HHL", 0xFFFE, 0xE00D, 0))
    data = (struct.pack("<HH2s2xL", 0x0040, 0x0275, b"SQ", 0xFFFFFFFF) + item * 12_000
            + struct.pack("<HHL", 0xFFFE, 0xE0DD, 0))
    parser = Parser(transfer_syntax="1.2.840.10008.1.2.1")
    parser.receive_data(data)
    parser.receive_data(b"")
    batch = parser.next_batch()
    assert batch.raw is not None
    second = [i for i, e in enumerate(batch) if getattr(e, "tag", 0) == 0x00080102]
    started = time.perf_counter()
    splice = Splice(batch)
    for i in second:
        splice.drop(i)
    result = splice.result()
    rest = list(iter(parser.next_batch, []))
    out = _encode(result, *rest)
    took = time.perf_counter() - started
    assert out == _encode(list(result), *rest)
    assert len(out) == len(data) - 10 * 12_000
    assert took < 5, f"{took:.1f} s for 12,000 items"
