"""The events that flow between parser, stages, encoder and collector.

A DICOM stream is a flat sequence of events. Containers (sequences, items, encapsulated
pixel data) open and close with start/end events; a value either arrives whole in one
:class:`Element` or, when larger than the parser's threshold, as :class:`ValueStart`,
any number of :class:`ValueChunk` and a :class:`ValueEnd`. Events carry everything the
encoder needs to reproduce the input byte for byte: the VR as written, lengths as written
(:data:`UNDEFINED_LENGTH` included), whether a container closed with a delimiter, the raw
value bytes, and the byte offset they were read from.

Values are raw bytes in the byte order of the stream's transfer syntax (see
:class:`DatasetStart`); :mod:`dicomstream.values` decodes them on demand, so a stage that
only routes events never pays for decoding.

Every event knows where it sits: ``path`` is the :data:`~dicomstream.tags.TagPath` of the
item that holds it (``()`` at the top level), so a consumer never needs the whole tree.

Why tuples and not frozen dataclasses: events are built once per element and a
header-heavy file has thousands of them. A frozen, slotted dataclass costs about 1.9 µs
to construct on CPython 3.11; a tuple-backed class 0.4 µs. These classes keep what the
dataclass would give (immutability, no ``__dict__``, named fields, a readable ``repr``,
``_replace`` for copies with changes) and compare equal only to events of the same type.
"""

from __future__ import annotations

__all__ = (
    "NEED_DATA",
    "UNDEFINED_LENGTH",
    "DatasetEnd",
    "DatasetStart",
    "Element",
    "Event",
    "EventBatch",
    "Fragment",
    "FragmentsEnd",
    "FragmentsStart",
    "ItemEnd",
    "ItemStart",
    "NeedData",
    "Preamble",
    "SequenceEnd",
    "SequenceStart",
    "Splice",
    "ValueChunk",
    "ValueEnd",
    "ValueStart",
)

from operator import is_ as _is
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator
    from typing import Self

    from dicomstream.tags import TagPath

UNDEFINED_LENGTH = 0xFFFFFFFF
"""The length ``FFFFFFFFH``: the container ends with a delimitation item."""


class NeedData:
    """Sentinel type of :data:`NEED_DATA`."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "NEED_DATA"


NEED_DATA = NeedData()
"""Returned by ``Parser.next_event()`` when it cannot go on without more bytes."""


_tuple_eq: Any = tuple.__eq__
_tuple_hash: Any = tuple.__hash__


class Event:
    """Base of every event. Events are immutable and compare by type and fields."""

    __slots__ = ()

    if TYPE_CHECKING:  # provided by the NamedTuple half of every concrete event

        def __iter__(self) -> Iterator[Any]: ...

        def _replace(self, **changes: Any) -> Self: ...

    def fields(self) -> dict[str, Any]:
        """The event's fields by name."""
        return dict(zip(self._fields, self, strict=True))  # type: ignore[attr-defined]

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and _tuple_eq(self, other)

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    def __hash__(self) -> int:
        return hash((type(self).__name__, _tuple_hash(self)))


class _PreambleFields(NamedTuple):
    preamble: bytes
    offset: int = 0


class Preamble(Event, _PreambleFields):
    """The 128-byte preamble and the ``DICM`` prefix of a Part 10 file.

    Attributes:
        preamble: the 128 bytes as read (not necessarily zeros).
        offset: always 0.
    """

    __slots__ = ()


class _DatasetStartFields(NamedTuple):
    transfer_syntax: str
    offset: int
    has_meta: bool = True


class DatasetStart(Event, _DatasetStartFields):
    """The file meta group (if any) has ended; the dataset proper begins.

    Attributes:
        transfer_syntax: UID of the syntax the following events were read in and whose
            byte order their values have.
        offset: byte offset where the dataset starts (for deflated syntaxes, offsets from
            here on count inflated bytes, starting again at this value).
        has_meta: whether the stream had a file meta group (group 0002) before this.
    """

    __slots__ = ()


class _ElementFields(NamedTuple):
    tag: int
    vr: str
    length: int
    value: bytes
    offset: int = -1
    path: TagPath = ()


class Element(Event, _ElementFields):
    """A data element whose value arrived whole.

    Attributes:
        tag: ``group << 16 | element``.
        vr: the VR as written (explicit VR) or as looked up (implicit VR).
        length: the value length as written (equal to ``len(value)`` as read).
        value: the raw value bytes, padding included, in the stream's byte order.
        offset: byte offset of the element's header (-1 for events a stage made).
        path: the item that holds the element (``()`` at the top level).
    """

    __slots__ = ()


class _ValueStartFields(NamedTuple):
    tag: int
    vr: str
    length: int
    offset: int = -1
    path: TagPath = ()


class ValueStart(Event, _ValueStartFields):
    """A value too large to arrive whole begins; :class:`ValueChunk` events follow.

    Inside encapsulated pixel data, ``tag`` is :data:`~dicomstream.tags.ITEM` and the
    value is one fragment.

    Attributes:
        tag, vr, length, offset, path: as for :class:`Element`.
    """

    __slots__ = ()


class _ValueChunkFields(NamedTuple):
    data: bytes | memoryview
    offset: int = -1


class ValueChunk(Event, _ValueChunkFields):
    """A piece of a large value. Chunks hold at most the parser's ``chunk_size`` bytes and
    end at stream offsets that are multiples of it, so they never depend on how the input
    was split. A multi-byte number may straddle two chunks.

    Attributes:
        data: the bytes (possibly a read-only view; use ``bytes(data)`` to keep them).
        offset: byte offset of the first byte of ``data``.
    """

    __slots__ = ()


class _ValueEndFields(NamedTuple):
    tag: int
    offset: int = -1


class ValueEnd(Event, _ValueEndFields):
    """The large value that began with :class:`ValueStart` is complete.

    Attributes:
        tag: the tag of the value (ITEM for a fragment).
        offset: byte offset just past the value.
    """

    __slots__ = ()


class _SequenceStartFields(NamedTuple):
    tag: int
    vr: str
    length: int
    offset: int = -1
    path: TagPath = ()


class SequenceStart(Event, _SequenceStartFields):
    """A sequence of items begins.

    ``vr`` is ``SQ``, or ``UN`` for a sequence written with VR UN, whose content is
    implicit VR little endian whatever the transfer syntax (CP-246).

    Attributes:
        tag: the sequence's tag.
        vr: ``SQ`` or ``UN``.
        length: as written; :data:`UNDEFINED_LENGTH` when closed by a delimiter.
        offset: byte offset of the header.
        path: the item that holds the sequence.
    """

    __slots__ = ()


class _SequenceEndFields(NamedTuple):
    tag: int
    delimited: bool
    offset: int = -1
    path: TagPath = ()


class SequenceEnd(Event, _SequenceEndFields):
    """The sequence opened by the matching :class:`SequenceStart` ends.

    Attributes:
        tag: the sequence's tag.
        delimited: it ended with a sequence delimitation item (else its length ran out).
        offset: byte offset of the delimiter, or just past the sequence.
        path: as for the start.
    """

    __slots__ = ()


class _ItemStartFields(NamedTuple):
    index: int  # type: ignore[assignment]  # shadows tuple.index, as intended
    length: int
    offset: int = -1
    path: TagPath = ()


class ItemStart(Event, _ItemStartFields):
    """An item of a sequence begins.

    Attributes:
        index: 0-based position in its sequence.
        length: as written; :data:`UNDEFINED_LENGTH` when closed by a delimiter.
        offset: byte offset of the item header.
        path: the path of the item's *contents*, ending in ``(sequence_tag, index)``.
    """

    __slots__ = ()


class _ItemEndFields(NamedTuple):
    index: int  # type: ignore[assignment]  # shadows tuple.index, as intended
    delimited: bool
    offset: int = -1
    path: TagPath = ()


class ItemEnd(Event, _ItemEndFields):
    """The item opened by the matching :class:`ItemStart` ends.

    Attributes:
        index: as for the start.
        delimited: it ended with an item delimitation item.
        offset: byte offset of the delimiter, or just past the item.
        path: as for the start.
    """

    __slots__ = ()


class _FragmentsStartFields(NamedTuple):
    tag: int
    vr: str
    offset: int = -1
    path: TagPath = ()


class FragmentsStart(Event, _FragmentsStartFields):
    """Encapsulated pixel data begins (undefined length, a sequence of fragments).

    Attributes:
        tag: the pixel data tag (usually (7FE0,0010)).
        vr: ``OB`` (or ``OW`` as some writers put it).
        offset: byte offset of the header.
        path: the item that holds the pixel data.
    """

    __slots__ = ()


class _FragmentFields(NamedTuple):
    index: int  # type: ignore[assignment]  # shadows tuple.index, as intended
    length: int
    value: bytes
    offset: int = -1


class Fragment(Event, _FragmentFields):
    """One fragment of encapsulated pixel data, whole. Index 0 is the Basic Offset Table.

    Large fragments arrive as ``ValueStart(tag=ITEM)`` / chunks / ``ValueEnd`` instead.

    Attributes:
        index: 0-based; 0 is the Basic Offset Table (possibly empty).
        length: as written.
        value: the fragment's bytes.
        offset: byte offset of the fragment's item header.
    """

    __slots__ = ()


class _FragmentsEndFields(NamedTuple):
    tag: int
    offset: int = -1


class FragmentsEnd(Event, _FragmentsEndFields):
    """Encapsulated pixel data ends (at its sequence delimitation item).

    Attributes:
        tag: the pixel data tag.
        offset: byte offset of the delimiter.
    """

    __slots__ = ()


class _DatasetEndFields(NamedTuple):
    offset: int


class DatasetEnd(Event, _DatasetEndFields):
    """The input ended cleanly after a complete dataset.

    Attributes:
        offset: total bytes of the dataset stream (inflated bytes for deflated syntaxes).
    """

    __slots__ = ()


Span = tuple[int, int, int]
"""``(at, first, count)``: ``batch[at:at + count]`` are ``batch.originals[first:first + count]``."""


class EventBatch(list["Event"]):
    """A batch of events as the parser produced it, with the input bytes it came from.

    The parser returns its batches in this form. ``raw`` holds the input bytes (views,
    never copies) from the event at index ``raw_from`` to the end of the batch, when
    that stretch is self-contained: every container and value it opens it also closes,
    and it closes nothing opened before it. ``originals`` is the batch as produced.

    The encoder uses this to write an *unchanged* stretch as the very bytes it was read
    from instead of rebuilding it element by element (the identity rewrite's fast path):
    it does so only while the batch still holds exactly the ``originals`` (the same
    event objects: events are immutable, so identity means nothing changed) and it is
    writing the syntax that was read. A stage that edits a batch returns another list,
    or changes this one, and the encoder then copies the stretches still holding the
    parser's events and encodes the rest — so nothing a stage needs to know about this
    changes. ``raw`` is ``None`` when there is no such stretch (deflated input, a
    lenient end, mixed use of ``next_event``).

    A batch a stage built with :class:`Splice` also knows *where* its events came from
    (``spans``), which spares the encoder looking for them; an identity check of the
    spans still guards against a later stage changing the list in place.
    """

    __slots__ = ("originals", "raw", "raw_from", "raw_offset", "spans")

    def __init__(self, events: Iterable[Event] = (),
                 raw: tuple[memoryview, ...] | None = None, raw_from: int = 0,
                 raw_offset: int = 0) -> None:
        super().__init__(events)
        self.originals: tuple[Event, ...] = tuple(self) if raw is not None else ()
        self.raw = raw
        self.raw_from = raw_from
        self.raw_offset = raw_offset
        """Stream offset of the first byte of ``raw``."""
        self.spans: list[Span] | None = None
        """Of a batch made by :class:`Splice`: the stretches of it that are ``originals``,
        in order (``None``: not known; the encoder finds them by identity)."""

    def unchanged(self) -> bool:
        """The batch still holds exactly the events the parser produced."""
        originals = self.originals
        return len(self) == len(originals) and all(map(_is, self, originals))

    def derive(self, events: Iterable[Event]) -> EventBatch:
        """What stages made of this batch, still knowing where its unchanged events came
        from: the encoder copies runs of untouched elements from ``raw`` and encodes the
        rest (the pipeline calls this; stages need not). A batch made from this one
        with :class:`Splice` is returned as it is: it knows its origins already."""
        if type(events) is EventBatch and events.originals is self.originals and \
                events.spans is not None:
            return events
        batch = EventBatch(events)
        if self.raw is not None:
            batch.originals = self.originals
            batch.raw = self.raw
            batch.raw_from = self.raw_from
            batch.raw_offset = self.raw_offset
        return batch

    def spans_hold(self) -> bool:
        """Whether ``spans`` still describe the batch (no stage changed it in place since
        it was spliced): every span's events are the very ``originals`` it names."""
        spans = self.spans
        if spans is None:
            return False
        originals = self.originals
        size = len(self)
        for at, first, count in spans:
            if at + count > size or first + count > len(originals) or not all(
                    map(_is, self[at:at + count], originals[first:first + count])):
                return False
        return True

    def _source_spans(self) -> list[Span]:
        """Where this batch's events came from, as far as is known: its spans, or all of
        it for a batch from the parser. Not checked here — a stage may have changed the
        batch in place — but by the encoder, once, on the final batch (spans_hold)."""
        if self.spans is not None:
            return self.spans
        return [(0, 0, len(self.originals))]


class Splice:
    """What a stage makes of a batch, built as stretches of it and new events.

    A stage that drops, replaces or inserts a few events in a large batch can describe
    the change instead of copying every event into a new list::

        splice = Splice(batch)
        splice.drop(3)                      # batch[3] goes
        splice.replace(10, [new_element])   # batch[10] becomes new_element
        splice.insert(12, [a, b])           # a and b go before batch[12]
        splice.drop(40, 55)                 # batch[40:55] go
        return splice.result()

    Positions must not go back (each call starts at or after where the previous one
    ended). :meth:`result` is the batch itself when nothing changed. Given a parser
    batch (or one another stage spliced), the result records which stretches are still
    the parser's events, so the encoder copies them from the input bytes without
    looking for them — the cheapest way for a stage to change a batch.
    """

    __slots__ = ("_batch", "_changed", "_kept", "_pieces")

    def __init__(self, batch: list[Event]) -> None:
        self._batch = batch
        # Stretches of the batch kept, as (start, stop), and lists of new events.
        self._pieces: list[tuple[int, int] | list[Event]] = []
        self._kept = 0  # batch[self._kept:] is not decided yet
        self._changed = False

    @property
    def changed(self) -> bool:
        """Whether anything was dropped or inserted so far."""
        return self._changed

    def _keep_until(self, at: int) -> None:
        kept = self._kept
        if at < kept:
            raise ValueError(f"splice positions must not go back ({at} after {kept})")
        if at > kept:
            self._pieces.append((kept, at))
        self._kept = at

    def drop(self, start: int, stop: int | None = None) -> None:
        """Drop ``batch[start:stop]`` (just ``batch[start]`` without ``stop``)."""
        self._keep_until(start)
        stop = start + 1 if stop is None else min(stop, len(self._batch))
        if stop > start:
            self._changed = True
            self._kept = stop

    def insert(self, at: int, events: Iterable[Event]) -> None:
        """Insert ``events`` before ``batch[at]`` (``at == len(batch)``: at the end)."""
        self._keep_until(at)
        events = list(events)
        if events:
            self._changed = True
            self._pieces.append(events)

    def replace(self, at: int, events: Iterable[Event]) -> None:
        """Replace ``batch[at]`` by ``events``."""
        self.drop(at)
        self.insert(at + 1, events)

    def result(self) -> list[Event]:
        """The batch as changed (the batch itself when nothing was)."""
        batch = self._batch
        if not self._changed:
            return batch
        self._keep_until(len(batch))
        if type(batch) is not EventBatch or batch.raw is None:
            events: list[Event] = []
            for piece in self._pieces:
                events += batch[piece[0]:piece[1]] if isinstance(piece, tuple) else piece
            return events
        out = EventBatch()
        out.originals = batch.originals
        out.raw = batch.raw
        out.raw_from = batch.raw_from
        out.raw_offset = batch.raw_offset
        spans: list[Span] = []
        out.spans = spans
        source = batch._source_spans()
        # A batch straight from the parser: its positions are the originals'.
        whole = source[0][2] if len(source) == 1 and source[0][:2] == (0, 0) else -1
        s = 0  # the first source span that may still overlap
        for piece in self._pieces:
            if not isinstance(piece, tuple):
                out += piece
                continue
            a, b = piece
            if whole >= 0:
                if a < whole:
                    spans.append((len(out), a, min(b, whole) - a))
            else:
                _map_spans(spans, source, s, a, b, len(out))
                while s < len(source) and source[s][0] + source[s][2] <= b:
                    s += 1
            out += batch[a:b]
        return out


def _map_spans(spans: list[Span], source: list[Span], s: int, a: int, b: int,
               at_out: int) -> None:
    """Append to ``spans`` where ``batch[a:b]`` (about to go to ``at_out`` in the result)
    came from, by ``source`` (the batch's own spans, from index ``s`` on)."""
    base = at_out - a
    while s < len(source) and source[s][0] < b:
        at, first, count = source[s]
        lo, hi = max(a, at), min(b, at + count)
        if lo < hi:
            if spans and spans[-1][0] + spans[-1][2] == base + lo and \
                    spans[-1][1] + spans[-1][2] == first + lo - at:
                last = spans.pop()
                spans.append((last[0], last[1], last[2] + hi - lo))
            else:
                spans.append((base + lo, first + lo - at, hi - lo))
        s += 1
