"""The ``edit`` stage: set, replace, insert or delete elements anywhere in the stream.

Targets are keywords, tags or tag paths (``ReferencedSeriesSequence[*].SeriesInstanceUID``).
Values are Python values (or a callable receiving the old decoded value) encoded with
the element's VR, the stream's byte order at that point and the character set in force
there; an element that is not present is inserted at its place in tag order, in every
item the path addresses. Elements of the file meta group (0002,xxxx) are edited in the
meta group.

================ ====================================================================
action           effect
================ ====================================================================
``set``          replace the value if the element exists, else insert it
``replace``      replace the value only if the element exists
``insert``       insert only if the element does not exist
``delete``       remove the element (a sequence with all its items)
================ ====================================================================
"""

from __future__ import annotations

__all__ = ("Edit", "EditStage", "coerce_text_value")

from itertools import compress, count, islice, repeat
from operator import eq, le
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple

from dicomstream.context import StreamContext
from dicomstream.errors import EncodeError, StageError
from dicomstream.events import (
    DatasetEnd,
    DatasetStart,
    Element,
    FragmentsEnd,
    FragmentsStart,
    ItemEnd,
    ItemStart,
    SequenceEnd,
    SequenceStart,
    Splice,
    ValueEnd,
    ValueStart,
)
from dicomstream.stages._base import SyncStage
from dicomstream.stages._paths import TagPattern, parse_tag_path, resolve_tag
from dicomstream.stages._scan import TAGGED_STARTS, closing_index, open_containers, tag_column
from dicomstream.tags import format_tag
from dicomstream.values import encode_value

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping

    from dicomstream.events import Event
    from dicomstream.tags import TagPath

_ACTIONS = frozenset({"set", "replace", "insert", "delete"})
_NUMERIC = frozenset({"US", "SS", "UL", "SL", "UV", "SV"})
_FLOATS = frozenset({"FL", "FD"})
_BINARY = frozenset({"OB", "OW", "OD", "OF", "OL", "OV", "UN"})


class CliText(str):
    """A value typed on a command line: converted per VR once the VR is known."""

    __slots__ = ()


_CACHEABLE = frozenset({str, CliText, int, float, bytes})
_ENCODED: dict[tuple[Any, ...], bytes] = {}
"""Encoded values of edits by (VR, value type, value, little endian, character set)."""


def coerce_text_value(vr: str, text: str) -> Any:
    """Turn command-line text into the Python value ``encode_value`` expects for ``vr``.

    Numbers are split on backslashes (``1\\2\\3``); AT takes tags or keywords; binary
    VRs take hex (``0x0102…``) or the text's bytes; text VRs take the text as is.
    """
    if vr in _NUMERIC:
        values = [int(v, 0) for v in text.split("\\") if v.strip()]
        return values[0] if len(values) == 1 else values
    if vr in _FLOATS:
        floats = [float(v) for v in text.split("\\") if v.strip()]
        return floats[0] if len(floats) == 1 else floats
    if vr == "AT":
        tags = [resolve_tag(v) for v in text.split("\\") if v.strip()]
        return tags[0] if len(tags) == 1 else tags
    if vr in _BINARY:
        return bytes.fromhex(text[2:]) if text.lower().startswith("0x") else text.encode()
    return text


class Edit(NamedTuple):
    """One edit.

    Attributes:
        action: ``set``, ``replace``, ``insert`` or ``delete``.
        pattern: what it addresses.
        value: the new value, or a callable ``old_value -> new_value``.
        vr: the VR to write (default: the existing element's, else the dictionary's).
    """

    action: str
    pattern: TagPattern
    value: Any = None
    vr: str | None = None

    @classmethod
    def parse(cls, action: str, target: str | int | TagPattern, value: Any = None,
              vr: str | None = None) -> Edit:
        """Build an edit from a keyword, tag, tag path or pattern."""
        if action not in _ACTIONS:
            raise ValueError(f"unknown edit action {action!r}")
        if isinstance(target, TagPattern):
            pattern = target
        elif isinstance(target, int):
            pattern = TagPattern((), target)
        else:
            pattern = parse_tag_path(target)
        return cls(action, pattern, value, vr)


def _dictionary_vr(tag: int) -> str | None:
    from dicomstream.dictionary import lookup

    entry = lookup(tag)
    if entry is None or entry.vr in ("", "NONE"):
        return None
    return entry.vr.split(" or ", 1)[0]


class _Level:
    """An open dataset or item and the inserts still due in it."""

    __slots__ = ("path", "pending")

    def __init__(self, path: TagPath, pending: list[Edit]) -> None:
        self.path = path
        self.pending = pending


class EditStage(SyncStage):
    """Apply :class:`Edit`\\ s to the stream.

    Args:
        edits: edits in any order (several may address the same tag at different paths;
            the first matching one wins).
        set, replace, insert: ``{target: value}`` shorthands.
        delete: targets to delete.
    """

    name: ClassVar[str] = "edit"
    max_lookahead: ClassVar[int] = 0

    def __init__(
        self,
        edits: Iterable[Edit] = (),
        *,
        set: Mapping[str | int, Any] | None = None,  # noqa: A002 - mirrors the CLI option
        replace: Mapping[str | int, Any] | None = None,
        insert: Mapping[str | int, Any] | None = None,
        delete: Iterable[str | int] = (),
    ) -> None:
        all_edits = list(edits)
        for action, mapping in (("set", set), ("replace", replace), ("insert", insert)):
            for target, value in (mapping or {}).items():
                all_edits.append(Edit.parse(action, target, value))
        all_edits.extend(Edit.parse("delete", target) for target in delete)
        self.edits = tuple(all_edits)
        self._by_tag: dict[int, list[Edit]] = {}
        for edit in self.edits:
            self._by_tag.setdefault(edit.pattern.tag, []).append(edit)
        self._ctx = StreamContext()
        self._levels = [_Level((), self._due((), meta=True))]
        self._skip_depth = 0
        self._skip_value = False
        self._has_meta = True
        # With edits of top-level elements only (the usual --set/--delete), what a
        # sequence holds is passed on unread: only its depth is followed (``_nested``).
        self._top_only = all(not edit.pattern.steps for edit in self.edits)
        self._nested = 0
        # The tags _jump stops at (besides the next pending insert's place).
        self._watch = frozenset(self._by_tag) | {0x00080005}
        self._in_dataset = False

    @classmethod
    def from_cli(cls, options: Mapping[str, str]) -> EditStage:
        """``--stage edit:PatientName=ANON,PatientID=X``: each option sets a value."""
        return cls(set={k: CliText(v) for k, v in options.items()})

    def _due(self, path: TagPath, *, meta: bool = False) -> list[Edit]:
        """Set/insert edits addressed to the item at ``path``, in tag order."""
        due = []
        for edit in self.edits:
            if edit.action not in ("set", "insert") or not edit.pattern.matches_level(path):
                continue
            if not path and (edit.pattern.tag >> 16 == 0x0002) != meta:
                continue
            due.append(edit)
        due.sort(key=lambda e: e.pattern.tag)
        return due

    def _match(self, tag: int, path: TagPath) -> Edit | None:
        for edit in self._by_tag.get(tag, ()):
            if edit.pattern.matches_level(path):
                return edit
        return None

    def _make(self, edit: Edit, path: TagPath, old: Element | None = None,
              vr: str | None = None) -> Element:
        tag = edit.pattern.tag
        if vr == "UN":  # written as UN (unknown to its writer): the dictionary knows better
            vr = _dictionary_vr(tag) or vr
        vr = edit.vr or vr or _dictionary_vr(tag)
        if vr is None:
            raise StageError(f"edit of {format_tag(tag)}: VR unknown; give it explicitly")
        value = edit.value
        if callable(value):
            value = value(self._ctx.decode(old) if old is not None else None)
        meta = tag >> 16 == 0x0002 and not path
        little = True if meta else self._ctx.little_endian
        charset = None if meta else self._ctx.charset
        # A bulk run makes the same values for every input: encode each once.
        key = (vr, type(value), value, little, charset) if type(value) in _CACHEABLE else None
        raw = _ENCODED.get(key) if key is not None else None
        if raw is None:
            if isinstance(value, CliText):
                value = coerce_text_value(vr, value)
            try:
                raw = encode_value(vr, value, little_endian=little, charset=charset)
            except EncodeError as exc:
                raise StageError(f"edit of {format_tag(tag)}: {exc}") from exc
            if key is not None:
                if len(_ENCODED) >= 1024:
                    _ENCODED.clear()
                _ENCODED[key] = raw
        return Element(tag, vr, len(raw), raw, -1, path)

    def _due_now(self, level: _Level, below: int | None) -> list[Event]:
        """The pending inserts of ``level`` that go before tag ``below`` (all of them
        for ``None``), made and fed to the context."""
        made: list[Event] = []
        pending = level.pending
        while pending and (below is None or pending[0].pattern.tag < below):
            element = self._make(pending.pop(0), level.path)
            made.append(element)
            self._ctx.feed(element)
        return made

    def _settle_pending(self, splice: Splice, i: int, level: _Level, tag: int) -> None:
        """Element ``tag`` comes at ``i``: the pending inserts with smaller tags go in
        before it; one for this very tag is settled (the element exists: a set becomes
        a replace, an insert a no-op)."""
        pending = level.pending
        if pending[0].pattern.tag < tag:
            splice.insert(i, self._due_now(level, tag))
        while pending and pending[0].pattern.tag == tag:
            pending.pop(0)

    def transform(self, batch: list[Event]) -> list[Event]:
        # Changes are described with a Splice: a batch the edits do not touch goes on as
        # the very list it came as, and the encoder copies what they leave alone.
        splice = Splice(batch)
        n = len(batch)
        i = 0
        while i < n:
            if self._top_only and self._in_dataset and not (self._skip_depth or
                                                            self._skip_value):
                i = self._jump(batch, i, splice)
            else:
                i = self._walk(batch, i, splice)
        return splice.result()

    def _jump(self, batch: list[Event], start: int, splice: Splice) -> int:  # noqa: C901 - flat dispatch
        """The dataset proper with edits of top-level elements only: instead of following
        every event, search the tags (at C speed) for the few that matter — top-level
        elements an edit addresses, the place of the next pending insert, Specific
        Character Set — and skip what sequences hold by their paths. Returns where it
        stopped (the end of the batch)."""
        self._nested = 0  # nesting is read from paths here
        n = len(batch)
        tags = tag_column(batch, start)
        size = len(tags)
        watch = self._watch
        by_tag = self._by_tag
        level = self._levels[-1]
        pending = level.pending
        # Where the watched tags are, and (per pending insert) where the tags are at
        # least the insert's: lazy iterators, so every tag is looked at once per search.
        watched = compress(count(), map(watch.__contains__, tags))
        next_watched = next(watched, size)
        due = -1
        at_least_due: Iterator[int] = iter(())
        next_due = size
        k = 0  # the next position (in ``tags``) to look at
        while k < size:
            while next_watched < k:
                next_watched = next(watched, size)
            hit = next_watched
            if pending:  # or the first tag past the next insert, if that comes first
                if pending[0].pattern.tag != due:
                    due = pending[0].pattern.tag
                    at_least_due = compress(count(k), map(le, repeat(due),
                                                          islice(tags, k, None)))
                    next_due = next(at_least_due, size)
                while next_due < k:
                    next_due = next(at_least_due, size)
                hit = min(hit, next_due)
            if hit == size:
                break
            k = hit + 1
            i = start + hit
            ev = batch[i]
            cls = type(ev)
            if cls not in TAGGED_STARTS or ev.path:  # type: ignore[attr-defined]
                continue  # a container's end, or inside a sequence
            tag = tags[hit]
            if pending:
                self._settle_pending(splice, i, level, tag)
            if tag in by_tag:
                edit = self._match(tag, ())
                if edit is not None and edit.action != "insert":
                    made = self._apply(edit, ev, ())
                    if not (self._skip_depth or self._skip_value):
                        splice.replace(i, made)
                        continue
                    # A deleted or replaced container or streamed value: drop to its end.
                    splice.insert(i, made)
                    same_tag = compress(count(i + 1), map(eq, islice(tags, hit + 1, None),
                                                          repeat(tag)))
                    end = closing_index(batch, i, same_tag)
                    if end < 0:  # it goes on in the next batch: the walk follows it
                        splice.drop(i, n)
                        if self._skip_depth:
                            self._skip_depth = open_containers(batch, i)
                        return n
                    splice.drop(i, end + 1)
                    self._skip_depth, self._skip_value = 0, False
                    k = end + 1 - start
                    continue
            if tag == 0x00080005:
                self._ctx.feed(ev)
        if pending and type(batch[-1]) is DatasetEnd:
            splice.insert(n - 1, self._due_now(level, None))
        return n

    def _walk(self, batch: list[Event], start: int, splice: Splice) -> int:  # noqa: C901 - flat dispatch
        """Follow ``batch`` event by event from ``start``; returns where it stopped: the
        end of the batch, or (with top-level edits only) the start of the dataset."""
        # The hot loop keeps its state in locals (the open level, its pending inserts,
        # the skip counters), stored back on ``self`` around the calls that use them.
        ctx = self._ctx
        by_tag = self._by_tag
        top_only = self._top_only
        nested = self._nested
        skip_depth, skip_value = self._skip_depth, self._skip_value
        skip_from = start  # where the stretch being skipped (a deleted container) began
        level = self._levels[-1]
        pending = level.pending
        n = len(batch)
        for i in range(start, n):
            ev = batch[i]
            cls = type(ev)
            if nested:  # inside a top-level sequence, with top-level edits only
                if cls is SequenceStart:
                    nested += 1
                elif cls is SequenceEnd:
                    nested -= 1
                continue
            if skip_depth:
                if cls is SequenceStart or cls is FragmentsStart:
                    skip_depth += 1
                elif cls is SequenceEnd or cls is FragmentsEnd:
                    skip_depth -= 1
                    if not skip_depth:
                        splice.drop(skip_from, i + 1)
                continue
            if skip_value:
                if cls is ValueEnd:
                    skip_value = False
                    splice.drop(skip_from, i + 1)
                continue
            if cls is Element or cls is SequenceStart or cls is ValueStart or \
                    cls is FragmentsStart:
                tag: int = ev[0]  # type: ignore[index]  # every one of them starts with its tag
                if pending:
                    self._settle_pending(splice, i, level, tag)
                if tag in by_tag:
                    edit = self._match(tag, level.path)
                    if edit is not None and edit.action != "insert":
                        made = self._apply(edit, ev, level.path)  # may start a skip
                        skip_depth, skip_value = self._skip_depth, self._skip_value
                        if skip_depth or skip_value:
                            splice.insert(i, made)  # the skip drops from ``i`` on
                            skip_from = i
                        else:
                            splice.replace(i, made)
                        continue
                if cls is Element:
                    # The context only follows Specific Character Set, private creators
                    # and containers: skip the call for every other element.
                    if tag == 0x00080005 or (tag & 0x10000 and 0x10 <= tag & 0xFFFF <= 0xFF):
                        ctx.feed(ev)
                elif cls is SequenceStart and top_only:
                    nested = 1
                else:
                    ctx.feed(ev)
                continue
            if cls is ItemStart:
                ctx.feed(ev)
                self._levels.append(_Level(ev.path, self._due(ev.path)))  # type: ignore[attr-defined]
                level = self._levels[-1]
                pending = level.pending
            elif cls is ItemEnd:
                if pending:
                    splice.insert(i, self._due_now(level, None))
                self._levels.pop()
                ctx.feed(ev)
                level = self._levels[-1]
                pending = level.pending
            elif cls is DatasetStart:
                self._has_meta = ev.has_meta  # type: ignore[attr-defined]
                if self._has_meta and pending:
                    splice.insert(i, self._due_now(level, None))
                ctx.feed(ev)
                self._levels = [_Level((), self._due(()))]
                self._in_dataset = True
                if top_only:  # what follows is searched, not followed (see _jump)
                    self._skip_depth, self._skip_value = skip_depth, skip_value
                    return i + 1
                level = self._levels[-1]
                pending = level.pending
            elif cls is DatasetEnd:
                if pending:
                    splice.insert(i, self._due_now(level, None))
            else:
                ctx.feed(ev)
        if skip_depth or skip_value:
            splice.drop(skip_from, n)
        self._nested = nested
        self._skip_depth, self._skip_value = skip_depth, skip_value
        return n

    def _apply(self, edit: Edit, ev: Event, path: TagPath) -> list[Event]:
        """The events that replace ``ev``; a deleted or replaced container or streamed
        value also starts a skip of what it holds (``_skip_depth``/``_skip_value``, set
        here either way: the walk keeps the ones of an earlier skip in locals, so what
        is on ``self`` may be stale)."""
        self._skip_depth, self._skip_value = 0, False
        cls = type(ev)
        if edit.action == "delete":
            if cls is SequenceStart or cls is FragmentsStart:
                self._skip_depth = 1
            elif cls is ValueStart:
                self._skip_value = True
            return []
        if cls is SequenceStart:
            raise StageError(f"cannot {edit.action} sequence {edit.pattern} with a value; "
                             "edit its items or delete it")
        if cls is FragmentsStart:
            self._skip_depth = 1
            element = self._make(edit, path, None, ev.vr)  # type: ignore[attr-defined]
        elif cls is ValueStart:
            self._skip_value = True
            element = self._make(edit, path, None, ev.vr)  # type: ignore[attr-defined]
        else:
            assert isinstance(ev, Element)
            element = self._make(edit, path, ev, ev.vr)
        self._ctx.feed(element)
        return [element]

