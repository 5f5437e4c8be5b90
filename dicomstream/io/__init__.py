"""Sources and sinks: where bytes come from and go to. The only package that does I/O."""

from __future__ import annotations

__all__ = (
    "DEFAULT_READ_SIZE",
    "BytesSource",
    "FileSink",
    "FileSource",
    "IterableSource",
    "MemorySink",
    "Sink",
    "Source",
    "StdinSource",
    "StdoutSink",
)

from dicomstream.io._base import DEFAULT_READ_SIZE, Sink, Source
from dicomstream.io.files import FileSink, FileSource
from dicomstream.io.memory import BytesSource, IterableSource, MemorySink
from dicomstream.io.stdio import StdinSource, StdoutSink
