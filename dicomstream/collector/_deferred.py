"""Values kept out of memory: read back from the source file, or from a spill file.

Why: collecting a 2 GiB multi-frame file must not need 2 GiB. A value longer than the
reader's ``defer_size`` is not kept; its :class:`DeferredValue` records where its bytes
are, and reading ``DataElement.value`` fetches them (each time: keep the result if you
need it twice). ``Dataset.events()`` streams a deferred value back in chunks without
ever holding it whole.

Where the bytes are depends on the source:

* a local file read as it is (not deflated): the value's own bytes in that file. The
  file must not change while the dataset lives; its size and modification time are
  recorded and checked on every read (a changed file raises :class:`DeferredReadError`,
  as pydicom refuses a changed file). Saving a dataset over the file it was read from
  works — the output is renamed over it only once complete — but its deferred values
  cannot be read afterwards.
* anything else (a pipe, an async source, a deflated dataset, whose offsets count
  inflated bytes): the bytes are *spilled* as they stream past into one anonymous
  temporary file per read (:func:`tempfile.TemporaryFile`, deleted when closed), which
  lives as long as some value refers to it.
"""

from __future__ import annotations

__all__ = ("DeferredReadError", "DeferredValue", "FileRegion", "SpillFile")

import os
import tempfile
import threading
from typing import TYPE_CHECKING

from dicomstream.errors import DicomStreamError

if TYPE_CHECKING:
    from collections.abc import Iterator

READ_CHUNK = 256 * 1024
"""Size of the chunks a deferred value is streamed back in (as the parser cuts them)."""


class DeferredReadError(DicomStreamError):
    """A deferred value cannot be read back (its file changed or went away)."""


class FileRegion:
    """A local file that deferred values are read back from.

    Args:
        path: the file.
        base: file offset of stream offset 0 (non-zero for a file object read from the
            middle).
    """

    __slots__ = ("_stamp", "base", "path")

    def __init__(self, path: str | os.PathLike[str], base: int = 0) -> None:
        self.path = os.fspath(path)
        self.base = base
        stat = os.stat(self.path)
        self._stamp = (stat.st_size, stat.st_mtime_ns)

    def _open(self) -> int:
        try:
            fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
        except OSError as exc:
            raise DeferredReadError(f"cannot read deferred value from {self.path}: "
                                    f"{exc.strerror or exc}") from exc
        stat = os.fstat(fd)
        if (stat.st_size, stat.st_mtime_ns) != self._stamp:
            os.close(fd)
            raise DeferredReadError(f"{self.path} changed since it was read; its deferred "
                                    "values are gone")
        return fd

    def chunks(self, offset: int, length: int, chunk: int = READ_CHUNK) -> Iterator[bytes]:
        """The ``length`` bytes at stream ``offset``, in chunks of ``chunk``."""
        fd = self._open()
        try:
            pos = self.base + offset
            end = pos + length
            while pos < end:
                data = _pread(fd, min(chunk, end - pos), pos)
                if not data:
                    raise DeferredReadError(f"{self.path} ends before a deferred value")
                pos += len(data)
                yield data
        finally:
            os.close(fd)


class SpillFile:
    """An anonymous temporary file that streamed values are appended to."""

    __slots__ = ("_file", "_lock", "_size")

    def __init__(self) -> None:
        self._file = tempfile.TemporaryFile(prefix="dicomstream-spill-")  # noqa: SIM115
        self._size = 0
        self._lock = threading.Lock()

    def append(self, data: bytes | memoryview) -> None:
        """Add ``data`` at the end (the caller tracks offsets from :attr:`size`)."""
        with self._lock:
            self._file.write(data)
            self._size += len(data)

    @property
    def size(self) -> int:
        """Bytes written so far (the offset of the next :meth:`append`)."""
        return self._size

    def chunks(self, offset: int, length: int, chunk: int = READ_CHUNK) -> Iterator[bytes]:
        """The ``length`` bytes at ``offset``, in chunks of ``chunk``."""
        with self._lock:
            self._file.flush()
        fd = self._file.fileno()
        pos, end = offset, offset + length
        while pos < end:
            with self._lock:
                data = _pread(fd, min(chunk, end - pos), pos)
            if not data:
                raise DeferredReadError("spill file ends before a deferred value")
            pos += len(data)
            yield data

    def close(self) -> None:
        """Delete the file now (values that refer to it can no longer be read)."""
        self._file.close()

    def __del__(self) -> None:
        try:
            self._file.close()
        except Exception:  # noqa: S110 - interpreter shutdown
            pass


def _pread(fd: int, size: int, offset: int) -> bytes:
    if hasattr(os, "pread"):
        return os.pread(fd, size, offset)
    os.lseek(fd, offset, os.SEEK_SET)  # pragma: no cover - Windows
    return os.read(fd, size)  # pragma: no cover


class DeferredValue:
    """Where the bytes of one value are; see the module docstring.

    Attributes:
        length: the value's length in bytes.
    """

    __slots__ = ("_offset", "_store", "length")

    def __init__(self, store: FileRegion | SpillFile, offset: int, length: int) -> None:
        self._store = store
        self._offset = offset
        self.length = length

    def chunks(self, chunk: int = READ_CHUNK) -> Iterator[bytes]:
        """The value in chunks of at most ``chunk`` bytes (never held whole)."""
        return self._store.chunks(self._offset, self.length, chunk)

    def read(self) -> bytes:
        """The whole value."""
        return b"".join(self.chunks(max(self.length, 1)))

    def __len__(self) -> int:
        return self.length

    def __repr__(self) -> str:
        where = self._store.path if isinstance(self._store, FileRegion) else "spill file"
        return f"<DeferredValue {self.length} bytes at {self._offset} in {where}>"
