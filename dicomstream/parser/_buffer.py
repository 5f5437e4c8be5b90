"""The parser's input buffer: bytes in, contiguous runs out, never a seek.

Bytes arrive in chunks of any size; the parser asks for ``n`` contiguous unread bytes
(:meth:`InputBuffer._ensure`) and either gets them at ``_buf[_pos:]`` or learns it must
wait, without having consumed anything — so a header split across chunks is simply
retried once more bytes arrive (the transactional buffer of wsproto and h2). Chunks are
joined only when a request spans them, and a chunk that arrives when everything before
it has been read is adopted as it is, so a file read in aligned blocks is never copied.
For deflated datasets the unread input is compressed and inflated on demand, at most
:data:`~dicomstream.parser.MAX_BATCH_INFLATED` bytes per batch of events.
"""

from __future__ import annotations

__all__ = ("InputBuffer",)

from dicomstream.errors import DicomStreamError
from dicomstream.parser._inflate import Inflater
from dicomstream.parser._limits import MAX_BATCH_INFLATED


class InputBuffer:
    """Unread input: ``_buf[_pos:]`` then ``_pending``; ``_base`` is the stream offset of
    ``_buf[0]`` (for deflated datasets, an offset in the inflated stream)."""

    def __init__(self) -> None:
        self._buf = b""
        self._pos = 0
        self._base = 0
        self._pending: list[bytes] = []
        self._pending_len = 0
        self._eof = False
        self._inflater: Inflater | None = None
        self._inflated_now = 0  # inflated bytes consumed by the current batch
        # Views of the input consumed since ``_raw_mark`` in earlier buffers (see
        # EventBatch.raw); off for deflated datasets (their input is compressed).
        self._raw_parts: list[memoryview] = []
        self._raw_mark = 0
        self._raw_on = True

    def receive_data(self, data: bytes | bytearray | memoryview) -> None:
        """Add bytes to the input; ``b""`` means the input has ended."""
        if self._eof:
            raise DicomStreamError("receive_data() called after the end of input")
        if not data:
            self._eof = True
            if self._inflater is not None:
                self._inflater.feed(b"")
            return
        chunk = data if isinstance(data, bytes) else bytes(data)
        if self._inflater is not None:
            self._inflater.feed(chunk)
        elif self._pos >= len(self._buf) and not self._pending:
            self._keep_raw()
            self._base += len(self._buf)
            self._buf = chunk
            self._pos = 0
        else:
            self._pending.append(chunk)
            self._pending_len += len(chunk)

    def _may_pause(self) -> bool:
        """Whether inflating may stop for this batch (a subclass says: it has output)."""
        return False

    def _ensure(self, n: int) -> bool:
        """Make ``n`` unread bytes contiguous in ``_buf`` at ``_pos``; False if too few."""
        avail = len(self._buf) - self._pos
        if avail >= n:
            return True
        if self._inflater is not None and avail + self._pending_len < n:
            if self._inflated_now >= MAX_BATCH_INFLATED and self._may_pause():
                return False  # pause: this batch is big enough; the next call goes on
            data = self._inflater.inflate(n - avail - self._pending_len)
            if data:
                self._inflated_now += len(data)
                self._pending.append(data)
                self._pending_len += len(data)
        if avail + self._pending_len < n:
            return False
        self._keep_raw()
        parts = [self._buf[self._pos:]] if avail else []
        parts.extend(self._pending)
        self._base += self._pos
        self._buf = b"".join(parts)
        self._pos = 0
        self._pending = []
        self._pending_len = 0
        return True

    def _keep_raw(self) -> None:
        """``_buf`` is about to be replaced: keep a view of what was consumed of it."""
        if self._raw_on and self._pos > self._raw_mark:
            self._raw_parts.append(memoryview(self._buf)[self._raw_mark:self._pos])
        self._raw_mark = 0

    def _input_exhausted(self) -> bool:
        """The input has ended and every byte of it has been buffered."""
        if not self._eof:
            return False
        return self._inflater is None or self._inflater.finished

    def _unread(self) -> int:
        return len(self._buf) - self._pos + self._pending_len

    def _start_inflating(self, *, max_ratio: float, max_size: int) -> None:
        """From here on the input is a raw deflate stream: hand it what is unread."""
        offset = self._base + self._pos
        self._raw_on = False
        self._raw_parts = []
        self._inflater = Inflater(start=offset, max_ratio=max_ratio, max_size=max_size)
        rest = self._buf[self._pos:]
        if rest:
            self._inflater.feed(rest)
        for part in self._pending:
            self._inflater.feed(part)
        if self._eof:
            self._inflater.feed(b"")
        self._base = offset
        self._discard_input()

    def _discard_input(self) -> None:
        self._buf, self._pos, self._pending, self._pending_len = b"", 0, [], 0
        self._raw_mark = 0
