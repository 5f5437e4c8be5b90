"""Bulk runs on a Dask distributed cluster.

:func:`run_on_cluster` has the shape of :func:`dicomstream.bulk.run_bulk` and is what
``rewrite_many(..., cluster=...)`` and ``dicomstream rewrite --cluster ADDR`` use. The
tasks are cut into batches on this side (skipped ones dropped here, so a resumed run
ships nothing for them); each batch becomes one Dask task that runs
:func:`~dicomstream.bulk.run_bulk` on a worker's event loop — the same async pipelines,
``jobs`` at a time on each worker — and returns its report records, which are written
here as batches finish. At most a few batches per worker are in flight, so a listing of
a million objects is never held in memory.

Failure model: a worker lost mid-batch makes Dask run the whole batch again elsewhere
(up to its ``distributed.scheduler.allowed-failures``). Sinks are atomic and a re-run
overwrites, and records come back only with a finished batch, so every input ends with
exactly one complete output and one report line; a half-done multipart upload of the
lost worker stays invisible. Bad inputs are report lines, as in a local run; any other
exception is a bug and propagates.

``cluster`` is a scheduler address (``tcp://host:8786``), ``"local"`` / ``"local:N"``
(a :class:`distributed.LocalCluster` of N single-threaded worker processes on
127.0.0.1, dashboard on a free loopback port; N defaults to the CPU count), or an
asynchronous :class:`distributed.Client` the caller owns. Needs the ``dask`` extra
(``pip install 'dicomstream[dask]'``); the workers need dicomstream and the plugins the
job uses installed.
"""

from __future__ import annotations

__all__ = ("DEFAULT_BATCHES_PER_WORKER", "connect", "run_on_cluster")

import contextlib
import importlib
import logging
import os
import time
from collections.abc import AsyncIterable
from typing import TYPE_CHECKING, Any

from dicomstream.bulk import BulkSummary, ReportWriter, Task, run_bulk
from dicomstream.errors import DicomStreamError

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable, Iterable

    from dicomstream.pipeline import RewriteResult

DEFAULT_BATCHES_PER_WORKER = 2
"""Batches queued per worker: one running, one ready, so a worker never waits for the
next batch to be shipped while memory stays bounded."""

_CONNECT_TIMEOUT = 30.0
"""Seconds to wait for a scheduler or for the first worker."""


async def _run_batch(batch: list[Task], process: Callable[[Task], Awaitable[RewriteResult]],
                     jobs: int,
                     extra: Callable[[Task, RewriteResult | None], dict[str, Any]] | None
                     ) -> list[dict[str, Any]]:
    """On a worker: run one batch with ``jobs`` at a time; return its report records."""
    records: list[dict[str, Any]] = []
    await run_bulk(batch, process, jobs=jobs, on_done=records.append, extra=extra)
    return records


def _distributed() -> Any:
    """The ``distributed`` module (untyped for mypy's strict mode, hence ``Any``)."""
    try:
        return importlib.import_module("distributed")
    except ImportError as exc:
        raise DicomStreamError("cluster runs need Dask: pip install "
                               "'dicomstream[dask]'") from exc


def _parse_local(spec: str) -> int | None:
    """``"local"`` → CPU count, ``"local:N"`` → N; ``None`` for anything else."""
    name, _, count = spec.partition(":")
    if name != "local":
        return None
    if not count:
        return os.cpu_count() or 1
    try:
        workers = int(count)
    except ValueError:
        raise DicomStreamError(f"--cluster {spec!r}: expected local:N") from None
    if workers < 1:
        raise DicomStreamError(f"--cluster {spec!r}: need at least one worker")
    return workers


@contextlib.asynccontextmanager
async def connect(cluster: Any) -> AsyncIterator[Any]:
    """An asynchronous ``distributed.Client`` for ``cluster`` (see the module doc);
    a cluster or client started here is closed on exit, one passed in is not."""
    distributed = _distributed()
    Client, LocalCluster = distributed.Client, distributed.LocalCluster  # noqa: N806
    if not isinstance(cluster, str):
        yield cluster
        return
    workers = _parse_local(cluster)
    if workers is not None:
        async with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                host="127.0.0.1", dashboard_address="127.0.0.1:0",
                                silence_logs=logging.ERROR, asynchronous=True) as local, \
                Client(local, asynchronous=True) as client:
            yield client
        return
    try:
        client_cm = Client(cluster, asynchronous=True, timeout=_CONNECT_TIMEOUT)
        async with client_cm as client:
            await client.wait_for_workers(1, timeout=_CONNECT_TIMEOUT)
            yield client
    except OSError as exc:
        raise DicomStreamError(f"cannot reach the Dask scheduler {cluster}: {exc}") from exc


async def _batches(tasks: Iterable[Task] | AsyncIterable[Task], size: int,
                   skip: Callable[[Task], bool] | None, skipped: list[Task]
                   ) -> AsyncIterator[list[Task]]:
    """``tasks`` in lists of ``size``; tasks ``skip`` accepts go to ``skipped``."""
    batch: list[Task] = []

    async def items() -> AsyncIterator[Task]:
        if isinstance(tasks, AsyncIterable):
            async for task in tasks:
                yield task
        else:
            for task in tasks:
                yield task

    async for task in items():
        if skip is not None and skip(task):
            skipped.append(task)
            continue
        batch.append(task)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _count(summary: BulkSummary, record: dict[str, Any]) -> None:
    status = record["status"]
    if status == "ok":
        summary.ok += 1
        summary.bytes_read += record.get("bytes_in", 0)
        summary.bytes_written += record.get("bytes_out", 0)
    elif status == "skipped":
        summary.skipped += 1
    else:
        summary.add_failure(record["source"], record.get("error") or status)


async def run_on_cluster(
    tasks: Iterable[Task] | AsyncIterable[Task],
    process: Callable[[Task], Awaitable[RewriteResult]],
    *,
    cluster: Any,
    jobs: int = 8,
    report: ReportWriter | None = None,
    skip: Callable[[Task], bool] | None = None,
    on_done: Callable[[dict[str, Any]], None] | None = None,
    extra: Callable[[Task, RewriteResult | None], dict[str, Any]] | None = None,
    batch_size: int | None = None,
) -> BulkSummary:
    """Like :func:`~dicomstream.bulk.run_bulk`, on the Dask cluster ``cluster``.

    ``process`` (and ``extra``) must pickle (cloudpickle): a
    :class:`~dicomstream.bulk.RewriteJob` does. Each worker runs ``jobs`` inputs at a
    time; ``batch_size`` inputs go to a worker at once (default ``4 * jobs``).
    """
    as_completed = _distributed().as_completed
    summary = BulkSummary()
    started = time.perf_counter()
    size = batch_size or max(1, 4 * jobs)

    def record(rec: dict[str, Any]) -> None:
        _count(summary, rec)
        if report is not None:
            report.write(rec)
        if on_done is not None:
            on_done(rec)

    async with connect(cluster) as client:
        workers = max(1, len(client.scheduler_info().get("workers", {})))
        limit = DEFAULT_BATCHES_PER_WORKER * workers
        running = as_completed(loop=client.loop, with_results=True)
        in_flight = 0
        skipped: list[Task] = []
        submitted: list[Any] = []
        try:
            async for batch in _batches(tasks, size, skip, skipped):
                for task in skipped:
                    record(_skipped_record(task))
                skipped.clear()
                future = client.submit(_run_batch, batch, process, jobs, extra, pure=False)
                submitted.append(future)
                running.add(future)
                in_flight += 1
                while in_flight >= limit:
                    _, records = await running.__anext__()
                    in_flight -= 1
                    for rec in records:
                        record(rec)
            for task in skipped:
                record(_skipped_record(task))
            async for _, records in running:
                for rec in records:
                    record(rec)
        finally:
            pending = [f for f in submitted if not f.done()]
            if pending:
                await client.cancel(pending)
    summary.seconds = time.perf_counter() - started
    return summary


def _skipped_record(task: Task) -> dict[str, Any]:
    return {"source": task.source, "destination": task.destination, "status": "skipped",
            "error": None, "bytes_in": 0, "bytes_out": 0, "seconds": 0.0}
