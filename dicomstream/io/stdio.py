"""Standard input and output as a source and a sink (``-`` on the command line)."""

from __future__ import annotations

__all__ = ("StdinSource", "StdoutSink")

import sys
from typing import TYPE_CHECKING, BinaryIO

import anyio
import anyio.to_thread

from dicomstream.io._base import DEFAULT_READ_SIZE

if TYPE_CHECKING:
    from collections.abc import AsyncIterator


class StdinSource:
    """Read standard input (or another binary stream) in chunks, in a worker thread."""

    def __init__(self, stream: BinaryIO | None = None, *, chunk_size: int = DEFAULT_READ_SIZE
                 ) -> None:
        self._stream = stream
        self.name = "-"
        self.size: int | None = None
        self.chunk_size = chunk_size

    async def __aiter__(self) -> AsyncIterator[bytes]:
        stream = self._stream or sys.stdin.buffer
        read = getattr(stream, "read1", stream.read)
        while True:
            chunk = await anyio.to_thread.run_sync(read, self.chunk_size)
            if not chunk:
                return
            yield chunk


class StdoutSink:
    """Write to standard output. Not atomic: a pipe cannot take bytes back, so
    :meth:`abort` only stops writing (the reader sees a truncated stream)."""

    def __init__(self, stream: BinaryIO | None = None) -> None:
        self._stream = stream
        self.name = "-"

    def _out(self) -> BinaryIO:
        return self._stream or sys.stdout.buffer

    async def write(self, data: bytes | memoryview) -> None:
        await anyio.to_thread.run_sync(self._out().write, data)

    async def commit(self) -> None:
        await anyio.to_thread.run_sync(self._out().flush)

    async def abort(self) -> None:
        return None
