"""Local files with no event loop: the sans-IO core driven by plain calls.

Why this exists: a bulk rewrite of local files whose stages are all
:class:`~dicomstream.stages.SyncStage` (every built-in stage) never waits for anything
but the disk. Run in an event loop it still pays for one: importing asyncio and anyio
(about 80 ms, a third of a 500-file run), a chain of async generators per input and a
coroutine per stage per batch. Here the same parser, stages and encoder are called
directly — reading a small file is one ``read``, its events go through the stages and
the encoder batch by batch — and the one thing worth overlapping, the kernel's copy of
each finished output into its file, runs in a background writer thread while the next
input is parsed (``write`` releases the GIL, so on a second core the two proceed at once).

The contracts are those of the async pipeline, and the outputs byte for byte the same:

* an output is written under a temporary name and renamed into place when complete; any
  failure, or a signal ending the run, leaves no temporary file behind;
* memory stays flat whatever the file size: reads of 1 MiB, and an output larger than
  one write buffer streams into its temporary file as it is encoded;
* a bulk run (:func:`run_local`) writes the same report lines as
  :func:`dicomstream.bulk.run_bulk`, contains failures per input, and resumes the same
  way. ``jobs`` bounds the inputs in flight: one being parsed and up to ``jobs - 1``
  finished outputs waiting for the writer thread.

The command line uses this for local trees and files with ``--io inline`` (its default);
:func:`dicomstream.bulk.rewrite_many` is the general, concurrent runner.
"""

from __future__ import annotations

__all__ = ("LocalWriter", "iter_events", "rewrite_local", "rewrite_many_local", "run_local")

import os
import queue
import threading
import time
from typing import IO, TYPE_CHECKING, Any, BinaryIO

from dicomstream._bulk_base import (
    BulkSummary,
    ReportWriter,
    Task,
    stats_record,
    tally_error,
    tally_ok,
    tally_skipped,
    tree_tasks,
)
from dicomstream._rewrite_result import RewriteResult
from dicomstream.encoder import Encoder
from dicomstream.errors import DicomStreamError, EncodeError, SinkError, SourceError, StageError
from dicomstream.events import EventBatch
from dicomstream.io import _local  # its helpers looked up per call (tests replace them)
from dicomstream.io._base import DEFAULT_READ_SIZE
from dicomstream.io._local import STREAM_READ_SIZE, WRITE_BUFFER_SIZE
from dicomstream.parser import Parser

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Sequence

    from dicomstream.events import Event
    from dicomstream.stages import SyncStage
    from dicomstream.transfer_syntax import TransferSyntax

WRITE_AHEAD = 4
"""Most finished outputs waiting for the writer thread (each at most
:data:`WRITE_BUFFER_SIZE`): the bound on the memory the overlap costs."""


def _stage_error(stage: SyncStage, exc: Exception) -> DicomStreamError:
    if isinstance(exc, DicomStreamError):
        return exc
    return StageError(f"stage {stage.name!r} failed: {exc}")


def _through(batch: list[Event], stages: Sequence[SyncStage]) -> list[Event]:
    """One parser batch through every stage (as :func:`dicomstream.pipeline.apply_stages`
    does it, so the encoder still copies what no stage changed)."""
    parsed = batch
    for stage in stages:
        try:
            batch = stage.transform(batch)
        except Exception as exc:
            raise _stage_error(stage, exc) from exc
        if not batch:
            return batch
    if batch is not parsed and type(parsed) is EventBatch:
        batch = parsed.derive(batch)
    return batch


def _tails(stages: Sequence[SyncStage]) -> Iterable[list[Event]]:
    """What the stages held back, released in order at the end of the stream."""
    for i, stage in enumerate(stages):
        try:
            tail = stage.finish()
            for later in stages[i + 1:]:
                if not tail:
                    break
                tail = later.transform(tail)
        except Exception as exc:
            raise _stage_error(stage, exc) from exc
        if tail:
            yield tail


class LocalWriter:
    """A background thread writing finished outputs, at most ``depth`` in its hands.

    :meth:`submit` waits while ``depth`` outputs are queued or being written (the bound
    on the memory the overlap costs); outcomes come back, in order, from
    :meth:`finished` (those ready now) and :meth:`close` (all the rest, once the thread
    has written them).
    A job is the whole output: open the temporary file, write the parts, close, rename —
    so the thread needs the GIL only a handful of times each.
    """

    def __init__(self, depth: int = WRITE_AHEAD) -> None:
        self.depth = max(1, depth)
        self._jobs: queue.SimpleQueue[tuple[Any, tuple[Any, ...]] | None] = \
            queue.SimpleQueue()
        self._done: queue.SimpleQueue[tuple[Any, BaseException | None]] = \
            queue.SimpleQueue()
        self._ready: list[tuple[Any, BaseException | None]] = []
        self.pending = 0
        """Outputs submitted whose outcome has not been collected."""
        self._thread = threading.Thread(target=self._run, name="dicomstream-local-writer",
                                        daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            while (item := self._jobs.get()) is not None:
                key, args = item
                error: BaseException | None = None
                try:
                    _local._write_small(*args)
                except BaseException as exc:  # an OSError fails the input; others are bugs
                    error = exc
                self._done.put((key, error))
                del item, key, args, error  # the output's bytes are not kept alive here
        finally:
            self._done.put(_CLOSED)  # whatever happened: close() must not wait forever

    @property
    def queued(self) -> int:
        """Outputs waiting for the thread (not counting the one it writes)."""
        return self._jobs.qsize()

    def submit(self, key: Any, tmp: str, target: str, parts: list[bytes],
               make_parents: bool) -> None:
        """Queue one output (first waiting while ``depth`` are in the thread's hands);
        its outcome comes back under ``key``."""
        while self.pending >= self.depth:
            self._ready.append(self._done.get())
            self.pending -= 1
        self._jobs.put((key, (tmp, target, parts, make_parents)))
        self.pending += 1

    def finished(self) -> list[tuple[Any, BaseException | None]]:
        """Outcomes ready now: ``(key, None)`` written, ``(key, error)`` not."""
        ready, self._ready = self._ready, []
        while self.pending and not self._done.empty():
            ready.append(self._done.get())
            self.pending -= 1
        return ready

    def close(self) -> list[tuple[Any, BaseException | None]]:
        """Stop the thread once it has written everything submitted; returns every
        outcome not yet collected. Ends on the thread's own last word rather than on a
        count, so a signal that unwound the run between two steps of the bookkeeping
        cannot leave it waiting for an outcome that will never come."""
        ready, self._ready = self._ready, []
        self._jobs.put(None)
        while (item := self._done.get()) is not _CLOSED:
            ready.append(item)
        self.pending = 0
        self._thread.join()
        return ready


_CLOSED = ("closed", None)
"""What the writer thread sends last, after the outcome of every job it was given."""


class _Output:
    """An atomic local output written synchronously (a :class:`FileSink` without the
    event loop); small outputs go whole to a :class:`LocalWriter` when there is one."""

    def __init__(self, target: str, make_parents: bool) -> None:
        self.target = target
        self.make_parents = make_parents
        self.tmp = _local._temporary_name(target)
        self.parts: list[Any] = []  # bytes, and views of the input (written as they are)
        self.buffered = 0
        self.written = 0
        self.handle: IO[bytes] | None = None
        self.handed_off = False

    def write(self, data: bytes | memoryview) -> None:
        self.parts.append(data)
        self.buffered += len(data)
        self.written += len(data)
        if self.buffered >= WRITE_BUFFER_SIZE:
            parts, self.parts, self.buffered = self.parts, [], 0
            try:
                if self.handle is None:
                    self.handle = _local._create(self.tmp, self.target, self.make_parents)
                self.handle.writelines(parts)
            except OSError as exc:
                raise _sink_error(self.target, exc) from exc

    def commit(self, writer: LocalWriter | None, key: Any) -> bool:
        """Write what is left and rename; ``True`` if done, ``False`` if handed to
        ``writer`` (its outcome comes back under ``key``)."""
        try:
            if self.handle is None and writer is not None:
                writer.submit(key, self.tmp, self.target, self.parts, self.make_parents)
                self.handed_off = True  # the writer owns the output now
                return False
            if self.handle is None:
                _local._write_small(self.tmp, self.target, self.parts, self.make_parents)
            else:
                handle, self.handle = self.handle, None
                _local._finish(handle, self.parts, self.tmp, self.target)
        except OSError as exc:
            raise _sink_error(self.target, exc) from exc
        finally:
            self.parts = []
        return True

    def abort(self) -> None:
        if self.handed_off:
            return
        handle, self.handle = self.handle, None
        self.parts = []
        _local._discard(handle, self.tmp)


def _sink_error(name: str, exc: OSError) -> SinkError:
    return SinkError(f"cannot write {name}: {exc.strerror or exc}")


def _open_input(name: str) -> tuple[IO[bytes] | None, int | None, Iterator[bytes]]:
    """Open the local file ``name``: its handle (``None`` once read whole), its size
    (``None`` for a FIFO or a device) and its chunks."""
    try:
        handle, size, first = _local._open_and_read(name, DEFAULT_READ_SIZE)
    except OSError as exc:
        raise SourceError(f"cannot read {name}: {exc.strerror or exc}") from exc
    return handle, size, _chunks(name, first, handle)


def _chunks(name: str, first: bytes, stream: IO[bytes] | None) -> Iterator[bytes]:
    """The input's bytes: ``first``, then (a file larger than one read, a FIFO, a
    stream) whatever each read returns — ``read1`` where there is one: one system call,
    so a pipe's bytes are parsed as they arrive rather than once a whole read's worth
    has come."""
    if first:
        yield first
    if stream is None:
        return
    read = getattr(stream, "read1", stream.read)
    while True:
        try:
            chunk = read(STREAM_READ_SIZE)
        except OSError as exc:
            raise SourceError(f"cannot read {name}: {exc.strerror or exc}") from exc
        if not chunk:
            return
        yield chunk


def _check_sync(stages: Sequence[SyncStage]) -> None:
    from dicomstream.stages import is_sync_stage  # (only runs with stages import them)

    for stage in stages:
        if not is_sync_stage(stage):
            raise TypeError(f"stage {type(stage).__name__} awaits (it is no SyncStage, or "
                            "overrides process/flush): run it in an async pipeline")


def _pump(parser: Parser, stages: Sequence[SyncStage], encoder: Encoder, output: _Output
          ) -> int:
    """Every batch the parser has ready, through the stages into the output; returns the
    number of events encoded."""
    events = 0
    write = output.write
    while batch := parser.next_batch():
        if stages:
            batch = _through(batch, stages)
            if not batch:
                continue
        events += len(batch)
        for data in encoder.send_all_parts(batch):
            write(data)
    return events


def _rewrite(src: str, dst: str, stages: Sequence[SyncStage],
             transfer_syntax: str | TransferSyntax | None, parser_options: dict[str, Any] | None,
             writer: LocalWriter | None, key: Any) -> tuple[RewriteResult, bool]:
    """One input into one output; returns the result and whether the output is in place
    (``False``: handed to ``writer``, its outcome comes back under ``key``)."""
    started = time.perf_counter()
    if stages:
        _check_sync(stages)
    handle, size, chunks = _open_input(src)
    output = _Output(dst, make_parents=True)
    events = bytes_read = 0
    try:
        options = dict(parser_options or {})
        options.setdefault("source_size", size)
        parser = Parser(**options)
        encoder = Encoder(transfer_syntax)
        for chunk in chunks:
            parser.receive_data(chunk)
            bytes_read += len(chunk)
            events += _pump(parser, stages, encoder, output)
        parser.receive_data(b"")  # the end of the input
        events += _pump(parser, stages, encoder, output)
        for tail in _tails(stages):
            events += len(tail)
            for data in encoder.send_all_parts(tail):
                output.write(data)
        if not encoder.finished:
            raise EncodeError("event stream ended before DatasetEnd")
        details: dict[str, Any] = {}
        for stage in stages:
            details.update(stage.report())
        placed = output.commit(writer, key)
    except BaseException:
        output.abort()
        raise
    finally:
        if handle is not None:
            handle.close()
    result = RewriteResult(source=src, destination=dst, bytes_read=bytes_read,
                           bytes_written=output.written, events=events,
                           seconds=time.perf_counter() - started, details=details)
    return result, placed


def iter_events(source: str | os.PathLike[str] | BinaryIO, **parser_options: Any
                ) -> Iterator[list[Event]]:
    """Batches of events of a local file (a path) or an open binary stream (such as
    ``sys.stdin.buffer``), read with blocking calls as the batches are consumed —
    :func:`dicomstream.streams.aiter_events` for synchronous code. Memory stays flat
    whatever the size: reads of 1 MiB, large values as chunks.

    ``parser_options`` go to :class:`~dicomstream.parser.Parser`; a path's size is told
    to it, so impossible lengths fail at once.
    """
    if isinstance(source, (str, os.PathLike)):
        handle, size, chunks = _open_input(os.fspath(source))
    else:
        handle, size = None, None
        chunks = _chunks(getattr(source, "name", "<stream>"), b"", source)
    try:
        options = dict(parser_options)
        options.setdefault("source_size", size)
        parser = Parser(**options)
        for chunk in chunks:
            parser.receive_data(chunk)
            while batch := parser.next_batch():
                yield batch
        parser.receive_data(b"")
        while batch := parser.next_batch():
            yield batch
    finally:
        if handle is not None:
            handle.close()


def rewrite_local(src: str | os.PathLike[str], dst: str | os.PathLike[str], *,
                  stages: Sequence[SyncStage] = (),
                  transfer_syntax: str | TransferSyntax | None = None,
                  parser_options: dict[str, Any] | None = None) -> RewriteResult:
    """Rewrite the local file ``src`` to ``dst`` (atomically) through ``stages``, in the
    calling thread, with no event loop — :func:`dicomstream.pipeline.rewrite_file` for
    synchronous code. With no stages and no ``transfer_syntax`` the output is
    byte-identical to the input."""
    result, _ = _rewrite(os.fspath(src), os.fspath(dst), stages, transfer_syntax,
                         parser_options, None, None)
    return result


def run_local(
    tasks: Iterable[Task],
    *,
    stages: Callable[[], Iterable[SyncStage]] | None = None,
    transfer_syntax: str | None = None,
    parser_options: dict[str, Any] | None = None,
    jobs: int = 8,
    report: ReportWriter | None = None,
    skip: Callable[[Task], bool] | None = None,
    on_done: Callable[[dict[str, Any]], None] | None = None,
    extra: Callable[[Task, RewriteResult | None], dict[str, Any]] | None = None,
) -> BulkSummary:
    """Rewrite every task's local source into its local destination, one input at a time,
    finished outputs written by a background thread (at most ``jobs - 1`` waiting).

    Same records, summary and failure rules as :func:`dicomstream.bulk.run_bulk`:
    :class:`DicomStreamError` and :class:`OSError` fail one input; anything else — a
    bug, ``KeyboardInterrupt``, a signal turned into an exception — ends the run after
    the outputs already handed to the writer are written and reported (so every output
    on disk has its report line), with the output in progress removed.
    """
    summary = BulkSummary()
    started = time.perf_counter()
    depth = min(max(1, jobs) - 1, WRITE_AHEAD)
    writer = LocalWriter(depth) if depth else None
    # Inputs handed to the writer, by key. Registered before the rewrite starts: a
    # signal can unwind it between the hand-off and its return, and the output the
    # writer then places must still get its report line.
    waiting: dict[int, tuple[Task, RewriteResult | None]] = {}
    interval = report.stats_interval if report is not None else None
    next_stats = started + interval if interval else None
    peak = 0

    def record(rec: dict[str, Any]) -> None:
        if report is not None:
            report.write(rec)
        if on_done is not None:
            on_done(rec)

    def settle(outcomes: list[tuple[Any, BaseException | None]]) -> None:
        bug: BaseException | None = None
        for key, error in outcomes:
            task, result = waiting.pop(key)
            if result is None:  # handed off, then unwound before it returned
                result = RewriteResult(task.source, task.destination, 0, 0, 0, 0.0)
            if error is None:
                record(tally_ok(summary, task, result, extra))
            elif isinstance(error, OSError):
                record(tally_error(summary, task, _sink_error(task.destination, error),
                                   result.seconds, extra))
            else:  # not the input's fault: the run stops, as a bug in line would stop it
                bug = bug or error
        if bug is not None:
            raise bug

    def stats(in_flight: int) -> dict[str, Any]:
        return stats_record(summary, started, in_flight=in_flight, peak_in_flight=peak,
                            in_flight_bound=depth + 1,
                            queued=writer.queued if writer is not None else 0,
                            queue_bound=depth, producer_waiting=0)

    try:
        for key, task in enumerate(tasks):
            if writer is not None:
                settle(writer.finished())
            if next_stats is not None and time.perf_counter() >= next_stats:
                assert report is not None and interval is not None
                report.write(stats(writer.pending if writer is not None else 0))
                next_stats = time.perf_counter() + interval
            if skip is not None and skip(task):
                record(tally_skipped(summary, task))
                continue
            peak = max(peak, (writer.pending if writer is not None else 0) + 1)
            t0 = time.perf_counter()
            waiting[key] = (task, None)
            try:
                stage_list = list(stages()) if stages is not None else []
                result, placed = _rewrite(task.source, task.destination, stage_list,
                                          transfer_syntax, parser_options, writer, key)
            except (DicomStreamError, OSError) as exc:
                del waiting[key]
                record(tally_error(summary, task, exc, time.perf_counter() - t0, extra))
                continue
            if placed:
                del waiting[key]
                record(tally_ok(summary, task, result, extra))
            else:
                waiting[key] = (task, result)
    finally:
        if writer is not None:
            settle(writer.close())
        if report is not None and interval:
            report.write(stats(0))
    summary.seconds = time.perf_counter() - started
    return summary


def rewrite_many_local(
    src: str,
    dst: str,
    *,
    stages: Callable[[], Iterable[SyncStage]] | None = None,
    transfer_syntax: str | None = None,
    jobs: int = 8,
    report: str | os.PathLike[str] | None = None,
    skip_existing: bool = True,
    on_done: Callable[[dict[str, Any]], None] | None = None,
    on_total: Callable[[int], None] | None = None,
    extra: Callable[[Task, RewriteResult | None], dict[str, Any]] | None = None,
    parser_options: dict[str, Any] | None = None,
) -> BulkSummary:
    """:func:`dicomstream.bulk.rewrite_many` for a local file or tree ``src`` and a local
    ``dst``, with no event loop (:func:`run_local`): a tree is mirrored under ``dst``
    (existing outputs skipped unless ``skip_existing=False``, so a re-run resumes); a
    file goes to ``dst``, or into it when ``dst`` is a directory."""
    writer = ReportWriter(report)
    skip: Callable[[Task], bool] | None = None
    try:
        tasks: Iterable[Task]
        if os.path.isdir(src):
            tasks, skip, total = tree_tasks(src, dst, skip_existing=skip_existing,
                                            count=on_total is not None)
            if on_total is not None and total is not None:
                on_total(total)
        else:
            target = os.path.join(dst, os.path.basename(src)) if os.path.isdir(dst) else dst
            if on_total is not None:
                on_total(1)
            tasks = [Task(src, target)]  # a single named output is always (re)written
        return run_local(tasks, stages=stages, transfer_syntax=transfer_syntax,
                         parser_options=parser_options, jobs=jobs, report=writer, skip=skip,
                         on_done=on_done, extra=extra)
    finally:
        writer.close()
