"""What the chaos runs of issue #7 found, pinned as unit tests.

* A full disk (ENOSPC) while a large output streams must not leave its temporary file:
  closing the file flushes its buffer, which fails again, and must not skip the delete.
* A FIFO or pipe has no size: ``st_size`` (0) must not be taken for the input's length.
* SIGTERM ends a bulk run cleanly: exit 143, no temporary file, a complete report.
* ``stats`` report lines expose the runner's queue depth and inputs in flight.
* A failed input is retried by the next run (nothing records it as done).
"""

from __future__ import annotations

import errno
import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import pytest

from benchmarks._generate import write_ct_series
from dicomstream.bulk import ReportWriter, Task, rewrite_many, run_bulk
from dicomstream.errors import DicomStreamError
from dicomstream.io import FileSink, FileSource
from dicomstream.io import _local as files_module
from dicomstream.io.files import TEMP_SUFFIX
from dicomstream.pipeline import RewriteResult, rewrite
from dicomstream.streams import aiter_events

if TYPE_CHECKING:
    from collections.abc import Iterator

REPO = Path(__file__).resolve().parents[2]
MiB = 1 << 20


class _FullDisk(io.FileIO):
    """A file on a disk with ``room`` bytes left: writes past it fail with ENOSPC, as on a
    full tmpfs (and so does the flush when the buffered file is closed)."""

    room = 0

    def write(self, data: Any) -> int:
        size = len(memoryview(data))
        if self.tell() + size > self.room:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return super().write(data)


def _full_disk_create(room: int) -> Any:
    def create(tmp: Path, target: Path, make_parents: bool) -> io.BufferedWriter:
        raw = _FullDisk(tmp, "wb")
        raw.room = room
        return io.BufferedWriter(raw)

    return create


@pytest.mark.asyncio
@pytest.mark.parametrize("room", [0, int(1.5 * MiB), int(2.5 * MiB)],
                         ids=["first-flush", "second-flush", "commit"])
async def test_full_disk_leaves_no_temporary_file(tmp_path: Path, room: int,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(files_module, "_create", _full_disk_create(room))
    sink = FileSink(tmp_path / "out.dcm")
    with pytest.raises(DicomStreamError, match="No space left on device"):
        try:
            for _ in range(3 * MiB // 4000):  # parts smaller than the file's buffer,
                await sink.write(b"x" * 4000)    # so closing the file flushes again
            await sink.commit()
        except BaseException:
            await sink.abort()
            raise
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def _feed_fifo(path: Path, data: bytes) -> threading.Thread:
    def feed() -> None:
        with open(path, "wb") as f:  # blocks until the reader opens
            f.write(data)

    thread = threading.Thread(target=feed, daemon=True)
    thread.start()
    return thread


@pytest.mark.asyncio
async def test_fifo_source_has_no_size(tmp_path: Path) -> None:
    data = write_ct_series(tmp_path / "s", 1, target_size=8 * 1024)[0].read_bytes()
    fifo = tmp_path / "pipe.dcm"
    os.mkfifo(fifo)
    feeder = _feed_fifo(fifo, data)
    source = FileSource(fifo)
    events = [e async for batch in aiter_events(source) for e in batch]
    feeder.join(5)
    assert source.size is None
    assert type(events[-1]).__name__ == "DatasetEnd"

    os.mkfifo(tmp_path / "pipe2.dcm")
    feeder = _feed_fifo(tmp_path / "pipe2.dcm", data)
    out = tmp_path / "out.dcm"
    await rewrite(FileSource(tmp_path / "pipe2.dcm", inline_small=True), FileSink(out))
    feeder.join(5)
    assert out.read_bytes() == data


def _temporaries(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.endswith(TEMP_SUFFIX)]


def _run_signalled_mid_stream(tmp_path: Path, signum: int, *, ignored: bool = False,
                              io: str = "inline"
                              ) -> tuple[subprocess.Popen[str], str, Path, Path]:
    """A bulk run whose last input is a FIFO that stalls mid-stream; ``signum`` is sent
    once that input's temporary output is on disk (``ignored``: the run starts with the
    signal ignored, as under ``nohup``; the stall then ends so the run can finish)."""
    src = tmp_path / "in"
    write_ct_series(src, 20, target_size=8 * 1024)
    big = write_ct_series(tmp_path / "big", 1, target_size=3 * MiB)[0].read_bytes()
    fifo = src / "zz-stream.dcm"
    os.mkfifo(fifo)
    stop = threading.Event()

    def trickle() -> None:  # the output streams to a temporary file, then stalls
        try:
            with open(fifo, "wb") as f:
                f.write(big[:len(big) * 3 // 4])
                f.flush()
                stop.wait(30)
        except BrokenPipeError:
            pass  # the reader is gone

    threading.Thread(target=trickle, daemon=True).start()
    dst, report = tmp_path / "out", tmp_path / "report.jsonl"

    def streaming(dst: Path) -> bool:  # the FIFO's output is a temporary file on disk
        return dst.exists() and any(p.name.startswith(f".{fifo.name}.")
                                    for p in _temporaries(dst))

    def ignore() -> None:
        signal.signal(signum, signal.SIG_IGN)

    proc = subprocess.Popen(
        [sys.executable, "-m", "dicomstream", "rewrite", str(src), str(dst), "--jobs", "4",
         "--report", str(report), "--io", io], stderr=subprocess.PIPE, text=True, cwd=REPO,
        preexec_fn=ignore if ignored else None)  # noqa: PLW1509 - no threads run it
    try:
        deadline = time.monotonic() + 30
        while not streaming(dst) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert streaming(dst), "the streamed output never reached the disk"
        proc.send_signal(signum)
        if ignored:
            time.sleep(0.5)
            assert proc.poll() is None, "an ignored signal stopped the run"
            stop.set()  # the FIFO's writer goes away: that input is cut short
        _, stderr = proc.communicate(timeout=30)
    finally:
        stop.set()
        if proc.poll() is None:
            proc.kill()
    return proc, stderr, dst, report


@pytest.mark.parametrize("io", ["inline", "threads"])  # no event loop, and the async runner
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["TERM", "HUP"])
def test_signal_ends_a_run_cleanly(tmp_path: Path, signum: signal.Signals, io: str) -> None:
    proc, stderr, dst, report = _run_signalled_mid_stream(tmp_path, signum, io=io)
    assert proc.returncode == 128 + signum, stderr
    assert f"stopped by {signum.name}" in stderr and "Traceback" not in stderr
    assert _temporaries(dst) == []
    lines = [json.loads(line) for line in report.read_text().splitlines()]
    assert {line["status"] for line in lines} == {"ok"}  # no line for the cancelled one
    assert sorted(Path(line["destination"]).name for line in lines) == sorted(
        p.name for p in dst.iterdir())  # every finished output, and only those


def test_ignored_hangup_stays_ignored(tmp_path: Path) -> None:
    """Under ``nohup`` (SIGHUP ignored) a hang-up must not stop the run."""
    proc, stderr, dst, report = _run_signalled_mid_stream(tmp_path, signal.SIGHUP,
                                                          ignored=True)
    assert proc.returncode == 1, stderr  # it ran to the end; only the cut FIFO failed
    assert "stopped by" not in stderr and "zz-stream.dcm" in stderr
    assert _temporaries(dst) == []
    statuses = [json.loads(line)["status"] for line in report.read_text().splitlines()]
    assert statuses.count("ok") == 20 and statuses.count("error") == 1


def _tasks(n: int) -> Iterator[Task]:
    for i in range(n):
        yield Task(f"in{i}", f"out{i}")


@pytest.mark.asyncio
async def test_stats_lines_show_queue_depth_within_bounds(tmp_path: Path) -> None:
    async def process(task: Task) -> RewriteResult:
        await anyio.sleep(0.002)
        return RewriteResult(task.source, task.destination, 1, 1, 1, 0.002)

    path = tmp_path / "report.jsonl"
    report = ReportWriter(path, stats_interval=0.01)
    summary = await run_bulk(_tasks(200), process, jobs=4, report=report)
    report.close()
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    stats = [line for line in lines if line["status"] == "stats"]
    assert len(lines) - len(stats) == summary.total == 200
    assert len(stats) >= 3
    assert all(s["queued"] <= s["queue_bound"] == 4 for s in stats)
    assert all(s["in_flight"] <= s["in_flight_bound"] == 4 for s in stats)
    assert max(s["peak_in_flight"] for s in stats) == 4
    assert stats[-1]["done"] == 200 and stats[-1]["in_flight"] == 0


def test_stats_interval_from_the_environment(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DICOMSTREAM_REPORT_STATS", "0.5")
    writer = ReportWriter(tmp_path / "r.jsonl")
    writer.close()
    assert writer.stats_interval == 0.5
    monkeypatch.setenv("DICOMSTREAM_REPORT_STATS", "0")
    assert ReportWriter(None).stats_interval is None
    monkeypatch.setenv("DICOMSTREAM_REPORT_STATS", "often")
    with pytest.raises(ValueError, match="DICOMSTREAM_REPORT_STATS"):
        ReportWriter(None)


@pytest.mark.asyncio
async def test_failed_inputs_are_retried_by_the_next_run(tmp_path: Path) -> None:
    src = tmp_path / "in"
    paths = write_ct_series(src, 3, target_size=8 * 1024)
    good = paths[1].read_bytes()
    paths[1].write_bytes(good[:3000])
    first = await rewrite_many(str(src), str(tmp_path / "out"), jobs=2)
    assert (first.ok, first.failed) == (2, 1)
    paths[1].write_bytes(good)  # e.g. space freed, or the input repaired
    second = await rewrite_many(str(src), str(tmp_path / "out"), jobs=2)
    assert (second.ok, second.skipped, second.failed) == (1, 2, 0)
    assert (tmp_path / "out" / paths[1].name).read_bytes() == good


def test_report_after_a_torn_line_starts_on_a_new_line(tmp_path: Path) -> None:
    # SIGKILL can cut a report line short (a write crossing a page boundary stops
    # between pages); the next run must not glue its first record onto the fragment.
    path = tmp_path / "report.jsonl"
    path.write_text('{"source": "a", "status": "ok"}\n{"source": "b", "sta')
    writer = ReportWriter(path, stats_interval=0)
    writer.write({"source": "c", "status": "error", "error": "reason"})
    writer.close()
    lines = path.read_text().splitlines()
    assert lines[1] == '{"source": "b", "sta'
    assert json.loads(lines[2]) == {"source": "c", "status": "error", "error": "reason"}
    writer = ReportWriter(path, stats_interval=0)  # a whole last line: nothing added
    writer.close()
    assert path.read_text().splitlines() == lines


def test_sweep_keeps_temporary_files_of_running_runs(tmp_path: Path) -> None:
    """A run's sweep must not delete what another run, still going, is writing."""
    from dicomstream.bulk import sweep_temporary_files
    from dicomstream.io.files import temporary_path_for

    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                           capture_output=True, text=True, check=True)
    live = temporary_path_for(tmp_path / "a.dcm")  # made by this (running) process
    dead = tmp_path / f".b.dcm.{int(ended.stdout)}-abcdef-0{TEMP_SUFFIX}"
    odd = tmp_path / f".c.dcm.no-pid{TEMP_SUFFIX}"
    for path in (live, dead, odd):
        path.write_bytes(b"x")
    assert sweep_temporary_files(tmp_path) == 2
    assert live.exists() and not dead.exists() and not odd.exists()


@pytest.mark.asyncio
async def test_summary_keeps_a_bounded_list_of_failures() -> None:
    from dicomstream.bulk import KEPT_FAILURES

    async def process(task: Task) -> RewriteResult:
        raise DicomStreamError(f"bad {task.source}")

    summary = await run_bulk(_tasks(KEPT_FAILURES + 500), process, jobs=8)
    assert summary.failed == summary.total == KEPT_FAILURES + 500
    assert len(summary.failures) == KEPT_FAILURES
    assert summary.failures[0][0] == "in0" and "bad in0" in summary.failures[0][1]
