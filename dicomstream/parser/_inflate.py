"""Incremental inflation of Deflated Explicit VR Little Endian datasets, within limits.

The parser asks for inflated bytes only when it needs them, and never for more than a
bounded amount at a time, so a deflate bomb costs at most one output block of memory
before the ratio or size limit stops it.
"""

from __future__ import annotations

__all__ = ("Inflater",)

import zlib

from dicomstream.errors import InflateError, InflateLimitError
from dicomstream.parser._limits import RATIO_GRACE

_OUTPUT_BLOCK = 256 * 1024


class Inflater:
    """Raw-deflate (wbits -15) decompressor with ratio and size limits."""

    __slots__ = ("_d", "_eof_input", "_in", "_max_ratio", "_max_size", "_pending", "_start",
                 "consumed", "produced")

    def __init__(self, *, start: int, max_ratio: float, max_size: int) -> None:
        self._d = zlib.decompressobj(-15)
        self._pending: list[bytes] = []
        self._in = b""
        self._eof_input = False
        self._max_ratio = max_ratio
        self._max_size = max_size
        self._start = start
        self.consumed = 0
        self.produced = 0

    def feed(self, data: bytes) -> None:
        """Queue compressed bytes; an empty ``data`` marks the end of input."""
        if data:
            self._pending.append(bytes(data))
        else:
            self._eof_input = True

    @property
    def finished(self) -> bool:
        """No more inflated bytes will ever come."""
        if self._d.eof:
            return True  # bytes after the end of the deflate stream are ignored
        return self._eof_input and not self._in and not self._pending

    def inflate(self, wanted: int) -> bytes:
        """Up to about ``wanted`` (at least one block) inflated bytes; ``b""`` if none now."""
        out: list[bytes] = []
        got = 0
        want = max(wanted, _OUTPUT_BLOCK)
        while got < wanted:
            if self._d.eof:
                # Trailing bytes after the deflate stream are ignored, as zlib does.
                self._pending.clear()
                self._in = b""
                break
            if not self._in:
                if not self._pending:
                    if self._eof_input:
                        tail = self._d.flush()
                        if tail:
                            out.append(tail)
                            got += len(tail)
                    break
                self._in = b"".join(self._pending)
                self._pending.clear()
            try:
                block = self._d.decompress(self._in, min(want - got, _OUTPUT_BLOCK))
            except zlib.error as exc:
                raise InflateError(
                    f"deflated dataset is corrupt: {exc}", offset=self._start + self.produced
                ) from exc
            self.consumed += len(self._in) - len(self._d.unconsumed_tail)
            self._in = self._d.unconsumed_tail
            if block:
                out.append(block)
                got += len(block)
                self.produced += len(block)
                self._check_limits()
            elif self._in and not self._d.eof:
                break  # no progress is possible without more input
        return b"".join(out)

    def _check_limits(self) -> None:
        if self.produced > self._max_size:
            raise InflateLimitError(
                f"deflated dataset inflates beyond {self._max_size} bytes",
                offset=self._start + self.produced,
            )
        if self.produced > RATIO_GRACE and self.produced > self._max_ratio * max(
            self.consumed, 1
        ):
            raise InflateLimitError(
                f"deflated dataset inflates more than {self._max_ratio:g}x "
                f"({self.consumed} bytes became {self.produced})",
                offset=self._start + self.produced,
            )
