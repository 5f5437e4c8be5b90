"""Local files: a streaming source and an atomic sink.

Disk I/O happens in worker threads, as with every async file API (aiofiles and anyio's
both hop to a thread per call). Bulk jobs over many small files are dominated by those
hops, so the common case is batched: a file no larger than one read is opened, read and
closed in a single hop, and an output that fits one buffer is written to its temporary
file, closed and renamed in a single hop.

With ``inline=True`` every read and write runs in the calling thread instead. From the
page cache a 1 MiB read takes ~0.1 ms, while a thread hop under a busy event loop costs
several: each I/O thread must win the GIL back from the parsing thread. Measured on a
500-file CT series it halves a bulk rewrite's time, and a 1 GiB file is rewritten in
~1.3x ``cp``'s time instead of ~2x. The cost is that the event loop blocks for the
duration of each read or write (it still gets a checkpoint between chunks, so
cancellation stays prompt), which is right for a batch tool on local disks (the CLI's
default, when a run needs the event loop at all: local runs whose stages never await go
through :mod:`dicomstream.local` instead) and wrong for a server or a slow network file
system (the library's default stays ``False``). ``inline_small=True`` does it only for
files that fit in one read or one buffer. One exception: on asyncio, an ``inline``
sink's output that fits its buffer (a whole small file) is handed on commit to one
long-lived writer thread, which writes it while the loop parses the next input — the
kernel's copy overlaps the parsing on a second core
(:mod:`dicomstream.io._write_behind`; −10 % on the 500-file benchmark).

Otherwise files stream through threads: aiofiles on asyncio (anyio's file API on trio,
which aiofiles does not serve), one read of ``chunk_size`` at a time. Either way memory
stays flat whatever the file size.

:class:`FileSink` is atomic: bytes go to a temporary file beside the target, renamed over
it on :meth:`~FileSink.commit`; :meth:`~FileSink.abort` (failure, cancellation) deletes
the temporary file, so a destination is either absent, the old file, or complete.
"""

from __future__ import annotations

__all__ = ("STREAM_READ_SIZE", "TEMP_SUFFIX", "WRITE_BUFFER_SIZE", "FileSink", "FileSource",
           "temporary_file_pid", "temporary_path_for")

import asyncio
import os
import stat
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import anyio
import anyio.lowlevel
import anyio.to_thread

from dicomstream.errors import SinkError, SourceError
from dicomstream.io import _local  # its helpers looked up per call (tests replace them)
from dicomstream.io._base import DEFAULT_READ_SIZE
from dicomstream.io._local import (
    STREAM_READ_SIZE,
    TEMP_SUFFIX,
    WRITE_BUFFER_SIZE,
    temporary_file_pid,
)
from dicomstream.io._write_behind import write_behind, write_behind_available

if TYPE_CHECKING:
    from collections.abc import AsyncIterator


def temporary_path_for(target: Path) -> Path:
    """A unique temporary path in the target's directory (so rename is atomic): unique
    across processes (pid and a random run tag) and within one (a counter)."""
    return Path(_local._temporary_name(os.fspath(target)))


def _is_pipe(handle: IO[bytes]) -> bool:
    """Whether ``handle`` is a FIFO or a socket (readable without a thread)."""
    mode = os.fstat(handle.fileno()).st_mode
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)


def _async_file(handle: IO[bytes]) -> Any:
    """An async view of an open file: aiofiles on asyncio, anyio's on other backends."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:  # not asyncio (trio)
        return anyio.wrap_file(handle)
    import aiofiles.threadpool

    return aiofiles.threadpool.wrap(handle)


class FileSource:
    """Read a local file as a stream of chunks.

    Args:
        path: the file.
        inline: do every read in the calling thread (see the module docstring).
        inline_small: only open and read a file that fits in ``first_read`` that way.
        first_read: size of the first read, done with the open in one thread hop (files
            up to this size cost one hop in all).
        chunk_size: size of every later read (smaller, so memory stays flat on big files).
    """

    def __init__(self, path: str | os.PathLike[str], *, chunk_size: int = STREAM_READ_SIZE,
                 first_read: int = DEFAULT_READ_SIZE, inline_small: bool = False,
                 inline: bool = False) -> None:
        self.inline = inline
        self.inline_small = inline_small or inline
        self.name = self._fspath = os.fspath(path)
        self.chunk_size = chunk_size
        self.first_read = max(first_read, chunk_size)
        self.size: int | None = None
        """Known once iteration has started (the file is stat-ed with the first read)."""

    @property
    def path(self) -> Path:
        """The file."""
        return Path(self._fspath)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            if self.inline_small:
                handle, self.size, first = _local._open_and_read(self._fspath, self.first_read)
            else:
                handle, self.size, first = await anyio.to_thread.run_sync(
                    _local._open_and_read, self._fspath, self.first_read)
        except OSError as exc:
            raise SourceError(f"cannot read {self.name}: {exc.strerror or exc}") from exc
        try:
            if first:
                yield first
            if handle is None:
                return
            if _is_pipe(handle):
                rest = self._pipe(handle)
            elif self.inline:
                rest = self._rest_inline(handle)
            else:
                rest = self._rest(handle)
            async for chunk in rest:
                yield chunk
        finally:
            # Every way out — the end, an error, a cancel, abandoned after the first chunk.
            if handle is not None and not handle.closed:
                handle.close()

    async def _pipe(self, handle: IO[bytes]) -> AsyncIterator[bytes]:
        """The chunks of a FIFO or socket as they arrive, waited for in the event loop.

        Not in a thread: a thread blocked in ``read`` on a stalled pipe cannot be
        stopped, and closing the file waits for that read, so a cancelled run (SIGTERM)
        would hang until the writer sends more or goes away.
        """
        fd = handle.fileno()
        os.set_blocking(fd, False)
        while True:  # __aiter__ closes the handle
            try:
                chunk = os.read(fd, self.chunk_size)
            except BlockingIOError:
                await anyio.wait_readable(fd)
                continue
            except OSError as exc:
                raise SourceError(f"cannot read {self.name}: {exc}") from exc
            if not chunk:
                return
            yield chunk

    async def _rest_inline(self, handle: IO[bytes]) -> AsyncIterator[bytes]:
        """The chunks after the first, read in the calling thread (__aiter__ closes)."""
        while True:
            await anyio.lowlevel.checkpoint()  # stays cancellable between reads
            try:
                chunk = handle.read(self.chunk_size)
            except OSError as exc:
                raise SourceError(f"cannot read {self.name}: {exc}") from exc
            if not chunk:
                return
            yield chunk

    async def _rest(self, handle: IO[bytes]) -> AsyncIterator[bytes]:
        """The chunks after the first, through aiofiles (asyncio) or anyio (trio)."""
        afile = _async_file(handle)
        try:
            while True:
                try:
                    chunk = await afile.read(self.chunk_size)
                except OSError as exc:
                    raise SourceError(f"cannot read {self.name}: {exc}") from exc
                if not chunk:
                    return
                yield chunk
        finally:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(handle.close)


class FileSink:
    """Write a local file atomically (temporary file + rename).

    Args:
        path: the destination; its directory must exist (``make_parents`` creates it).
        buffer_size: bytes gathered in memory before a write to disk.
        make_parents: create the destination's directory if needed.
        inline: do every write in the calling thread (see the module docstring).
        inline_small: only write an output that fits in one buffer that way.
    """

    def __init__(self, path: str | os.PathLike[str], *, buffer_size: int = WRITE_BUFFER_SIZE,
                 make_parents: bool = False, inline_small: bool = False,
                 inline: bool = False) -> None:
        self.inline = inline
        self._inline_small = inline_small or inline
        self.name = self._fspath = os.fspath(path)
        self._buffer_size = buffer_size
        self._make_parents = make_parents
        self._tmp = _local._temporary_name(self._fspath)
        self._parts: list[bytes] = []
        self._buffered = 0
        self._handle: IO[bytes] | None = None
        self._afile: Any = None
        self._done = False
        self.bytes_written = 0

    @property
    def path(self) -> Path:
        """The destination."""
        return Path(self._fspath)

    async def write(self, data: bytes | memoryview) -> None:
        if self._done:
            raise SinkError(f"{self.name}: write after commit/abort")
        if not data:
            return
        self._parts.append(data)  # type: ignore[arg-type]  # views are written as they are
        self._buffered += len(data)
        self.bytes_written += len(data)
        if self._buffered >= self._buffer_size:
            await self._flush()

    async def _flush(self) -> None:
        parts, self._parts, self._buffered = self._parts, [], 0
        if self.inline:
            try:
                if self._handle is None:
                    self._handle = _local._create(self._tmp, self._fspath, self._make_parents)
                self._handle.writelines(parts)
            except OSError as exc:
                await self.abort()
                raise SinkError(f"cannot write {self.name}: {exc.strerror or exc}") from exc
            await anyio.lowlevel.checkpoint()  # stays cancellable between writes
            return
        try:
            if self._handle is None:
                self._handle = await anyio.to_thread.run_sync(
                    _local._create, self._tmp, self._fspath, self._make_parents)
                self._afile = _async_file(self._handle)
            await self._afile.writelines(parts)  # no join: views are written as they are
        except OSError as exc:
            await self.abort()
            raise SinkError(f"cannot write {self.name}: {exc.strerror or exc}") from exc

    async def commit(self) -> None:
        if self._done:
            return
        try:
            if self._handle is None and self.inline and write_behind_available():
                # Written by the write-behind thread while the loop goes on (see
                # io/_write_behind.py). Shielded: a cancellation waits for this one
                # file, so the output is complete or absent, as with a write in line.
                with anyio.CancelScope(shield=True):
                    await write_behind().submit(_local._write_small, self._tmp, self._fspath,
                                                self._parts, self._make_parents)
            elif self._handle is None and self._inline_small:
                _local._write_small(self._tmp, self._fspath, self._parts, self._make_parents)
            elif self.inline:
                assert self._handle is not None
                _local._finish(self._handle, self._parts, self._tmp, self._fspath)
            elif self._handle is None:
                await anyio.to_thread.run_sync(_local._write_small, self._tmp, self._fspath,
                                               self._parts, self._make_parents)
            else:
                await anyio.to_thread.run_sync(_local._finish, self._handle, self._parts, self._tmp,
                                               self._fspath)
        except OSError as exc:
            self._done = True
            raise SinkError(f"cannot write {self.name}: {exc.strerror or exc}") from exc
        self._done = True
        self._parts = []

    async def abort(self) -> None:
        if self._done:
            return
        self._done = True
        self._parts = []
        if self.inline:
            _local._discard(self._handle, self._tmp)
            return
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(_local._discard, self._handle, self._tmp)
