"""Local files without an event loop: the synchronous pieces of reading and writing.

Why a module of its own: :mod:`dicomstream.io.files` (the async source and sink) and
:mod:`dicomstream.local` (bulk runs over local files with no event loop at all) do the
same system calls — open and read a small file in one go, write an output under a
temporary name and rename it into place — and the second must not import asyncio or
anyio (about 80 ms of a short run's start-up). Everything here is plain blocking code.
"""

from __future__ import annotations

__all__ = ("STREAM_READ_SIZE", "TEMP_SUFFIX", "WRITE_BUFFER_SIZE", "temporary_file_pid")

import contextlib
import errno
import itertools
import os
import stat
from typing import IO

STREAM_READ_SIZE = 1024 * 1024
"""Reads after the first. Every read starts at a multiple of the parser's chunk size, so
value chunks are views of the read buffers (no copy); 1 MiB keeps thread hops few (each
costs ~0.1 ms of latency) while the buffers alive at once stay a few MiB."""

WRITE_BUFFER_SIZE = 1024 * 1024
"""Bytes gathered before a write: outputs up to this size are written in one go (open,
write, close, rename: one thread hop, or one job of a writer thread); larger ones in
writes of this size."""

TEMP_SUFFIX = ".dicomstream-tmp"
"""Suffix of temporary files; a resumed bulk run removes leftovers carrying it."""


_SERIAL = itertools.count()
_RUN = os.urandom(3).hex()  # one random draw per process (not `secrets`: ~10 ms to import)
_PID = os.getpid()  # a system call each time otherwise; kept right in forked children


def _forked() -> None:
    global _PID  # noqa: PLW0603 - the process's own pid, refreshed in a child
    _PID = os.getpid()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forked)

_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_READ_FLAGS = os.O_RDONLY | _CLOEXEC
_WRITE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | _CLOEXEC
# Reading and writing whole small files, the per-file path of bulk runs, use plain
# ``os`` calls: ``open()`` adds an fstat, an isatty ioctl and an lseek to every file, and
# every system call gives up the GIL — which the thread beside (the parser, or the
# writer) may then keep for milliseconds.


def _temporary_name(target: str) -> str:
    """:func:`temporary_path_for` on strings (the per-file path of bulk runs: pathlib
    costs tens of microseconds a file there)."""
    head, name = os.path.split(target)
    return os.path.join(head, f".{name}.{_PID}-{_RUN}-{next(_SERIAL)}{TEMP_SUFFIX}")


def temporary_file_pid(name: str) -> int | None:
    """The pid in the name of a temporary file :func:`temporary_path_for` made."""
    if not name.endswith(TEMP_SUFFIX):
        return None
    pid = name[:-len(TEMP_SUFFIX)].rsplit(".", 1)[-1].split("-", 1)[0]
    return int(pid) if pid.isdigit() else None


def _open_and_read(path: str, size: int) -> tuple[IO[bytes] | None, int | None, bytes]:
    """Open ``path``; for a regular file, read up to ``size`` bytes at once. Returns the
    handle (``None`` when the file was read whole and closed), its size and the bytes."""
    fd = os.open(path, _READ_FLAGS)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            # A FIFO, a pipe (``<(cmd)``) or a device: ``st_size`` means nothing (0 for a
            # FIFO, which the parser would take as "no bytes to come"), and a read may
            # block until the writer sends more, so read nothing here: the caller streams
            # it (the async source: FIFOs and sockets in the event loop, devices through
            # threads; dicomstream.local: one blocking read1 at a time).
            return open(fd, "rb"), None, b""  # noqa: SIM115 - closed by the caller
        total = info.st_size
        # Ask for no more than the file holds (+1 to see the end): a read allocates what
        # it asks for up front, and a 1 MiB buffer for a 0.5 MiB file costs more than
        # the read. A regular file returns less only at its end; short of its size, the
        # rest is streamed like a larger file's.
        want = min(size, total + 1)
        first = os.read(fd, want)
        if total <= len(first) < want:
            os.close(fd)
            return None, total, first
        return open(fd, "rb"), total, first  # noqa: SIM115 - closed by the caller
    except BaseException:
        os.close(fd)
        raise


_KNOWN_DIRS: set[str] = set()
"""Directories this process has made or seen: a bulk run writes many files per folder."""


def _make_parent(target: str, *, again: bool = False) -> None:
    parent = os.path.dirname(target) or "."
    if again or parent not in _KNOWN_DIRS:
        os.makedirs(parent, exist_ok=True)
        _KNOWN_DIRS.add(parent)


def _create(tmp: str, target: str, make_parents: bool) -> IO[bytes]:
    """Open the temporary file, making the directory if needed (the cache of known
    directories may be stale when a tree was removed meanwhile)."""
    fd = _create_fd(tmp, target, make_parents)
    try:
        return open(fd, "wb")  # noqa: SIM115 - closed by the caller
    except BaseException:
        os.close(fd)
        raise


def _create_fd(tmp: str, target: str, make_parents: bool) -> int:
    """:func:`_create` as a bare file descriptor (what the writer thread uses)."""
    if make_parents:
        _make_parent(target)
    try:
        return os.open(tmp, _WRITE_FLAGS, 0o666)
    except FileNotFoundError:
        if not make_parents:
            raise
        _make_parent(target, again=True)
        return os.open(tmp, _WRITE_FLAGS, 0o666)


def _write_small(tmp: str, target: str, parts: list[bytes], make_parents: bool) -> None:
    """A whole output: created under ``tmp``, written, renamed to ``target``.

    Four system calls: open, one ``writev`` (not a ``write`` per part), close, rename.
    This runs in a writer thread beside a parsing thread, and every system call gives up
    the GIL, which it may then wait several milliseconds to win back (the interpreter's
    switch interval) — a dozen per file made the writer, not the parser, set the pace."""
    try:
        fd = _create_fd(tmp, target, make_parents)
        try:
            _write_all(fd, parts)
        finally:
            os.close(fd)
        os.replace(tmp, target)
    except BaseException:
        _unlink(tmp)
        raise


_IOV_MAX = 1024
"""Buffers one ``writev`` takes at most (POSIX guarantees at least 16; Linux 1024)."""


def _write_all(fd: int, parts: list[bytes]) -> None:
    """Every byte of ``parts`` to ``fd``, in as few ``writev`` calls as the kernel allows
    (a short write resumes where it stopped)."""
    if not hasattr(os, "writev"):  # not POSIX
        for part in parts:
            view = memoryview(part)
            while view:
                view = view[os.write(fd, view):]
        return
    pending: list[bytes | memoryview] = list(parts)
    while pending:
        batch = pending[:_IOV_MAX]
        written = os.writev(fd, batch)
        if not written and any(map(len, batch)):
            raise OSError(errno.EIO, "write accepted no bytes")
        done = 0
        while done < len(batch) and written >= len(batch[done]):
            written -= len(batch[done])
            done += 1
        del pending[:done]
        if written:  # a part written in part: the rest of it goes first next time
            pending[0] = memoryview(pending[0])[written:]


def _unlink(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def _finish(handle: IO[bytes], parts: list[bytes], tmp: str, target: str) -> None:
    try:
        handle.writelines(parts)
        handle.close()
        os.replace(tmp, target)
    except BaseException:
        _discard(handle, tmp)
        raise


def _discard(handle: IO[bytes] | None, tmp: str) -> None:
    """Close ``handle`` and delete ``tmp`` whatever closing says: closing flushes what is
    still buffered, which fails again when the write failed for a full disk (ENOSPC) —
    the file is deleted all the same (the fd is closed even when the flush fails)."""
    try:
        if handle is not None:
            handle.close()
    except OSError:
        pass  # the output is being thrown away; its write error is already raised
    finally:
        _unlink(tmp)
