"""Addressing elements inside an event stream: ``ReferencedSeriesSequence[*].SeriesInstanceUID``.

A :class:`TagPattern` is a chain of sequence steps (a sequence tag and an item index,
or any item) ending in an element tag. It matches an event when the event's ``path``
has one step per sequence step and the tags and indexes agree. Each step may be written
as a keyword, ``(gggg,eeee)``, ``gggg,eeee``, ``ggggeeee`` or ``0xggggeeee``; an index
is ``[n]`` or ``[*]`` (a step without brackets means every item).
"""

from __future__ import annotations

__all__ = ("TagPattern", "parse_tag_path", "resolve_tag")

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dicomstream.tags import format_tag, parse_tag

if TYPE_CHECKING:
    from dicomstream.tags import TagPath

_STEP = re.compile(r"^(?P<key>.+?)(?:\[(?P<index>\*|\d+)\])?$")


def resolve_tag(text: str) -> int:
    """A tag from a keyword or any of the tag spellings; ``ValueError`` if neither."""
    text = text.strip()
    try:
        return parse_tag(text)
    except ValueError:
        pass
    from dicomstream.dictionary import tag_for_keyword

    tag = tag_for_keyword(text)
    if tag is None:
        raise ValueError(f"unknown keyword or tag: {text!r}")
    return tag


@dataclass(frozen=True, slots=True)
class TagPattern:
    """Sequence steps ``((sequence_tag, index or None), …)`` and the element tag."""

    steps: tuple[tuple[int, int | None], ...]
    tag: int

    def matches_level(self, path: TagPath) -> bool:
        """Whether elements of the item at ``path`` are addressed by this pattern."""
        steps = self.steps
        if len(path) != len(steps):
            return False
        for (seq, index), (want_seq, want_index) in zip(path, steps, strict=True):
            if seq != want_seq or (want_index is not None and index != want_index):
                return False
        return True

    def matches(self, tag: int, path: TagPath) -> bool:
        """Whether the element ``tag`` at ``path`` is addressed by this pattern."""
        return tag == self.tag and self.matches_level(path)

    def __str__(self) -> str:
        parts = [f"{format_tag(s)}[{'*' if i is None else i}]" for s, i in self.steps]
        return ".".join([*parts, format_tag(self.tag)])


def _split(text: str) -> list[str]:
    """Split on dots that are not inside parentheses."""
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "." and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return parts


def parse_tag_path(text: str) -> TagPattern:
    """Parse ``Seq[*].Other[0].Keyword`` (or tag spellings) into a :class:`TagPattern`."""
    parts = [p.strip() for p in _split(text.strip())]
    if not parts or not all(parts):
        raise ValueError(f"empty step in tag path {text!r}")
    steps: list[tuple[int, int | None]] = []
    for part in parts[:-1]:
        m = _STEP.match(part)
        if m is None:  # pragma: no cover - the regex matches any non-empty text
            raise ValueError(f"bad step {part!r} in {text!r}")
        index = m.group("index")
        steps.append((resolve_tag(m.group("key")),
                      None if index in (None, "*") else int(index)))
    last = parts[-1]
    if "[" in last:
        raise ValueError(f"the last step of {text!r} names an element, not an item")
    return TagPattern(tuple(steps), resolve_tag(last))
