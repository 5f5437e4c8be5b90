"""The ``checksum`` stage: a fingerprint of the pixel data, taken while it streams.

Pixel data (7FE0,0010) at the top level is hashed as its raw value bytes: the whole
value when it arrives in one ``Element``, chunk by chunk when it streams, and for
encapsulated pixel data the bytes of each fragment after the Basic Offset Table.
The digest appears in the bulk report's ``details`` (``pixel_sha256``, ``pixel_bytes``).
"""

from __future__ import annotations

__all__ = ("ChecksumStage",)

import hashlib
from typing import TYPE_CHECKING, Any, ClassVar

from dicomstream.events import (
    Element,
    Fragment,
    FragmentsEnd,
    FragmentsStart,
    ValueChunk,
    ValueEnd,
    ValueStart,
)
from dicomstream.stages import SyncStage

if TYPE_CHECKING:
    from collections.abc import Mapping

    from dicomstream.events import Event

PIXEL_DATA = 0x7FE00010


class ChecksumStage(SyncStage):
    """Hash the pixel data passing through; the stream itself is not changed.

    Args:
        algorithm: any :func:`hashlib.new` name (default ``sha256``).
    """

    name: ClassVar[str] = "checksum"

    def __init__(self, algorithm: str = "sha256") -> None:
        self.algorithm = algorithm
        self._hash = hashlib.new(algorithm)
        self.pixel_bytes = 0
        self._in_pixels = False  # inside a streamed pixel value or encapsulated pixel data
        self._seen = False

    @classmethod
    def from_cli(cls, options: Mapping[str, str]) -> ChecksumStage:
        """``--stage checksum`` or ``--stage checksum:algorithm=blake2b``."""
        return cls(options.get("algorithm", "sha256"))

    def _update(self, data: bytes | memoryview) -> None:
        self._hash.update(data)
        self.pixel_bytes += len(data)

    def transform(self, batch: list[Event]) -> list[Event]:
        for event in batch:
            cls = type(event)
            if cls is Element:
                assert isinstance(event, Element)
                if event.tag == PIXEL_DATA and not event.path:
                    self._seen = True
                    self._update(event.value)
            elif cls is ValueStart:
                assert isinstance(event, ValueStart)
                if event.tag == PIXEL_DATA and not event.path:
                    self._seen = self._in_pixels = True
            elif cls is ValueChunk and self._in_pixels:
                assert isinstance(event, ValueChunk)
                self._update(event.data)
            elif cls is ValueEnd and self._in_pixels:
                assert isinstance(event, ValueEnd)
                if event.tag == PIXEL_DATA:
                    self._in_pixels = False
            elif cls is FragmentsStart:
                assert isinstance(event, FragmentsStart)
                if event.tag == PIXEL_DATA and not event.path:
                    self._seen = self._in_pixels = True
            elif cls is Fragment and self._in_pixels:
                assert isinstance(event, Fragment)
                if event.index > 0:  # fragment 0 is the Basic Offset Table
                    self._update(event.value)
            elif cls is FragmentsEnd:
                self._in_pixels = False
        return batch

    @property
    def hexdigest(self) -> str | None:
        """The digest, or ``None`` when the stream had no pixel data."""
        return self._hash.hexdigest() if self._seen else None

    def report(self) -> dict[str, Any]:
        return {f"pixel_{self.algorithm}": self.hexdigest, "pixel_bytes": self.pixel_bytes}
