"""Bulk runs: one pipeline per input, many inputs at once, failures contained.

:func:`run_bulk` takes tasks lazily from an iterable (a directory walk of a million
files is never held in memory), runs at most ``jobs`` of them at a time — so at most
``jobs`` sources and sinks are open — and reports each outcome as one JSON line. One
failing input never stops the others. Outputs are written atomically, so an output that
exists is complete: a re-run skips it (``skip_existing``), which makes every bulk run
resumable after a crash or a kill; leftover temporary files of an interrupted run are
swept first.

Hooks for URL plugins and clusters (see :func:`rewrite_many`): ``source_options`` /
``sink_options`` reach every URL plugin of a run (each takes the options it knows); a
source that stands for several instances (a DICOMweb study) exposes ``instances()`` and
each instance is written under DST; ``cluster=`` hands the tasks to a Dask cluster
(:mod:`dicomstream.cluster`), which is why one input's work is a picklable
:class:`RewriteJob`.
"""

from __future__ import annotations

__all__ = ("BulkSummary", "ReportWriter", "RewriteJob", "Task", "count_tree", "plan_tree",
           "rewrite_many", "run_bulk", "sweep_temporary_files")

import functools
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
    the same relative path under ``dst`` (a directory, or a URL prefix such as
    ``s3://bucket/out``)."""
    src_root = Path(src)
    dst_root = Path(dst)
    for dirpath, dirnames, filenames in os.walk(src_root):
        dirnames.sort()
        rel = Path(dirpath).relative_to(src_root)
        for name in sorted(filenames):
            if _is_temporary(name):
                continue
            yield Task(str(Path(dirpath) / name), _under(str(dst), (rel / name).as_posix())
                       if "://" in str(dst) else str(dst_root / rel / name))


def _under(root: str, rel: str) -> str:
    """``rel`` (POSIX) under ``root``, a URL prefix or a directory."""
    if "://" in root:
        return root.rstrip("/") + "/" + rel
    return os.path.join(root, rel)


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


@functools.cache
def _url_plugin(group: str, scheme: str) -> Any:
    """The source/sink plugin of ``scheme``, looked up once per process: an entry-point
    lookup scans every installed distribution (~15 ms), far more than a small object's
    whole rewrite."""
    from dicomstream.plugin import load

    return load(group, scheme)


@dataclass(frozen=True)
class RewriteJob:
    """What a bulk rewrite does to one :class:`Task`: open its source and sink, run the
    pipeline. Plain data (with the stage factory), so it pickles to cluster workers.

    Attributes:
        stages: a factory of fresh stage instances (called once per input), or ``None``.
        transfer_syntax: re-encode to this UID, or ``None``.
        parser_options: keyword arguments of the parser.
        source_options / sink_options: keyword arguments of URL source/sink plugins
            (e.g. ``endpoint_url``); plain paths ignore them.
        inline_small_io: read and write small local files without thread hops
            (:mod:`dicomstream.io.files`); for batch runs that run nothing else.
    """

    stages: Callable[[], Iterable[Any]] | None = None
    transfer_syntax: str | None = None
    parser_options: dict[str, Any] | None = None
    source_options: dict[str, Any] | None = None
    sink_options: dict[str, Any] | None = None
    inline_small_io: bool = False

    def open_source(self, spec: str) -> Any:
        from dicomstream.io import FileSource, StdinSource
        from dicomstream.plugin import SOURCES, open_source_url, url_scheme

        if spec == "-":
            return StdinSource()
        scheme = url_scheme(spec)
        if scheme is not None and scheme != "file":
            return _url_plugin(SOURCES, scheme)(spec, **(self.source_options or {}))
        return open_source_url(spec) or FileSource(spec, inline_small=self.inline_small_io)

    def open_sink(self, spec: str) -> Any:
        from dicomstream.io import FileSink, StdoutSink
        from dicomstream.plugin import SINKS, open_sink_url, url_scheme

        if spec == "-":
            return StdoutSink()
        scheme = url_scheme(spec)
        if scheme is not None and scheme != "file":
            return _url_plugin(SINKS, scheme)(spec, **(self.sink_options or {}))
        return open_sink_url(spec) or FileSink(spec, make_parents=True,
                                               inline_small=self.inline_small_io)

    async def rewrite(self, source: Any, destination: str) -> RewriteResult:
        """Run the pipeline from an open ``source`` into ``destination``."""
        from dicomstream.pipeline import rewrite

        return await rewrite(source, self.open_sink(destination),
                             stages=_stage_list(self.stages),
                             transfer_syntax=self.transfer_syntax,
                             parser_options=self.parser_options)

    async def __call__(self, task: Task) -> RewriteResult:
        return await self.rewrite(self.open_source(task.source), task.destination)


async def _instance_tasks(source: Any, dst: str, pending: dict[str, Any]
                          ) -> AsyncIterator[Task]:
    """One task per instance of a multi-instance source, written under ``dst``."""
    async for instance in source.instances():
        task = Task(instance.name, _under(dst, instance.output_name))
        pending[task.source] = instance
        yield task


def _multi_instance_process(job: RewriteJob, pending: dict[str, Any]
                            ) -> Callable[[Task], Awaitable[RewriteResult]]:
    async def process(task: Task) -> RewriteResult:
        instance = pending.pop(task.source)
        try:
            return await job.rewrite(instance, task.destination)
        finally:
            # Release the instance even when it was never read, so the shared stream
            # behind it can move on to the next one.
            aclose = getattr(instance, "aclose", None)
            if aclose is not None:
                await aclose()

    return process


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
    source_options: dict[str, Any] | None = None,
    sink_options: dict[str, Any] | None = None,
    cluster: Any = None,
    inline_small_io: bool = False,
) -> BulkSummary:
    """Rewrite ``src`` to ``dst`` through fresh stages from ``stages()`` per input.

    ``src``/``dst`` may be files, directory trees (mirrored; existing outputs skipped
    unless ``skip_existing=False``), ``-`` for stdin/stdout, or URLs handled by
    source/sink plugins: a URL ending in ``/`` is a prefix, listed by its plugin and
    mirrored under ``dst``; a URL whose source has ``instances()`` (e.g. a DICOMweb study)
    writes each instance to ``dst/<instance.output_name>``, one report line each.
    ``source_options``/``sink_options`` go to URL plugins. ``cluster`` (an address such
    as ``tcp://host:8786``, ``"local"``, ``"local:4"`` or a ``distributed.Client``) runs
    the inputs on a Dask cluster, ``jobs`` at a time on each worker (see
    :mod:`dicomstream.cluster`); a multi-instance source, being one stream, always runs
    here. Returns the summary; failures are in the report, not raised.
    """
    from dicomstream.plugin import list_source_urls, url_scheme

    job = RewriteJob(stages=stages, transfer_syntax=transfer_syntax,
                     parser_options=parser_options, source_options=source_options,
                     sink_options=sink_options,
                     inline_small_io=inline_small_io)
    runner: Callable[..., Awaitable[BulkSummary]] = run_bulk
    if cluster is not None:
        from functools import partial

        from dicomstream.cluster import run_on_cluster

        runner = partial(run_on_cluster, cluster=cluster)

    if url_scheme(src) and src.endswith("/"):
        # A URL prefix (s3://bucket/in/): list it through its source plugin.
        writer = ReportWriter(report)
        try:
            listed = list_source_urls(src, **(source_options or {}))
            return await runner(_url_tasks(listed, src, dst), job, jobs=jobs, report=writer,
                                on_done=on_done, extra=extra)
        finally:
            writer.close()
    if url_scheme(src):
        source = job.open_source(src)
        if callable(getattr(source, "instances", None)):
            # One URL, many instances (a DICOMweb study): one stream, run here.
            pending: dict[str, Any] = {}
            writer = ReportWriter(report)
            try:
                return await run_bulk(_instance_tasks(source, dst, pending),
                                      _multi_instance_process(job, pending), jobs=jobs,
                                      report=writer, on_done=on_done, extra=extra)
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
            if url_scheme(dst) and dst.endswith("/") and src != "-":
                target = dst + os.path.basename(src.rstrip("/"))
            elif dst != "-" and src != "-" and await anyio.to_thread.run_sync(
                    os.path.isdir, dst):
                target = os.path.join(dst, os.path.basename(src))
            if on_total is not None:
                on_total(1)
            tasks = [Task(src, target)]  # a single named output is always (re)written
        return await runner(tasks, job, jobs=jobs, report=writer, skip=skip,
                            on_done=on_done, extra=extra)
    finally:
        writer.close()
