"""``str(dataset)``: pydicom's familiar text layout, one line per element.

Why here and not in the dataset module: the layout is shared with ``dicomstream dump``
(through :mod:`dicomstream._format`), and the rules for showing a value — which pydicom
spreads over ``DataElement.repval``, ``MultiValue.__str__`` and ``UID.name`` — are a
topic of their own. What differs from pydicom 3 is only the spelling of the tag column,
which follows pydicom 2 (``(300a, 0182)``), as ``dump`` does. A deferred value is
summarised from its length, never read for display.
"""

from __future__ import annotations

__all__ = ("format_dataset", "repval")

from typing import TYPE_CHECKING

from dicomstream._format import (
    INDENT,
    element_line,
    sequence_line,
)
from dicomstream._format import (
    repval as _format_repval,
)

if TYPE_CHECKING:
    from dicomstream.collector._dataset import Dataset
    from dicomstream.collector._element import DataElement

_MAX_DISPLAY = 16
_LONG_VALUE_VRS = frozenset({"LT", "UC", "UT", "OB", "OD", "OF", "OL", "OV", "OW", "UN"})


def repval(elem: DataElement) -> str:
    """How pydicom shows the value of ``elem`` (``DataElement.repval``)."""
    seq = elem._sequence()
    if seq is not None:
        return repr(seq)
    vr = elem._vr
    if vr in _LONG_VALUE_VRS and not isinstance(elem._raw, bytes | memoryview | None):
        length = elem.length_hint()  # deferred or fragments: never read to display
        if length > _MAX_DISPLAY:
            return f"Array of {length} elements"
    value = elem.value
    if value is None:
        return "None"
    # pydicom measures the decoded value (text without its padding), not the raw bytes
    length = len(value) if isinstance(value, str | bytes) else 0
    return _format_repval(vr, value, length)


def _name(ds: Dataset, elem: DataElement) -> str:
    tag = elem._tag
    if tag >> 16 & 1 and tag & 0xFF00 == 0 and tag & 0xFFFF and (tag >> 16 << 16) in ds._dict:
        # pydicom takes (gggg,0000) for the creator of (gggg,00ee), finds no name for it
        return "Private tag data"
    return elem.name


def _lines(ds: Dataset, indent: int, top_level_only: bool, out: list[str]) -> None:
    for elem in ds:
        seq = elem._sequence()
        if seq is not None:
            out.append(sequence_line(elem._tag, _name(ds, elem), len(seq), indent))
            if not top_level_only:
                for item in seq:
                    _lines(item, indent + 1, False, out)
                    out.append(INDENT * (indent + 1) + "---------")
        else:
            out.append(element_line(elem._tag, _name(ds, elem), elem._vr, repval(elem),
                                    indent))


def format_dataset(ds: Dataset, *, indent: int = 0, top_level_only: bool = False) -> str:
    """The text of ``str(ds)``: the file meta block first (if any), then the elements,
    items indented by three spaces and closed by ``---------``."""
    out: list[str] = []
    meta = ds.__dict__.get("file_meta")
    if meta:
        out.append(f"{'Dataset.file_meta ':-<49}")
        _lines(meta, indent, top_level_only, out)
        out.append(f"{'':-<49}")
    _lines(ds, indent, top_level_only, out)
    return "\n".join(out)
