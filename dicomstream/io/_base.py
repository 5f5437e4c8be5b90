"""What a source and a sink are.

A *source* is an async iterable of byte chunks, with a ``name`` for reports and, when it
is known, the total ``size`` (the parser uses it to refuse impossible lengths at once).
A *sink* receives byte chunks and makes them visible only on :meth:`Sink.commit`;
:meth:`Sink.abort` (called on any failure or cancellation) leaves nothing behind.
Both are protocols: anything with these members plugs in, including plugin classes.
"""

from __future__ import annotations

__all__ = ("DEFAULT_READ_SIZE", "Sink", "Source")

from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

DEFAULT_READ_SIZE = 1024 * 1024
"""Bytes asked for per read. Large enough that a thread hop per read is cheap relative
to the copy; small enough that memory stays flat on huge files."""


@runtime_checkable
class Source(Protocol):
    """An async stream of byte chunks."""

    name: str
    size: int | None

    def __aiter__(self) -> AsyncIterator[bytes]: ...


@runtime_checkable
class Sink(Protocol):
    """A destination for bytes that appear atomically on commit."""

    name: str

    async def write(self, data: bytes | memoryview) -> None:
        """Queue or write ``data`` (a view must not be kept after the call returns
        unless the sink copies it or the view is of immutable bytes, as encoder output
        always is)."""

    async def commit(self) -> None:
        """Make everything written visible (e.g. rename the temporary file)."""

    async def abort(self) -> None:
        """Discard everything written; never raises for a sink already gone."""
