"""Tags and tag paths.

A tag is a plain ``int`` (``group << 16 | element``) everywhere on the hot path, so the
parser never builds wrapper objects. This module holds the special tags of the encoding,
formatting helpers, and :data:`TagPath`, the position of an event inside nested sequences:
a tuple of ``(sequence_tag, item_index)`` pairs, outermost first. Paths are shared tuples
(every element of one item carries the same tuple object), so carrying one costs nothing.
"""

from __future__ import annotations

__all__ = (
    "DOUBLE_FLOAT_PIXEL_DATA",
    "FLOAT_PIXEL_DATA",
    "ITEM",
    "ITEM_DELIMITER",
    "PIXEL_DATA",
    "SEQUENCE_DELIMITER",
    "TRAILING_PADDING",
    "TagPath",
    "format_path",
    "format_tag",
    "is_private",
    "is_private_creator",
    "make_tag",
    "parse_tag",
)

import re

TagPath = tuple[tuple[int, int], ...]
"""Where an event sits: ``((sequence_tag, item_index), …)``, outermost first."""

ITEM = 0xFFFEE000
ITEM_DELIMITER = 0xFFFEE00D
SEQUENCE_DELIMITER = 0xFFFEE0DD
PIXEL_DATA = 0x7FE00010
FLOAT_PIXEL_DATA = 0x7FE00008
DOUBLE_FLOAT_PIXEL_DATA = 0x7FE00009
TRAILING_PADDING = 0xFFFCFFFC

_TAG_RE = re.compile(r"^\(?\s*([0-9A-Fa-f]{4})\s*,?\s*([0-9A-Fa-f]{4})\s*\)?$")


def make_tag(group: int, element: int) -> int:
    """Combine a group and an element number into a tag."""
    return (group << 16) | element


def format_tag(tag: int) -> str:
    """``(GGGG,EEEE)`` in upper-case hex, the spelling used in errors and paths."""
    return f"({tag >> 16:04X},{tag & 0xFFFF:04X})"


def format_path(path: TagPath, tag: int | None = None) -> str:
    """A readable path such as ``(0040,A730)[2] > (0008,0100)``."""
    parts = [f"{format_tag(seq)}[{index}]" for seq, index in path]
    if tag is not None:
        parts.append(format_tag(tag))
    return " > ".join(parts)


def parse_tag(text: str) -> int:
    """Parse ``(0010,0010)``, ``0010,0010``, ``00100010`` or ``0x00100010``.

    Keywords are resolved by :func:`dicomstream.dictionary.tag_for_keyword`.
    """
    s = text.strip()
    if s.lower().startswith("0x"):
        return int(s, 16)
    m = _TAG_RE.match(s)
    if m is None:
        raise ValueError(f"not a tag: {text!r}")
    return (int(m.group(1), 16) << 16) | int(m.group(2), 16)


def is_private(tag: int) -> bool:
    """True for tags in odd groups other than 1, 3, 5, 7 and FFFF."""
    group = tag >> 16
    return bool(group & 1) and group > 7 and group != 0xFFFF


def is_private_creator(tag: int) -> bool:
    """True for private creator elements ``(gggg,0010)``–``(gggg,00FF)``."""
    return is_private(tag) and 0x10 <= (tag & 0xFFFF) <= 0xFF
