"""The ``filter`` stage: drop private elements, groups or tags, or everything from the
pixel data on.

Removal rules (private, groups, tags) apply at every depth; keep lists apply to the top
level of the dataset (what a kept sequence holds is kept whole), never to the file meta
group. ``stop_before_pixels`` drops (7FE0,0008/0009/0010) and everything after them at
the top level, as pydicom's ``stop_before_pixels`` does.
"""

from __future__ import annotations

__all__ = ("FilterStage",)

from typing import TYPE_CHECKING, ClassVar

from dicomstream.events import (
    DatasetEnd,
    DatasetStart,
    Element,
    FragmentsEnd,
    FragmentsStart,
    SequenceEnd,
    SequenceStart,
    ValueEnd,
    ValueStart,
)
from dicomstream.stages._base import SyncStage
from dicomstream.stages._paths import resolve_tag

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
        # The hot loop works on locals and keeps its state on ``self`` between batches.
        # Nothing is copied until the first event is dropped: a batch that loses nothing
        # is passed on as the very list it came as, which the encoder writes verbatim.
        stopped, skip_depth, skip_value = self._stopped, self._skip_depth, self._skip_value
        private = self.remove_private
        groups, tags = self.remove_groups, self.remove_tags
        by_rule = bool(groups or tags) or self.keep_groups is not None \
            or self.keep_tags is not None
        stop_pixels = self.stop_before_pixels
        out: list[Event] | None = None
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
                if out is None:
                    out = batch[:i]
            elif out is not None:
                out.append(ev)
        self._stopped, self._skip_depth, self._skip_value = stopped, skip_depth, skip_value
        return batch if out is None else out
