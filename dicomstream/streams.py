"""Async adapters between byte streams and event streams.

These are the thin shells around the sans-IO core: :func:`aiter_events` reads chunks
from a source and yields the events the parser can produce from each one, as a list
(a *batch*): stages and the encoder work batch by batch, so there is one ``await`` per
chunk, never one per element. :func:`write_events` is the other direction.
"""

from __future__ import annotations

__all__ = ("aiter_events", "events_from_bytes", "write_events")

from typing import TYPE_CHECKING, Any

import anyio

from dicomstream.encoder import Encoder
from dicomstream.errors import EncodeError
from dicomstream.parser import Parser

if TYPE_CHECKING:
    from collections.abc import AsyncIterable, AsyncIterator

    from dicomstream.events import Event
    from dicomstream.io import Sink


async def aiter_events(source: AsyncIterable[bytes], **parser_options: Any
                       ) -> AsyncIterator[list[Event]]:
    """Parse ``source`` as it arrives; yields non-empty batches of events.

    ``parser_options`` go to :class:`~dicomstream.parser.Parser`. When the source knows
    its size (``source.size``) the parser is told, so impossible lengths fail at once.
    """
    parser: Parser | None = None
    async for chunk in source:
        if parser is None:
            options = dict(parser_options)
            options.setdefault("source_size", getattr(source, "size", None))
            parser = Parser(**options)
        parser.receive_data(chunk)
        while batch := parser.next_batch():
            yield batch
    if parser is None:
        parser = Parser(**parser_options)
    parser.receive_data(b"")
    while batch := parser.next_batch():
        yield batch


async def events_from_bytes(data: bytes, **parser_options: Any) -> AsyncIterator[list[Event]]:
    """Batches of events of an input held in memory (handy in tests and examples)."""
    from dicomstream.io import BytesSource

    async for batch in aiter_events(BytesSource(data), **parser_options):
        yield batch


OVERLAP_AFTER = 8 * 1024 * 1024
"""Bytes written in line before a stream is large enough to write in a task of its own."""

WRITE_QUEUE = 16
"""Parts queued between the encoding task and the writing task (backpressure bound)."""


async def write_events(batches: AsyncIterable[list[Event]], sink: Sink, *,
                       encoder: Encoder | None = None, commit: bool = True) -> int:
    """Encode event batches into ``sink``; returns the number of bytes written.

    Small outputs are written in line. Once an output passes :data:`OVERLAP_AFTER`
    bytes, the rest is handed to a writer task through a bounded queue (unless the sink
    writes in the calling thread anyway: ``sink.inline``), so writing one
    part overlaps with reading and encoding the next (the queue's bound is the
    backpressure: the encoder waits when the sink is slower). The sink is committed when
    the stream ended with ``DatasetEnd`` (unless ``commit=False``) and aborted on any
    error or cancellation, so a partial output is never left behind.
    """
    encoder = encoder or Encoder()
    written = 0
    iterator = aiter(batches)
    # A sink that writes in the calling thread (FileSink(inline=True)) blocks the loop
    # either way: a writer task would only add hand-offs.
    inline = getattr(sink, "inline", False) is True
    try:
        async for batch in iterator:
            for data in encoder.send_all_parts(batch):
                written += len(data)
                await sink.write(data)
            if written > OVERLAP_AFTER and not encoder.finished and not inline:
                written += await _write_overlapped(iterator, sink, encoder)
                break
        if not encoder.finished:
            raise EncodeError("event stream ended before DatasetEnd")
        if commit:
            await sink.commit()
    except BaseException:
        await sink.abort()
        raise
    return written


async def _write_overlapped(batches: AsyncIterator[list[Event]], sink: Sink,
                            encoder: Encoder) -> int:
    send, receive = anyio.create_memory_object_stream[bytes | memoryview](WRITE_QUEUE)
    written = 0

    async def writer() -> None:
        async with receive:
            async for data in receive:
                await sink.write(data)

    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(writer)
            async with send:
                async for batch in batches:
                    for data in encoder.send_all_parts(batch):
                        written += len(data)
                        await send.send(data)
    except BaseExceptionGroup as group:
        # The task group is an implementation detail: callers expect the error itself.
        raise _first_error(group) from None
    return written


def _first_error(group: BaseExceptionGroup) -> BaseException:
    """The exception a task group failed with (the first, when several tasks failed)."""
    exc: BaseException = group
    while isinstance(exc, BaseExceptionGroup):
        exc = exc.exceptions[0]
    return exc
