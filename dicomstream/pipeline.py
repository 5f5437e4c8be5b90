"""Running a stream end to end: source → parser → stages → encoder → sink.

:func:`rewrite` is the one-file pipeline every higher-level tool (the CLI, bulk runs,
plugins) is built on. It runs in the caller's task: reading, parsing, transforming and
encoding alternate batch by batch, which gives natural backpressure (nothing is read
until the previous batch has been written) and bounds memory by one read chunk plus the
encoder's bounded container buffer. Any failure or cancellation aborts the sink, so no
partial output is left behind.
"""

from __future__ import annotations

__all__ = ("RewriteResult", "apply_stages", "rewrite", "rewrite_file")

import time
from typing import TYPE_CHECKING, Any

from dicomstream._rewrite_result import RewriteResult
from dicomstream.encoder import Encoder
from dicomstream.errors import DicomStreamError, StageError
from dicomstream.events import EventBatch
from dicomstream.io import FileSink, FileSource
from dicomstream.streams import aiter_events, write_events

if TYPE_CHECKING:
    import os
    from collections.abc import AsyncIterable, AsyncIterator, Sequence

    from dicomstream.events import Event
    from dicomstream.io import Sink
    from dicomstream.stages import Stage
    from dicomstream.transfer_syntax import TransferSyntax


class _Counting:
    """Wrap a source to count the bytes it delivers."""

    def __init__(self, source: AsyncIterable[bytes]) -> None:
        self._source = source
        self.count = 0

    @property
    def size(self) -> int | None:
        return getattr(self._source, "size", None)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._source:
            self.count += len(chunk)
            yield chunk


async def apply_stages(batches: AsyncIterable[list[Event]], stages: Sequence[Stage]
                       ) -> AsyncIterator[list[Event]]:
    """Pass every batch through each stage in turn, then flush them in order.

    A :class:`~dicomstream.stages.SyncStage` is called directly (``transform``), without
    a coroutine per batch."""
    from dicomstream.stages._base import is_sync_stage

    plain = [stage.transform if is_sync_stage(stage) else None  # type: ignore[attr-defined]
             for stage in stages]
    async for batch in batches:
        parsed = batch
        for stage, transform in zip(stages, plain, strict=True):
            try:
                batch = transform(batch) if transform is not None else \
                    await stage.process(batch)
            except DicomStreamError:
                raise
            except Exception as exc:
                raise StageError(f"stage {stage.name!r} failed: {exc}") from exc
            if not batch:
                break
        if batch:
            if batch is not parsed and type(parsed) is EventBatch:
                batch = parsed.derive(batch)  # lets the encoder copy what is unchanged
            yield batch
    for i, stage in enumerate(stages):
        tail = await stage.flush()
        for later in stages[i + 1:]:
            if not tail:
                break
            tail = await later.process(tail)
        if tail:
            yield tail


async def rewrite(
    source: AsyncIterable[bytes],
    sink: Sink,
    *,
    stages: Sequence[Stage] = (),
    transfer_syntax: str | TransferSyntax | None = None,
    parser_options: dict[str, Any] | None = None,
    encoder_options: dict[str, Any] | None = None,
) -> RewriteResult:
    """Parse ``source``, pass it through ``stages``, encode it into ``sink``.

    With no stages and no ``transfer_syntax`` the output is byte-identical to the input
    (deflated inputs: an equal dataset).
    """
    started = time.perf_counter()
    counting = _Counting(source)
    events = 0

    async def counted() -> AsyncIterator[list[Event]]:
        nonlocal events
        stream: AsyncIterable[list[Event]] = aiter_events(counting, **(parser_options or {}))
        if stages:
            stream = apply_stages(stream, stages)
        async for batch in stream:
            events += len(batch)
            yield batch

    encoder = Encoder(transfer_syntax, **(encoder_options or {}))
    written = await write_events(counted(), sink, encoder=encoder)
    details: dict[str, Any] = {}
    for stage in stages:
        details.update(stage.report())
    return RewriteResult(
        source=getattr(source, "name", "<source>"),
        destination=sink.name,
        bytes_read=counting.count,
        bytes_written=written,
        events=events,
        seconds=time.perf_counter() - started,
        details=details,
    )


async def rewrite_file(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    *,
    stages: Sequence[Stage] = (),
    transfer_syntax: str | TransferSyntax | None = None,
    **options: Any,
) -> RewriteResult:
    """Rewrite the file ``src`` to ``dst`` (atomically) through ``stages``."""
    return await rewrite(FileSource(src), FileSink(dst, make_parents=True), stages=stages,
                         transfer_syntax=transfer_syntax, **options)
