"""What a consumer needs to know to interpret values while events stream past.

Decoding a value needs its byte order (the dataset's syntax, or little endian inside a
sequence written as UN) and, for text, the Specific Character Set in force (set per
item: an item inherits its dataset's set unless it has its own (0008,0005)). Naming a
private element needs its private creator. :class:`StreamContext` follows the events
and keeps exactly that, one small frame per open container — never the tree.
"""

from __future__ import annotations

__all__ = ("StreamContext",)

from typing import TYPE_CHECKING, Any

from dicomstream.events import (
    DatasetStart,
    Element,
    ItemEnd,
    ItemStart,
    SequenceEnd,
    SequenceStart,
)
from dicomstream.transfer_syntax import lookup_transfer_syntax
from dicomstream.values import DEFAULT_CHARSET, CharacterSet, decode_value

if TYPE_CHECKING:
    from dicomstream.events import Event
    from dicomstream.transfer_syntax import TransferSyntax

_SPECIFIC_CHARACTER_SET = 0x00080005


class _Level:
    __slots__ = ("charset", "creators", "little")

    def __init__(self, little: bool, charset: CharacterSet) -> None:
        self.little = little
        self.charset = charset
        self.creators: dict[int, str] | None = None


class StreamContext:
    """Follow an event stream; call :meth:`feed` with every event, in order."""

    def __init__(self) -> None:
        self.transfer_syntax: TransferSyntax | None = None
        self.in_meta = True
        self._levels = [_Level(True, DEFAULT_CHARSET)]

    @property
    def little_endian(self) -> bool:
        """Byte order of values at the current position."""
        return self._levels[-1].little

    @property
    def charset(self) -> CharacterSet:
        """Character set in force at the current position."""
        return self._levels[-1].charset

    @property
    def depth(self) -> int:
        """Open items (0 at the top level)."""
        return (len(self._levels) - 1) // 2

    def feed(self, event: Event) -> None:
        """Update the context with the next event."""
        cls = type(event)
        if cls is Element:
            tag = event.tag  # type: ignore[attr-defined]
            if tag == _SPECIFIC_CHARACTER_SET:
                self._levels[-1].charset = CharacterSet.from_raw(bytes(event.value))  # type: ignore[attr-defined]
            elif tag >> 16 & 1 and 0x10 <= tag & 0xFFFF <= 0xFF and tag >> 16 > 7:
                level = self._levels[-1]
                if level.creators is None:
                    level.creators = {}
                level.creators[(tag >> 16 << 8) | (tag & 0xFF)] = bytes(
                    event.value).decode("latin-1").strip(" \x00")  # type: ignore[attr-defined]
        elif cls is ItemStart:
            parent = self._levels[-1]
            self._levels.append(_Level(parent.little, self._levels[-2].charset))
        elif cls is SequenceStart:
            parent = self._levels[-1]
            little = True if event.vr == "UN" else parent.little  # type: ignore[attr-defined]
            self._levels.append(_Level(little, parent.charset))
        elif cls is ItemEnd or cls is SequenceEnd:
            if len(self._levels) > 1:
                self._levels.pop()
        elif cls is DatasetStart:
            ts = lookup_transfer_syntax(event.transfer_syntax)  # type: ignore[attr-defined]
            self.transfer_syntax = ts
            self.in_meta = False
            self._levels = [_Level(ts.little_endian, DEFAULT_CHARSET)]

    def private_creator(self, tag: int) -> str | None:
        """The creator of private element ``tag`` in the current item, if known."""
        creators = self._levels[-1].creators
        if not creators:
            return None
        return creators.get((tag >> 16 << 8) | (tag >> 8 & 0xFF))

    def decode(self, element: Element) -> Any:
        """The Python value of ``element`` at the current position."""
        return decode_value(element.vr, bytes(element.value), little_endian=self.little_endian,
                            charset=self.charset)
