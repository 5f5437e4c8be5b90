"""Chaos bulk job: ``dicomstream rewrite`` killed, out of disk space and fed bad inputs.

Why this exists: a bulk run over many files gets killed (the OOM killer, a scheduler's
SIGTERM then SIGKILL), fills its disk, and meets broken inputs. What the README promises
is that re-running the same command resumes the job and ends exactly where one clean run
ends. This script checks that promise end to end, with the real command line, real
signals and a real full file system.

Inputs: ``--files`` small CT files from ``benchmarks/_generate.py`` in four series
folders, some replaced by bad inputs (truncated, garbage after ``DICM``, random bytes,
empty, not DICOM, a dangling symlink) and by two FIFOs fed from threads here: one gets a
whole file (a stream of unknown size, which must succeed), the other gets half a file,
stalls, and closes (a source failing mid-stream, which must be reported).

Every run is ``python -m dicomstream rewrite IN OUT --jobs N --report R --set
PatientName=ANON --remove-private`` (so outputs differ from inputs). Scenarios, each into
its own destination and report:

``clean``    one uninterrupted run: the reference outputs and failures.
``sigkill``  SIGKILL at random moments (random progress points, seeded), then resumed.
``sigterm``  SIGTERM at random moments: each run must exit 143 and leave no temporary.
``enospc``   the destination is a small tmpfs filled by a ballast file, so writes fail
             with ENOSPC mid-run (each failure reported, nothing partial left); the
             ballast is deleted (space freed) and the job resumed.
``mixed``    all of it: a filling tmpfs, SIGKILL and SIGTERM, space freed, resumed.

Checks after the final resume of each scenario: every input has exactly one complete
output or an error line with a reason in the final run's report; the outputs are
byte-identical to the clean run's and there are no others; no temporary file is left;
every report line is valid JSON; the failures are exactly the planted bad inputs.

Mounting a tmpfs needs root. Not root, the script re-runs itself under ``unshare
--user --map-root-user --mount`` (root in a private user and mount namespace, where a
tmpfs can be mounted); if that is impossible too, the ENOSPC parts are skipped and said so.

Usage::

    .venv/bin/python scripts/chaos_bulk.py                 # 1,000 files, seed 0
    .venv/bin/python scripts/chaos_bulk.py --files 200 --kills 2 --seed 7

Exit status: 0 every check passed, 1 a check failed, 2 usage error.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # benchmarks/ is imported from the repository root
    sys.path.insert(0, str(ROOT))

from benchmarks._generate import write_ct_series  # noqa: E402

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

TEMP_SUFFIX = ".dicomstream-tmp"
EDITS = ("--set", "PatientName=ANON", "--remove-private")
RUN_TIMEOUT = 300.0
"""Seconds one CLI run may take before it counts as hung (a FIFO nobody feeds, a
deadlock)."""
SCENARIOS = ("sigkill", "sigterm", "enospc", "mixed")
_USERNS_FLAG = "--_in-user-namespace"


# --------------------------------------------------------------------------- inputs


@dataclass
class Inputs:
    root: Path
    files: list[Path]
    bad: dict[Path, str]
    """Planted bad inputs and what is wrong with them (each must be reported)."""
    feeders: list[FifoFeeder] = field(default_factory=list)


class FifoFeeder(threading.Thread):
    """Feed ``data`` into the FIFO ``path`` each time a reader opens it.

    ``cut``: send only that many bytes, stall, then close, so the reader's source fails
    mid-stream. Otherwise the whole file trickles in (64 KiB every 5 ms), and
    :attr:`midway` is set once 80 % is sent: the output is then on disk as a temporary
    file (the sink writes it out in 1 MiB buffers), which is when a kill hurts most.
    After closing, wait until the reader has gone (opening for writing without blocking
    fails with ENXIO once no reader holds the FIFO), so one reader never sees two copies.

    :attr:`idle` is set while no descriptor of the FIFO is open here. A run starts only
    then: a fork while this thread holds its descriptor would give the child a copy until
    it execs, which keeps the FIFO's pipe — and the unread data a killed reader left in
    it — alive for the next reader (seen as a stale 64 KiB piece before the file).
    """

    PIECE = 64 * 1024

    def __init__(self, path: Path, data: bytes, cut: int | None = None) -> None:
        super().__init__(daemon=True, name=f"fifo {path.name}")
        self.path, self.data, self.cut = path, data, cut
        self.served = 0
        self.midway = threading.Event()
        self.idle = threading.Event()
        self.idle.set()

    def run(self) -> None:
        while True:
            fd = os.open(self.path, os.O_WRONLY)  # blocks until a reader opens
            self.idle.clear()
            self.midway.clear()
            try:
                if self.cut is not None:
                    self._write(fd, self.data[:self.cut])
                    time.sleep(0.05)  # the reader is now mid-stream, waiting for more
                else:
                    for start in range(0, len(self.data), self.PIECE):
                        self._write(fd, self.data[start:start + self.PIECE])
                        if start >= len(self.data) * 0.8:
                            self.midway.set()
                        time.sleep(0.005)
            except BrokenPipeError:
                pass  # the reader was killed
            finally:
                os.close(fd)
                self.midway.clear()
            self.served += 1
            self._wait_for_reader_to_leave()
            self.idle.set()

    @staticmethod
    def _write(fd: int, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]

    def _wait_for_reader_to_leave(self) -> None:
        while True:
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_NONBLOCK)
            except OSError as exc:
                if exc.errno == errno.ENXIO:
                    return
                raise
            os.close(fd)
            time.sleep(0.005)


def _parses(data: bytes) -> bool:
    """Whether dicomstream reads ``data`` to its end without an error."""
    from dicomstream.errors import DicomStreamError
    from dicomstream.parser import parse_bytes

    try:
        for _ in parse_bytes(data):
            pass
    except DicomStreamError:
        return False
    return True


def make_inputs(root: Path, count: int, rng: random.Random) -> Inputs:
    """``count`` inputs under ``root``: CT files in 4 series folders, ~2 % of them bad."""
    files: list[Path] = []
    per = [count // 4 + (i < count % 4) for i in range(4)]
    for series, n in enumerate(per):
        if n:
            files += write_ct_series(root / f"series{series}", n, target_size=2048,
                                     seed=series)
    inputs = Inputs(root, files, {})
    kinds = ["truncated", "garbage-after-DICM", "random-bytes", "empty", "not-dicom",
             "dangling-symlink"]
    n_bad = max(len(kinds), count // 50)
    chosen = rng.sample(files, n_bad + 2)
    for i, path in enumerate(chosen[:n_bad]):
        kind = kinds[i % len(kinds)]
        data = path.read_bytes()
        if kind == "truncated":
            # A cut that lands between two elements leaves a shorter but valid dataset:
            # cut again until the parser refuses it (the input must be bad).
            for _ in range(100):
                cut = data[:rng.randrange(200, len(data) - 100)]
                if not _parses(cut):
                    break
            path.write_bytes(cut)
        elif kind == "garbage-after-DICM":
            path.write_bytes(data[:132] + b"\xff" * 64 + data[196:])
        elif kind == "random-bytes":
            path.write_bytes(data[:400] + rng.randbytes(len(data) - 400))
        elif kind == "empty":
            path.write_bytes(b"")
        elif kind == "not-dicom":
            path.write_text("this is not a DICOM file\n")
        else:
            path.unlink()
            path.symlink_to(root / "no-such-file.dcm")
        inputs.bad[path] = kind
    # Two FIFOs: a 3 MiB file of unknown size trickling in (must succeed), and a source
    # that fails mid-stream (half a file, a stall, then end of input).
    big = write_ct_series(root / "big", 1, target_size=3 << 20, seed=99)[0]
    whole, cut = chosen[n_bad], chosen[n_bad + 1]
    for path, data, size in ((whole, big.read_bytes(), None),
                             (cut, cut.read_bytes(), cut.stat().st_size // 2)):
        path.unlink()
        os.mkfifo(path)
        inputs.feeders.append(FifoFeeder(path, data, cut=size))
        inputs.feeders[-1].start()
    shutil.rmtree(root / "big")
    inputs.bad[cut] = "fifo-fails-mid-stream"
    return inputs


# --------------------------------------------------------------------------- runs


IO_MODE = "inline"
"""``--io`` of the CLI (set from this script's ``--io``)."""


def cli(src: Path, dst: Path, report: Path, jobs: int) -> list[str]:
    return [sys.executable, "-m", "dicomstream", "rewrite", str(src), str(dst), "--jobs",
            str(jobs), "--report", str(report), "--io", IO_MODE, *EDITS]


@dataclass
class RunResult:
    returncode: int
    signal_sent: str | None
    """``"SIGKILL"``/``"SIGTERM"`` when the run was stopped by us, else ``None``."""
    stderr: str
    seconds: float
    temporaries_after: int


def count_lines(path: Path) -> int:
    if not path.exists():
        return 0
    with path.open("rb") as f:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 16), b""))


def progress_lines(report: Path, offset: int) -> int:
    """Lines with an outcome (``ok``/``error``) written after byte ``offset``."""
    if not report.exists():
        return 0
    with report.open("rb") as f:
        f.seek(offset)
        data = f.read()
    return data.count(b'"status": "ok"') + data.count(b'"status": "error"')


def temporaries(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.endswith(TEMP_SUFFIX)] if root.exists() else []


def run_cli(command: list[str], *, report: Path, dst: Path, workdir: Path,
            feeders: Sequence[FifoFeeder],
            kill: tuple[signal.Signals, Callable[[int], bool], float] | None = None
            ) -> RunResult:
    """Run the CLI (once every FIFO feeder is idle); with ``kill=(sig, now, jitter)``
    send ``sig`` ``jitter`` seconds after ``now(report_offset)`` first says so."""
    for feeder in feeders:
        feeder.idle.wait(10)
    offset = report.stat().st_size if report.exists() else 0
    log = workdir / "stderr.log"
    started = time.perf_counter()
    sent: str | None = None
    with log.open("w+") as err:
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=err, cwd=ROOT)
        try:
            if kill is not None:
                sig, now, jitter = kill
                while proc.poll() is None and not now(offset):
                    time.sleep(0.003)
                    if time.perf_counter() - started > RUN_TIMEOUT:
                        break
                time.sleep(jitter)
                if proc.poll() is None:
                    proc.send_signal(sig)
                    sent = sig.name
            returncode = proc.wait(timeout=RUN_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            returncode = proc.wait()
            sent = "hung (killed by the script)"
        err.seek(0)
        stderr = err.read()
    if sent == "SIGTERM" and returncode != 128 + signal.SIGTERM and "failed in" in stderr:
        sent = None  # it finished just before the signal arrived
    return RunResult(returncode, sent, stderr, time.perf_counter() - started,
                     len(temporaries(dst)))


# --------------------------------------------------------------------------- tmpfs


class Tmpfs:
    """A size-limited tmpfs at ``path`` and a ballast file that takes its space."""

    def __init__(self, path: Path, size: int) -> None:
        self.path, self.size = path, size
        path.mkdir(parents=True, exist_ok=True)
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755",
                        "dicomstream-chaos", str(path)], check=True, capture_output=True,
                       text=True)
        self.ballast = path / "ballast.bin"  # outside the destination folder

    def free(self) -> int:
        st = os.statvfs(self.path)
        return st.f_bavail * st.f_frsize

    def fill_to(self, free: int) -> None:
        """Write ballast until about ``free`` bytes are left."""
        with self.ballast.open("ab") as f:
            block = b"\0" * (1 << 20)
            while (left := self.free() - free) > 0:
                f.write(block[:min(left, len(block))])
                f.flush()

    def drop_ballast(self) -> None:
        self.ballast.unlink(missing_ok=True)

    def unmount(self) -> None:
        subprocess.run(["umount", str(self.path)], check=False, capture_output=True)


def can_mount(workdir: Path) -> str | None:
    """``None`` when a tmpfs can be mounted here, else why not."""
    probe = workdir / "mount-probe"
    try:
        Tmpfs(probe, 1 << 20).unmount()
        return None
    except (subprocess.CalledProcessError, FileNotFoundError) as exc:
        return getattr(exc, "stderr", None) or str(exc)


# --------------------------------------------------------------------------- checks


@dataclass
class Outcome:
    scenario: str
    kills: dict[str, int] = field(default_factory=dict)
    resumes: int = 0
    outputs: int = 0
    failures_reported: int = 0
    temporaries_left: int = 0
    mismatches: int = 0
    enospc_failures: int = 0
    swept: int = 0
    """Temporary files SIGKILL left, which a resumed run had to sweep."""
    torn: int = 0
    """Report lines SIGKILL cut short (each must stay a line of its own)."""
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def read_report(path: Path, offset_lines: int = 0
                ) -> tuple[list[dict[str, Any]], list[int]]:
    """Records after the first ``offset_lines`` lines (``stats`` lines dropped), and the
    indexes of lines that are not valid JSON (a line SIGKILL cut short)."""
    records: list[dict[str, Any]] = []
    invalid: list[int] = []
    text = path.read_text() if path.exists() else ""
    for index, line in enumerate(text.splitlines()[offset_lines:], offset_lines):
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            invalid.append(index)
            continue
        if rec.get("status") != "stats":
            records.append(rec)
    return records, invalid


def output_files(dst: Path) -> dict[str, Path]:
    return {p.relative_to(dst).as_posix(): p for p in dst.rglob("*")
            if p.is_file() and not p.name.endswith(TEMP_SUFFIX)} if dst.exists() else {}


def check_final(outcome: Outcome, inputs: Inputs, dst: Path, report: Path,
                final_offset: int, final: RunResult, reference: dict[str, bytes],
                reference_failures: set[str], torn: set[int]) -> None:
    problems = outcome.problems
    _, invalid = read_report(report)
    if stray := sorted(set(invalid) - torn):
        problems.append(f"report lines {stray[:5]} are not valid JSON (and are not the "
                        "last line of a run killed by SIGKILL)")
    final_records, _ = read_report(report, final_offset)
    outs = output_files(dst)
    outcome.outputs = len(outs)
    outcome.temporaries_left = len(temporaries(dst))
    if outcome.temporaries_left:
        problems.append(f"{outcome.temporaries_left} temporary files left")
    errors = {r["source"]: r for r in final_records if r["status"] == "error"}
    outcome.failures_reported = len(errors)
    for source, rec in errors.items():
        if not rec.get("error"):
            problems.append(f"error line without a reason: {source}")
    if set(errors) != reference_failures:
        problems.append(f"failures differ from the clean run: "
                        f"{sorted(set(errors) ^ reference_failures)[:5]}")
    unaccounted = both = 0
    for path in inputs.files:
        rel = path.relative_to(inputs.root).as_posix()
        has_output = rel in outs
        has_error = str(path) in errors
        unaccounted += not has_output and not has_error
        both += has_output and has_error
    if unaccounted or both:
        problems.append(f"{unaccounted} inputs with neither an output nor a reported "
                        f"error, {both} with both")
    mismatched = sum(1 for rel, p in outs.items()
                     if rel not in reference or p.read_bytes() != reference[rel])
    missing = sum(1 for rel in reference if rel not in outs)
    outcome.mismatches = mismatched + missing
    if outcome.mismatches:
        problems.append(f"{mismatched} outputs differ from the clean run or should not "
                        f"exist, {missing} missing")
    expected_status = 1 if reference_failures else 0
    if final.returncode != expected_status:
        problems.append(f"final run exited {final.returncode}, expected {expected_status}: "
                        f"{final.stderr.strip().splitlines()[-1:]}")
    if "Traceback" in final.stderr:
        problems.append("a traceback on stderr")


# --------------------------------------------------------------------------- scenarios


@dataclass
class Plan:
    inputs: Inputs
    workdir: Path
    jobs: int
    kills: int
    rng: random.Random
    reference: dict[str, bytes]
    reference_failures: set[str]
    tmpfs_size: int
    needed: int
    """Bytes (page-rounded) the clean outputs take on a tmpfs."""


def kill_point(rng: random.Random, remaining: int, report: Path
               ) -> tuple[Callable[[int], bool], float]:
    """When the next signal goes: after a random number of outcomes, plus a jitter."""
    after = rng.randint(1, max(1, int(remaining * 0.6)))
    return (lambda offset: progress_lines(report, offset) >= after), rng.uniform(0, 0.02)


def mid_fifo(feeder: FifoFeeder) -> tuple[Callable[[int], bool], float]:
    """When the trickling FIFO's output is a temporary file on disk."""
    return (lambda offset: feeder.midway.is_set()), 0.03


def scenario(plan: Plan, name: str, destination_root: Path,
             steps: Sequence[tuple[str, signal.Signals | None]]) -> Outcome:
    """Run ``steps`` — ``("run", sig)`` runs the job (stopped by ``sig`` at a random
    point when given), ``("run-mid-fifo", sig)`` stops it while the trickling FIFO's
    output is being written, ``("mount"|"fill"|"free", None)`` mounts, fills or frees
    the tmpfs — then a final uninterrupted resume, and check."""
    outcome = Outcome(name)
    started = time.perf_counter()
    dst = destination_root / "out"
    report = plan.workdir / f"{name}.jsonl"
    command = cli(plan.inputs.root, dst, report, plan.jobs)
    tmpfs: Tmpfs | None = None
    torn: set[int] = set()
    runs = 0
    try:
        for step, sig in steps:
            if step == "mount":
                tmpfs = Tmpfs(destination_root, plan.tmpfs_size)
                continue
            if step == "fill":
                assert tmpfs is not None
                tmpfs.fill_to(int(plan.needed * plan.rng.uniform(0.3, 0.6)))
                continue
            if step == "free":
                assert tmpfs is not None
                tmpfs.drop_ballast()
                continue
            remaining = len(plan.inputs.files) - len(output_files(dst))
            kill: tuple[signal.Signals, Callable[[int], bool], float] | None = None
            if sig is not None and step == "run-mid-fifo":
                kill = (sig, *mid_fifo(plan.inputs.feeders[0]))
            elif sig is not None:
                kill = (sig, *kill_point(plan.rng, remaining, report))
            before = count_lines(report)
            result = run_cli(command, report=report, dst=dst, workdir=plan.workdir,
                             feeders=plan.inputs.feeders, kill=kill)
            runs += 1
            if result.signal_sent and result.signal_sent.startswith("hung"):
                outcome.problems.append(f"run {runs} hung: {result.stderr[-300:]}")
                return outcome
            if result.signal_sent:
                outcome.kills[result.signal_sent] = outcome.kills.get(result.signal_sent, 0) + 1
            if result.signal_sent == "SIGKILL":
                outcome.swept += result.temporaries_after  # the next run must sweep them
                if report.exists() and not report.read_bytes().endswith(b"\n"):
                    torn.add(count_lines(report))  # the next run starts a new line
            elif result.signal_sent == "SIGTERM" and report.exists() and \
                    not report.read_bytes().endswith(b"\n"):
                outcome.problems.append(f"run {runs}: SIGTERM left a torn report line")
            if result.signal_sent == "SIGTERM":
                if result.returncode != 128 + signal.SIGTERM:
                    outcome.problems.append(
                        f"run {runs}: SIGTERM ended with status {result.returncode}, "
                        "expected 143")
                if result.temporaries_after:
                    outcome.problems.append(f"run {runs}: {result.temporaries_after} "
                                            "temporary files left by SIGTERM")
            elif result.signal_sent is None and result.returncode not in (0, 1):
                outcome.problems.append(f"run {runs} exited {result.returncode}: "
                                        f"{result.stderr.strip()[-300:]}")
            records, _ = read_report(report, before)
            full = [r for r in records if r["status"] == "error"
                    and "No space left on device" in str(r.get("error"))]
            outcome.enospc_failures += len(full)
            if full and result.temporaries_after and result.signal_sent is None:
                outcome.problems.append(f"run {runs}: {result.temporaries_after} temporary "
                                        "files left after ENOSPC failures")
        if tmpfs is not None:
            tmpfs.drop_ballast()
        final_offset = count_lines(report)
        final = run_cli(command, report=report, dst=dst, workdir=plan.workdir,
                        feeders=plan.inputs.feeders)
        outcome.resumes = runs  # every run after the first resumes, plus the final one
        outcome.torn = len(torn)
        check_final(outcome, plan.inputs, dst, report, final_offset, final, plan.reference,
                    plan.reference_failures, torn)
        if any(step == "fill" for step, _ in steps) and not outcome.enospc_failures:
            outcome.problems.append("the disk never filled: no ENOSPC failure reported")
    finally:
        outcome.seconds = time.perf_counter() - started
        if tmpfs is not None:
            tmpfs.unmount()
    return outcome


def signals_for(kills: int, rng: random.Random) -> list[signal.Signals]:
    sigs = [signal.SIGKILL, signal.SIGTERM] * (kills // 2 + 1)
    rng.shuffle(sigs)
    return sigs[:kills]


# --------------------------------------------------------------------------- main


def clean_run(inputs: Inputs, workdir: Path, jobs: int) -> tuple[dict[str, bytes], set[str],
                                                                   Outcome]:
    outcome = Outcome("clean")
    started = time.perf_counter()
    dst, report = workdir / "clean" / "out", workdir / "clean.jsonl"
    result = run_cli(cli(inputs.root, dst, report, jobs), report=report, dst=dst,
                     workdir=workdir, feeders=inputs.feeders)
    records, invalid = read_report(report)
    reference = {rel: p.read_bytes() for rel, p in output_files(dst).items()}
    failures = {r["source"] for r in records if r["status"] == "error"}
    planted = {str(p) for p in inputs.bad}
    outcome.outputs = len(reference)
    outcome.failures_reported = len(failures)
    outcome.temporaries_left = len(temporaries(dst))
    if failures != planted:
        outcome.problems.append(
            f"clean run: failures are not the planted bad inputs: unexpected "
            f"{sorted(failures - planted)[:3]}, not reported {sorted(planted - failures)[:3]}")
    if invalid or result.returncode != (1 if planted else 0) or outcome.temporaries_left:
        outcome.problems.append(f"clean run: status {result.returncode}, {len(invalid)} invalid "
                                f"report lines, {outcome.temporaries_left} temporaries")
    if len(reference) + len(failures) != len(inputs.files):
        outcome.problems.append("clean run: outputs + failures != inputs")
    for rel in list(reference)[:: max(1, len(reference) // 20)]:
        if reference[rel] == (inputs.root / rel).read_bytes():
            outcome.problems.append(f"clean run: {rel} unchanged (edits not applied)")
            break
    outcome.seconds = time.perf_counter() - started
    return reference, failures, outcome


def page_rounded(sizes: Iterator[int], page: int = 4096) -> int:
    return sum(-(-size // page) * page for size in sizes)


def print_table(outcomes: list[Outcome], skipped: dict[str, str]) -> None:
    head = ("scenario", "kills", "resumes", "outputs", "failures reported",
            "temporaries left", "mismatches", "ENOSPC failures", "swept", "torn",
            "seconds", "result")
    rows: list[tuple[str, ...]] = [head]
    for o in outcomes:
        kills = ", ".join(f"{n} {s}" for s, n in sorted(o.kills.items())) or "0"
        rows.append((o.scenario, kills, str(o.resumes), str(o.outputs),
                     str(o.failures_reported), str(o.temporaries_left), str(o.mismatches),
                     str(o.enospc_failures), str(o.swept), str(o.torn), f"{o.seconds:.1f}",
                     "ok" if o.ok else "FAIL"))
    for name, why in skipped.items():
        rows.append((name, *["-"] * 10, f"skipped: {why}"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    for i, row in enumerate(rows):
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))
    for o in outcomes:
        for problem in o.problems:
            print(f"FAIL {o.scenario}: {problem}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=1000, help="inputs (default 1000)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--jobs", type=int, default=8, help="--jobs of the CLI (default 8)")
    parser.add_argument("--io", choices=("inline", "threads"), default="inline",
                        help="--io of the CLI (default inline, the CLI's default)")
    parser.add_argument("--kills", type=int, default=3,
                        help="signals per killing scenario (default 3)")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS),
                        help=f"comma-separated subset of {','.join(SCENARIOS)}")
    parser.add_argument("--workdir", type=Path, help="where to work (default: a new "
                        "temporary directory, removed at the end unless --keep)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument("--json", type=Path, metavar="FILE",
                        help="also write the results there (one object per scenario)")
    parser.add_argument(_USERNS_FLAG, dest="in_userns", action="store_true",
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.files < 20 or args.jobs < 2 or args.kills < 1:
        parser.error("need --files >= 20, --jobs >= 2 (the point is concurrency), --kills >= 1")
    wanted = [s for s in args.scenarios.split(",") if s]
    if unknown := set(wanted) - set(SCENARIOS):
        parser.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    args.scenarios = wanted
    return args


def main(argv: list[str] | None = None) -> int:
    global IO_MODE
    args = parse_args(argv)
    IO_MODE = args.io
    disk_scenarios = {"enospc", "mixed"} & set(args.scenarios)
    if (disk_scenarios and os.geteuid() != 0 and not args.in_userns
            and shutil.which("unshare")):
        # Root in a private user + mount namespace may mount a tmpfs; try that.
        command = ["unshare", "--user", "--map-root-user", "--mount", sys.executable,
                   str(Path(__file__).resolve()), *sys.argv[1:], _USERNS_FLAG]
        probe = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "true"],
                               capture_output=True)
        if probe.returncode == 0:
            os.execvp("unshare", command)
    rng = random.Random(args.seed)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="dicomstream-chaos-"))
    workdir.mkdir(parents=True, exist_ok=True)
    skipped: dict[str, str] = {}
    outcomes: list[Outcome] = []
    try:
        t0 = time.perf_counter()
        inputs = make_inputs(workdir / "in", args.files, rng)
        print(f"{len(inputs.files)} inputs ({len(inputs.bad)} bad, 2 FIFOs) in "
              f"{time.perf_counter() - t0:.1f} s under {workdir}; --jobs {args.jobs}, "
              f"--io {args.io}, seed {args.seed}", flush=True)
        reference, failures, clean = clean_run(inputs, workdir, args.jobs)
        outcomes.append(clean)
        # Space the many small outputs take (the 3 MiB FIFO output aside), so a fill to
        # 30-60 % of it makes a good share of the small writes fail, not just the big one.
        needed = page_rounded(len(b) for b in reference.values() if len(b) < 1 << 20)
        plan = Plan(inputs, workdir, args.jobs, args.kills, rng, reference, failures,
                    tmpfs_size=2 * needed + (8 << 20), needed=needed)
        why_not = can_mount(workdir) if disk_scenarios else None
        for name in args.scenarios:
            root = workdir / name
            steps: Sequence[tuple[str, signal.Signals | None]]
            if name in disk_scenarios and why_not is not None:
                skipped[name] = f"cannot mount a tmpfs ({why_not.strip()[:60]})"
                continue
            if name in ("sigkill", "sigterm"):
                # The first signal while a 3 MiB output is on disk as a temporary file,
                # the others at random moments.
                sig = signal.SIGKILL if name == "sigkill" else signal.SIGTERM
                steps = [("run-mid-fifo", sig)] + [("run", sig)] * (args.kills - 1)
            elif name == "enospc":
                steps = [("mount", None), ("fill", None), ("run", None)]
            else:  # mixed: signals while the disk fills, a full run, freed, more signals
                sigs = signals_for(args.kills + 1, rng)
                half = len(sigs) // 2 or 1
                steps = [("mount", None), ("fill", None),
                         *[("run", s) for s in sigs[:half]], ("run", None), ("free", None),
                         *[("run", s) for s in sigs[half:]]]
            outcome = scenario(plan, name, root, steps)
            outcomes.append(outcome)
            print(f"  {name}: {'ok' if outcome.ok else 'FAIL'} in {outcome.seconds:.1f} s",
                  flush=True)
        served = ", ".join(f"{f.path.name} read {f.served}x" for f in inputs.feeders)
        print(f"\nFIFOs: {served}\n")
        print_table(outcomes, skipped)
        if args.json:
            args.json.write_text(json.dumps(
                [{**asdict(o), "ok": o.ok} for o in outcomes]
                + [{"scenario": name, "skipped": why} for name, why in skipped.items()],
                indent=1))
    finally:
        if not args.keep and args.workdir is None:
            with contextlib.suppress(OSError):
                shutil.rmtree(workdir)
        elif args.keep:
            print(f"work directory kept: {workdir}")
    return 0 if all(o.ok for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
