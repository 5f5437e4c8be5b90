"""The collector: an event stream in, a :class:`~dicomstream.collector.Dataset` out.

Why a push object: the same events come from a file read in a loop, from an async
source, or through a pipeline stage, so :class:`Collector` only takes batches
(:meth:`Collector.feed`) and hands the dataset over at the end
(:meth:`Collector.result`); :func:`collect` (sync), :func:`collect_async` and
:class:`CollectStage` are thin front ends over it.

Collecting is the hot path of ``dcmread``: one small object per element, the raw
bytes kept as the event has them (no copy, no decoding). Large values arrive in chunks;
they are joined, or, above ``defer_size``, left where they are (see
:mod:`~dicomstream.collector._deferred`). ``specific_tags`` keeps only those top-level
elements (and (0008,0005), which decoding needs); ``stop_before_pixels`` stops at the
first top-level pixel data element and sets :attr:`Collector.stopped`, so a reader can
stop reading there.
"""

from __future__ import annotations

__all__ = ("CollectStage", "Collector", "collect", "collect_async", "parse_un_sequence")

import warnings
from typing import TYPE_CHECKING, Any

from dicomstream.collector._dataset import Dataset, FileMetaDataset, Shadowed
from dicomstream.collector._deferred import DeferredValue, FileRegion, SpillFile
from dicomstream.collector._element import (
    SPECIFIC_CHARACTER_SET,
    UNSET,
    Context,
    DataElement,
    as_tag,
    effective_vr,
    element_from_event,
)
from dicomstream.collector._sequence import Sequence
from dicomstream.errors import DicomStreamError, DicomStreamWarning, ParseError
from dicomstream.events import (
    DatasetEnd,
    DatasetStart,
    Element,
    Fragment,
    FragmentsEnd,
    FragmentsStart,
    ItemEnd,
    ItemStart,
    Preamble,
    SequenceEnd,
    SequenceStart,
    ValueChunk,
    ValueEnd,
    ValueStart,
)
from dicomstream.stages._base import Stage
from dicomstream.tags import ITEM, format_tag
from dicomstream.transfer_syntax import lookup_transfer_syntax
from dicomstream.values import CharacterSet

if TYPE_CHECKING:
    from collections.abc import AsyncIterable, Iterable

    from dicomstream.events import Event

PIXEL_TAGS = frozenset({0x7FE00010, 0x7FE00009, 0x7FE00008})
"""Float, double float and plain Pixel Data: where ``stop_before_pixels`` stops."""

_SEQ, _ITEM, _FRAGS = 0, 1, 2
_TRACK = 1 << 32
"""``_Level.last`` once a dataset is out of tag order: above every tag, so that each
element after that goes through ``Collector._disorder``."""
_new = tuple.__new__


def _sq_value(tag: int) -> str:
    """The VR of a value written with VR SQ but read as plain bytes (a file meta element:
    the parser opens no sequence there): UN, with a warning. Its event still says SQ, so
    it is written back as read."""
    warnings.warn(f"{format_tag(tag)} is written with VR SQ but holds a plain value; "
                  "read as UN", DicomStreamWarning, stacklevel=4)
    return "UN"


class _Level:
    """One open dataset or item."""

    __slots__ = ("creators", "ds", "last", "unsorted")

    def __init__(self, ds: Dataset) -> None:
        self.ds = ds
        self.creators: dict[int, str] | None = None
        self.last = -1
        self.unsorted = False


class Collector:
    """Build a :class:`Dataset` from events (see the module docstring).

    Args:
        specific_tags: keep only these top-level tags (tags, pairs or keywords).
        stop_before_pixels: stop at top-level pixel data (see :attr:`stopped`).
        defer_size: values that arrive in chunks (``ValueStart`` …, above the parser's
            value threshold) and are longer than this many bytes are not kept in memory.
        file_region: the local file the stream is read from, whose bytes deferred values
            may be read back from (otherwise they are spilled to a temporary file).
        root: the context of the top-level dataset (byte order and character set it
            starts with); a fresh one by default.
    """

    def __init__(self, *, specific_tags: Iterable[Any] | None = None,
                 stop_before_pixels: bool = False, defer_size: int | None = None,
                 file_region: FileRegion | None = None, root: Context | None = None) -> None:
        self._specific = None if specific_tags is None else \
            {as_tag(t) for t in specific_tags} | {SPECIFIC_CHARACTER_SET}
        self._stop_before_pixels = stop_before_pixels
        self._defer = defer_size
        self._region = file_region
        self._whole: memoryview | None = None
        self._spill: SpillFile | None = None
        ctx = root if root is not None else Context()
        self.dataset = Dataset._new(ctx)
        meta = FileMetaDataset._new(Context())
        self.dataset.__dict__.update(file_meta=meta, preamble=None, filename=None, _start=None)
        self._levels = [_Level(meta)]
        self._containers: list[Any] = []  # Sequence | DataElement (fragments) per level
        self._in_meta = True
        self._skip = 0  # depth inside a top-level container left out by specific_tags
        self._value: list[Any] | None = None  # a large value being received
        self.stopped = False
        """Top-level pixel data was reached with ``stop_before_pixels``."""
        self.done = False
        """``DatasetEnd`` was collected."""

    # -- entry points ---------------------------------------------------------------

    def whole_input(self, data: bytes) -> None:
        """Say that ``data`` is the complete input, so stream offsets index into it: large
        values are then kept as views of it (no copy) instead of joined chunks."""
        self._whole = memoryview(data)

    def feed(self, events: Iterable[Event]) -> None:
        """Collect a batch of events (in stream order)."""
        if self.stopped:
            return
        level = self._levels[-1]
        ds = level.ds
        d = ds._dict
        ctx = ds._ctx
        top = len(self._levels) == 1 and not self._in_meta
        specific = self._specific
        filtering = specific is not None
        new = object.__new__
        batch: Iterable[Any] = events  # events are tuples: index them
        for event in batch:
            cls = type(event)
            if cls is Element:  # the hot path: element_from_event(), inlined
                if filtering and self._skip:
                    continue
                tag = event[0]
                if top:
                    if tag in PIXEL_TAGS and self._stop_before_pixels:
                        self.stopped = True
                        return
                    if filtering and tag not in specific:  # type: ignore[operator]
                        continue
                vr = event[1]
                group = tag >> 16
                creator = None
                if group & 1 and 7 < group < 0xFFFF:
                    creator = self._private(level, tag, event[3])
                if vr == "UN":
                    vr = effective_vr(tag, vr, event[2], creator)
                elif vr == "SQ":
                    vr = _sq_value(tag)
                elem = new(DataElement)
                elem._tag = tag
                elem._vr = vr
                elem._event = event
                elem._raw = event[3]
                elem._value = UNSET
                elem._snapshot = None
                elem._ctx = ctx
                elem.private_creator = creator
                if tag > level.last:
                    level.last = tag
                else:
                    self._disorder(level, tag, elem)
                d[tag] = elem
                if tag == SPECIFIC_CHARACTER_SET:
                    ctx.charset_elem = elem
                    ctx.origin = CharacterSet.from_raw(bytes(event[3]))
            elif cls is ValueChunk:
                value = self._value
                if value is not None:
                    self._chunk(value, event[0], event[1])
            elif cls is ItemStart:
                if self._skip:
                    continue
                seq = self._containers[-1]
                little = ctx.little if seq._vr_written != "UN" else True
                item = Dataset._new(Context(little, ctx.origin, ctx))
                item.__dict__["_item_length"] = event[1]
                list.append(seq, item)
                level = _Level(item)
                self._levels.append(level)
                ds, d, ctx = item, item._dict, item._ctx
            elif cls is ItemEnd:
                if self._skip:
                    continue
                self._close_level(level)
                self._levels.pop()
                level = self._levels[-1]
                ds, d, ctx = level.ds, level.ds._dict, level.ds._ctx
            elif cls is SequenceStart:
                if self._skip:
                    self._skip += 1
                    continue
                tag = event[0]
                if top and specific is not None and tag not in specific:
                    self._skip = 1
                    continue
                self._sequence_start(level, event)
                ctx = ds._ctx
                top = False
            elif cls is SequenceEnd:
                if self._skip:
                    self._skip -= 1
                    continue
                self._containers.pop()
                top = len(self._levels) == 1
            elif cls is ValueStart:
                if self._skip:
                    continue
                if top and event[0] != ITEM:
                    tag = event[0]
                    if tag in PIXEL_TAGS and self._stop_before_pixels:
                        self.stopped = True
                        return
                    if specific is not None and tag not in specific:
                        self._value = [None]  # drained, never stored
                        continue
                self._value_start(level, event)
            elif cls is ValueEnd:
                self._value_end(level)
            elif cls is Fragment:
                if not self._skip:
                    self._containers[-1]._raw.append(event[2])
            elif cls is FragmentsStart:
                if self._skip:
                    self._skip += 1
                    continue
                tag = event[0]
                if top:
                    if tag in PIXEL_TAGS and self._stop_before_pixels:
                        self.stopped = True
                        return
                    if specific is not None and tag not in specific:
                        self._skip = 1
                        continue
                self._fragments_start(level, event)
                top = False
            elif cls is FragmentsEnd:
                if self._skip:
                    self._skip -= 1
                    continue
                self._containers.pop()
                top = len(self._levels) == 1
            elif cls is DatasetStart:
                self._dataset_start(event)
                level = self._levels[-1]
                ds, d, ctx = level.ds, level.ds._dict, level.ds._ctx
                top = True
            elif cls is DatasetEnd:
                self._close_level(level)
                self.done = True
            elif cls is Preamble:
                self.dataset.__dict__["preamble"] = bytes(event[0])

    def result(self) -> Dataset:
        """The dataset collected so far (complete once ``DatasetEnd`` was fed or the
        collector stopped before pixel data)."""
        if not self.done:
            for level in self._levels:
                self._close_level(level)
        return self.dataset

    # -- helpers ----------------------------------------------------------------------

    def _private(self, level: _Level, tag: int, raw: bytes) -> str | None:
        """Note a private creator, or return the creator of a private data element."""
        element = tag & 0xFFFF
        key = (tag >> 16 << 8)
        if 0x10 <= element <= 0xFF:
            if level.creators is None:
                level.creators = {}
            level.creators[key | element] = bytes(raw).decode("latin-1").strip(" \x00")
            return None
        if level.creators is None or element < 0x1000:
            return None
        return level.creators.get(key | element >> 8)

    def _disorder(self, level: _Level, tag: int, elem: DataElement) -> None:
        """``elem`` (about to be stored) is not in tag order, or follows one that was not:
        file order is then kept for writing, and every later element of the dataset
        comes here too (a tag may now be read again after a greater one). A tag read
        again: the last one wins, silently (as in pydicom: a file in its test data,
        palettes/winter.dcm, repeats (0008,0018)), the earlier one is kept to be written
        back where it was read (see ``Shadowed``)."""
        level.last = _TRACK
        level.unsorted = True
        ds = level.ds
        d = ds._dict
        shadowed = ds._shadowed
        old = d.get(tag)
        if old is not None:
            if shadowed is None:
                shadowed = Shadowed(list(d.values()))  # the file order so far
                ds.__dict__["_shadowed"] = shadowed
            earlier = shadowed.earlier.pop(tag, (None, []))[1]
            earlier.append(old)
            shadowed.earlier[tag] = (elem, earlier)
            del d[tag]  # re-inserted at the end: the dict keeps file order
        if shadowed is not None:
            shadowed.order.append(elem)

    def _close_level(self, level: _Level) -> None:
        if level.unsorted:
            keys = list(level.ds._dict)
            if keys != sorted(keys):
                level.ds.__dict__["_order"] = 1  # file order, not tag order

    def _dataset_start(self, event: DatasetStart) -> None:
        self._close_level(self._levels[0])
        self._in_meta = False
        ts = lookup_transfer_syntax(event.transfer_syntax)
        ds = self.dataset
        ds.__dict__["_start"] = event
        ds._ctx.little = ts.little_endian
        if ts.deflated:
            self._region = None  # offsets count inflated bytes: spill instead
            self._whole = None
        self._levels = [_Level(ds)]

    def _sequence_start(self, level: _Level, event: SequenceStart) -> None:
        ds = level.ds
        elem = DataElement.__new__(DataElement)
        seq = Sequence()
        seq._parent_ctx = ds._ctx
        seq._vr_written = event[1]
        elem._tag, elem._vr, elem._event, elem._raw = event[0], "SQ", event, None
        elem._value, elem._snapshot, elem._ctx = seq, None, ds._ctx
        elem.private_creator = None
        self._store(level, elem)
        self._containers.append(seq)

    def _fragments_start(self, level: _Level, event: FragmentsStart) -> None:
        ds = level.ds
        elem = DataElement.__new__(DataElement)
        elem._tag, elem._vr, elem._event, elem._raw = event[0], event[1], event, []
        elem._value, elem._snapshot, elem._ctx = UNSET, None, ds._ctx
        elem.private_creator = None
        self._store(level, elem)
        self._containers.append(elem)

    def _store(self, level: _Level, elem: DataElement) -> None:
        tag = elem._tag
        if tag > level.last:
            level.last = tag
        else:
            self._disorder(level, tag, elem)
        level.ds._dict[tag] = elem

    def _value_start(self, level: _Level, event: ValueStart) -> None:
        length = event[2]
        if self._defer is not None and length > self._defer \
                and event[0] != SPECIFIC_CHARACTER_SET:
            if self._region is not None:
                self._value = [event, "file", -1]
            else:
                if self._spill is None:
                    self._spill = SpillFile()
                self._value = [event, "spill", self._spill.size]
        elif self._whole is not None:
            self._value = [event, "view", -1]
        else:
            # grown chunk by chunk: a declared length is never an allocation size
            self._value = [event, "join", bytearray()]

    def _chunk(self, value: list[Any], data: bytes | memoryview, offset: int) -> None:
        if len(value) == 1:
            return  # a value left out
        mode = value[1]
        if mode == "join":
            value[2] += data
        elif mode == "file" or mode == "view":
            if value[2] < 0:
                value[2] = offset
        else:
            assert self._spill is not None
            self._spill.append(data)

    def _value_end(self, level: _Level) -> None:
        value = self._value
        self._value = None
        if value is None or len(value) == 1:
            return
        event, mode, where = value
        length = event[2]
        raw: bytes | memoryview | DeferredValue
        if mode == "join":
            raw = memoryview(where).toreadonly()
        elif mode == "view":
            assert self._whole is not None
            raw = self._whole[where:where + length]
        elif mode == "file":
            assert self._region is not None
            raw = DeferredValue(self._region, where if where >= 0 else event[3], length)
        else:
            assert self._spill is not None
            raw = DeferredValue(self._spill, where, length)
        if event[0] == ITEM:  # a large fragment
            self._containers[-1]._raw.append(raw)
            return
        tag, vr = event[0], event[1]
        creator = None
        group = tag >> 16
        if group & 1 and 7 < group < 0xFFFF and level.creators is not None:
            creator = level.creators.get((group << 8) | (tag >> 8 & 0xFF))
        if vr == "UN":
            vr = effective_vr(tag, vr, length, creator)
        elif vr == "SQ":
            vr = _sq_value(tag)
        # the element keeps its ValueStart: large values are written back in chunks
        elem = element_from_event(event, vr, level.ds._ctx, creator)
        elem._raw = raw
        self._store(level, elem)


def collect(events: Iterable[Event] | Iterable[list[Event]], **options: Any) -> Dataset:
    """A dataset from events (a flat iterable, or an iterable of batches);
    ``options`` go to :class:`Collector`."""
    collector = Collector(**options)
    batch: list[Event] = []
    for item in events:
        if isinstance(item, list):
            if batch:
                collector.feed(batch)
                batch = []
            collector.feed(item)
        else:
            batch.append(item)
    if batch:
        collector.feed(batch)
    return collector.result()


async def collect_async(batches: AsyncIterable[list[Event]], **options: Any) -> Dataset:
    """A dataset from an async stream of event batches (``aiter_events``, a pipeline)."""
    collector = Collector(**options)
    async for batch in batches:
        collector.feed(batch)
        if collector.stopped:
            break
    return collector.result()


class CollectStage(Stage):
    """A stage that passes events on unchanged and collects them into :attr:`dataset`
    (available once the stream has ended)."""

    name = "collect"

    def __init__(self, **options: Any) -> None:
        self._collector = Collector(**options)
        self.dataset: Dataset | None = None

    async def process(self, batch: list[Event]) -> list[Event]:
        self._collector.feed(batch)
        return batch

    async def flush(self) -> list[Event]:
        self.dataset = self._collector.result()
        return []


def parse_un_sequence(elem: DataElement, raw: bytes) -> Sequence | Any:
    """The items of a sequence written as UN with a defined length (CP-246: implicit VR
    little endian inside), for an element whose dictionary VR is SQ.

    The element becomes a sequence that re-encodes to the same bytes; if the bytes are
    not a sequence, it stays UN (with a warning) and its value is the bytes.
    """
    from dicomstream.parser import Parser
    from dicomstream.transfer_syntax import EXPLICIT_VR_LITTLE_ENDIAN

    tag = elem._tag
    head = (tag >> 16).to_bytes(2, "little") + (tag & 0xFFFF).to_bytes(2, "little")
    stream = head + b"UN\x00\x00\xff\xff\xff\xff" + raw + b"\xfe\xff\xdd\xe0\x00\x00\x00\x00"
    ctx = elem._ctx or Context()
    try:
        parser = Parser(transfer_syntax=EXPLICIT_VR_LITTLE_ENDIAN.uid)
        parser.receive_data(stream)
        parser.receive_data(b"")
        events = parser.events()
        sub = collect(events, root=Context(True, ctx.origin))
        inner = sub._dict[tag]
    except (ParseError, DicomStreamError, KeyError) as exc:
        warnings.warn(f"{elem.tag}: value written as UN is not a sequence ({exc}); "
                      "kept as UN", DicomStreamWarning, stacklevel=3)
        elem._vr = "UN"
        return raw
    seq = inner._value
    seq._adopt_all(ctx)
    seq._vr_written = "UN"
    event = elem._event
    offset = event[4] if isinstance(event, Element) else -1
    path = event[5] if isinstance(event, Element) else ()
    elem._event = _new(SequenceStart, (tag, "UN", len(raw), offset, path))
    elem._raw = None
    elem._value = seq
    return seq

