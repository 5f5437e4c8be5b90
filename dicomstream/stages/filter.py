"""The ``filter`` stage: drop private elements, groups or tags, or everything from the
pixel data on.

Removal rules (private, groups, tags) apply at every depth; keep lists apply to the top
level of the dataset (what a kept sequence holds is kept whole), never to the file meta
group. ``stop_before_pixels`` drops (7FE0,0008/0009/0010) and everything after them at
the top level, as pydicom's ``stop_before_pixels`` does.
"""

from __future__ import annotations

__all__ = ("FilterStage",)

from itertools import chain, compress, count, repeat
from operator import and_, rshift
from typing import TYPE_CHECKING, ClassVar

from dicomstream.events import (
    DatasetEnd,
    DatasetStart,
    Element,
    FragmentsEnd,
    FragmentsStart,
    SequenceEnd,
    SequenceStart,
    Splice,
    ValueEnd,
    ValueStart,
)
from dicomstream.stages._base import SyncStage
from dicomstream.stages._paths import resolve_tag
from dicomstream.stages._scan import TAGGED_STARTS, closing_index, open_containers, tag_column

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from dicomstream.events import Event

_PIXEL_TAGS = frozenset({0x7FE00008, 0x7FE00009, 0x7FE00010})


def _parse_groups(text: str) -> list[int]:
    return [int(g, 16) for g in text.replace(";", " ").replace(",", " ").split()]


class FilterStage(SyncStage):
    """Drop elements by rule.

    Args:
        remove_private: drop elements of odd groups (private creators included; also the
            illegal groups 0001-0007, as pydicom does).
        remove_groups: groups to drop, e.g. ``[0x0009, 0x6000]``.
        remove_tags: tags or keywords to drop wherever they are.
        keep_groups: if given, drop top-level elements of other groups (not 0002).
        keep_tags: if given, drop top-level elements not listed (not 0002).
        stop_before_pixels: drop the pixel data and all that follows it.
    """

    name: ClassVar[str] = "filter"

    def __init__(self, *, remove_private: bool = False, remove_groups: Iterable[int] = (),
                 remove_tags: Iterable[int | str] = (), keep_groups: Iterable[int] | None = None,
                 keep_tags: Iterable[int | str] | None = None,
                 stop_before_pixels: bool = False) -> None:
        self.remove_private = remove_private
        self.remove_groups = frozenset(remove_groups)
        self.remove_tags = frozenset(t if isinstance(t, int) else resolve_tag(t)
                                     for t in remove_tags)
        self.keep_groups = None if keep_groups is None else frozenset(keep_groups) | {2}
        self.keep_tags = None if keep_tags is None else frozenset(
            t if isinstance(t, int) else resolve_tag(t) for t in keep_tags)
        self.stop_before_pixels = stop_before_pixels
        self._by_tag_only = (self.keep_groups is None and self.keep_tags is None
                             and not stop_before_pixels)
        self._skip_depth = 0
        self._skip_value = False
        self._stopped = False

    @classmethod
    def from_cli(cls, options: Mapping[str, str]) -> FilterStage:
        """``--stage filter:remove_private=1,remove_groups=0009;0019,stop_before_pixels=1``"""
        def flag(key: str) -> bool:
            return options.get(key, "0").lower() in ("1", "true", "yes", "on")

        return cls(
            remove_private=flag("remove_private"),
            remove_groups=_parse_groups(options.get("remove_groups", "")),
            remove_tags=[t for t in options.get("remove_tags", "").split(";") if t],
            keep_groups=_parse_groups(options["keep_groups"]) if "keep_groups" in options
            else None,
            keep_tags=[t for t in options["keep_tags"].split(";") if t]
            if "keep_tags" in options else None,
            stop_before_pixels=flag("stop_before_pixels"))

    def _drop(self, tag: int, top: bool) -> bool:
        group = tag >> 16
        # Odd groups 0001-0007 are not private by PS3.5 §7.8.1, but no valid file uses
        # them; like pydicom's remove_private_tags, they go too.
        if self.remove_private and group & 1 and group != 0xFFFF:
            return True
        if group in self.remove_groups or tag in self.remove_tags:
            return True
        if top and group != 0x0002:
            if self.keep_groups is not None and group not in self.keep_groups:
                return True
            if self.keep_tags is not None and tag not in self.keep_tags:
                return True
        return False

    def transform(self, batch: list[Event]) -> list[Event]:
        # Changes are described with a Splice: a batch that loses nothing goes on as the
        # very list it came as, and the encoder copies the stretches that are left.
        splice = Splice(batch)
        if self._by_tag_only and not (self._skip_depth or self._skip_value):
            self._drop_by_tag(batch, splice)
        else:
            self._walk(batch, splice)
        return splice.result()

    def _drop_by_tag(self, batch: list[Event], splice: Splice) -> None:
        """Rules that look at nothing but the tag (private, groups, tags, at any depth):
        the events they may drop are found at C speed; only those are looked at."""
        tags = tag_column(batch, missing=0)
        marks: list[Iterable[int]] = []
        if self.remove_private:
            marks.append(compress(count(), map(and_, tags, repeat(0x10000))))
        if self.remove_tags:
            marks.append(compress(count(), map(self.remove_tags.__contains__, tags)))
        if self.remove_groups:
            marks.append(compress(count(), map(self.remove_groups.__contains__,
                                               map(rshift, tags, repeat(16)))))
        if not marks:  # no rule at all
            return
        candidates = list(marks[0]) if len(marks) == 1 else sorted(set(chain(*marks)))
        drop = self._drop
        private_only = len(marks) == 1 and self.remove_private
        n = len(batch)
        done = 0  # batch[:done] is decided
        run_start = run_stop = 0  # dropped elements next to each other, dropped at once
        for c, i in enumerate(candidates):
            if i < done:
                continue
            ev = batch[i]
            cls = type(ev)
            if cls is Element:
                tag = tags[i]
                if not (tag >> 16 != 0xFFFF if private_only else drop(tag, False)):
                    continue
                if i != run_stop:
                    if run_stop > run_start:
                        splice.drop(run_start, run_stop)
                    run_start = i
                run_stop = done = i + 1
                continue
            if cls not in TAGGED_STARTS or not drop(tags[i], False):
                continue  # the end of a container or value: its start decided
            if run_stop > run_start:
                splice.drop(run_start, run_stop)
                run_start = run_stop
            # Its closing event has the same tag: it is among the later candidates.
            end = closing_index(batch, i, map(candidates.__getitem__,
                                              range(c + 1, len(candidates))))
            if end < 0:  # it goes on in the next batch
                splice.drop(i, n)
                if cls is ValueStart:
                    self._skip_value = True
                else:
                    self._skip_depth = open_containers(batch, i)
                return
            splice.drop(i, end + 1)
            done = end + 1
        if run_stop > run_start:
            splice.drop(run_start, run_stop)

    def _walk(self, batch: list[Event], splice: Splice) -> None:
        # The hot loop works on locals and keeps its state on ``self`` between batches.
        stopped, skip_depth, skip_value = self._stopped, self._skip_depth, self._skip_value
        private = self.remove_private
        groups, tags = self.remove_groups, self.remove_tags
        by_rule = bool(groups or tags) or self.keep_groups is not None \
            or self.keep_tags is not None
        stop_pixels = self.stop_before_pixels
        dropping = -1  # where the run of dropped events being built began
        for i, ev in enumerate(batch):
            cls = type(ev)
            if stopped:
                drop = cls is not DatasetEnd
            elif skip_depth:
                if cls is SequenceStart or cls is FragmentsStart:
                    skip_depth += 1
                elif cls is SequenceEnd or cls is FragmentsEnd:
                    skip_depth -= 1
                drop = True
            elif skip_value:
                if cls is ValueEnd:
                    skip_value = False
                drop = True
            elif cls is Element or cls is SequenceStart or cls is ValueStart or \
                    cls is FragmentsStart:
                tag: int = ev[0]  # type: ignore[index]  # every one of them starts with its tag
                if private and tag & 0x10000 and tag >> 16 != 0xFFFF:
                    drop = True
                elif stop_pixels and tag in _PIXEL_TAGS and not ev.path:  # type: ignore[attr-defined]
                    stopped = drop = True
                else:
                    drop = by_rule and self._drop(tag, not ev.path)  # type: ignore[attr-defined]
                if drop and not stopped:
                    if cls is SequenceStart or cls is FragmentsStart:
                        skip_depth = 1
                    elif cls is ValueStart:
                        skip_value = True
            else:
                if cls is DatasetStart:
                    stopped = False
                drop = False
            if drop:
                if dropping < 0:
                    dropping = i
            elif dropping >= 0:
                splice.drop(dropping, i)
                dropping = -1
        if dropping >= 0:
            splice.drop(dropping, len(batch))
        self._stopped, self._skip_depth, self._skip_value = stopped, skip_depth, skip_value

