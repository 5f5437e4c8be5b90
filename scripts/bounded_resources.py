"""Bounded resources: 10,000 inputs through ``dicomstream rewrite`` under ``ulimit -n 256``.

Why this exists: what a bulk run holds at once must depend on ``--jobs``, never on how
many inputs there are. A leaked or eagerly opened file descriptor fails the run with
EMFILE after a few hundred inputs under a normal ``ulimit -n``; an unbounded queue or
per-input state left behind shows as memory that grows with the run. This script runs
the real command line over many tiny inputs and watches it from outside.

What it does: writes ``--inputs`` tiny CT files (``benchmarks/_generate.py``: one
template per folder of 1,000, the UIDs and a few values stamped per file; every 500th
file truncated so that failing inputs, and their error paths, are part of the run), then
runs ``python -m dicomstream rewrite IN OUT --jobs J --report R --io MODE --set
PatientName=ANON --remove-private`` with ``RLIMIT_NOFILE`` set in the child
(``preexec_fn``; what ``ulimit -n`` sets) and ``DICOMSTREAM_REPORT_STATS`` on, so the
report gets periodic ``stats`` lines with the runner's queue depth
(:class:`dicomstream.bulk.ReportWriter`). Every 10 ms it samples the child's open
descriptors (``/proc/PID/fd``), its resident memory (``VmRSS``) and the progress (report
lines so far).

Checks, per ``--io`` mode:

* the run completes: every input has an output except the planted bad ones, which are
  reported; no input failed for lack of descriptors (EMFILE);
* descriptors: the most sampled stays within ``FD_BASELINE + 2 * jobs`` (a source and
  a sink per input in flight) and under the limit;
* queues: in every ``stats`` line, planned inputs queued <= the queue bound (``jobs``)
  and inputs in flight (and their peak) <= ``jobs``;
* memory: RSS at the end is within ``max(8 MiB, 10 %)`` of RSS at 10 % progress.

Usage::

    .venv/bin/python scripts/bounded_resources.py                  # 10,000 inputs, -n 256
    .venv/bin/python scripts/bounded_resources.py --inputs 2000 --nofile 64 --jobs 16

Exit status: 0 every check passed, 1 a check failed, 2 usage error.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # benchmarks/ is imported from the repository root
    sys.path.insert(0, str(ROOT))

from benchmarks._generate import write_ct_series  # noqa: E402

FD_BASELINE = 16
"""Descriptors the CLI holds whatever it does: stdin/out/err, the report, the event
loop's epoll and wake-up socket pair, and the like (9-10 measured), plus headroom."""
RSS_SLACK = 8 << 20
"""Allowed RSS growth from 10 % progress to the end (or 10 %, whichever is larger):
allocator noise, not growth with the number of inputs."""
SAMPLE_EVERY = 0.01
STATS_EVERY = 0.05
BAD_EVERY = 500
EDITS = ("--set", "PatientName=ANON", "--remove-private")


def make_inputs(root: Path, count: int) -> tuple[list[Path], set[Path]]:
    """``count`` tiny CT files in folders of 1,000; every :data:`BAD_EVERY`-th cut short."""
    files: list[Path] = []
    for folder, start in enumerate(range(0, count, 1000)):
        files += write_ct_series(root / f"f{folder:03d}", min(1000, count - start),
                                 target_size=32, seed=folder)
    bad = set(files[BAD_EVERY - 1::BAD_EVERY])
    for path in bad:
        path.write_bytes(path.read_bytes()[:2000])
    return files, bad


@dataclass
class Sample:
    seconds: float
    progress: int
    fds: int
    rss: int


@dataclass
class Result:
    io: str
    inputs: int
    nofile: int
    jobs: int
    seconds: float = 0.0
    outputs: int = 0
    failures: int = 0
    max_fds: int = 0
    fd_bound: int = 0
    max_queued: int = 0
    queue_bound: int = 0
    max_in_flight: int = 0
    stats_lines: int = 0
    rss_at_10: int = 0
    rss_end: int = 0
    samples: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def read_proc(pid: int) -> tuple[int, int] | None:
    """Open descriptors and VmRSS (bytes) of ``pid``, or ``None`` once it has exited."""
    try:
        fds = len(os.listdir(f"/proc/{pid}/fd"))
        with open(f"/proc/{pid}/status") as f:
            rss = next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmRSS:"))
    except (FileNotFoundError, ProcessLookupError, StopIteration):
        return None
    return fds, rss


def read_nofile_limit(pid: int) -> int | None:
    """The soft ``Max open files`` limit of ``pid`` (proof that the limit applied)."""
    try:
        with open(f"/proc/{pid}/limits") as f:
            line = next(line for line in f if line.startswith("Max open files"))
    except (FileNotFoundError, ProcessLookupError, StopIteration):
        return None
    return int(line.split()[3])


def run(io: str, src: Path, workdir: Path, nofile: int, jobs: int, bad: set[Path],
        total: int) -> Result:
    result = Result(io, total, nofile, jobs, fd_bound=min(FD_BASELINE + 2 * jobs, nofile - 1))
    dst, report = workdir / f"out-{io}", workdir / f"report-{io}.jsonl"
    command = [sys.executable, "-m", "dicomstream", "rewrite", str(src), str(dst),
               "--jobs", str(jobs), "--report", str(report), "--io", io, *EDITS]
    env = dict(os.environ, DICOMSTREAM_REPORT_STATS=str(STATS_EVERY))

    def limit() -> None:  # in the child, before exec: what ``ulimit -n`` does
        resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

    samples: list[Sample] = []
    applied_limit: int | None = None
    progress = offset = 0
    started = time.perf_counter()
    with (workdir / f"stderr-{io}.log").open("w+") as err:
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=err, env=env,
                                cwd=ROOT, preexec_fn=limit)
        while proc.poll() is None:
            if report.exists():
                with report.open("rb") as f:
                    f.seek(offset)
                    data = f.read()
                complete = data[:data.rfind(b"\n") + 1]
                offset += len(complete)
                progress += complete.count(b"\n") - complete.count(b'"status": "stats"')
            if applied_limit is None:
                applied_limit = read_nofile_limit(proc.pid)
            proc_info = read_proc(proc.pid)
            if proc_info is not None:
                samples.append(Sample(time.perf_counter() - started, progress, *proc_info))
            time.sleep(SAMPLE_EVERY)
        returncode = proc.wait()
        err.seek(0)
        stderr = err.read()
    result.seconds = time.perf_counter() - started
    result.samples = len(samples)
    problems = result.problems

    records = [json.loads(line) for line in report.read_text().splitlines()]
    stats = [r for r in records if r["status"] == "stats"]
    outcomes = [r for r in records if r["status"] != "stats"]
    failed = {r["source"] for r in outcomes if r["status"] == "error"}
    result.failures = len(failed)
    result.outputs = sum(1 for p in dst.rglob("*") if p.is_file())
    if returncode != (1 if bad else 0) or "Traceback" in stderr:
        problems.append(f"exit status {returncode}: {stderr.strip()[-300:]}")
    if len(outcomes) != total or result.outputs != total - len(bad):
        problems.append(f"{len(outcomes)} report lines and {result.outputs} outputs for "
                        f"{total} inputs ({len(bad)} bad)")
    if failed != {str(p) for p in bad}:
        emfile = sum("Too many open files" in str(r["error"]) for r in outcomes)
        problems.append(f"failures are not the planted bad inputs ({emfile} for EMFILE)")

    if applied_limit != nofile:
        problems.append(f"the run's descriptor limit was {applied_limit}, not {nofile}")
    result.max_fds = max((s.fds for s in samples), default=0)
    if not samples:
        problems.append("no samples: the run ended before the first")
    elif result.max_fds > result.fd_bound:
        problems.append(f"{result.max_fds} descriptors open, bound {result.fd_bound}")

    result.stats_lines = len(stats)
    if len(stats) < 3:
        problems.append(f"only {len(stats)} stats lines")
    for s in stats:
        result.max_queued = max(result.max_queued, s["queued"])
        result.queue_bound = s["queue_bound"]
        result.max_in_flight = max(result.max_in_flight, s["in_flight"], s["peak_in_flight"])
        if s["queued"] > s["queue_bound"] or s["queue_bound"] > jobs:
            problems.append(f"queue over its bound: {s}")
            break
        if max(s["in_flight"], s["peak_in_flight"]) > min(s["in_flight_bound"], jobs):
            problems.append(f"more inputs in flight than --jobs: {s}")
            break

    tenth = next((s for s in samples if s.progress >= total // 10), None)
    late = [s for s in samples if s.progress >= total * 0.95]
    if tenth is None or not late:
        problems.append("too few samples to compare memory at 10 % and at the end")
    else:
        result.rss_at_10, result.rss_end = tenth.rss, late[-1].rss
        allowed = max(RSS_SLACK, tenth.rss // 10)
        if result.rss_end - result.rss_at_10 > allowed:
            problems.append(f"RSS grew {(result.rss_end - result.rss_at_10) >> 20} MiB from "
                            f"10 % to the end (allowed {allowed >> 20} MiB)")
    shutil.rmtree(dst, ignore_errors=True)
    return result


def print_table(results: list[Result]) -> None:
    head = ("io", "inputs", "ulimit -n", "jobs", "seconds", "outputs", "failures",
            "max fds (bound)", "max queued (bound)", "max in flight (bound)", "stats lines",
            "RSS at 10 %", "RSS at end", "result")
    rows = [head]
    for r in results:
        rows.append((r.io, str(r.inputs), str(r.nofile), str(r.jobs), f"{r.seconds:.1f}",
                     str(r.outputs), str(r.failures), f"{r.max_fds} ({r.fd_bound})",
                     f"{r.max_queued} ({r.queue_bound})", f"{r.max_in_flight} ({r.jobs})",
                     str(r.stats_lines), f"{r.rss_at_10 / (1 << 20):.1f} MiB",
                     f"{r.rss_end / (1 << 20):.1f} MiB", "ok" if r.ok else "FAIL"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    for i, row in enumerate(rows):
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))
    for r in results:
        for problem in r.problems:
            print(f"FAIL {r.io}: {problem}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--inputs", type=int, default=10_000, help="inputs (default 10000)")
    parser.add_argument("--nofile", type=int, default=256,
                        help="descriptor limit of the run, as ulimit -n (default 256)")
    parser.add_argument("--jobs", type=int, default=64, help="--jobs (default 64)")
    parser.add_argument("--io", default="inline,threads",
                        help="comma-separated --io modes to run (default inline,threads)")
    parser.add_argument("--workdir", type=Path, help="where to work (default: a new "
                        "temporary directory, removed at the end unless --keep)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument("--json", type=Path, metavar="FILE",
                        help="also write the results there (one object per --io mode)")
    args = parser.parse_args(argv)
    modes = [m for m in args.io.split(",") if m]
    if not modes or set(modes) - {"inline", "threads"}:
        parser.error("--io takes inline and/or threads")
    if args.inputs < 1000:
        parser.error("--inputs must be at least 1000 (memory is compared at 10 % and 100 %)")
    if FD_BASELINE + 2 * args.jobs >= args.nofile:
        parser.error(f"--jobs {args.jobs} may need {FD_BASELINE + 2 * args.jobs} "
                     f"descriptors: raise --nofile above that or lower --jobs")
    if not Path("/proc/self/fd").is_dir():
        parser.error("needs Linux /proc to sample descriptors and memory")
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="dicomstream-bounded-"))
    workdir.mkdir(parents=True, exist_ok=True)
    results: list[Result] = []
    try:
        t0 = time.perf_counter()
        files, bad = make_inputs(workdir / "in", args.inputs)
        print(f"{len(files)} inputs ({len(bad)} truncated) in {time.perf_counter() - t0:.1f} s "
              f"under {workdir}", flush=True)
        for io in modes:
            results.append(run(io, workdir / "in", workdir, args.nofile, args.jobs, bad,
                               len(files)))
            print(f"  --io {io}: {'ok' if results[-1].ok else 'FAIL'} in "
                  f"{results[-1].seconds:.1f} s", flush=True)
        print()
        print_table(results)
        if args.json:
            args.json.write_text(json.dumps([{**asdict(r), "ok": r.ok} for r in results],
                                            indent=1))
    finally:
        if args.keep:
            print(f"work directory kept: {workdir}")
        elif args.workdir is None:
            with contextlib.suppress(OSError):
                shutil.rmtree(workdir)
    return 0 if results and all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
