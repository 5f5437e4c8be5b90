"""Reading a dataset: ``dcmread`` (sync, like pydicom's) and ``read_dataset`` (async).

Why a loop of our own rather than ``aiter_events``: the reader controls the parser — its
value threshold follows ``defer_size``, and with ``stop_before_pixels`` it stops *reading*
(not just collecting) at the pixel data, so the bytes after it are never read. The first
read is small (:data:`HEAD_READ`) when stopping early, so a header-only read of a CT
slice reads little more than its header; otherwise a file up to :data:`WHOLE_READ` is
read in one call.

Deferred values are read back from the file itself when the input is a local path (or
an open file that has one); from any other input they are spilled to a temporary file.
"""

from __future__ import annotations

__all__ = ("HEAD_READ", "WHOLE_READ", "dcmread", "read_dataset", "size_in_bytes")

import os
import re
from typing import IO, TYPE_CHECKING, Any

from dicomstream.collector._collect import Collector
from dicomstream.collector._deferred import FileRegion
from dicomstream.errors import SourceError
from dicomstream.parser import DEFAULT_VALUE_THRESHOLD, Parser

if TYPE_CHECKING:
    from collections.abc import AsyncIterable, Iterable

    from dicomstream.collector._dataset import Dataset

HEAD_READ = 64 * 1024
"""First read when ``stop_before_pixels``: most headers fit."""

WHOLE_READ = 16 * 1024 * 1024
"""Files up to this size are read in one call (unless stopping before pixels)."""

READ_SIZE = 1024 * 1024
"""Later reads."""

_SIZE_RE = re.compile(r"^\s*([0-9.]+)\s*([kmg]?b?)\s*$", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "k": 1024, "kb": 1024, "m": 1024**2, "mb": 1024**2,
          "g": 1024**3, "gb": 1024**3}


def size_in_bytes(size: int | float | str | None) -> int | None:
    """``defer_size`` as pydicom takes it: bytes, or text such as ``"512 KB"``, ``"1 MB"``.

    Raises:
        ValueError: text that is not a size.
    """
    if size is None:
        return None
    if isinstance(size, int | float):
        return int(size)
    match = _SIZE_RE.match(size)
    if match is None:
        raise ValueError(f"not a size: {size!r}")
    return int(float(match.group(1)) * _UNITS[match.group(2).lower()])


class _Reader:
    """Parser + collector, fed chunk by chunk."""

    def __init__(self, *, size: int | None, stop_before_pixels: bool,
                 specific_tags: Iterable[Any] | None, defer_size: int | None,
                 region: FileRegion | None) -> None:
        threshold = DEFAULT_VALUE_THRESHOLD
        if defer_size is not None:
            threshold = max(0, min(threshold, defer_size))
        self.parser = Parser(value_threshold=threshold, source_size=size)
        self.collector = Collector(specific_tags=specific_tags,
                                   stop_before_pixels=stop_before_pixels,
                                   defer_size=defer_size, file_region=region)

    def feed(self, chunk: bytes) -> bool:
        """Feed a chunk (``b""`` ends the input); True when reading may stop (the
        collector stopped before pixel data)."""
        self.parser.receive_data(chunk)
        self.collector.feed(self.parser.events())
        return self.collector.stopped

    def end(self) -> None:
        """The input has ended (unless reading stopped early)."""
        if not self.collector.stopped:
            self.feed(b"")

    def result(self, filename: str | None) -> Dataset:
        ds = self.collector.result()
        ds.__dict__["filename"] = filename
        return ds


def _first_read(size: int | None, stop_before_pixels: bool) -> int:
    if stop_before_pixels:
        return HEAD_READ
    if size is not None and size <= WHOLE_READ:
        return max(size, 1)
    return READ_SIZE


def _read_file(f: IO[bytes], reader: _Reader, size: int | None, stop: bool) -> None:
    n = _first_read(size, stop)
    first = True
    while True:
        chunk = f.read(n)
        if not chunk:
            reader.end()
            return
        if first and size is not None and len(chunk) == size:
            reader.collector.whole_input(chunk)
        first = False
        if reader.feed(chunk):
            return
        n = READ_SIZE


def dcmread(fp: str | os.PathLike[str] | IO[bytes] | bytes | bytearray | memoryview, *,
            stop_before_pixels: bool = False, specific_tags: Iterable[Any] | None = None,
            defer_size: int | float | str | None = None, force: bool = False) -> Dataset:
    """Read a DICOM file (Part 10, or a bare dataset) into a :class:`Dataset`.

    Args:
        fp: a path, an open binary file (read from its current position), or the bytes.
        stop_before_pixels: stop reading at the top-level pixel data, which is left out.
        specific_tags: read only these top-level elements (tags, ``(group, element)``
            pairs or keywords), plus Specific Character Set.
        defer_size: values longer than this (bytes, or text such as ``"1 MB"``) are not
            kept in memory but read back on access: from the file for a path or a file
            with a name, else from a temporary spill file (bytes input keeps them).
        force: accepted for pydicom compatibility; files without preamble or meta are
            always read.

    Raises:
        ParseError: (a subclass naming the offset and tag path) the input is not valid.
        SourceError: the file cannot be read.
    """
    del force
    limit = size_in_bytes(defer_size)
    if isinstance(fp, bytes | bytearray | memoryview):
        data = bytes(fp)
        reader = _Reader(size=len(data), stop_before_pixels=stop_before_pixels,
                         specific_tags=specific_tags, defer_size=None, region=None)
        reader.collector.whole_input(data)
        reader.feed(data)
        reader.end()
        return reader.result(None)
    if isinstance(fp, str | os.PathLike):
        path = os.fspath(fp)
        try:
            f = open(path, "rb")  # noqa: SIM115 - closed below
        except OSError as exc:
            raise SourceError(f"cannot read {path}: {exc.strerror or exc}") from exc
        with f:
            size = os.fstat(f.fileno()).st_size
            region = FileRegion(path) if limit is not None else None
            reader = _Reader(size=size, stop_before_pixels=stop_before_pixels,
                             specific_tags=specific_tags, defer_size=limit, region=region)
            _read_file(f, reader, size, stop_before_pixels)
        return reader.result(path)
    return _read_fileobj(fp, stop_before_pixels, specific_tags, limit)


def _read_fileobj(f: IO[bytes], stop: bool, specific_tags: Iterable[Any] | None,
                  limit: int | None) -> Dataset:
    name = getattr(f, "name", None)
    size = region = None
    base = 0
    try:
        seekable = f.seekable()
    except (AttributeError, ValueError):
        seekable = False
    if seekable:
        base = f.tell()
        end = f.seek(0, os.SEEK_END)
        f.seek(base)
        size = end - base
        if limit is not None and isinstance(name, str) and os.path.isfile(name):
            region = FileRegion(name, base)
    reader = _Reader(size=size, stop_before_pixels=stop, specific_tags=specific_tags,
                     defer_size=limit, region=region)
    _read_file(f, reader, size, stop)
    return reader.result(name if isinstance(name, str) else None)


async def read_dataset(source: Any, *, stop_before_pixels: bool = False,
                       specific_tags: Iterable[Any] | None = None,
                       defer_size: int | float | str | None = None) -> Dataset:
    """Read a dataset from any source, asynchronously.

    Args:
        source: a :class:`~dicomstream.io.Source` (any async iterable of byte chunks), a
            URL a source plugin serves (``s3://…``, ``https://…``), a local path (read
            through :class:`~dicomstream.io.FileSource`), or bytes.
        stop_before_pixels, specific_tags, defer_size: as for :func:`dcmread`.

    Deferred values of a local path are read back from the file; those of other
    sources are spilled to a temporary file.
    """
    from dicomstream.io import BytesSource, FileSource

    limit = size_in_bytes(defer_size)
    region = None
    if isinstance(source, str):
        from dicomstream.plugin import open_source_url

        source = open_source_url(source) or FileSource(source)
    elif isinstance(source, os.PathLike):
        source = FileSource(source)
    elif isinstance(source, bytes | bytearray | memoryview):
        source = BytesSource(bytes(source))
    if isinstance(source, FileSource) and limit is not None:
        region = FileRegion(source.path)
    chunks: AsyncIterable[bytes] = source
    reader: _Reader | None = None
    async for chunk in chunks:
        if reader is None:
            reader = _Reader(size=getattr(source, "size", None),
                             stop_before_pixels=stop_before_pixels,
                             specific_tags=specific_tags, defer_size=limit, region=region)
        if reader.feed(chunk):
            break
    if reader is None:
        reader = _Reader(size=0, stop_before_pixels=stop_before_pixels,
                         specific_tags=specific_tags, defer_size=limit, region=region)
    reader.end()
    name = getattr(source, "path", None)
    return reader.result(os.fspath(name) if name is not None else None)
