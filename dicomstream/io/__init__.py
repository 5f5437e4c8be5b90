"""Sources and sinks: where bytes come from and go to. The only package that does I/O.

The names below are loaded on first use: the async sources and sinks import asyncio and
anyio, which :mod:`dicomstream.local` (runs without an event loop) must not pay for when
it imports the synchronous file helpers of this package.
"""

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

from typing import TYPE_CHECKING, Any

from dicomstream.io._base import DEFAULT_READ_SIZE, Sink, Source

if TYPE_CHECKING:
    from dicomstream.io.files import FileSink, FileSource
    from dicomstream.io.memory import BytesSource, IterableSource, MemorySink
    from dicomstream.io.stdio import StdinSource, StdoutSink

_LAZY = {"FileSink": "files", "FileSource": "files", "BytesSource": "memory",
         "IterableSource": "memory", "MemorySink": "memory", "StdinSource": "stdio",
         "StdoutSink": "stdio"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # once: later lookups are plain attribute reads
    return value
