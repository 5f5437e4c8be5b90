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

    __slots__ = ("_crc", "_d", "_ended", "_eof_input", "_error", "_in", "_max_ratio",
                 "_max_size", "_pending", "_start", "_trailing_head", "_trailing_len",
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
        self._crc = 0
        self._trailing_head = b""
        self._trailing_len = 0
        self._ended = False
        self._error: InflateError | None = None

    def feed(self, data: bytes) -> None:
        """Queue compressed bytes; an empty ``data`` marks the end of input."""
        if not data:
            self._eof_input = True
        elif self._d.eof:
            self._note_trailing(bytes(data))
        else:
            self._pending.append(bytes(data))

    def _note_trailing(self, data: bytes) -> None:
        if len(self._trailing_head) < 8:
            self._trailing_head += data[:8 - len(self._trailing_head)]
        self._trailing_len += len(data)

    def trailing_problem(self) -> str | None:
        """Why the bytes after the deflate stream are not acceptable, or ``None``.

        Nothing may follow the deflate stream, except the single NUL byte that pads an
        odd-length stream to even length (PS3.5 A.5 requires it; pydicom writes it) or
        the 8-byte gzip trailer (CRC-32 and size of the inflated data) that some writers
        leave there — checked, not assumed.
        """
        if not self._trailing_len:
            return None
        if self._trailing_len == 1 and self._trailing_head == b"\x00":
            return None
        gzip_trailer = self._crc.to_bytes(4, "little") + \
            (self.produced & 0xFFFFFFFF).to_bytes(4, "little")
        if self._trailing_len == 8 and self._trailing_head == gzip_trailer:
            return None
        return f"{self._trailing_len} bytes follow the end of the deflated dataset"

    @property
    def finished(self) -> bool:
        """No more inflated bytes will ever come."""
        if self._error is not None:
            return False  # the next inflate() raises it
        if self._d.eof:
            return True  # bytes after the end of the deflate stream are ignored
        return self._eof_input and not self._in and not self._pending

    @property
    def cut_short(self) -> bool:
        """The input has ended and been used up before the end of the deflate stream:
        the dataset was cut (what inflated may still end between two elements)."""
        return self.finished and not self._d.eof

    def inflate(self, wanted: int) -> bytes:
        """Up to about ``wanted`` (at least one block) inflated bytes; ``b""`` if none now."""
        out: list[bytes] = []
        got = 0
        want = max(wanted, _OUTPUT_BLOCK)
        while got < wanted:
            if self._error is not None:
                if out:
                    break  # deliver what came before the corruption first
                raise self._error
            if self._d.eof:
                # Bytes after the deflate stream are kept aside for trailing_problem().
                if not self._ended:
                    self._ended = True
                    if self._d.unused_data:
                        self._note_trailing(self._d.unused_data)
                for extra in self._pending:
                    self._note_trailing(extra)
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
            saved = self._d.copy()
            try:
                block = self._d.decompress(self._in, min(want - got, _OUTPUT_BLOCK))
            except zlib.error as exc:
                # zlib drops what the failing call inflated before it hit the corruption,
                # and how much that is depends on how the input was chunked. Inflate the
                # same input again in small steps to recover exactly the bytes before it,
                # so the parser sees the same stream (and the same error) however the
                # input arrived; the error is raised on the next call.
                block = _inflate_until_error(saved, self._in, min(want - got, _OUTPUT_BLOCK))
                self._in = b""
                self._pending.clear()
                self._error = InflateError(
                    f"deflated dataset is corrupt: {exc}",
                    offset=self._start + self.produced + len(block))
                if block:
                    out.append(block)
                    got += len(block)
                    self.produced += len(block)
                    self._crc = zlib.crc32(block, self._crc)
                    self._check_limits()
                continue
            self.consumed += len(self._in) - len(self._d.unconsumed_tail)
            self._in = self._d.unconsumed_tail
            if block:
                out.append(block)
                got += len(block)
                self.produced += len(block)
                self._crc = zlib.crc32(block, self._crc)
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


_STEP = 4096


def _inflate_until_error(state: zlib._Decompress, data: bytes, limit: int) -> bytes:
    """Everything ``data`` inflates to before its corruption, from decompressor ``state``
    (consumed): steps of :data:`_STEP` bytes find the bad step, then byte by byte inside
    it. That is less than ``limit``, the output the failing call was allowed (it stopped
    at the corruption, not at the limit); the bound is kept all the same."""
    out: list[bytes] = []
    size = 0
    for start in range(0, len(data), _STEP):
        if size >= limit:
            break
        before = state.copy()
        try:
            out.append(state.decompress(data[start:start + _STEP], limit - size))
            size += len(out[-1])
        except zlib.error:
            state = before
            for i in range(start, min(start + _STEP, len(data))):
                if size >= limit:
                    break
                try:
                    out.append(state.decompress(data[i:i + 1], max(limit - size, 1)))
                    size += len(out[-1])
                except zlib.error:
                    break
            break
    return b"".join(out)
