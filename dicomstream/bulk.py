"""Bulk runs: one pipeline per input, many inputs at once, failures contained.

:func:`run_bulk` takes tasks lazily from an iterable (a directory walk of a million
files is never held in memory), runs at most ``jobs`` of them at a time — so at most
``jobs`` sources and sinks are open — and reports each outcome as one JSON line. One
failing input never stops the others. Outputs are written atomically, so an output that
exists is complete: a re-run skips it (``skip_existing``), which makes every bulk run
resumable after a crash or a kill; leftover temporary files of an interrupted run are
swept first.

Resuming, decided: only a finished output counts as done. An input that failed (bad
input, full disk, a source that broke mid-stream) has no output, so the next run tries it
again and reports it again — what freeing space or repairing an input needs, and a bad
input simply fails the same way each time. The CLI ends a run cleanly on SIGTERM or
SIGHUP (in-flight outputs aborted, exit 143 or 129; :mod:`dicomstream.cli._signals`);
after SIGKILL the sweep does that. ``scripts/chaos_bulk.py`` checks all of it end to end, and
``scripts/bounded_resources.py`` that descriptors, queues (the ``stats`` lines of
:class:`ReportWriter`) and memory stay bounded over 10,000 inputs.

Hooks for URL plugins and clusters (see :func:`rewrite_many`): ``source_options`` /
``sink_options`` reach every URL plugin of a run (each takes the options it knows); a
source that stands for several instances (a DICOMweb study) exposes ``instances()`` and
each instance is written under DST; ``cluster=`` hands the tasks to a Dask cluster
(:mod:`dicomstream.cluster`), which is why one input's work is a picklable
:class:`RewriteJob`.
"""

from __future__ import annotations

__all__ = ("KEPT_FAILURES", "STATS_ENV", "BulkSummary", "ReportWriter", "RewriteJob", "Task",
           "count_tree", "plan_tree", "rewrite_many", "run_bulk", "sweep_temporary_files")

import functools
import os
import time
from collections.abc import AsyncIterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import anyio.lowlevel

from dicomstream._bulk_base import (
    KEPT_FAILURES,
    STATS_ENV,
    BulkSummary,
    ReportWriter,
    Task,
    _under,
    count_tree,
    plan_tree,
    stats_record,
    sweep_temporary_files,
    tally_error,
    tally_ok,
    tally_skipped,
    tree_tasks,
)
from dicomstream.errors import DicomStreamError

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable, Iterable

    from dicomstream.naming import NameTemplate
    from dicomstream.pipeline import RewriteResult


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

    Bounds: at most ``jobs`` inputs in flight; tasks from an iterable (the lazy walk of
    a tree) are pulled by the workers as they go, so none wait in between, and tasks
    from an async iterable (a listing of URLs) queue ``jobs`` at most. When the report
    has a ``stats_interval``, both are written to it as ``stats`` lines
    (:class:`ReportWriter`).
    """
    summary = BulkSummary()
    started = time.perf_counter()
    bound = max(1, jobs)
    send, receive = anyio.create_memory_object_stream[Task](bound)
    in_flight = peak_in_flight = 0
    workers_left = bound
    all_done = anyio.Event()

    def record(rec: dict[str, Any]) -> None:
        if report is not None:
            report.write(rec)
        if on_done is not None:
            on_done(rec)

    # Tasks from an iterable (a directory walk) are pulled by the workers themselves,
    # one ``next`` at a time (a plain call: no other worker can run inside it); an async
    # iterable (a listing of URLs) is fed to them through a bounded stream.
    shared = None if isinstance(tasks, AsyncIterable) else iter(tasks)

    async def produce() -> None:
        assert isinstance(tasks, AsyncIterable)
        async with send:
            async for task in tasks:
                await send.send(task)

    def stats() -> dict[str, Any]:
        queue = receive.statistics()
        return stats_record(summary, started, in_flight=in_flight,
                            peak_in_flight=peak_in_flight, in_flight_bound=bound,
                            queued=queue.current_buffer_used,
                            queue_bound=queue.max_buffer_size,
                            producer_waiting=queue.tasks_waiting_send)

    async def write_stats(report: ReportWriter, interval: float) -> None:
        while True:  # a line every ``interval`` and one when the last worker is done
            with anyio.move_on_after(interval):
                await all_done.wait()
            report.write(stats())
            if all_done.is_set():
                return

    async def worker() -> None:
        nonlocal workers_left
        try:
            await work()
        finally:
            workers_left -= 1
            if not workers_left:
                all_done.set()

    async def work() -> None:
        if shared is not None:
            for task in shared:
                # Each task starts at a checkpoint: inline I/O may never yield, and the
                # stats task, a SIGTERM's cancellation and the other workers need turns.
                await anyio.lowlevel.checkpoint()
                await run_one(task)
        else:
            async for task in receive:
                await run_one(task)

    async def run_one(task: Task) -> None:
        nonlocal in_flight, peak_in_flight
        t0 = time.perf_counter()
        if skip is not None and skip(task):
            record(tally_skipped(summary, task))
            return
        in_flight += 1
        peak_in_flight = max(peak_in_flight, in_flight)
        try:
            result = await process(task)
        except (DicomStreamError, OSError) as exc:
            record(tally_error(summary, task, exc, time.perf_counter() - t0, extra))
            return
        finally:
            in_flight -= 1
        record(tally_ok(summary, task, result, extra))

    async with receive, anyio.create_task_group() as tg:
        if report is not None and report.stats_interval:
            tg.start_soon(write_stats, report, report.stats_interval)
        if shared is None:
            tg.start_soon(produce)
        else:
            send.close()
        for _ in range(bound):
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
        inline_io: read and write local files in the event loop's thread, without
            thread hops (:mod:`dicomstream.io.files`); for batch runs that run nothing
            else, on local disks.
        name_template: name outputs from their values (:mod:`dicomstream.naming`)
            under ``output_root``, through a
            :class:`~dicomstream.io.templated.TemplatedFileSink`; a task's
            ``destination`` is then only what the report shows until the output is
            placed.
        output_root: the local directory templated outputs go under.
        source_root: what ``{relpath}`` / ``{stem}`` are relative to (SRC).
    """

    stages: Callable[[], Iterable[Any]] | None = None
    transfer_syntax: str | None = None
    parser_options: dict[str, Any] | None = None
    source_options: dict[str, Any] | None = None
    sink_options: dict[str, Any] | None = None
    inline_io: bool = False
    name_template: NameTemplate | None = None
    output_root: str | None = None
    source_root: str | None = None

    def open_source(self, spec: str) -> Any:
        from dicomstream.io import FileSource, StdinSource

        if "://" not in spec and spec != "-":  # the common case, once per input
            return FileSource(spec, inline=self.inline_io)
        from dicomstream.plugin import SOURCES, open_source_url, url_scheme

        if spec == "-":
            return StdinSource()
        scheme = url_scheme(spec)
        if scheme is not None and scheme != "file":
            return _url_plugin(SOURCES, scheme)(spec, **(self.source_options or {}))
        return open_source_url(spec) or FileSource(spec, inline=self.inline_io)

    def open_sink(self, spec: str) -> Any:
        from dicomstream.io import FileSink, StdoutSink

        if "://" not in spec and spec != "-":  # the common case, once per input
            return FileSink(spec, make_parents=True, inline=self.inline_io)
        from dicomstream.plugin import SINKS, open_sink_url, url_scheme

        if spec == "-":
            return StdoutSink()
        scheme = url_scheme(spec)
        if scheme is not None and scheme != "file":
            return _url_plugin(SINKS, scheme)(spec, **(self.sink_options or {}))
        return open_sink_url(spec) or FileSink(spec, make_parents=True,
                                               inline=self.inline_io)

    def relative_source(self, spec: str) -> str:
        """``spec`` relative to :attr:`source_root` (POSIX), for ``{relpath}``."""
        root = self.source_root
        if spec == "-":
            return "stdin"
        if root and "://" in spec and spec.startswith(root):
            return spec[len(root):].lstrip("/")
        if root and "://" not in spec:
            try:
                return Path(spec).relative_to(root).as_posix()
            except ValueError:
                pass
        return spec.rstrip("/").rsplit("/", 1)[-1]

    async def rewrite(self, source: Any, destination: str, *, relpath: str | None = None
                      ) -> RewriteResult:
        """Run the pipeline from an open ``source`` into ``destination`` (with a
        :attr:`name_template`: into a name rendered under :attr:`output_root`, with
        ``relpath`` for ``{relpath}``/``{stem}``)."""
        from dicomstream.pipeline import rewrite

        stages = _stage_list(self.stages)
        if self.name_template is None:
            sink = self.open_sink(destination)
        else:
            from dicomstream.io.templated import TemplatedFileSink
            from dicomstream.naming import NameCaptureStage

            capture = NameCaptureStage(self.name_template, relpath=relpath)
            stages.append(capture)  # last: the values of the output
            sink = TemplatedFileSink(self.output_root or destination, capture.render,
                                     on_placed=capture.on_placed,
                                     inline=self.inline_io)
        return await rewrite(source, sink, stages=stages,
                             transfer_syntax=self.transfer_syntax,
                             parser_options=self.parser_options)

    async def __call__(self, task: Task) -> RewriteResult:
        relpath = None if self.name_template is None else self.relative_source(task.source)
        return await self.rewrite(self.open_source(task.source), task.destination,
                                  relpath=relpath)


async def _instance_tasks(source: Any, dst: str, pending: dict[str, Any], *,
                          templated: bool = False) -> AsyncIterator[Task]:
    """One task per instance of a multi-instance source, written under ``dst`` (named
    there by the job's template when ``templated``)."""
    async for instance in source.instances():
        task = Task(instance.name, dst if templated else _under(dst, instance.output_name))
        pending[task.source] = instance
        yield task


def _multi_instance_process(job: RewriteJob, pending: dict[str, Any]
                            ) -> Callable[[Task], Awaitable[RewriteResult]]:
    async def process(task: Task) -> RewriteResult:
        instance = pending.pop(task.source)
        try:
            return await job.rewrite(instance, task.destination,
                                     relpath=getattr(instance, "output_name", None))
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
    inline_io: bool = False,
    name_template: NameTemplate | str | None = None,
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
    here. ``name_template`` (a :class:`~dicomstream.naming.NameTemplate` or its text)
    names every output from its own values under the local directory ``dst`` instead of
    mirroring ``src`` (see :func:`_rewrite_templated` for collisions and resuming).
    Returns the summary; failures are in the report, not raised.
    """
    from dicomstream.plugin import list_source_urls, url_scheme

    job = RewriteJob(stages=stages, transfer_syntax=transfer_syntax,
                     parser_options=parser_options, source_options=source_options,
                     sink_options=sink_options,
                     inline_io=inline_io)
    runner: Callable[..., Awaitable[BulkSummary]] = run_bulk
    if cluster is not None:
        from functools import partial

        from dicomstream.cluster import run_on_cluster

        runner = partial(run_on_cluster, cluster=cluster)
    if name_template is not None:
        from dicomstream.naming import parse_template

        template = parse_template(name_template) if isinstance(name_template, str) \
            else name_template
        return await _rewrite_templated(
            src, dst, template, job, runner, jobs=jobs, report=report,
            skip_existing=skip_existing, on_done=on_done, on_total=on_total, extra=extra)

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
    tasks: Iterable[Task]
    try:
        if tree:
            if dst == "-":
                raise DicomStreamError("a directory tree cannot be written to stdout")
            tasks, skip, total = await anyio.to_thread.run_sync(functools.partial(
                tree_tasks, src, dst, skip_existing=skip_existing,
                count=on_total is not None))
            if on_total is not None and total is not None:
                on_total(total)
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


def _template_extra(template_text: str,
                    extra: Callable[[Task, RewriteResult | None], dict[str, Any]] | None,
                    task: Task, result: RewriteResult | None) -> dict[str, Any]:
    """Report fields of a templated run: the output's real path (known only once it is
    placed) and the template, which a resumed run looks for."""
    record = dict(extra(task, result)) if extra is not None else {}
    record["name_template"] = template_text
    if result is not None:
        record["destination"] = result.destination
    return record


def _templated_outputs(report: str | os.PathLike[str], template_text: str, root: str
                       ) -> dict[str, str]:
    """Source → output of the ``ok`` lines an earlier run with the same template wrote
    to ``report``, for outputs under ``root`` (lines cut by a crash are ignored)."""
    import json

    done: dict[str, str] = {}
    real_root = os.path.realpath(root)
    try:
        handle = open(report, encoding="utf-8", errors="replace")  # noqa: SIM115
    except FileNotFoundError:
        return done
    with handle:
        for line in handle:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if not isinstance(record, dict) or record.get("status") != "ok" or \
                    record.get("name_template") != template_text:
                continue
            source, output = record.get("source"), record.get("destination")
            if isinstance(source, str) and isinstance(output, str) and \
                    os.path.commonpath([real_root, os.path.realpath(output)]) == real_root:
                done[source] = output
    return done


async def _rewrite_templated(
    src: str, dst: str, template: NameTemplate, job: RewriteJob,
    runner: Callable[..., Awaitable[BulkSummary]], *, jobs: int,
    report: str | os.PathLike[str] | None, skip_existing: bool,
    on_done: Callable[[dict[str, Any]], None] | None,
    on_total: Callable[[int], None] | None,
    extra: Callable[[Task, RewriteResult | None], dict[str, Any]] | None,
) -> BulkSummary:
    """A run whose outputs are named by ``template`` under the local directory ``dst``.

    Each input's report line carries its real output path and ``name_template``. Name
    collisions never overwrite (:mod:`dicomstream.io.templated`): an identical file
    already there is kept, a different one makes a ``-N`` suffix.

    Resuming: an output's name is known only after its input has been read, so the
    outputs in ``dst`` cannot be matched to inputs up front. With ``skip_existing`` and
    a ``report`` that an earlier run of the same template into ``dst`` appended to, each
    source reported ``ok`` (as spelled there: give SRC the same way) whose output still
    exists is skipped unread; every other
    input is processed again and, landing on its earlier output, finds it identical
    (deterministic runs: plain rewrites, keyed de-identification) and adds nothing.
    ``skip_existing=False`` ignores the report; existing files are still never
    overwritten (empty ``dst`` to regenerate).
    """
    import dataclasses

    from dicomstream.plugin import list_source_urls, url_scheme

    if dst == "-" or url_scheme(dst):
        raise DicomStreamError("--name-template needs a local directory as DST")
    if await anyio.to_thread.run_sync(os.path.lexists, dst) and \
            not await anyio.to_thread.run_sync(os.path.isdir, dst):
        raise DicomStreamError(f"{dst}: with --name-template, DST is a directory")
    prefix = bool(url_scheme(src)) and src.endswith("/")
    tree = not prefix and src != "-" and not url_scheme(src) and \
        await anyio.to_thread.run_sync(os.path.isdir, src)
    job = dataclasses.replace(job, name_template=template, output_root=dst,
                              source_root=src if prefix or tree else None)
    await anyio.to_thread.run_sync(sweep_temporary_files, dst)
    done: dict[str, str] = {}
    if skip_existing and report is not None:
        done = await anyio.to_thread.run_sync(_templated_outputs, report, template.text, dst)
    record_extra = functools.partial(_template_extra, template.text, extra)

    def skip(task: Task) -> bool:
        return task.destination != dst and os.path.isfile(task.destination)

    writer = ReportWriter(report)
    try:
        tasks: Iterable[Task] | AsyncIterable[Task]
        if prefix:
            listed = list_source_urls(src, **(job.source_options or {}))
            tasks = _templated_url_tasks(listed, dst, done)
        elif tree:
            if on_total is not None:
                on_total(await anyio.to_thread.run_sync(count_tree, src))
            tasks = (Task(t.source, done.get(t.source, dst)) for t in plan_tree(src, dst))
        else:
            if url_scheme(src):
                source = job.open_source(src)
                if callable(getattr(source, "instances", None)):
                    pending: dict[str, Any] = {}
                    return await run_bulk(
                        _instance_tasks(source, dst, pending, templated=True),
                        _multi_instance_process(job, pending), jobs=jobs, report=writer,
                        on_done=on_done, extra=record_extra)
            if on_total is not None:
                on_total(1)
            tasks = [Task(src, done.get(src, dst))]
        return await runner(tasks, job, jobs=jobs, report=writer,
                            skip=skip if done else None, on_done=on_done,
                            extra=record_extra)
    finally:
        writer.close()


async def _templated_url_tasks(urls: AsyncIterator[str], dst: str, done: dict[str, str]
                               ) -> AsyncIterator[Task]:
    async for url in urls:
        yield Task(url, done.get(url, dst))
