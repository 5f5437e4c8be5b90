"""The incremental push parser: bytes in, events out, no I/O.

Feed it with :meth:`Parser.receive_data` (``b""`` marks the end of input) and pull events
with :meth:`Parser.next_event` until it returns :data:`~dicomstream.events.NEED_DATA`,
or take every event available at once with :meth:`Parser.events` (the batch form the
async layer uses). Events never depend on how the input was split: a header split over
two chunks is simply retried once more bytes arrive (see ``_buffer.py``), and large
values are cut into chunks that end at multiples of the chunk size in the stream.

The parser keeps a stack of open containers (the dataset, items, sequences, encapsulated
pixel data); each frame knows its end offset when its length is defined, its byte order
and VR explicitness (a sequence written as UN switches to implicit VR little endian,
CP-246), and, for implicit VR, the private creators and pixel representation that VR
lookup depends on.
"""

from __future__ import annotations

__all__ = ("Parser", "parse_bytes")

import warnings
from collections import deque
from struct import Struct
from typing import TYPE_CHECKING, NoReturn

from dicomstream.errors import (
    ContainerOverrunError,
    DicomStreamWarning,
    InvalidLengthError,
    InvalidVRError,
    LengthExceedsSourceError,
    NestingTooDeepError,
    NotDicomError,
    ParseError,
    StructureError,
    TruncatedError,
)
from dicomstream.events import (
    NEED_DATA,
    UNDEFINED_LENGTH,
    DatasetEnd,
    DatasetStart,
    Element,
    Event,
    EventBatch,
    Fragment,
    FragmentsEnd,
    FragmentsStart,
    ItemEnd,
    ItemStart,
    NeedData,
    Preamble,
    SequenceEnd,
    SequenceStart,
    ValueChunk,
    ValueEnd,
    ValueStart,
)
from dicomstream.parser._buffer import InputBuffer
from dicomstream.parser._frames import FRAGS as _FRAGS
from dicomstream.parser._frames import ITEM as _ITEM
from dicomstream.parser._frames import (
    NOTED_MAX,
    dictionary_vr,
    implicit_vr,
    note_implicit,
    noted,
)
from dicomstream.parser._frames import SEQ as _SEQ
from dicomstream.parser._frames import Frame as _Frame
from dicomstream.parser._limits import (
    DEFAULT_CHUNK_SIZE,
    DEFAULT_VALUE_THRESHOLD,
    MAX_INFLATE_RATIO,
    MAX_INFLATED_SIZE,
    MAX_NESTING_DEPTH,
)
from dicomstream.parser._states import TRANSITIONS, State
from dicomstream.tags import ITEM, ITEM_DELIMITER, SEQUENCE_DELIMITER, format_path
from dicomstream.transfer_syntax import (
    EXPLICIT_VR_BIG_ENDIAN,
    EXPLICIT_VR_LITTLE_ENDIAN,
    IMPLICIT_VR_LITTLE_ENDIAN,
    TransferSyntax,
    lookup_transfer_syntax,
)
from dicomstream.vr import LONG_LENGTH_VRS, VR

if TYPE_CHECKING:

    from dicomstream.tags import TagPath

_EXPLICIT_LE = Struct("<HH2sH")
_EXPLICIT_BE = Struct(">HH2sH")
_IMPLICIT_LE = Struct("<HHL")
_IMPLICIT_BE = Struct(">HHL")
_UL_LE = Struct("<L")
_UL_BE = Struct(">L")
_US_LE = Struct("<H")

_VR_STR: dict[bytes, str] = {v.value.encode(): str(v.value) for v in VR}
_LONG = LONG_LENGTH_VRS
# VRs with a 2-byte length in explicit VR (never a container): the fast loop's VRs.
_SHORT_VR: dict[bytes, str] = {b: vr for b, vr in _VR_STR.items() if vr not in _LONG}
# The fast loop reads the VR as a number: looking up a small int costs a fraction of
# hashing the two fresh bytes of a ``2s`` field, once per element.
_FAST_LE = Struct("<HHHH")
_FAST_BE = Struct(">HHHH")
_SHORT_VR_LE = {int.from_bytes(b, "little"): vr for b, vr in _SHORT_VR.items()}
_SHORT_VR_BE = {int.from_bytes(b, "big"): vr for b, vr in _SHORT_VR.items()}
# (implicit VR, little endian) -> element header struct, 4-byte length struct, and the
# explicit VR fast loop's header struct and short VRs (unused in implicit VR).
_STRUCTS: dict[tuple[bool, bool], tuple[Struct, Struct, Struct, dict[int, str]]] = {
    (False, True): (_EXPLICIT_LE, _UL_LE, _FAST_LE, _SHORT_VR_LE),
    (False, False): (_EXPLICIT_BE, _UL_BE, _FAST_BE, _SHORT_VR_BE),
    (True, True): (_IMPLICIT_LE, _UL_LE, _FAST_LE, _SHORT_VR_LE),
    (True, False): (_IMPLICIT_BE, _UL_BE, _FAST_BE, _SHORT_VR_BE),
}
# Implicit VR: tags whose VR depends on nothing but the tag (public, unambiguous, not a
# sequence, not noted), filled as they are met; the fast loop reads these.
_PLAIN_IMPLICIT: dict[int, str] = {}
_PLAIN_MAX = 8192  # bounded whatever tags a hostile input invents
_NOTED_PUBLIC = frozenset({0x00280103, 0x00283002})  # see noted(): they arrive whole
_new = tuple.__new__

_TRANSFER_SYNTAX_UID = 0x00020010
_META_VALUE_LIMIT = 1 << 16


class Parser(InputBuffer):
    """Sans-IO DICOM parser. See the module docstring for the protocol.

    Args:
        value_threshold: values up to this many bytes arrive whole as
            :class:`~dicomstream.events.Element` / :class:`~dicomstream.events.Fragment`;
            larger ones as ``ValueStart`` / ``ValueChunk``… / ``ValueEnd``. In implicit
            VR, the values later VR lookups depend on (private creators, Pixel
            Representation, LUT Descriptor; at most 64 bytes) always arrive whole.
        chunk_size: the most bytes a ``ValueChunk`` holds; chunks end at stream offsets
            that are multiples of it (or at the value's end).
        max_depth: deepest sequence nesting accepted.
        max_inflate_ratio, max_inflated_size: limits for deflated datasets.
        source_size: total size of the input when known (a file, an HTTP body): a
            declared length that runs past it is refused at once instead of at EOF.
        transfer_syntax: UID to assume when the stream does not name one (a raw
            dataset without file meta); by default it is detected from the first bytes.
        lenient: when the input ends early, warn (``DicomStreamWarning`` and
            :attr:`warnings`), close what is open and end cleanly, instead of raising
            :class:`~dicomstream.errors.TruncatedError`.
    """

    def __init__(
        self,
        *,
        value_threshold: int = DEFAULT_VALUE_THRESHOLD,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        max_depth: int = MAX_NESTING_DEPTH,
        max_inflate_ratio: float = MAX_INFLATE_RATIO,
        max_inflated_size: int = MAX_INFLATED_SIZE,
        source_size: int | None = None,
        transfer_syntax: str | None = None,
        lenient: bool = False,
    ) -> None:
        self._threshold = max(0, value_threshold)
        self._chunk = max(8, chunk_size - chunk_size % 8)
        self._max_depth = max_depth
        self._max_ratio = max_inflate_ratio
        self._max_inflated = max_inflated_size
        self._source_size = source_size
        self._assumed_ts = transfer_syntax
        self._lenient = lenient
        super().__init__()
        self._state = State.START
        self._error: ParseError | None = None
        self._out: deque[Event] = deque()
        self._stack: list[_Frame] = []
        self._cap: int | None = None  # see _begin_dataset
        self._depth = 0
        self._meta_ts: str | None = None
        self._meta_end: int | None = None  # where (0002,0000) says the meta group ends
        self._reserved_warned_at = -1
        self._value_left = 0
        self._value_tag = 0
        # The self-contained stretch of the current batch (see EventBatch.raw): it starts
        # at event ``_raw_from`` with ``_raw_depth`` containers open; ``_raw_low`` is the
        # fewest open since. Invalid before the dataset, inside a value, after next_event.
        self._raw_valid = False
        self._raw_from = 0
        self._raw_offset = 0
        self._raw_depth = 0
        self._raw_low = 0
        self.transfer_syntax: TransferSyntax | None = None
        """The syntax of the dataset, once known."""
        self.warnings: list[str] = []
        """Problems tolerated under ``lenient=True``."""

    # -- public protocol -------------------------------------------------------------

    def next_event(self) -> Event | NeedData:
        """The next event, or ``NEED_DATA`` when more input is needed first."""
        if not self._out:
            try:
                self._run()
            except ParseError:
                if not self._out:
                    raise
            if not self._out:
                return NEED_DATA
        self._raw_valid = False  # events leave one by one: no batch holds the stretch
        return self._out.popleft()

    def events(self) -> list[Event]:
        """Every event that can be produced from the input received so far."""
        out = self.next_batch()
        while batch := self.next_batch():
            out.extend(batch)
        return out

    def next_batch(self) -> list[Event]:
        """Some of the events :meth:`events` would give: a batch holding at most about
        :data:`~dicomstream.parser.MAX_BATCH_INFLATED` bytes of inflated data (any other
        input comes whole). Call until it returns ``[]``; streaming consumers use this so
        memory stays bounded on deflated datasets.

        Bad input: the events before the problem come first, then the next call raises
        the error — so what precedes an error never depends on how the input was split."""
        try:
            self._run()
        except ParseError:
            if not self._out:
                raise
            self._raw_valid = False  # a batch cut by an error: encode it event by event
        pending = self._out
        if self._raw_valid and len(pending) > self._raw_from \
                and self._state is not State.VALUE and len(self._stack) == self._raw_depth \
                and self._raw_low >= self._raw_depth:
            parts = self._raw_parts
            if self._pos > self._raw_mark:
                parts.append(memoryview(self._buf)[self._raw_mark:self._pos])
            batch = EventBatch(pending, tuple(parts), self._raw_from, self._raw_offset)
        else:
            batch = EventBatch(pending)
        pending.clear()
        self._raw_restart(0)
        return batch

    def _raw_restart(self, index: int) -> None:
        """Start recording the input of a new stretch at event ``index`` of the batch."""
        self._raw_parts = []
        self._raw_mark = self._pos
        self._raw_offset = self._base + self._pos
        self._raw_from = index
        self._raw_depth = self._raw_low = len(self._stack)
        self._raw_valid = self._raw_on and self._state is State.DATASET

    @property
    def done(self) -> bool:
        """``DatasetEnd`` has been produced."""
        return self._state is State.DONE

    def _may_pause(self) -> bool:
        return bool(self._out)

    # -- state machine -----------------------------------------------------------------

    def _set_state(self, new: State) -> None:
        if new not in TRANSITIONS[self._state]:
            raise AssertionError(f"parser transition {self._state} -> {new}")
        self._state = new

    def _run(self) -> None:
        if self._error is not None:
            raise self._error
        self._inflated_now = 0
        try:
            while True:
                state = self._state
                if state is State.DATASET:
                    progressed = self._parse_dataset()
                elif state is State.VALUE:
                    progressed = self._stream_value()
                elif state is State.META:
                    progressed = self._parse_meta()
                elif state is State.START:
                    progressed = self._parse_start()
                else:
                    return
                if not progressed:
                    return
        except ParseError as exc:
            self._state = State.ERROR
            self._error = exc
            raise

    # -- preamble and file meta ------------------------------------------------------------

    def _parse_start(self) -> bool:
        if not self._ensure(132):
            if not self._input_exhausted():
                return False
            self._ensure(self._unread())  # a short input: judge all of it, not one chunk
        buf, pos = self._buf, self._pos
        avail = len(buf) - pos
        # DICM at offset 128 means a preamble, as for pydicom and dcmtk: PS3.10 gives no
        # other signal, so a headerless dataset with those bytes there reads as Part 10.
        if avail >= 132 and buf[pos + 128:pos + 132] == b"DICM":
            self._out.append(_new(Preamble, (buf[pos:pos + 128], self._base + pos)))
            self._pos = pos + 132
            self._set_state(State.META)
            return True
        if avail == 0:
            raise NotDicomError("empty input", offset=0)
        if avail >= 4 and _US_LE.unpack_from(buf, pos)[0] == 0x0002:
            self._set_state(State.META)  # file meta without preamble
            return True
        self._set_state(State.DATASET)
        if not self._begin_dataset(None, has_meta=False):
            raise NotDicomError("no DICM prefix and no recognisable dataset", offset=0)
        return True

    def _parse_meta(self) -> bool:
        append = self._out.append
        while True:
            # The usual element first, in a tight loop: explicit VR with a 2-byte length
            # (so within _META_VALUE_LIMIT), whole in the buffer. Anything else is left to
            # the general code below, which sees it as if this loop did not exist.
            buf, pos, base = self._buf, self._pos, self._base
            n = len(buf)
            while pos + 8 <= n:
                group, elem, vrc, length = _FAST_LE.unpack_from(buf, pos)
                vr = _SHORT_VR_LE.get(vrc)
                stop = pos + 8 + length
                if vr is None or group != 0x0002 or stop > n:
                    break
                tag = 0x00020000 | elem
                value = buf[pos + 8:stop]
                append(_new(Element, (tag, vr, length, value, base + pos, ())))
                if tag == 0x00020000 or tag == _TRANSFER_SYNTAX_UID:
                    self._note_meta(tag, length, value, base + pos + 8)
                pos = stop
            self._pos = pos
            # ``_ensure`` only when the buffer is short: usually it holds the whole group.
            if n - pos < 8 and not self._ensure(8):
                if not self._input_exhausted():
                    return False
                unread = self._unread()
                if unread == 0 or (unread >= 2 and self._ensure(2)
                                   and _US_LE.unpack_from(self._buf, self._pos)[0] != 0x0002):
                    # The end of input, or a dataset shorter than a header (the 2-byte
                    # deflate stream of an empty dataset).
                    self._check_meta_complete()
                    return self._finish_meta()
                raise TruncatedError("input ends inside the file meta group",
                                     offset=self._base + self._pos)
            buf, pos = self._buf, self._pos
            group, elem, vrb, short_len = _EXPLICIT_LE.unpack_from(buf, pos)
            if group != 0x0002:
                return self._finish_meta()
            tag = (group << 16) | elem
            vr = _VR_STR.get(vrb)
            offset = self._base + pos
            if vr is None:
                # Some writers put the meta group in implicit VR; read it that way. The
                # events re-encode it in explicit VR, as the standard wants: say so.
                length = _UL_LE.unpack_from(buf, pos + 4)[0]
                vr = dictionary_vr(tag)
                header = 8
            elif vr in _LONG:
                if len(buf) - pos < 12:
                    if not self._ensure(12):
                        if self._input_exhausted():
                            raise TruncatedError("input ends inside a file meta header",
                                                 offset=offset)
                        return False
                    buf, pos = self._buf, self._pos
                length = _UL_LE.unpack_from(buf, pos + 8)[0]
                header = 12
            else:
                length, header = short_len, 8
            implicit_meta = vrb not in _VR_STR
            if length > _META_VALUE_LIMIT:
                raise InvalidLengthError(
                    f"file meta element {format_path((), tag)} declares {length} bytes",
                    offset=offset)
            if len(buf) - pos < header + length:
                if not self._ensure(header + length):
                    if self._input_exhausted():
                        raise TruncatedError("input ends inside a file meta element",
                                             offset=offset, path=format_path((), tag))
                    return False
                buf, pos = self._buf, self._pos
            if implicit_meta:
                # Some writers put the meta group in implicit VR: read it that way. The
                # events re-encode it in explicit VR, as the standard wants: say so.
                self._warn(f"file meta element {format_path((), tag)} is written in "
                           f"implicit VR (read as {vr}; re-encoded in explicit VR)", 5)
            elif header == 12 and buf[pos + 6:pos + 8] != b"\0\0":
                self._reserved_warning(tag, offset, buf[pos + 6:pos + 8])
            value = buf[pos + header:pos + header + length]
            append(_new(Element, (tag, vr, length, value, offset, ())))
            self._note_meta(tag, length, value, offset + header)
            self._pos = pos + header + length

    def _note_meta(self, tag: int, length: int, value: bytes, value_offset: int) -> None:
        """Remember where (0002,0000) says the group ends, and the transfer syntax."""
        if tag == 0x00020000 and length == 4:
            self._meta_end = value_offset + 4 + _UL_LE.unpack_from(value)[0]
        if tag == _TRANSFER_SYNTAX_UID:
            self._meta_ts = value.decode("ascii", "replace").rstrip("\x00 ")

    def _check_meta_complete(self) -> None:
        """The input ended after a meta element: fine if the group is as long as its
        (0002,0000) says (or says nothing), else it was cut between two elements."""
        here = self._base + self._pos
        end = self._meta_end
        if end is None or here >= end:
            return
        message = (f"input ends inside the file meta group: (0002,0000) declares "
                   f"{end - here} more bytes")
        if not self._lenient:
            raise TruncatedError(message, offset=here)
        self._warn(message, 6)

    def _reserved_warning(self, tag: int, offset: int, reserved: bytes) -> None:
        """PS3.5 7.1.2: the two bytes after a 4-byte-length VR are reserved, set to 0 and
        not decoded; the events do not keep them, so a re-encoding writes 0: say so
        (once: a header read again when its value arrives in a later chunk is not new)."""
        if offset == self._reserved_warned_at:
            return
        self._reserved_warned_at = offset
        self._warn(f"{format_path((), tag)} at offset {offset}: reserved header bytes "
                   f"{bytes(reserved).hex(' ')} are not zero (re-encoded as 00 00)", 6)

    def _warn(self, message: str, stacklevel: int) -> None:
        self.warnings.append(message)
        warnings.warn(message, DicomStreamWarning, stacklevel=stacklevel)

    def _finish_meta(self) -> bool:
        self._set_state(State.DATASET)
        if not self._begin_dataset(self._meta_ts, has_meta=True):
            self._state = State.META  # not enough bytes to detect the syntax yet
            return False
        return True

    def _begin_dataset(self, uid: str | None, *, has_meta: bool) -> bool:
        """Emit ``DatasetStart`` and set up the root frame; False if more bytes are needed."""
        if uid is None:
            uid = self._assumed_ts
        if uid:
            ts = lookup_transfer_syntax(uid)
            if not ts.deflated and ts.little_endian:
                if not self._ensure(8) and not self._input_exhausted():
                    return False
                ts = self._check_vr_mode(ts)
        else:
            detected = self._detect_syntax(has_meta)
            if detected is None:
                return False
            ts = detected
        self.transfer_syntax = ts
        offset = self._base + self._pos
        self._out.append(_new(DatasetStart, (ts.uid, offset, has_meta)))
        if ts.deflated:
            self._start_inflating(max_ratio=self._max_ratio, max_size=self._max_inflated)
        # Lenient: a length past the end of the source is a truncation like any other
        # (read what is there, warn at the end), not an error up front; deflated: the
        # source size counts compressed bytes.
        self._cap = None if self._inflater is not None or self._lenient else self._source_size
        self._stack = [_Frame(_ITEM, 0, "", None, None, self._cap, (), -1, ts.implicit_vr,
                              ts.little_endian, None)]
        self._raw_restart(len(self._out))
        return True

    def _check_vr_mode(self, ts: TransferSyntax) -> TransferSyntax:
        """Follow the data when its first header contradicts the declared VR mode.

        Writers exist that declare explicit VR and write implicit VR (and the reverse);
        pydicom and dcmtk read such files the way the data is written, and so do we,
        with a warning. ``DatasetStart.transfer_syntax`` then names the syntax used.
        """
        buf, pos = self._buf, self._pos
        if len(buf) - pos < 8:
            return ts
        looks_explicit = buf[pos + 4:pos + 6] in _VR_STR
        if buf[pos:pos + 2] == b"\xfe\xff" or looks_explicit != ts.implicit_vr:
            return ts
        used = IMPLICIT_VR_LITTLE_ENDIAN if ts.implicit_vr is False else \
            EXPLICIT_VR_LITTLE_ENDIAN
        message = (f"transfer syntax {ts.uid} declares "
                   f"{'implicit' if ts.implicit_vr else 'explicit'} VR but the dataset is "
                   f"written in {'explicit' if ts.implicit_vr else 'implicit'} VR; read as "
                   f"{used.name}")
        self.warnings.append(message)
        warnings.warn(message, DicomStreamWarning, stacklevel=5)
        return used

    def _detect_syntax(self, after_meta: bool) -> TransferSyntax | None:
        """Guess the syntax of a dataset that does not name one, from its first header."""
        if not self._ensure(8):
            if not self._input_exhausted():
                return None
            if self._unread() == 0:
                return IMPLICIT_VR_LITTLE_ENDIAN  # empty dataset
            raise TruncatedError("input ends inside the dataset's first header",
                                 offset=self._base + self._pos)
        buf, pos = self._buf, self._pos
        explicit = buf[pos + 4:pos + 6] in _VR_STR
        if buf[pos] == 0 and buf[pos + 1] != 0:
            # Groups are below 0x0100 in practice: 00 08 is group 8 big endian.
            return EXPLICIT_VR_BIG_ENDIAN
        if buf[pos:pos + 4] != b"\0\0\0\0" and (
                buf[pos + 1] == 0 or buf[pos:pos + 2] in (b"\xfe\xff", b"\xfc\xff")):
            return EXPLICIT_VR_LITTLE_ENDIAN if explicit else IMPLICIT_VR_LITTLE_ENDIAN  # noqa
        # Tag (0000,0000) — zeros, a cut preamble — or no plausible group at all.
        error = StructureError if after_meta else NotDicomError
        raise error("the dataset's first header is not one of any transfer syntax "
                    f"({bytes(buf[pos:pos + 8]).hex(' ')})", offset=self._base + pos)

    # -- dataset -------------------------------------------------------------------------

    def _error_path(self, frame: _Frame, tag: int | None = None) -> str:
        return format_path(frame.path, tag)

    def _parse_dataset(self) -> bool:  # noqa: C901 - the hot loop, kept in one piece
        out = self._out.append
        stack = self._stack
        threshold = self._threshold
        source_size = self._cap
        buf, pos, base = self._buf, self._pos, self._base
        n = len(buf)
        top = stack[-1]
        cached: _Frame | None = None
        # Locals describing ``top``, refreshed whenever the open container changes (the
        # header structs only when its encoding differs: a sequence written as UN).
        t_end: int | None = None
        implicit, little = top.implicit, top.little
        header_struct, ul, fast_struct, short_vr = _STRUCTS[implicit, little]
        kind = _ITEM
        path: TagPath = ()
        hard_limit: int | None = None
        fast = False
        plain_implicit = _PLAIN_IMPLICIT
        whole_short = threshold >= 0xFFFF  # 2-byte lengths: every such value comes whole
        element = Element
        while True:
            if top is not cached:
                cached = top
                t_end = top.end
                kind = top.kind
                path = top.path
                hard_limit = top.hard
                if top.implicit != implicit or top.little != little:
                    implicit, little = top.implicit, top.little
                    header_struct, ul, fast_struct, short_vr = _STRUCTS[implicit, little]
                fast = kind == _ITEM and (implicit or whole_short)
            if fast:
                # The common case in a tight loop: plain elements of the open item, whole,
                # inside the buffer and every limit. Anything else (containers,
                # delimiters, long VRs, big values, limits, errors) breaks out to the
                # general code below, which sees the element as if this loop did not exist.
                lim = n
                if t_end is not None and t_end - base < lim:
                    lim = t_end - base
                if hard_limit is not None and hard_limit - base < lim:
                    lim = hard_limit - base
                if implicit:
                    while pos + 8 <= lim:
                        group, elem, length = header_struct.unpack_from(buf, pos)
                        tag = (group << 16) | elem
                        vr = plain_implicit.get(tag)
                        if vr is None or length > threshold:
                            break
                        stop = pos + 8 + length
                        if stop > lim:
                            break
                        out(_new(element, (tag, vr, length, buf[pos + 8:stop], base + pos,
                                           path)))
                        pos = stop
                else:
                    while pos + 8 <= lim:
                        group, elem, vrc, length = fast_struct.unpack_from(buf, pos)
                        vr = short_vr.get(vrc)
                        if vr is None or group == 0xFFFE:
                            break
                        stop = pos + 8 + length
                        if stop > lim:
                            break
                        out(_new(element, ((group << 16) | elem, vr, length,
                                           buf[pos + 8:stop], base + pos, path)))
                        pos = stop
            if t_end is not None and base + pos >= t_end:
                top = self._close_defined(top, base + pos)
                continue
            if n - pos < 8:
                self._pos = pos
                if not self._ensure(8):
                    return self._dataset_needs_data(top)
                buf, pos, base = self._buf, self._pos, self._base
                n = len(buf)
            if implicit:
                group, elem, length = header_struct.unpack_from(buf, pos)
                vrb = b""
            else:
                group, elem, vrb, length = header_struct.unpack_from(buf, pos)
            tag = (group << 16) | elem
            offset = base + pos
            if group == 0xFFFE:
                if not implicit:
                    length = ul.unpack_from(buf, pos + 4)[0]
                if tag == ITEM and kind == _SEQ:
                    top = self._open_item(top, length, offset)
                    pos += 8
                elif tag == ITEM_DELIMITER or tag == SEQUENCE_DELIMITER:
                    top = self._close_delimited(top, tag, length, offset)
                    pos += 8
                else:  # a fragment of encapsulated pixel data, or an item out of place
                    self._pos = pos
                    if not self._fragment_item(top, tag, length, offset):
                        return self._dataset_needs_data(top)
                    if self._state is State.VALUE:
                        return True
                    buf, pos, base = self._buf, self._pos, self._base
                    n = len(buf)
                continue
            if kind != _ITEM:
                raise StructureError(
                    f"expected an item or a delimiter, found {format_path((), tag)}",
                    offset=offset, path=self._error_path(top))
            if implicit:
                vr = implicit_vr(tag, top)
                if group & 1 == 0 and vr != "SQ" and tag not in _NOTED_PUBLIC \
                        and tag not in plain_implicit and len(plain_implicit) < _PLAIN_MAX \
                        and " or " not in dictionary_vr(tag):
                    plain_implicit[tag] = vr
                header = 8
            else:
                vr = _VR_STR.get(vrb)
                if vr is None:
                    raise InvalidVRError(f"invalid VR bytes {vrb!r}", offset=offset,
                                         path=self._error_path(top, tag))
                if vr in _LONG:
                    if n - pos < 12:
                        self._pos = pos
                        if not self._ensure(12):
                            return self._dataset_needs_data(top)
                        buf, pos, base = self._buf, self._pos, self._base
                        n = len(buf)
                    length = ul.unpack_from(buf, pos + 8)[0]
                    header = 12
                    if buf[pos + 6] or buf[pos + 7]:
                        self._reserved_warning(tag, offset, buf[pos + 6:pos + 8])
                else:
                    header = 8
            if length == UNDEFINED_LENGTH or vr == "SQ":
                self._pos = pos + header
                top = self._open_container(top, tag, vr, length, offset, implicit)
                pos = self._pos
                continue
            if hard_limit is not None and offset + header + length > hard_limit:
                self._value_beyond_limit(top, tag, length, offset,
                                         offset + header + length, source_size)
            if length <= threshold or (implicit and length <= NOTED_MAX and noted(tag)):
                stop = pos + header + length
                if stop > n:
                    self._pos = pos
                    if not self._ensure(header + length):
                        return self._dataset_needs_data(top)
                    buf, pos, base = self._buf, self._pos, self._base
                    n = len(buf)
                    stop = pos + header + length
                value = buf[pos + header:stop]
                out(_new(Element, (tag, vr, length, value, offset, path)))
                if implicit:
                    note_implicit(top, tag, value)
                pos = stop
            else:
                out(_new(ValueStart, (tag, vr, length, offset, path)))
                self._pos = pos + header
                self._value_left = length
                self._value_tag = tag
                self._set_state(State.VALUE)
                return True

    def _value_beyond_limit(self, top: _Frame, tag: int, length: int, offset: int, vend: int,
                            source_size: int | None) -> None:
        limit = top.limit
        if limit is not None and vend > limit:
            raise ContainerOverrunError(
                f"value of {length} bytes runs {vend - limit} bytes past its container",
                offset=offset, path=self._error_path(top, tag))
        raise LengthExceedsSourceError(
            f"value of {length} bytes runs past the end of the input ({source_size} bytes)",
            offset=offset, path=self._error_path(top, tag))

    def _fragment_item(self, top: _Frame, tag: int, length: int, offset: int) -> bool:
        """An item or delimiter tag at ``offset`` that neither opens an item of a sequence
        nor closes a container (the parsing loop does those): a fragment of pixel data,
        or an error. False when a fragment's bytes have not all arrived (nothing is
        consumed then)."""
        if tag == ITEM:
            if top.kind == _FRAGS:
                return self._fragment(top, length, offset)
            raise StructureError("item outside a sequence", offset=offset,
                                 path=self._error_path(top))
        raise StructureError(f"unexpected tag {format_path((), tag)}", offset=offset,
                             path=self._error_path(top))

    def _close_delimited(self, top: _Frame, tag: int, length: int, offset: int) -> _Frame:
        """An item or sequence delimiter at ``offset`` closes ``top``; returns the new top
        frame (the caller steps over the 8 bytes)."""
        if length or top.end is not None:
            self._check_delimiter(top, tag, length, offset)
        kind = top.kind
        if tag == ITEM_DELIMITER:
            if kind != _ITEM or top.parent is None:
                raise StructureError("item delimiter outside an item", offset=offset,
                                     path=self._error_path(top))
            self._out.append(_new(ItemEnd, (top.index, True, offset, top.path)))
        else:
            if kind == _SEQ:
                self._out.append(_new(SequenceEnd, (top.tag, True, offset, top.path)))
            elif kind == _FRAGS:
                self._out.append(_new(FragmentsEnd, (top.tag, offset)))
            else:
                raise StructureError("sequence delimiter outside a sequence", offset=offset,
                                     path=self._error_path(top))
            self._depth -= 1
        stack = self._stack
        stack.pop()
        if len(stack) < self._raw_low:
            self._raw_low = len(stack)
        return stack[-1]

    def _check_delimiter(self, top: _Frame, tag: int, length: int, offset: int) -> None:
        """A delimitation item: its length must be 0 (PS3.5 7.5.2; tolerated with a
        warning, as pydicom does — the events cannot carry it, so a re-encoding writes 0),
        and it may only close a container of undefined length (one of defined length
        ends where its length says: a delimiter inside it is a structural error; under
        ``lenient`` a warning, and it closes the container)."""
        what = "item" if tag == ITEM_DELIMITER else "sequence"
        if length:
            self._warn(f"{what} delimiter at offset {offset} has length {length}, not 0 "
                       "(re-encoded as 0)", 6)
        if top.end is not None and top.kind == (_ITEM if tag == ITEM_DELIMITER else _SEQ):
            message = (f"{what} delimiter inside an {what} of defined length "
                       f"(it ends at offset {top.end})")
            if not self._lenient:
                raise StructureError(message, offset=offset, path=self._error_path(top))
            self._warn(f"{message} at offset {offset}", 6)

    def _end_error(self, top: _Frame, end: int, what: str, length: int, offset: int,
                   tag: int) -> NoReturn:
        """A ``what`` of ``length`` bytes at ``offset`` ends at ``end``, past ``top.hard``:
        past its container, or past the end of the input."""
        what = f"{what} of {length} bytes"
        limit = top.limit
        if limit is not None and end > limit:
            raise ContainerOverrunError(
                f"{what} runs {end - limit} bytes past its container", offset=offset,
                path=self._error_path(top, tag))
        raise LengthExceedsSourceError(f"{what} runs past the end of the input",
                                       offset=offset, path=self._error_path(top, tag))

    def _open_container(self, top: _Frame, tag: int, vr: str, length: int, offset: int,
                        implicit: bool) -> _Frame:
        """A sequence (SQ, UN, or implicit VR with undefined length) or pixel fragments."""
        if top.kind != _ITEM:
            raise StructureError("element outside an item", offset=offset,
                                 path=self._error_path(top, tag))
        if self._depth >= self._max_depth:
            raise NestingTooDeepError(f"sequences nested deeper than {self._max_depth}",
                                      offset=offset, path=self._error_path(top, tag))
        undefined = length == UNDEFINED_LENGTH
        if vr != "SQ" and (vr in ("OB", "OW") or (implicit and tag >> 16 == 0x7FE0)):
            if not undefined:  # pragma: no cover - defined-length OB/OW never get here
                raise StructureError("fragments need an undefined length", offset=offset)
            frame_vr = "OB" if implicit else vr
            frame = _Frame(_FRAGS, tag, frame_vr, None, top.limit, top.hard, top.path, 0,
                           top.implicit, top.little, top)
            self._out.append(_new(FragmentsStart, (tag, frame_vr, offset, top.path)))
        elif vr == "SQ" or vr == "UN" or implicit:
            # Only a VR *written* as UN makes a CP-246 sequence; in implicit VR it is SQ.
            un = vr == "UN" and not implicit
            seq_vr = "UN" if un else "SQ"
            if undefined:
                frame = _Frame(_SEQ, tag, seq_vr, None, top.limit, top.hard, top.path, 0,
                               True if un else top.implicit, True if un else top.little, top)
            else:
                end = self._pos + self._base + length
                hard = top.hard
                if hard is not None and end > hard:
                    self._end_error(top, end, "sequence", length, offset, tag)
                frame = _Frame(_SEQ, tag, seq_vr, end, end, end, top.path, 0,
                               True if un else top.implicit, True if un else top.little, top)
            self._out.append(_new(SequenceStart, (tag, seq_vr, length, offset, top.path)))
        else:
            # Only SQ, UN and encapsulated OB/OW may have it (PS3.5 7.1.2): a bad length.
            raise InvalidLengthError(f"undefined length on a {vr} element", offset=offset,
                                     path=self._error_path(top, tag))
        self._depth += 1
        self._stack.append(frame)
        return frame

    def _open_item(self, seq: _Frame, length: int, offset: int) -> _Frame:
        """An item header at ``offset`` opens an item of ``seq`` (the caller steps over
        its 8 bytes)."""
        index = seq.index
        seq.index = index + 1
        path = (*seq.path, (seq.tag, index))
        if length != UNDEFINED_LENGTH:
            end = offset + 8 + length
            hard = seq.hard
            if hard is not None and end > hard:
                self._end_error(seq, end, "item", length, offset, seq.tag)
            # Inside ``hard`` (so inside the source too): the item's end is its limit.
            item = _Frame(_ITEM, seq.tag, "", end, end, end, path, index, seq.implicit,
                          seq.little, seq)
        else:
            item = _Frame(_ITEM, seq.tag, "", None, seq.limit, seq.hard, path, index,
                          seq.implicit, seq.little, seq)
        self._out.append(_new(ItemStart, (index, length, offset, path)))
        self._stack.append(item)
        return item

    def _fragment(self, frags: _Frame, length: int, offset: int) -> bool:
        """One fragment; False if its bytes have not all arrived yet."""
        if length == UNDEFINED_LENGTH:
            raise StructureError("fragment with undefined length", offset=offset,
                                 path=self._error_path(frags, frags.tag))
        hard = frags.hard
        if hard is not None and offset + 8 + length > hard:
            self._end_error(frags, offset + 8 + length, "fragment", length, offset, frags.tag)
        index = frags.index
        if length <= self._threshold:
            if not self._ensure(8 + length):
                return False
            pos = self._pos
            value = self._buf[pos + 8:pos + 8 + length]
            self._out.append(_new(Fragment, (index, length, value, offset)))
            self._pos = pos + 8 + length
        else:
            self._out.append(_new(ValueStart, (ITEM, frags.vr, length, offset, frags.path)))
            self._pos += 8
            self._value_left = length
            self._value_tag = ITEM
            self._set_state(State.VALUE)
        frags.index = index + 1
        return True

    def _close_defined(self, top: _Frame, here: int) -> _Frame:
        """The defined length of ``top`` has been read (the input is at offset ``here``):
        close it; returns the new top frame."""
        end = top.end
        assert end is not None
        if here > end:
            raise ContainerOverrunError(f"content runs {here - end} bytes past its container",
                                        offset=end, path=self._error_path(top))
        if top.kind == _SEQ:
            self._out.append(_new(SequenceEnd, (top.tag, False, here, top.path)))
            self._depth -= 1
        else:
            self._out.append(_new(ItemEnd, (top.index, False, here, top.path)))
        stack = self._stack
        stack.pop()
        if len(stack) < self._raw_low:
            self._raw_low = len(stack)
        return stack[-1]

    def _dataset_needs_data(self, top: _Frame) -> bool:
        """Called when a header or value is incomplete: wait, end, or report truncation."""
        if not self._input_exhausted():
            return False
        offset = self._base + self._pos
        if self._unread() == 0 and len(self._stack) == 1:
            if self._inflater is not None and self._inflater.cut_short:
                # Inflated bytes can end between two elements though the stream goes on.
                self._truncated(top, offset, "the deflate stream ends before its last block")
                return False
            problem = self._inflater.trailing_problem() if self._inflater else None
            if problem is not None:
                if not self._lenient:
                    raise StructureError(problem, offset=offset)
                self.warnings.append(problem)
                warnings.warn(problem, DicomStreamWarning, stacklevel=4)
            self._out.append(_new(DatasetEnd, (offset,)))
            self._set_state(State.DONE)
            return False
        self._truncated(top, offset)
        return False

    def _truncated(self, top: _Frame, offset: int, why: str | None = None) -> None:
        unread = self._unread()
        what = f"input ends with {unread} unread bytes" if unread else "input ends"
        if why:
            what += f": {why}"
        open_containers = len(self._stack) - 1
        if open_containers:
            what += f" inside {open_containers} open container(s)"
        if not self._lenient:
            raise TruncatedError(what, offset=offset, path=self._error_path(top))
        message = f"{what} at offset {offset}"
        self.warnings.append(message)
        warnings.warn(message, DicomStreamWarning, stacklevel=4)
        self._close_all(offset)

    def _close_all(self, offset: int) -> None:
        """Lenient end: close the value being streamed (short of its declared length) and
        every open container, then end the dataset."""
        self._raw_valid = False  # these ends were never in the input
        if self._state is State.VALUE:
            self._out.append(_new(ValueEnd, (self._value_tag, offset)))
            self._value_left = 0
        while len(self._stack) > 1:
            top = self._stack.pop()
            delimited = top.end is None
            if top.kind == _SEQ:
                self._out.append(_new(SequenceEnd, (top.tag, delimited, offset, top.path)))
            elif top.kind == _FRAGS:
                self._out.append(_new(FragmentsEnd, (top.tag, offset)))
            else:
                self._out.append(_new(ItemEnd, (top.index, delimited, offset, top.path)))
        self._out.append(_new(DatasetEnd, (offset,)))
        self._discard_input()
        self._state = State.DONE

    # -- large values ------------------------------------------------------------------

    def _stream_value(self) -> bool:
        out = self._out.append
        chunk = self._chunk
        left = self._value_left
        while left:
            # Chunks end at stream offsets that are multiples of the chunk size: fixed by
            # the stream, never by how it was split, and a source that reads at aligned
            # offsets (files do) gets every chunk as a view of one buffer, never a copy.
            size = chunk - (self._base + self._pos) % chunk
            if size > left:
                size = left
            if not self._ensure(size):
                rest = self._unread()
                if self._input_exhausted() and self._lenient and rest and self._ensure(rest):
                    # Lenient: what was read of a cut value is delivered, not dropped.
                    pos = self._pos
                    out(_new(ValueChunk, (memoryview(self._buf)[pos:pos + rest],
                                          self._base + pos)))
                    self._pos = pos + rest
                    left -= rest
                self._value_left = left
                if self._input_exhausted():
                    self._truncated(self._stack[-1], self._base + self._pos)
                    return False
                return False
            pos = self._pos
            out(_new(ValueChunk, (memoryview(self._buf)[pos:pos + size], self._base + pos)))
            self._pos = pos + size
            left -= size
        self._value_left = 0
        out(_new(ValueEnd, (self._value_tag, self._base + self._pos)))
        self._set_state(State.DATASET)
        return True





def parse_bytes(data: bytes, **options: object) -> list[Event]:
    """Parse a complete input held in memory; ``options`` go to :class:`Parser`."""
    parser = Parser(**options)  # type: ignore[arg-type]
    parser.receive_data(data)
    parser.receive_data(b"")
    return parser.events()
