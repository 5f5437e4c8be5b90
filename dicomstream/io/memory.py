"""Sources and sinks in memory: bytes, lists of chunks, any async iterable of bytes."""

from __future__ import annotations

__all__ = ("BytesSource", "IterableSource", "MemorySink")

from typing import TYPE_CHECKING

from dicomstream.io._base import DEFAULT_READ_SIZE

if TYPE_CHECKING:
    from collections.abc import AsyncIterable, AsyncIterator, Iterable


class BytesSource:
    """Serve ``data`` in chunks of ``chunk_size`` (or the given chunks as they are)."""

    def __init__(self, data: bytes | Iterable[bytes], *, chunk_size: int = DEFAULT_READ_SIZE,
                 name: str = "<bytes>") -> None:
        if isinstance(data, (bytes, bytearray, memoryview)):
            blob = bytes(data)
            self._chunks = [blob[i:i + chunk_size] for i in range(0, len(blob), chunk_size)]
        else:
            self._chunks = [bytes(c) for c in data]
        self.size: int | None = sum(len(c) for c in self._chunks)
        self.name = name

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self._chunks:
            yield chunk


class IterableSource:
    """Wrap any async iterable of bytes (an HTTP body, a socket reader …)."""

    def __init__(self, chunks: AsyncIterable[bytes], *, name: str = "<stream>",
                 size: int | None = None) -> None:
        self._chunks = chunks
        self.name = name
        self.size = size

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._chunks:
            if chunk:
                yield bytes(chunk)


class MemorySink:
    """Collect output in memory; :attr:`value` holds it once committed."""

    def __init__(self, name: str = "<memory>") -> None:
        self.name = name
        self._parts: list[bytes] = []
        self.value: bytes | None = None
        self.aborted = False

    async def write(self, data: bytes | memoryview) -> None:
        self._parts.append(bytes(data))

    async def commit(self) -> None:
        self.value = b"".join(self._parts)
        self._parts = []

    async def abort(self) -> None:
        self._parts = []
        self.aborted = True
