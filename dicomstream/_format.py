"""The familiar one-line-per-element text layout of pydicom, shared by ``dump`` and
``str(Dataset)``: ``(0010, 0010) Patient's Name                      PN: 'Doe^John'``.

Tags are spelled as pydicom 2 did (lower-case hex with a space); the name is padded to
35 characters; values are shown as pydicom shows them (``repr`` of the decoded value,
UIDs by name when the dictionary knows them, long byte values and many values as
``Array of N elements``).
"""

from __future__ import annotations

__all__ = (
    "INDENT",
    "element_line",
    "format_tag_pydicom",
    "private_name",
    "repval",
    "sequence_line",
)

from typing import Any

from dicomstream.dictionary import name_for_tag, private_entry, uid_name

INDENT = "   "
NAME_WIDTH = 35
MAX_DISPLAY = 16
_LONG_VALUE_VRS = frozenset({"LT", "UC", "UT", "OB", "OD", "OF", "OL", "OV", "OW", "UN"})


def format_tag_pydicom(tag: int) -> str:
    """``(0010, 0010)`` — pydicom 2's spelling, lower-case hex."""
    return f"({tag >> 16:04x}, {tag & 0xFFFF:04x})"


def private_name(tag: int, creator: str | None) -> str:
    """Name of a private element: from the private dictionary, else pydicom's wording."""
    if creator is not None and tag & 0xFFFF >= 0x1000:
        entry = private_entry(creator, tag)
        if entry is not None:
            return f"[{entry.name}]"
    return name_for_tag(tag)


def repval(vr: str, value: Any, length: int) -> str:
    """How pydicom shows a value."""
    if vr in _LONG_VALUE_VRS and length > MAX_DISPLAY and isinstance(
            value, (bytes, bytearray, str, memoryview)):
        return f"Array of {len(value)} elements"
    if isinstance(value, list):
        if len(value) > MAX_DISPLAY:
            return f"Array of {len(value)} elements"
        if not value:
            return ""
        # pydicom's MultiValue: repr for text and bytes, str for numbers, tags and names
        # (pydicom's PersonName is not a str)
        return "[" + ", ".join(_item_str(vr, x) for x in value) + "]"
    if vr == "UI" and isinstance(value, str) and value:
        return uid_name(value) or value
    if vr == "AT" and isinstance(value, int):
        return _tag_str(value)
    return repr(value)


def _tag_str(tag: int) -> str:
    """pydicom's spelling of an AT value."""
    return f"({tag >> 16:04X},{tag & 0xFFFF:04X})"


def _item_str(vr: str, x: Any) -> str:
    if vr == "AT" and isinstance(x, int):
        return _tag_str(x)
    if vr == "PN":
        return str(x)
    return repr(x) if isinstance(x, (str, bytes)) else str(x)


def element_line(tag: int, name: str, vr: str, shown: str, indent: int = 0) -> str:
    """One element, as pydicom's ``str(elem)`` with the indentation of its depth."""
    return f"{INDENT * indent}{format_tag_pydicom(tag)} {name[:NAME_WIDTH]:<{NAME_WIDTH}} " \
        f"{vr}: {shown}"


def sequence_line(tag: int, name: str, items: int | None, indent: int = 0) -> str:
    """A sequence header, as pydicom prints it (item count when known)."""
    count = "?" if items is None else str(items)
    return f"{INDENT * indent}{format_tag_pydicom(tag)}  {name}  {count} item(s) ---- "
