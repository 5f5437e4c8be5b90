"""Bulk runs: one pipeline per input, many inputs at once, failures contained.

:func:`run_bulk` takes tasks lazily from an iterable (a directory walk of a million
files is never held in memory), runs at most ``jobs`` of them at a time — so at most
``jobs`` sources and sinks are open — and reports each outcome as one JSON line. One
failing input never stops the others. Outputs are written atomically, so an output that
exists is complete: a re-run skips it (``skip_existing``), which makes every bulk run
resumable after a crash or a kill; leftover temporary files of an interrupted run are
swept first.
"""

from __future__ import annotations

__all__ = ("BulkSummary", "ReportWriter", "Task", "plan_tree", "run_bulk",
           "sweep_temporary_files")

import json
import os
import time
from collections.abc import AsyncIterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import anyio

from dicomstream.errors import DicomStreamError
from dicomstream.io.files import TEMP_SUFFIX

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator

    from dicomstream.pipeline import RewriteResult


@dataclass(frozen=True, slots=True)
class Task:
    """One input and where its output goes."""

    source: str
    destination: str


@dataclass
class BulkSummary:
    """Counts of a bulk run."""

    ok: int = 0
    failed: int = 0
    skipped: int = 0
    bytes_read: int = 0
    bytes_written: int = 0
    seconds: float = 0.0
    failures: list[tuple[str, str]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.ok + self.failed + self.skipped


def _is_temporary(name: str) -> bool:
    return name.endswith(TEMP_SUFFIX)


def plan_tree(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> Iterator[Task]:
    """Every regular file under ``src`` (sorted, hidden temporary files skipped), mapped to
    the same relative path under ``dst``."""
    src_root = Path(src)
    dst_root = Path(dst)
    for dirpath, dirnames, filenames in os.walk(src_root):
        dirnames.sort()
        rel = Path(dirpath).relative_to(src_root)
        for name in sorted(filenames):
            if _is_temporary(name):
                continue
            yield Task(str(Path(dirpath) / name), str(dst_root / rel / name))


def count_tree(src: str | os.PathLike[str]) -> int:
    """Number of files :func:`plan_tree` yields (a cheap first pass for progress bars)."""
    return sum(sum(1 for n in files if not _is_temporary(n))
               for _, _, files in os.walk(src))


def _existing_files(root: str) -> set[str]:
    """Complete outputs under ``root`` (temporary leftovers are removed on the way)."""
    sweep_temporary_files(root)
    return {os.path.join(d, n) for d, _, names in os.walk(root) for n in names}


def sweep_temporary_files(root: str | os.PathLike[str]) -> int:
    """Remove temporary files an interrupted run left under ``root``; returns the count."""
    removed = 0
    if not os.path.isdir(root):
        return 0
    for dirpath, _, filenames in os.walk(root):
        for name in filenames:
            if _is_temporary(name):
                try:
                    os.unlink(os.path.join(dirpath, name))
                    removed += 1
                except FileNotFoundError:
                    pass
    return removed


class ReportWriter:
    """JSON-lines report, one line per input, flushed as it goes (a crash keeps what was
    reported)."""

    def __init__(self, path: str | os.PathLike[str] | None) -> None:
        self._file: IO[str] | None = open(path, "a", encoding="utf-8") if path else None  # noqa: SIM115

    def write(self, record: dict[str, Any]) -> None:
        if self._file is not None:
            self._file.write(json.dumps(record, sort_keys=True) + "\n")
            self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def _error_text(exc: BaseException) -> str:
    from dicomstream.cli._errors import describe

    return describe(exc)


async def run_bulk(
    tasks: Iterable[Task] | AsyncIterable[Task],
    process: Callable[[Task], Awaitable[RewriteResult]],
    *,
    jobs: int = 8,
    report: ReportWriter | None = None,
    skip: Callable[[Task], bool] | None = None,
    on_done: Callable[[dict[str, Any]], None] | None = None,
    extra: Callable[[Task, RewriteResult | None], dict[str, Any]] | None = None,
) -> BulkSummary:
    """Run ``process`` over ``tasks`` with at most ``jobs`` at once; ``skip(task)`` says
    which tasks are already done.

    Each outcome becomes a record ``{source, destination, status, error, bytes_in,
    bytes_out, seconds}`` (status ``ok``, ``error`` or ``skipped``) written to
    ``report`` and passed to ``on_done``. Only :class:`DicomStreamError` and
    :class:`OSError` count as a failed input; anything else is a bug and propagates.
    """
    summary = BulkSummary()
    started = time.perf_counter()
    send, receive = anyio.create_memory_object_stream[Task](max(1, jobs))

    def record(rec: dict[str, Any]) -> None:
        if report is not None:
            report.write(rec)
        if on_done is not None:
            on_done(rec)

    async def produce() -> None:
        async with send:
            if isinstance(tasks, AsyncIterable):
                async for task in tasks:
                    await send.send(task)
            else:
                for task in tasks:
                    await send.send(task)

    async def worker() -> None:
        async for task in receive:
            t0 = time.perf_counter()
            if skip is not None and skip(task):
                summary.skipped += 1
                record({"source": task.source, "destination": task.destination,
                        "status": "skipped", "error": None, "bytes_in": 0, "bytes_out": 0,
                        "seconds": 0.0})
                continue
            try:
                result = await process(task)
            except (DicomStreamError, OSError) as exc:
                summary.failed += 1
                message = _error_text(exc)
                summary.failures.append((task.source, message))
                rec = {"source": task.source, "destination": task.destination,
                       "status": "error", "error": message, "bytes_in": 0, "bytes_out": 0,
                       "seconds": round(time.perf_counter() - t0, 6)}
                if extra is not None:
                    rec.update(extra(task, None))
                record(rec)
                continue
            summary.ok += 1
            summary.bytes_read += result.bytes_read
            summary.bytes_written += result.bytes_written
            rec = {"source": task.source, "destination": task.destination, "status": "ok",
                   "error": None, "bytes_in": result.bytes_read,
                   "bytes_out": result.bytes_written, "seconds": round(result.seconds, 6)}
            if result.details:
                rec["details"] = result.details
            if extra is not None:
                rec.update(extra(task, result))
            record(rec)

    async with receive, anyio.create_task_group() as tg:
        tg.start_soon(produce)
        for _ in range(max(1, jobs)):
            tg.start_soon(worker)
    summary.seconds = time.perf_counter() - started
    return summary


async def _url_tasks(urls: AsyncIterator[str], prefix: str, dst: str
                     ) -> AsyncIterator[Task]:
    """Tasks for every URL under ``prefix``, mirrored under ``dst``."""
    async for url in urls:
        rel = url[len(prefix):]
        if dst.endswith("/") or "://" not in dst:
            target = dst.rstrip("/") + "/" + rel if "://" in dst else os.path.join(dst, rel)
        else:
            target = dst + "/" + rel
        yield Task(url, target)


def _stage_list(factory: Callable[[], Any] | None) -> list[Any]:
    return list(factory()) if factory is not None else []


async def rewrite_many(
    src: str,
    dst: str,
    *,
    stages: Callable[[], Iterable[Any]] | None = None,
    transfer_syntax: str | None = None,
    jobs: int = 8,
    report: str | os.PathLike[str] | None = None,
    skip_existing: bool = True,
    on_done: Callable[[dict[str, Any]], None] | None = None,
    on_total: Callable[[int], None] | None = None,
    extra: Callable[[Task, RewriteResult | None], dict[str, Any]] | None = None,
    parser_options: dict[str, Any] | None = None,
) -> BulkSummary:
    """Rewrite ``src`` to ``dst`` through fresh stages from ``stages()`` per input.

    ``src``/``dst`` may be files, directory trees (mirrored; existing outputs skipped
    unless ``skip_existing=False``), ``-`` for stdin/stdout, or URLs handled by
    source/sink plugins. Returns the summary; failures are in the report, not raised.
    """
    from dicomstream.io import FileSink, FileSource, StdinSource, StdoutSink
    from dicomstream.pipeline import rewrite
    from dicomstream.plugin import open_sink_url, open_source_url

    def open_source(spec: str) -> Any:
        if spec == "-":
            return StdinSource()
        return open_source_url(spec) or FileSource(spec)

    def open_sink(spec: str) -> Any:
        if spec == "-":
            return StdoutSink()
        return open_sink_url(spec) or FileSink(spec, make_parents=True)

    async def process(task: Task) -> RewriteResult:
        return await rewrite(open_source(task.source), open_sink(task.destination),
                             stages=_stage_list(stages), transfer_syntax=transfer_syntax,
                             parser_options=parser_options)

    from dicomstream.plugin import list_source_urls, url_scheme

    if url_scheme(src) and src.endswith("/"):
        # A URL prefix (s3://bucket/in/): list it through its source plugin.
        writer = ReportWriter(report)
        try:
            return await run_bulk(_url_tasks(list_source_urls(src), src, dst), process,
                                  jobs=jobs, report=writer, on_done=on_done, extra=extra)
        finally:
            writer.close()
    tree = src != "-" and await anyio.to_thread.run_sync(os.path.isdir, src)
    writer = ReportWriter(report)
    skip: Callable[[Task], bool] | None = None
    try:
        if tree:
            if dst == "-":
                raise DicomStreamError("a directory tree cannot be written to stdout")
            if skip_existing and await anyio.to_thread.run_sync(os.path.isdir, dst):
                # Outputs are written atomically, so an existing one is complete.
                done = await anyio.to_thread.run_sync(_existing_files, dst)
                skip = lambda task: task.destination in done  # noqa: E731
            if on_total is not None:
                on_total(await anyio.to_thread.run_sync(count_tree, src))
            tasks: Iterable[Task] = plan_tree(src, dst)
        else:
            target = dst
            if dst != "-" and src != "-" and await anyio.to_thread.run_sync(os.path.isdir, dst):
                target = os.path.join(dst, os.path.basename(src))
            if on_total is not None:
                on_total(1)
            tasks = [Task(src, target)]  # a single named output is always (re)written
        return await run_bulk(tasks, process, jobs=jobs, report=writer, skip=skip,
                              on_done=on_done, extra=extra)
    finally:
        writer.close()
