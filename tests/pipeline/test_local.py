"""The event-loop-free runner (:mod:`dicomstream.local`) against the async pipeline: the
same bytes for every corpus file, with and without edits; the same report lines; failures
contained; outputs atomic (full disk, bad input, big files streamed); FIFOs streamed;
the in-flight bound; and that the command line takes it without importing asyncio."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import anyio.lowlevel
import pytest
from corpus import (
    CORPUS,
    CORPUS_IDS,
    KNOWN_PARSE_FAILURES,
    NOT_BYTE_EXACT,
    path_of,
    relative,
)

from benchmarks._generate import write_ct_series
from dicomstream.bulk import ReportWriter, Task, rewrite_many
from dicomstream.errors import DicomStreamError
from dicomstream.io import _local
from dicomstream.io.files import TEMP_SUFFIX
from dicomstream.local import LocalWriter, rewrite_local, rewrite_many_local, run_local
from dicomstream.pipeline import rewrite_file
from dicomstream.stages import EditStage, FilterStage, SyncStage, TranscodeStage

if TYPE_CHECKING:
    from dicomstream.events import Event

REPO = Path(__file__).resolve().parents[2]
MiB = 1024 * 1024


def _temporaries(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.endswith(TEMP_SUFFIX)]


def _edits() -> list[SyncStage]:
    return [EditStage(set={"PatientName": "ANON", "PatientID": "ANON"}),
            FilterStage(remove_private=True)]


@pytest.mark.asyncio
@pytest.mark.filterwarnings("ignore::dicomstream.errors.DicomStreamWarning")
@pytest.mark.parametrize("path", CORPUS, ids=CORPUS_IDS)
async def test_same_bytes_as_the_async_pipeline(path: Path, tmp_path: Path) -> None:
    """Identity, edits and a transcode: byte for byte what the async pipeline writes (or
    the same error)."""
    for name, make in (("identity", list), ("edit", _edits),
                       ("transcode", lambda: [TranscodeStage("explicit")])):
        sync_out, async_out = tmp_path / f"{name}-sync", tmp_path / f"{name}-async"
        try:
            await rewrite_file(path, async_out, stages=make())
        except DicomStreamError as exc:
            with pytest.raises(type(exc)):
                rewrite_local(path, sync_out, stages=make())
            assert not sync_out.exists() and _temporaries(tmp_path) == []
            continue
        result = rewrite_local(path, sync_out, stages=make())
        assert sync_out.read_bytes() == async_out.read_bytes(), name
        assert result.bytes_read == path.stat().st_size
        assert result.bytes_written == sync_out.stat().st_size
    name = relative(path)
    if name not in KNOWN_PARSE_FAILURES and name not in NOT_BYTE_EXACT:
        assert (tmp_path / "identity-sync").read_bytes() == path.read_bytes()


@pytest.fixture(scope="module")
def series(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("series")
    write_ct_series(root / "a", 12, target_size=16 * 1024, seed=1)
    write_ct_series(root / "b" / "c", 8, target_size=16 * 1024, seed=2)
    return root


def _records(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.mark.asyncio
async def test_tree_like_rewrite_many(series: Path, tmp_path: Path) -> None:
    """A tree with a corrupt input: the same outputs, statuses and errors as the async
    runner, nothing temporary left, and a re-run skips what is done."""
    src = tmp_path / "src"
    subprocess.run(["cp", "-r", str(series), str(src)], check=True)
    bad = src / "a" / "CT000005.dcm"
    bad.write_bytes(bad.read_bytes()[:3000])
    summaries = {}
    for mode in ("local", "async"):
        dst, report = tmp_path / f"out-{mode}", tmp_path / f"{mode}.jsonl"
        if mode == "local":
            summary = rewrite_many_local(str(src), str(dst), stages=_edits, report=report)
        else:
            summary = await rewrite_many(str(src), str(dst), stages=_edits, report=report)
        summaries[mode] = summary
        assert (summary.ok, summary.failed, summary.skipped) == (19, 1, 0)
        assert _temporaries(dst) == []
    local, other = (_records(tmp_path / f"{m}.jsonl") for m in ("local", "async"))

    def key(rec: dict[str, object]) -> tuple[object, ...]:
        return (Path(str(rec["source"])).relative_to(src), rec["status"], rec["error"],
                rec["bytes_in"], rec["bytes_out"], sorted(rec))

    assert sorted(map(key, local)) == sorted(map(key, other))
    for out in (tmp_path / "out-local").rglob("*.dcm"):
        assert out.read_bytes() == (tmp_path / "out-async" / out.relative_to(
            tmp_path / "out-local")).read_bytes()
    again = rewrite_many_local(str(src), str(tmp_path / "out-local"), stages=_edits)
    assert (again.ok, again.failed, again.skipped) == (0, 1, 19)


def test_large_output_streams_into_its_temporary_file(tmp_path: Path) -> None:
    """An output larger than one write buffer is written as it is encoded; a failure
    past that point (the input cut short) still leaves nothing behind."""
    src = write_ct_series(tmp_path / "in", 1, target_size=5 * MiB)[0]
    out = tmp_path / "out" / "big.dcm"
    seen: list[int] = []
    real = _local._create

    def spy(tmp: str, target: str, make_parents: bool) -> object:
        seen.append(len(os.listdir(os.path.dirname(target))) if os.path.isdir(
            os.path.dirname(target)) else 0)
        return real(tmp, target, make_parents)

    _local._create = spy  # type: ignore[assignment]
    try:
        rewrite_local(src, out)
        assert seen, "a 5 MiB output was never streamed into a file"
        assert out.read_bytes() == src.read_bytes()
        cut = tmp_path / "cut.dcm"
        cut.write_bytes(src.read_bytes()[:4 * MiB])
        with pytest.raises(DicomStreamError):
            rewrite_local(cut, tmp_path / "out" / "cut.dcm")
    finally:
        _local._create = real  # type: ignore[assignment]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["big.dcm"]


def test_full_disk_in_the_writer_thread_fails_that_input_only(
        series: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = _local._create_fd
    calls = 0

    def sometimes_full(tmp: str, target: str, make_parents: bool) -> int:
        nonlocal calls
        calls += 1
        if calls % 5 == 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(tmp, target, make_parents)

    monkeypatch.setattr(_local, "_create_fd", sometimes_full)
    dst, report = tmp_path / "out", tmp_path / "r.jsonl"
    summary = rewrite_many_local(str(series), str(dst), report=report, jobs=4)
    assert (summary.ok, summary.failed) == (16, 4)
    errors = [r for r in _records(report) if r["status"] == "error"]
    assert len(errors) == 4
    assert all("No space left on device" in str(r["error"]) for r in errors)
    assert _temporaries(dst) == []
    assert len(list(dst.rglob("*.dcm"))) == 16


@pytest.mark.parametrize("jobs", [1, 2, 16])
def test_inputs_in_flight_stay_within_jobs(series: Path, tmp_path: Path, jobs: int) -> None:
    report = ReportWriter(tmp_path / "r.jsonl", stats_interval=1e-9)
    tasks = [Task(str(p), str(tmp_path / "out" / p.name)) for p in sorted(series.rglob("*.dcm"))]
    summary = run_local(tasks, jobs=jobs, report=report)
    report.close()
    assert summary.ok == 20
    stats = [r for r in _records(tmp_path / "r.jsonl") if r["status"] == "stats"]
    assert len(stats) >= 10
    assert max(int(s["peak_in_flight"]) for s in stats) <= jobs  # type: ignore[call-overload]
    assert all(int(s["in_flight"]) <= int(s["in_flight_bound"]) <= jobs  # type: ignore[call-overload]
               for s in stats)
    assert stats[-1]["done"] == 20 and stats[-1]["in_flight"] == 0


def test_writer_bounds_what_it_holds(tmp_path: Path) -> None:
    writer = LocalWriter(depth=2)
    gate = threading.Event()
    real = _local._write_small

    def slow(*args: object) -> None:
        gate.wait(10)
        real(*args)  # type: ignore[arg-type]

    _local._write_small = slow  # type: ignore[assignment]
    try:
        for i in range(2):
            writer.submit(i, str(tmp_path / f".t{i}"), str(tmp_path / f"o{i}"), [b"x"], False)
        third = threading.Thread(target=writer.submit, args=(
            2, str(tmp_path / ".t2"), str(tmp_path / "o2"), [b"x"], False))
        third.start()
        third.join(0.2)
        assert third.is_alive(), "a third output was taken while two were in hand"
        gate.set()
        third.join(10)
        outcomes = writer.finished() + writer.close()
    finally:
        _local._write_small = real  # type: ignore[assignment]
    assert sorted(key for key, error in outcomes if error is None) == [0, 1, 2]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o0", "o1", "o2"]


def test_fifo_is_parsed_as_it_arrives(tmp_path: Path) -> None:
    src = write_ct_series(tmp_path / "in", 1, target_size=3 * MiB)[0]
    data = src.read_bytes()
    fifo = tmp_path / "stream.dcm"
    os.mkfifo(fifo)
    half = threading.Event()

    def feed() -> None:
        with open(fifo, "wb") as f:
            f.write(data[:len(data) // 2])
            f.flush()
            half.wait(10)  # the rest only once the first half has been written out
            f.write(data[len(data) // 2:])

    out = tmp_path / "out.dcm"
    thread = threading.Thread(target=feed, daemon=True)
    thread.start()
    real = _local._create

    def create(tmp: str, target: str, make_parents: bool) -> object:
        half.set()  # the output streams to disk before the input has all arrived
        return real(tmp, target, make_parents)

    _local._create = create  # type: ignore[assignment]
    try:
        rewrite_local(fifo, out)
    finally:
        _local._create = real  # type: ignore[assignment]
    thread.join(10)
    assert out.read_bytes() == data


def test_cli_local_run_imports_no_event_loop(series: Path, tmp_path: Path) -> None:
    """``dicomstream rewrite`` of a local tree, identity and with edits, runs without
    asyncio or anyio ever imported, and gives the same outputs as ``--io threads`` (the
    async runner)."""
    code = ("import sys, runpy\n"
            "sys.argv = ['dicomstream', *sys.argv[1:]]\n"
            "try:\n"
            "    runpy.run_module('dicomstream', run_name='__main__')\n"
            "except SystemExit as exit:\n"
            "    loaded = sorted(m for m in sys.modules if m.split('.')[0] in "
            "('asyncio', 'anyio'))\n"
            "    print(exit.code, loaded)\n")
    edits = ["--set", "PatientName=ANON", "--remove-private"]
    for name, extra in (("identity", []), ("edit", edits)):
        local = subprocess.run([sys.executable, "-c", code, "rewrite", str(series),
                                str(tmp_path / f"{name}-local"), *extra],
                               capture_output=True, text=True, cwd=REPO, check=True)
        assert local.stdout.strip() == "0 []", local.stdout + local.stderr
        threads = subprocess.run([sys.executable, "-c", code, "rewrite", str(series),
                                  str(tmp_path / f"{name}-threads"), "--io", "threads",
                                  *extra], capture_output=True, text=True, cwd=REPO,
                                 check=True)
        assert threads.stdout.startswith("0 [") and "asyncio" in threads.stdout
        outputs = sorted((tmp_path / f"{name}-local").rglob("*.dcm"))
        assert len(outputs) == 20
        for out in outputs:
            twin = tmp_path / f"{name}-threads" / out.relative_to(tmp_path / f"{name}-local")
            assert out.read_bytes() == twin.read_bytes()


def test_whole_output_survives_short_writes(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Outputs go out in one ``writev``; when the kernel takes less (a signal, a nearly
    full disk), the rest follows from where it stopped — more parts than one call takes
    included."""
    parts: list[bytes] = [bytes([i % 251]) * (i % 9) for i in range(2500)]
    parts.append(memoryview(b"tail" * 4096))  # type: ignore[arg-type]
    real = os.writev
    calls: list[int] = []

    def short(fd: int, buffers: list[bytes]) -> int:
        calls.append(len(buffers))
        data = b"".join(bytes(b) for b in buffers)
        return os.write(fd, data[:max(1, len(data) // 3)])

    monkeypatch.setattr(os, "writev", short)
    _local._write_small(str(tmp_path / ".out.tmp"), str(tmp_path / "out"), parts, False)
    monkeypatch.setattr(os, "writev", real)
    assert (tmp_path / "out").read_bytes() == b"".join(bytes(p) for p in parts)
    assert max(calls) <= 1024 and len(calls) > 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


class _AwaitingEdit(EditStage):
    """A SyncStage subclass that overrides ``process`` with async code of its own."""

    async def process(self, batch: list[Event]) -> list[Event]:
        await anyio.lowlevel.checkpoint()
        return batch


def test_a_stage_that_awaits_is_refused_and_goes_async(series: Path, tmp_path: Path) -> None:
    from dicomstream.stages import Stage, is_sync_stage

    assert is_sync_stage(EditStage(set={"PatientName": "X"}))
    assert not is_sync_stage(_AwaitingEdit(set={"PatientName": "X"}))
    assert not is_sync_stage(Stage())
    src = next(series.rglob("*.dcm"))
    with pytest.raises(TypeError, match="_AwaitingEdit awaits"):
        rewrite_local(src, tmp_path / "out.dcm",
                      stages=[_AwaitingEdit(set={"PatientName": "X"})])
    assert not (tmp_path / "out.dcm").exists()


def test_cli_run_with_an_async_stage_takes_the_event_loop(series: Path, tmp_path: Path) -> None:
    """``--stage tap`` (a Stage whose callbacks may be coroutines) is no SyncStage: the
    same command then runs in the async runner, with the same outputs."""
    code = ("import sys, runpy\n"
            "sys.argv = ['dicomstream', *sys.argv[1:]]\n"
            "try:\n"
            "    runpy.run_module('dicomstream', run_name='__main__')\n"
            "except SystemExit as exit:\n"
            "    print(exit.code, 'asyncio' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", code, "rewrite", str(series),
                           str(tmp_path / "out"), "--stage", "tap"], capture_output=True,
                          text=True, cwd=REPO, check=True)
    assert done.stdout.strip() == "0 True", done.stdout + done.stderr
    assert "tap: " in done.stderr
    for src in series.rglob("*.dcm"):
        assert (tmp_path / "out" / src.relative_to(series)).read_bytes() == src.read_bytes()


def test_a_bug_in_the_writer_thread_stops_the_run_without_hanging(
        series: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Not an OSError (the input's outcome) but a bug: it is raised in the caller once
    the writer has finished what it held — never a run waiting forever for a thread that
    died."""
    real = _local._write_small
    calls = 0

    def buggy(*args: object) -> None:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise RuntimeError("a bug in the writer")
        real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(_local, "_write_small", buggy)
    report = tmp_path / "r.jsonl"
    with pytest.raises(RuntimeError, match="a bug in the writer"):
        rewrite_many_local(str(series), str(tmp_path / "out"), report=report, jobs=3)
    written = sorted(p.name for p in (tmp_path / "out").rglob("*.dcm"))
    reported = sorted(Path(str(r["destination"])).name for r in _records(report)
                      if r["status"] == "ok")
    assert written == reported and len(written) >= 2
    assert _temporaries(tmp_path / "out") == []


def test_iter_events_same_as_the_parser_on_paths_and_streams(tmp_path: Path) -> None:
    from dicomstream.local import iter_events
    from dicomstream.parser import parse_bytes

    for name in ("test_files/rtplan.dcm", "test_files/CT_small.dcm",
                 "test_files/image_dfl.dcm"):
        path = path_of(name)
        expected = list(parse_bytes(path.read_bytes()))
        assert [e for b in iter_events(path) for e in b] == expected
        with path.open("rb") as stream:
            assert [e for b in iter_events(stream) for e in b] == expected
    with pytest.raises(DicomStreamError, match="cannot read"):
        list(iter_events(tmp_path / "missing.dcm"))


def test_call_until_terminated_turns_a_signal_into_a_result() -> None:
    import signal
    import time

    from dicomstream.cli._signals import call_until_terminated

    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signal handlers can only be set in the main thread")
    before = signal.getsignal(signal.SIGTERM)
    cleaned: list[str] = []

    def run() -> str:
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)  # interrupted: the handler raises in this thread
            return "finished"
        finally:
            os.kill(os.getpid(), signal.SIGTERM)  # a second one must not cut the clean-up
            cleaned.append("clean-up ran to its end")

    assert call_until_terminated(run) == (None, signal.SIGTERM)
    assert cleaned == ["clean-up ran to its end"]
    assert call_until_terminated(lambda: "done") == ("done", None)
    assert signal.getsignal(signal.SIGTERM) == before  # handlers restored
