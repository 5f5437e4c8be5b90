"""What every bulk run shares, whatever drives it: tasks, the tree walk, the report.

:mod:`dicomstream.bulk` runs inputs concurrently in an event loop;
:mod:`dicomstream.local` runs local files with no event loop at all. Both plan the same
tasks (:func:`plan_tree`), resume the same way (outputs that exist are complete; leftover
temporary files are swept), and write the same report lines (:func:`outcome_record`) —
which is why those pieces live here, in a module that imports no async library.
"""

from __future__ import annotations

__all__ = ("KEPT_FAILURES", "STATS_ENV", "BulkSummary", "Extra", "ReportWriter", "Task",
           "count_tree", "plan_tree", "stats_record", "sweep_temporary_files", "tally_error",
           "tally_ok", "tally_skipped", "tree_tasks")

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from dicomstream.io._local import TEMP_SUFFIX, temporary_file_pid

if TYPE_CHECKING:
    from collections.abc import Iterator

    from dicomstream._rewrite_result import RewriteResult


@dataclass(frozen=True, slots=True)
class Task:
    """One input and where its output goes."""

    source: str
    destination: str


KEPT_FAILURES = 1000
"""Failures a :class:`BulkSummary` keeps (source, message): a run over millions of bad
inputs must not grow without bound. Every failure is counted, and each has its line in
the report."""


@dataclass
class BulkSummary:
    """Counts of a bulk run; ``failures`` holds the first :data:`KEPT_FAILURES`."""

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

    def add_failure(self, source: str, message: str) -> None:
        """Count a failed input (and keep it while fewer than KEPT_FAILURES are)."""
        self.failed += 1
        if len(self.failures) < KEPT_FAILURES:
            self.failures.append((source, message))


def _is_temporary(name: str) -> bool:
    return name.endswith(TEMP_SUFFIX)


def plan_tree(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> Iterator[Task]:
    """Every regular file under ``src`` (sorted, hidden temporary files skipped), mapped to
    the same relative path under ``dst`` (a directory, or a URL prefix such as
    ``s3://bucket/out``)."""
    # os.path, not pathlib: this runs once per input (pathlib costs ~20 µs a file here).
    src_root = str(Path(src))
    dst_text = os.fspath(dst)
    url = "://" in dst_text
    dst_root = dst_text if url else str(Path(dst_text))
    for dirpath, dirnames, filenames in os.walk(src_root):
        dirnames.sort()
        rel = os.path.relpath(dirpath, src_root)
        for name in sorted(filenames):
            if _is_temporary(name):
                continue
            relname = name if rel == "." else os.path.join(rel, name)
            yield Task(os.path.join(dirpath, name),
                       _under(dst_root, relname.replace(os.sep, "/")) if url
                       else os.path.join(dst_root, relname))


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


def _maker_is_running(name: str) -> bool:
    """Whether the process that made the temporary file ``name`` still runs: its pid is
    in the name (:func:`~dicomstream.io.files.temporary_path_for`). A run writing into
    the same tree at the same time keeps its outputs in progress; a pid reused since only
    leaves a stale hidden file for a later sweep."""
    pid = temporary_file_pid(name)
    if pid is None or os.name != "posix":  # (signal 0 is CTRL_C_EVENT on Windows)
        return False
    try:
        os.kill(pid, 0)
    except PermissionError:
        return True  # it exists, under another user
    except (OSError, OverflowError):
        return False
    return True


def sweep_temporary_files(root: str | os.PathLike[str]) -> int:
    """Remove temporary files an interrupted run left under ``root`` (not those of a run
    still going); returns the count."""
    removed = 0
    if not os.path.isdir(root):
        return 0
    for dirpath, _, filenames in os.walk(root):
        for name in filenames:
            if _is_temporary(name) and not _maker_is_running(name):
                try:
                    os.unlink(os.path.join(dirpath, name))
                    removed += 1
                except FileNotFoundError:
                    pass
    return removed


STATS_ENV = "DICOMSTREAM_REPORT_STATS"
"""Environment variable: seconds between ``stats`` lines in bulk reports (unset or ``0``:
none). Read by :class:`ReportWriter` when no ``stats_interval`` is given, so a command
line run can be watched without a new option; it changes no output, only adds lines."""


def _stats_interval_from_env() -> float | None:
    text = os.environ.get(STATS_ENV, "").strip()
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{STATS_ENV}={text!r}: expected seconds, e.g. 1 or 0.5") from None


def _ends_mid_line(path: str | os.PathLike[str]) -> bool:
    """Whether the file at ``path`` ends with a line cut short (no final newline)."""
    try:
        with open(path, "rb") as f:
            f.seek(-1, os.SEEK_END)
            return f.read(1) != b"\n"
    except OSError:  # missing, empty, or not seekable (a pipe)
        return False


class ReportWriter:
    """JSON-lines report, one line per input, flushed as it goes (a crash keeps what was
    reported). Appending to the report of a killed run starts on a new line: SIGKILL can
    cut the last line short (a write crossing a page boundary stops between pages), and
    the fragment stays a line of its own that readers skip, instead of swallowing the
    first record of this run.

    ``stats_interval`` (seconds; ``None`` reads :data:`STATS_ENV`, ``0`` turns it off)
    makes :func:`run_bulk` add a line ``{"status": "stats", ...}`` that often and once
    at the end: inputs queued and in flight against their bounds, and the counts so far.
    That is how a long run's queues are watched from outside (``scripts/
    bounded_resources.py`` does); readers counting inputs skip ``stats`` lines.
    """

    def __init__(self, path: str | os.PathLike[str] | None, *,
                 stats_interval: float | None = None) -> None:
        self._file: IO[str] | None = None
        if path:
            torn = _ends_mid_line(path)
            self._file = open(path, "a", encoding="utf-8")  # noqa: SIM115
            if torn:
                self._file.write("\n")
                self._file.flush()
        if stats_interval is None:
            stats_interval = _stats_interval_from_env()
        self.stats_interval = stats_interval if stats_interval and stats_interval > 0 else None

    def write(self, record: dict[str, Any]) -> None:
        if self._file is not None:
            import json  # here: runs without a report never need it (~3 ms to import)

            self._file.write(json.dumps(record, sort_keys=True) + "\n")
            self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def _error_text(exc: BaseException) -> str:
    from dicomstream.cli._errors import describe

    return describe(exc)


Extra = Callable[[Task, "RewriteResult | None"], dict[str, Any]]
"""More fields for an input's report line (its result, or ``None`` when it failed)."""


def tally_skipped(summary: BulkSummary, task: Task) -> dict[str, Any]:
    """Count an input whose output already exists; returns its report line."""
    summary.skipped += 1
    return {"source": task.source, "destination": task.destination, "status": "skipped",
            "error": None, "bytes_in": 0, "bytes_out": 0, "seconds": 0.0}


def tally_error(summary: BulkSummary, task: Task, exc: BaseException, seconds: float,
                extra: Extra | None) -> dict[str, Any]:
    """Count an input that failed with ``exc``; returns its report line."""
    message = _error_text(exc)
    record: dict[str, Any] = {
        "source": task.source, "destination": task.destination, "status": "error",
        "error": message, "bytes_in": 0, "bytes_out": 0, "seconds": round(seconds, 6)}
    summary.add_failure(task.source, message)
    if extra is not None:
        record.update(extra(task, None))
    return record


def tally_ok(summary: BulkSummary, task: Task, result: RewriteResult, extra: Extra | None
             ) -> dict[str, Any]:
    """Count an input rewritten into its output; returns its report line."""
    summary.ok += 1
    summary.bytes_read += result.bytes_read
    summary.bytes_written += result.bytes_written
    record: dict[str, Any] = {
        "source": task.source, "destination": task.destination, "status": "ok",
        "error": None, "bytes_in": result.bytes_read, "bytes_out": result.bytes_written,
        "seconds": round(result.seconds, 6)}
    if result.details:
        record["details"] = result.details
    if extra is not None:
        record.update(extra(task, result))
    return record


def stats_record(summary: BulkSummary, started: float, *, in_flight: int, peak_in_flight: int,
                 in_flight_bound: int, queued: int, queue_bound: float,
                 producer_waiting: int) -> dict[str, Any]:
    """A ``stats`` report line (:class:`ReportWriter`): counts so far, and inputs in
    flight and queued against their bounds."""
    return {"status": "stats", "elapsed": round(time.perf_counter() - started, 3),
            "done": summary.total, "ok": summary.ok, "failed": summary.failed,
            "skipped": summary.skipped, "in_flight": in_flight,
            "peak_in_flight": peak_in_flight, "in_flight_bound": in_flight_bound,
            "queued": queued, "queue_bound": queue_bound,
            "producer_waiting": producer_waiting}


def tree_tasks(src: str, dst: str, *, skip_existing: bool, count: bool
               ) -> tuple[Iterator[Task], Callable[[Task], bool] | None, int | None]:
    """Mirroring the local tree ``src`` under ``dst``: the tasks (a lazy walk), which to
    skip (outputs already there: they are written atomically, so one that exists is
    complete), and — when ``count`` — how many there are, for a progress bar. Blocking:
    async callers run it in a thread."""
    skip: Callable[[Task], bool] | None = None
    if skip_existing and os.path.isdir(dst):
        done = _existing_files(dst)
        skip = lambda task: task.destination in done  # noqa: E731
    return plan_tree(src, dst), skip, count_tree(src) if count else None
