"""The streaming encoder: events in, bytes out, no I/O.

:meth:`Encoder.send` takes one event and returns the bytes it produced;
:meth:`Encoder.send_all` takes a batch (the form the async layer uses) and returns all
their bytes at once. Given the unmodified events of a (non-deflated) input, the output
is the input's exact bytes: headers are rebuilt from the events' tags, VRs and lengths,
and values are copied as they are.

**Verbatim batches.** A batch straight from the parser (an
:class:`~dicomstream.events.EventBatch`) that no stage changed, written in the syntax it
was read in, goes out as the input bytes it came from (views, one copy into the sink)
instead of header by header: same bytes, a fraction of the cost — what makes identity
rewrites and untouched files of a bulk job cheap. Any change to the batch, or a batch
whose stretch is not self-contained, takes the event-by-event path.

**Re-targeting.** Pass ``transfer_syntax`` to write another syntax: headers follow the
target's VR explicitness and byte order, binary values are byte-swapped per VR (a value's
source byte order is the one its container was read in: the dataset's syntax, or
implicit VR little endian inside a sequence written as UN), the file meta's Transfer
Syntax UID follows, and a deflated target is compressed on the fly. Encapsulated pixel
data can only be written to its own syntax.

**Length policy.** Lengths always describe what is written:

* the file meta group length (0002,0000) is recomputed (when the input's value was wrong
  and the meta group is unchanged, the input's value is kept, for byte-exactness);
* element lengths come from the value bytes;
* a sequence or item with a *defined* length is held in a buffer until it closes, then
  written with the length of its actual content (equal to the original when nothing in
  it changed). Buffers are bounded by ``max_buffer`` (all open containers together):
  when they would exceed it, the outermost buffered container is switched to undefined
  length — its header goes out at once and it ends with a delimitation item — which
  every DICOM reader accepts. Containers read with undefined length stay undefined.
* other groups' retired group length elements are passed through untouched — except
  when re-targeting between implicit and explicit VR, where they are dropped (element
  headers change size, so their values would be wrong), as pydicom does.
"""

from __future__ import annotations

__all__ = ("DEFAULT_MAX_BUFFER", "Encoder", "encode_events")

import zlib
from array import array
from itertools import accumulate, compress, count, repeat
from operator import is_, is_not
from struct import Struct
from typing import TYPE_CHECKING

from dicomstream.errors import EncodeError
from dicomstream.events import (
    UNDEFINED_LENGTH,
    DatasetEnd,
    DatasetStart,
    Element,
    EventBatch,
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
from dicomstream.tags import ITEM, ITEM_DELIMITER, SEQUENCE_DELIMITER, format_tag
from dicomstream.transfer_syntax import TransferSyntax, lookup_transfer_syntax
from dicomstream.vr import LONG_LENGTH_VRS, SWAP_SIZES, VR

if TYPE_CHECKING:
    from collections.abc import Iterable

    from dicomstream.events import Event, Span

DEFAULT_MAX_BUFFER = 4 * 1024 * 1024
"""Bytes of defined-length containers held at once before switching to undefined length.
Header sequences are kilobytes; only sequences holding large values (icon images,
per-frame pixel data in items) come near this."""

_VR_BYTES: dict[str, bytes] = {v.value: v.value.encode() for v in VR}
_LONG = LONG_LENGTH_VRS
_SWAP = SWAP_SIZES
_SWAP_CODES = {array(code).itemsize: code for code in ("Q", "L", "I", "H")}

_SHORT = (Struct("<HH2sH").pack, Struct(">HH2sH").pack)
_LONGH = (Struct("<HH2s2xL").pack, Struct(">HH2s2xL").pack)
_IMPL = (Struct("<HHL").pack, Struct(">HHL").pack)

_PASS_THROUGH = 64 * 1024  # parts at least this large are never copied by send_all_parts

_META_GROUP_LENGTH = 0x00020000
_TRANSFER_SYNTAX_UID = 0x00020010

# Container kinds
_DATASET, _ITEM, _SEQ, _FRAGS = 0, 1, 2, 3

# How each event changes the nesting (containers and streamed values), for copied runs;
# DatasetEnd and what precedes the dataset never belong to one.
_DEPTH: dict[type, int] = {
    SequenceStart: 1, ItemStart: 1, FragmentsStart: 1, ValueStart: 1,
    SequenceEnd: -1, ItemEnd: -1, FragmentsEnd: -1, ValueEnd: -1,
    DatasetEnd: -1, DatasetStart: -1, Preamble: -1,
}
_RUN_STARTS = frozenset({Element, SequenceStart, FragmentsStart, ValueStart})


def _swap(data: bytes | memoryview, unit: int) -> bytes:
    """Reverse the byte order of each ``unit``-byte number in ``data``."""
    usable = len(data) - len(data) % unit
    arr = array(_SWAP_CODES[unit])
    arr.frombytes(data[:usable])
    arr.byteswap()
    return arr.tobytes() + bytes(data[usable:])


_EXPLICIT_LE, _IMPLICIT_LE, _SLOW = 0, 1, 2


class _Frame:
    """An open container on the output side."""

    __slots__ = ("buf", "header_length", "implicit", "index", "kind", "little", "mode",
                 "path", "size", "src_little", "switched", "tag", "vr")

    def __init__(self, kind: int, tag: int, vr: str, implicit: bool, little: bool,
                 src_little: bool, buffered: bool) -> None:
        self.kind = kind
        self.tag = tag
        self.vr = vr
        self.implicit = implicit  # target encoding of the content
        self.little = little
        self.src_little = src_little  # byte order of values read in this container
        self.buf: list[bytes | memoryview] | None = [] if buffered else None
        self.size = 0
        self.switched = False  # was defined length, now undefined (buffer limit)
        self.header_length = 0
        self.index = 0
        self.path: object = None  # items and the dataset: the path of their contents
        # How elements directly inside this container can be written (see send_all).
        if kind > _ITEM or not little or little != src_little:
            self.mode = _SLOW
        else:
            self.mode = _IMPLICIT_LE if implicit else _EXPLICIT_LE


class Encoder:
    """Sans-IO DICOM encoder. See the module docstring for identity and length rules.

    Args:
        transfer_syntax: UID (or :class:`TransferSyntax`) to write; ``None`` keeps the
            input's syntax (from its ``DatasetStart`` event).
        max_buffer: bound on bytes held for defined-length containers.
        deflate_level: zlib level for deflated targets.
    """

    def __init__(
        self,
        transfer_syntax: str | TransferSyntax | None = None,
        *,
        max_buffer: int = DEFAULT_MAX_BUFFER,
        deflate_level: int = 6,
    ) -> None:
        if isinstance(transfer_syntax, str):
            transfer_syntax = lookup_transfer_syntax(transfer_syntax)
        self._target = transfer_syntax
        self._max_buffer = max_buffer
        self._level = deflate_level
        self._out: list[bytes | memoryview] = []
        self._sink = self._out
        self._sink_frame: _Frame | None = None
        self._frames: list[_Frame] = []
        self._buffered = 0
        self._meta: list[Element] | None = []
        self._meta_offset = -1
        self._preamble = False
        self._deflater: zlib._Compress | None = None
        self._plain = b""  # preamble and meta, written before the deflated dataset
        self._flushed = False
        self._deflated_length = 0
        self._drop_group_lengths = False
        self._verbatim = False
        self._value: tuple[int, int, int, int] | None = None  # tag, length, written, unit
        self._carry = b""
        self._ended = False
        self.transfer_syntax: TransferSyntax | None = None
        """The syntax being written, once the dataset has started."""

    # -- public API ------------------------------------------------------------------

    def send(self, event: Event) -> bytes:
        """Encode one event; returns the bytes ready to be written (maybe ``b""``)."""
        self._encode(event)
        return self._drain()

    def send_all(self, events: Iterable[Event]) -> bytes:
        """Encode a batch of events; returns all the bytes ready to be written."""
        self._encode_batch(events)
        return self._drain()

    def send_all_parts(self, events: Iterable[Event]) -> list[bytes | memoryview]:
        """Like :meth:`send_all`, but returns the output as parts: runs of small pieces
        joined, large values exactly as the events gave them (views into the parser's
        buffer are never copied)."""
        self._encode_batch(events)
        if self._deflater is not None:
            data = self._drain()
            return [data] if data else []
        out = self._out
        if not out:
            return []
        if max(map(len, out)) < _PASS_THROUGH:  # the usual batch: headers only
            data = b"".join(out)
            out.clear()
            return [data]
        parts: list[bytes | memoryview] = []
        small: list[bytes | memoryview] = []
        for part in out:
            if len(part) >= _PASS_THROUGH:
                if small:
                    parts.append(b"".join(small))
                    small = []
                parts.append(part)
            else:
                small.append(part)
        if small:
            parts.append(b"".join(small))
        self._out.clear()
        return parts

    def _encode_batch(self, events: Iterable[Event]) -> None:
        if type(events) is EventBatch and events.raw is not None:
            self._encode_verbatim(events)
        else:
            self._encode_events(events)

    def _encode_verbatim(self, batch: EventBatch) -> None:
        """A parser batch: write its self-contained stretch as the bytes it was read from
        when nothing in it changed and the syntax is kept (see :class:`EventBatch`) —
        the same bytes the event-by-event path would give, at the cost of a copy."""
        start = batch.raw_from
        if not batch.unchanged():
            self._encode_runs(batch)
            return
        if start:
            self._encode_events(batch[:start])
        if self._meta is not None or not self._frames or self._value is not None \
                or not self._verbatim:
            self._encode_events(batch[start:])
            return
        assert batch.raw is not None
        for part in batch.raw:
            self._write(part)
        if type(batch[-1]) is DatasetEnd:
            self._dataset_end()

    def _encode_runs(self, batch: EventBatch) -> None:
        """A batch stages changed (:meth:`EventBatch.derive`, :class:`Splice`): the
        stretches it still holds as the parser produced them, in input order, are copied
        from the input bytes where they are self-contained; everything else — changed or
        moved events, and so the containers around a change, whose lengths are then
        recomputed as usual — is encoded."""
        spans = batch.spans if batch.spans is not None and batch.spans_hold() \
            else _find_spans(batch)
        originals = batch.originals
        end_of_raw = batch.raw_offset + sum(map(len, batch.raw))  # type: ignore[arg-type]
        raw_from = batch.raw_from
        depths: list[int] = []  # computed when first needed (see _copy_originals)
        encode = self._encode_events
        done = 0
        for at, first, size in spans:
            if at > done:
                encode(batch[done:at])
            done = at + size
            if first < raw_from:  # read before the stretch the input bytes cover
                skip = min(raw_from - first, size)
                encode(originals[first:first + skip])
                first, size = first + skip, size - skip
            if size:
                self._copy_originals(batch, first, first + size, depths, end_of_raw)
        if done < len(batch):
            encode(batch[done:])

    def _copy_originals(self, batch: EventBatch, j: int, stop: int, depths: list[int],
                        end_of_raw: int) -> None:
        """Write ``batch.originals[j:stop]``: self-contained stretches as their input
        bytes, the events between them (the start of a container the stretch leaves
        open, a value's chunks) encoded one by one. ``depths`` is filled on first use."""
        originals = batch.originals
        last = len(originals)
        pending: list[Event] = []
        if stop == last and type(originals[-1]) is DatasetEnd:
            stop -= 1  # never copied: it ends the encoder's dataset (encoded last)
            end_event: list[Event] = [originals[-1]]
        else:
            end_event = []
        while j < stop:
            event = originals[j]
            if type(event) not in _RUN_STARTS:
                pending.append(event)
                j += 1
                continue
            if pending:  # the encoder's state must be current to judge the stretch
                self._encode_events(pending)
                pending = []
            end = _whole_stretch(batch, j, stop)
            if end < 0:
                if not depths:
                    # Nesting after each original event (containers and streamed values),
                    # relative to before the first.
                    depths += accumulate(map(_DEPTH.get, map(type, originals), repeat(0)))
                end = _self_contained_end(depths, j, stop)
            if end < 0 or not self._copies_here(event):
                pending.append(event)
                j += 1
                continue
            start = event.offset  # type: ignore[attr-defined]
            after = originals[end + 1].offset if end + 1 < last else end_of_raw  # type: ignore[attr-defined]
            for part in _raw_slice(batch, start, after):
                self._write(part)
            j = end + 1
        pending += end_event
        if pending:
            self._encode_events(pending)

    def _copies_here(self, event: Event) -> bool:
        """Whether the input bytes of ``event`` are what encoding it here would give: the
        syntax is kept and it sits in the item (or dataset) it was read in."""
        frames = self._frames
        if self._meta is not None or not frames or not self._verbatim \
                or self._value is not None:
            return False
        top = frames[-1]
        if top.kind > _ITEM:
            return False
        path = event.path  # type: ignore[attr-defined]
        return path is top.path or path == top.path

    def _encode_events(self, events: Iterable[Event]) -> None:
        encode = self._encode
        out = self._out
        vr_bytes = _VR_BYTES
        long_vrs = _LONG
        pack_short = _SHORT[0]
        pack_long = _LONGH[0]
        pack_implicit = _IMPL[0]
        for event in events:
            if type(event) is Element and self._meta is not None and event[0] >> 16 == 0x0002:
                self._meta.append(event)  # file meta: written at DatasetStart
                continue
            # Fast path: an element in a little endian dataset or item, no byte swapping.
            if type(event) is Element and self._meta is None and self._frames and \
                    not self._drop_group_lengths:
                mode = self._frames[-1].mode
                if mode != _SLOW:
                    tag, vr, _, value = event[0], event[1], event[2], event[3]
                    n = len(value)
                    if mode == _IMPLICIT_LE:
                        header = pack_implicit(tag >> 16, tag & 0xFFFF, n)
                    else:
                        vrb = vr_bytes.get(vr)
                        if vrb is None or (n > 0xFFFF and vr not in long_vrs):
                            encode(event)  # let the slow path raise the right error
                            continue
                        if vr in long_vrs:
                            header = pack_long(tag >> 16, tag & 0xFFFF, vrb, n)
                        else:
                            header = pack_short(tag >> 16, tag & 0xFFFF, vrb, n)
                    sink = self._sink
                    sink.append(header)
                    sink.append(value)
                    if sink is not out:
                        self._buffer_grew(len(header) + n)
                    continue
            encode(event)

    @property
    def finished(self) -> bool:
        """``DatasetEnd`` has been encoded."""
        return self._ended

    # -- output ----------------------------------------------------------------------

    def _drain(self) -> bytes:
        out = self._out
        data = b"".join(out) if out else b""
        out.clear()
        deflater = self._deflater
        if deflater is not None:
            compressed = deflater.compress(data) if data else b""
            if self._ended and not self._flushed:
                compressed += deflater.flush()
                self._flushed = True
                if (self._deflated_length + len(compressed)) & 1:
                    compressed += b"\x00"  # PS3.5 A.5: pad an odd-length stream with NUL
            self._deflated_length += len(compressed)
            data = self._plain + compressed
            self._plain = b""
        return data

    def _write(self, data: bytes | memoryview) -> None:
        sink = self._sink
        sink.append(data)
        if sink is not self._out:
            self._buffer_grew(len(data))

    def _buffer_grew(self, n: int) -> None:
        frame = self._sink_frame
        assert frame is not None
        frame.size += n
        self._buffered += n
        if self._buffered > self._max_buffer:
            self._spill()

    def _innermost_buffering(self) -> _Frame | None:
        for frame in reversed(self._frames):
            if frame.buf is not None:
                return frame
        return None

    def _spill(self) -> None:
        """Switch outermost buffered containers to undefined length until under the bound."""
        while self._buffered > self._max_buffer:
            outer = next((f for f in self._frames if f.buf is not None), None)
            if outer is None:
                return
            assert outer.buf is not None
            self._out.append(self._container_header(outer, UNDEFINED_LENGTH))
            self._out.extend(outer.buf)
            self._buffered -= outer.size
            outer.buf = None
            outer.size = 0
            outer.switched = True
            self._update_sink()

    def _update_sink(self) -> None:
        frame = self._innermost_buffering()
        self._sink_frame = frame
        self._sink = self._out if frame is None else frame.buf  # type: ignore[assignment]

    # -- encoding ----------------------------------------------------------------------

    def _encode(self, event: Event) -> None:  # noqa: C901 - one dispatch, kept flat
        cls = type(event)
        if cls is Element:
            self._element(event)  # type: ignore[arg-type]
        elif cls is ItemStart:
            self._item_start(event)  # type: ignore[arg-type]
        elif cls is ItemEnd:
            self._item_end(event)  # type: ignore[arg-type]
        elif cls is SequenceStart:
            self._sequence_start(event)  # type: ignore[arg-type]
        elif cls is SequenceEnd:
            self._sequence_end(event)  # type: ignore[arg-type]
        elif cls is ValueStart:
            self._value_start(event)  # type: ignore[arg-type]
        elif cls is ValueChunk:
            self._value_chunk(event)  # type: ignore[arg-type]
        elif cls is ValueEnd:
            self._value_end(event)  # type: ignore[arg-type]
        elif cls is Fragment:
            self._fragment(event)  # type: ignore[arg-type]
        elif cls is FragmentsStart:
            self._fragments_start(event)  # type: ignore[arg-type]
        elif cls is FragmentsEnd:
            self._fragments_end(event)  # type: ignore[arg-type]
        elif cls is DatasetStart:
            self._dataset_start(event)  # type: ignore[arg-type]
        elif cls is DatasetEnd:
            self._dataset_end()
        elif cls is Preamble:
            self._preamble_event(event)  # type: ignore[arg-type]
        else:
            raise EncodeError(f"cannot encode {event!r}")

    def _preamble_event(self, event: Preamble) -> None:
        if self._preamble or self._meta is None or self._meta:
            raise EncodeError("a preamble must come first")
        if len(event.preamble) != 128:
            raise EncodeError(f"a preamble has 128 bytes, not {len(event.preamble)}")
        self._preamble = True
        self._out.append(bytes(event.preamble) + b"DICM")

    def _dataset_start(self, event: DatasetStart) -> None:
        if self._meta is None:
            raise EncodeError("DatasetStart came twice")
        source = lookup_transfer_syntax(event.transfer_syntax)
        target = self._target or source
        if target.uid != source.uid and (source.encapsulated or target.encapsulated):
            raise EncodeError(
                f"cannot transcode {source.name} to {target.name}: only uncompressed "
                "syntaxes convert into each other")
        self.transfer_syntax = target
        # Element headers change size between implicit and explicit VR, so the retired
        # group lengths of other groups would be wrong: drop them, as pydicom does.
        self._drop_group_lengths = target.implicit_vr != source.implicit_vr
        # Unchanged parser batches may be written as read (EventBatch.raw).
        self._verbatim = target.uid == source.uid
        meta = self._meta
        self._meta = None
        if meta or event.has_meta:
            if self._target is not None and target.uid != source.uid and not any(
                    e.tag == _TRANSFER_SYNTAX_UID for e in meta):
                meta = sorted([*meta, Element(_TRANSFER_SYNTAX_UID, "UI", 0, b"")],
                              key=lambda e: e.tag)
            self._write_meta(meta, target, event.offset)
        elif target.deflated:
            raise EncodeError("a deflated dataset needs a file meta group to name its "
                              "transfer syntax; this input has none")
        self._frames = [_Frame(_DATASET, 0, "", target.implicit_vr, target.little_endian,
                               source.little_endian, False)]
        self._frames[0].path = ()
        if target.deflated:
            self._deflater = zlib.compressobj(self._level, zlib.DEFLATED, -15)
            # Bytes produced so far (preamble, meta) are not compressed.
            self._plain = b"".join(self._out)
            self._out.clear()

    def _write_meta(self, meta: list[Element], target: TransferSyntax, end: int) -> None:
        """The meta group in the order it came; (0002,0000) holds the length of what
        follows it (usually the whole rest of the group: it comes first)."""
        pack_short, pack_long = _SHORT[0], _LONGH[0]
        vr_bytes = _VR_BYTES
        before: list[bytes] = []  # elements ahead of (0002,0000): only in odd inputs
        body: list[bytes] = []
        group_length: Element | None = None
        new_uid = None
        if self._target is not None:
            new_uid = target.uid.encode()
            new_uid += b"\x00" * (len(new_uid) & 1)
        for elem in meta:
            tag, vr, value = elem.tag, elem.vr, elem.value
            if tag == _META_GROUP_LENGTH and group_length is None:
                group_length = elem
                before, body = body, []
                continue
            value = bytes(value)
            if tag == _TRANSFER_SYNTAX_UID and new_uid is not None:
                value = new_uid
            n = len(value)
            vrb = vr_bytes.get(vr)
            if vrb is not None and n <= 0xFFFF and vr not in _LONG:  # the usual header
                body.append(pack_short(tag >> 16, tag & 0xFFFF, vrb, n))
            else:
                body.append(self._header(pack_short, pack_long, tag, vr, n))
            body.append(value)
        content = b"".join(body)
        self._out.extend(before)
        if group_length is not None and (group_length.vr != "UL" or len(group_length.value) != 4):
            # Not a group length one can write a number into: kept as it came.
            raw = bytes(group_length.value)
            self._out.append(self._header(pack_short, pack_long, _META_GROUP_LENGTH,
                                          group_length.vr, len(raw)))
            self._out.append(raw)
        elif group_length is not None:
            length = len(content)
            raw = bytes(group_length.value)
            written = int.from_bytes(raw[:4], "little") if len(raw) >= 4 else -1
            as_read = end - (group_length.offset + 12)
            if written != length and length == as_read and group_length.offset >= 0:
                length = written  # the input's value was wrong; unchanged meta: keep it
            self._out.append(pack_short(0x0002, 0x0000, b"UL", 4))
            self._out.append(length.to_bytes(4, "little"))
        self._out.append(content)

    def _dataset_end(self) -> None:
        if self._meta is not None:
            # A stream that ended inside or right after the meta group.
            self._dataset_start(DatasetStart(
                self._target.uid if self._target else "1.2.840.10008.1.2.1", -1, True))
        if len(self._frames) != 1 or self._value is not None:
            raise EncodeError("DatasetEnd while a container or value is still open")
        self._ended = True
        self._frames = []

    def _header(self, pack_short: object, pack_long: object, tag: int, vr: str,
                length: int) -> bytes:
        vrb = _VR_BYTES.get(vr)
        if vrb is None:
            raise EncodeError(f"{format_tag(tag)}: cannot write VR {vr!r}")
        if vr in _LONG:
            return pack_long(tag >> 16, tag & 0xFFFF, vrb, length)  # type: ignore[operator, no-any-return]
        if length > 0xFFFF:
            raise EncodeError(f"{format_tag(tag)}: {length} bytes is too long for VR {vr}")
        return pack_short(tag >> 16, tag & 0xFFFF, vrb, length)  # type: ignore[operator, no-any-return]

    def _element_header(self, frame: _Frame, tag: int, vr: str, length: int) -> bytes:
        order = 0 if frame.little else 1
        if frame.implicit:
            return _IMPL[order](tag >> 16, tag & 0xFFFF, length)
        return self._header(_SHORT[order], _LONGH[order], tag, vr, length)

    def _top(self) -> _Frame:
        if not self._frames:
            raise EncodeError("event outside a dataset (missing DatasetStart?)")
        return self._frames[-1]

    def _element(self, event: Element) -> None:
        meta = self._meta
        if meta is not None:
            if event.tag >> 16 != 0x0002:
                raise EncodeError(f"{format_tag(event.tag)} before DatasetStart")
            meta.append(event)
            return
        frames = self._frames
        if not frames:
            raise EncodeError("Element after DatasetEnd")
        frame = frames[-1]
        if frame.kind > _ITEM:
            raise EncodeError(f"{format_tag(event.tag)}: element directly inside a sequence")
        if self._drop_group_lengths and not event.tag & 0xFFFF:
            return
        value = event.value
        vr = event.vr
        if frame.little != frame.src_little:
            unit = _SWAP.get(vr)
            if unit:
                value = _swap(value, unit)
        sink = self._sink
        tag = event.tag
        if frame.implicit:
            header = _IMPL[0 if frame.little else 1](tag >> 16, tag & 0xFFFF, len(value))
        else:
            order = 0 if frame.little else 1
            header = self._header(_SHORT[order], _LONGH[order], tag, vr, len(value))
        sink.append(header)
        sink.append(value)
        if sink is not self._out:
            self._buffer_grew(len(header) + len(value))

    def _container_header(self, frame: _Frame, length: int) -> bytes:
        """Header of ``frame`` (sequence or item) written in its parent's encoding."""
        order = 0 if frame.little else 1
        if frame.kind == _ITEM:
            # item headers use the encoding of the sequence's content
            return _IMPL[order](0xFFFE, 0xE000, length)
        parent = self._frames[self._frames.index(frame) - 1]
        return self._element_header(parent, frame.tag, frame.vr, length)

    def _push(self, frame: _Frame) -> None:
        self._frames.append(frame)
        if frame.buf is not None:
            self._sink = frame.buf
            self._sink_frame = frame

    def _sequence_start(self, event: SequenceStart) -> None:
        parent = self._top()
        if parent.kind > _ITEM:
            raise EncodeError(f"{format_tag(event.tag)}: sequence directly inside a sequence")
        un = event.vr == "UN"
        defined = event.length != UNDEFINED_LENGTH
        frame = _Frame(_SEQ, event.tag, event.vr, True if un else parent.implicit,
                       True if un else parent.little, True if un else parent.src_little,
                       defined)
        if not defined:
            self._write(self._element_header(parent, event.tag, event.vr, UNDEFINED_LENGTH))
        self._push(frame)

    def _close(self, frame: _Frame, kind: int) -> None:
        """Pop ``frame`` and write it (buffered) or its delimiter (streamed)."""
        top = self._top()
        if top is not frame or top.kind != kind:
            raise EncodeError("container end does not match the open container")
        if frame.buf is not None:
            header = self._container_header(frame, frame.size)
            self._frames.pop()
            self._buffered -= frame.size
            self._update_sink()
            sink = self._sink
            sink.append(header)
            sink.extend(frame.buf)
            if sink is not self._out:
                self._buffer_grew(len(header) + frame.size)
            return
        delim = ITEM_DELIMITER if kind == _ITEM else SEQUENCE_DELIMITER
        order = 0 if frame.little else 1
        self._frames.pop()
        self._update_sink()
        self._write(_IMPL[order](0xFFFE, delim & 0xFFFF, 0))

    def _sequence_end(self, event: SequenceEnd) -> None:
        self._close(self._top(), _SEQ)

    def _item_start(self, event: ItemStart) -> None:
        seq = self._top()
        if seq.kind != _SEQ:
            raise EncodeError("item outside a sequence")
        defined = event.length != UNDEFINED_LENGTH
        frame = _Frame(_ITEM, seq.tag, "", seq.implicit, seq.little, seq.src_little, defined)
        frame.path = event.path
        if not defined:
            self._write(_IMPL[0 if seq.little else 1](0xFFFE, 0xE000, UNDEFINED_LENGTH))
        self._push(frame)

    def _item_end(self, event: ItemEnd) -> None:
        self._close(self._top(), _ITEM)

    def _fragments_start(self, event: FragmentsStart) -> None:
        parent = self._top()
        if parent.kind > _ITEM:
            raise EncodeError("pixel data directly inside a sequence")
        self._write(self._element_header(parent, event.tag, event.vr, UNDEFINED_LENGTH))
        self._push(_Frame(_FRAGS, event.tag, event.vr, parent.implicit, parent.little,
                          parent.src_little, False))

    def _fragment(self, event: Fragment) -> None:
        frame = self._top()
        if frame.kind != _FRAGS:
            raise EncodeError("fragment outside encapsulated pixel data")
        self._write(_IMPL[0 if frame.little else 1](0xFFFE, 0xE000, len(event.value)))
        self._write(event.value)

    def _fragments_end(self, event: FragmentsEnd) -> None:
        self._close(self._top(), _FRAGS)

    def _value_start(self, event: ValueStart) -> None:
        if self._value is not None:
            raise EncodeError("ValueStart inside another value")
        frame = self._top()
        length = event.length
        if length == UNDEFINED_LENGTH:
            raise EncodeError(f"{format_tag(event.tag)}: a streamed value needs its length")
        if event.tag == ITEM:
            if frame.kind != _FRAGS:
                raise EncodeError("fragment outside encapsulated pixel data")
            self._write(_IMPL[0 if frame.little else 1](0xFFFE, 0xE000, length))
            unit = 0
        else:
            if frame.kind > _ITEM:
                raise EncodeError(f"{format_tag(event.tag)}: value directly inside a sequence")
            self._write(self._element_header(frame, event.tag, event.vr, length))
            unit = _SWAP.get(event.vr, 0) if frame.little != frame.src_little else 0
        self._value = (event.tag, length, 0, unit)
        self._carry = b""

    def _value_chunk(self, event: ValueChunk) -> None:
        if self._value is None:
            raise EncodeError("ValueChunk outside a value")
        tag, length, written, unit = self._value
        data = event.data
        written += len(data)
        if written > length:
            raise EncodeError(f"{format_tag(tag)}: chunks exceed the declared {length} bytes")
        self._value = (tag, length, written, unit)
        if unit:
            if self._carry:
                data = self._carry + bytes(data)
            keep = len(data) % unit
            if keep and written < length:
                self._carry = bytes(data[len(data) - keep:])
                data = data[:len(data) - keep]
            else:
                self._carry = b""
            data = _swap(data, unit)
        self._write(data)

    def _value_end(self, event: ValueEnd) -> None:
        if self._value is None:
            raise EncodeError("ValueEnd outside a value")
        tag, length, written, _ = self._value
        if written != length:
            raise EncodeError(f"{format_tag(tag)}: {written} bytes sent for a declared "
                              f"length of {length}")
        self._value = None


def _whole_stretch(batch: EventBatch, j: int, stop: int) -> int:
    """``stop - 1`` when ``originals[j:stop]`` (``originals[j]`` an element or the start
    of a container or value) is plainly self-contained, else -1 — without following it.

    It is when the event after it starts an element in the same item (an item, once
    closed, never comes back) or ends the dataset while it starts at the top level, or
    when it runs to the end of the input bytes from the item they start in (the
    parser's stretch closes what it opens and never goes above where it starts). The
    parser gives the events of one item the very same path object, and every item a
    new one — even two items whose paths are equal because a sequence tag is repeated
    — so ``is`` tells items apart where ``==`` could not."""
    originals = batch.originals
    path = originals[j].path  # type: ignore[attr-defined]
    if stop < len(originals):
        after = originals[stop]
        if type(after) in _RUN_STARTS:
            return stop - 1 if after.path is path else -1  # type: ignore[attr-defined]
        # The end of the dataset: everything is closed again, back at the top level.
        return stop - 1 if type(after) is DatasetEnd and path == () else -1
    first = originals[batch.raw_from]
    if type(first) in _RUN_STARTS and first.path is path:  # type: ignore[attr-defined]
        return stop - 1
    return -1


def _self_contained_end(depths: list[int], j: int, stop: int) -> int:
    """The last index of the longest self-contained stretch from ``j`` within ``stop``
    (it returns to the nesting it started at without going above it), or -1.

    Every event changes the nesting by -1, 0 or +1, so the stretch ends just before the
    first event that takes it one below where it started (``list.index`` from ``j``:
    the work is the stretch's own length); without such a drop, at the last event back
    at its level."""
    base = depths[j - 1] if j else 0
    try:
        return depths.index(base - 1, j, stop) - 1
    except ValueError:
        pass
    if depths[stop - 1] == base:
        return stop - 1
    levels = depths[j:stop]
    levels.reverse()
    return stop - 1 - levels.index(base) if base in levels else -1


def _find_spans(batch: EventBatch) -> list[Span]:
    """The stretches of a derived batch that are its ``originals``, found by identity."""
    originals = batch.originals
    where = dict(zip(map(id, originals[batch.raw_from:]),
                     range(batch.raw_from, len(originals)), strict=True))
    spans: list[Span] = []
    i, n, size = 0, len(batch), len(originals)
    while i < n:
        j = where.get(id(batch[i]))
        if j is None:
            i += 1
            continue
        length = _same_run(batch, i, originals, j, min(n - i, size - j))
        spans.append((i, j, length))
        i += length
    return spans


def _same_run(batch: EventBatch, i: int, originals: tuple[Event, ...], j: int,
              longest: int) -> int:
    """How many events from ``batch[i]`` on are ``originals[j:]`` (at most ``longest``),
    compared in slices that double in size: the work is the run's own length, however
    far into the batch it starts."""
    length, step = 0, 8
    while length < longest:
        size = min(step, longest - length)
        ours = batch[i + length:i + length + size]
        theirs = originals[j + length:j + length + size]
        if not all(map(is_, ours, theirs)):
            return length + next(compress(count(), map(is_not, ours, theirs)))
        length += size
        step *= 2
    return length


def _raw_slice(batch: EventBatch, start: int, stop: int) -> list[memoryview]:
    """The input bytes at stream offsets ``[start, stop)`` of ``batch.raw``."""
    out: list[memoryview] = []
    offset = batch.raw_offset
    for part in batch.raw or ():
        end = offset + len(part)
        if end > start and offset < stop:
            out.append(part[max(start - offset, 0):min(stop, end) - offset])
        offset = end
    if sum(map(len, out)) != stop - start:
        raise EncodeError(f"input bytes {start}..{stop} are not in the batch")
    return out


def encode_events(events: Iterable[Event], transfer_syntax: str | None = None) -> bytes:
    """Encode a complete event stream held in memory (convenience for small inputs)."""
    encoder = Encoder(transfer_syntax)
    return encoder.send_all(events)
