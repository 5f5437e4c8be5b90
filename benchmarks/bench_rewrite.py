"""Identity and edit rewrites, side by side with the physical limit and pydicom.

Run: ``python benchmarks/bench_rewrite.py [--runs 5] [--work /dev/shm/dsbench]``

In one run, on the same bytes, it times (median of ``--runs`` rounds, each job a fresh
process; the jobs take turns round by round, and ratios are medians of per-round ratios,
so the speed drift of a shared machine hits every job alike):

* ``cp -r`` of a 500-file CT-like series (512 KiB pixel data, ~200 header elements
  with sequences and private blocks) — the physical limit;
* pydicom: ``dcmread`` + ``save_as`` per file, in one process;
* ``dicomstream rewrite`` of the directory (identity), in one process — the CLI runs
  local trees with no event loop (:mod:`dicomstream.local`); the same jobs with
  ``--io threads`` (the concurrent async runner) are timed too, for comparison;
* the edit job of issue 3: pydicom (set PatientName/PatientID, ``remove_private_tags``,
  ``save_as``) vs ``dicomstream rewrite --set … --remove-private``;
* a ≥ 1 GiB multi-frame file: ``cp`` vs ``dicomstream rewrite``, with peak RSS;
* stage overhead in-process: parse → 0 or 5 no-op stages → encode over the series.

Outputs go to a tmpfs (``/dev/shm`` by default) so disk write-back does not decide.
Peak RSS is each child's own, from GNU ``time -f %M`` (Debian package ``time``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._generate import write_ct_series, write_multiframe  # noqa: E402

PYDICOM_IDENTITY = """
import os, sys, pydicom
src, dst = sys.argv[1], sys.argv[2]
for d, _, names in os.walk(src):
    for n in sorted(names):
        out = os.path.join(dst, os.path.relpath(os.path.join(d, n), src))
        os.makedirs(os.path.dirname(out), exist_ok=True)
        pydicom.dcmread(os.path.join(d, n)).save_as(out)
"""

PYDICOM_EDIT = """
import os, sys, pydicom
src, dst = sys.argv[1], sys.argv[2]
for d, _, names in os.walk(src):
    for n in sorted(names):
        out = os.path.join(dst, os.path.relpath(os.path.join(d, n), src))
        os.makedirs(os.path.dirname(out), exist_ok=True)
        ds = pydicom.dcmread(os.path.join(d, n))
        ds.PatientName = "ANON"
        ds.PatientID = "ANON"
        ds.remove_private_tags()
        ds.save_as(out)
"""


# Children run as an installed package would: with bytecode caching (this sandbox sets
# PYTHONDONTWRITEBYTECODE, which would make every run recompile every module).
TIME = shutil.which("/usr/bin/time")  # Debian package "time"
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def run(cmd: list[str], *, clean: Path | None = None) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of one child process."""
    if clean is not None and clean.exists():
        shutil.rmtree(clean) if clean.is_dir() else clean.unlink()
    # GNU time reports the child's own peak RSS; wait4's ru_maxrss would include the
    # pages of this (large) benchmark process copied at fork, before exec.
    timed = ["/usr/bin/time", "-f", "%M", *cmd] if TIME else cmd
    started = time.perf_counter()
    proc = subprocess.run(timed, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=ENV)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {proc.stderr.decode()}")
    rss = int(proc.stderr.decode().strip().splitlines()[-1]) if TIME else 0
    return elapsed, rss


def median_run(cmd: list[str], runs: int, clean: Path) -> tuple[float, int]:
    run(cmd, clean=clean)  # warm-up: bytecode caches, page cache
    results = [run(cmd, clean=clean) for _ in range(runs)]
    return statistics.median(r[0] for r in results), max(r[1] for r in results)


def interleaved_runs(jobs: list[tuple[str, list[str]]], runs: int, clean: Path
                     ) -> dict[str, list[tuple[float, int]]]:
    """Every job once per round, ``runs`` rounds (after one warm-up round).

    Round-robin, not job after job: a shared VM's speed drifts over a minute, and a
    drift should hit every job alike. Ratios are then taken round by round.
    """
    for _, cmd in jobs:
        run(cmd, clean=clean)  # warm-up: bytecode caches, page cache
    results: dict[str, list[tuple[float, int]]] = {name: [] for name, _ in jobs}
    for _ in range(runs):
        for name, cmd in jobs:
            results[name].append(run(cmd, clean=clean))
    return results


def median_ratio(a: list[tuple[float, int]], b: list[tuple[float, int]]) -> float:
    """Median over rounds of ``a``'s time / ``b``'s time in the same round."""
    return statistics.median(x[0] / y[0] for x, y in zip(a, b, strict=True))


def count_elements(files: list[Path]) -> int:
    from dicomstream.events import Element
    from dicomstream.parser import parse_bytes

    return sum(sum(1 for e in parse_bytes(p.read_bytes()) if type(e) is Element)
               for p in files)


def stage_overhead(files: list[Path], runs: int) -> tuple[float, float]:
    import anyio

    from dicomstream.encoder import Encoder
    from dicomstream.parser import Parser
    from dicomstream.pipeline import apply_stages
    from dicomstream.stages import Stage

    blobs = [p.read_bytes() for p in files]

    async def once(n_stages: int) -> float:
        started = time.process_time()  # CPU time: this part runs in this one process
        for data in blobs:
            async def batches(data: bytes = data):  # type: ignore[no-untyped-def]
                parser = Parser()
                for i in range(0, len(data), 1 << 20):
                    parser.receive_data(data[i:i + 1 << 20])
                    yield parser.events()
                parser.receive_data(b"")
                yield parser.events()

            encoder = Encoder()
            async for batch in apply_stages(batches(), [Stage() for _ in range(n_stages)]):
                encoder.send_all_parts(batch)
        return time.process_time() - started

    anyio.run(once, 5)  # warm-up
    nones, fives = [], []
    for _ in range(max(runs, 7)):  # interleaved, as the jobs above
        nones.append(anyio.run(once, 0))
        fives.append(anyio.run(once, 5))
    return statistics.median(nones), statistics.median(fives)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--work", type=Path, default=Path("/dev/shm/dicomstream-bench"))
    parser.add_argument("--files", type=int, default=500)
    parser.add_argument("--big", default="1GiB", help="size of the multi-frame file")
    parser.add_argument("--skip-big", action="store_true")
    args = parser.parse_args()
    work: Path = args.work
    work.mkdir(parents=True, exist_ok=True)
    src = work / "ct"
    if not src.exists() or len(list(src.iterdir())) != args.files:
        shutil.rmtree(src, ignore_errors=True)
        write_ct_series(src, args.files)
    files = sorted(src.iterdir())
    total = sum(p.stat().st_size for p in files)
    elements = count_elements(files)
    py = sys.executable
    ds_cli = [py, "-m", "dicomstream"]
    out = work / "out"

    print(f"series: {len(files)} files, {total / 2**20:.1f} MiB, {elements} elements; "
          f"median of {args.runs} runs; outputs on {work}")
    # cp and dicomstream next to each other in a round: their ratio is the tight one.
    jobs = [
        ("cp -r", ["cp", "-r", str(src), str(out)]),
        ("dicomstream rewrite (identity)", [*ds_cli, "rewrite", str(src), str(out)]),
        ("dicomstream rewrite --set x2 --remove-private",
         [*ds_cli, "rewrite", str(src), str(out), "--set", "PatientName=ANON", "--set",
          "PatientID=ANON", "--remove-private"]),
        ("pydicom dcmread+save_as", [py, "-c", PYDICOM_IDENTITY, str(src), str(out)]),
        ("pydicom edit (set 2, remove private)", [py, "-c", PYDICOM_EDIT, str(src), str(out)]),
        # The same two jobs through the concurrent async runner (what URLs, stdin and
        # async stages use), for comparison with the event-loop-free one the CLI picks.
        ("  identity, --io threads (async, I/O threads)",
         [*ds_cli, "rewrite", str(src), str(out), "--io", "threads"]),
        ("  edit, --io threads (async, I/O threads)",
         [*ds_cli, "rewrite", str(src), str(out), "--io", "threads", "--set",
          "PatientName=ANON", "--set", "PatientID=ANON", "--remove-private"]),
    ]
    results = interleaved_runs(jobs, args.runs, out)
    rows = [(name, statistics.median(r[0] for r in results[name]),
             max(r[1] for r in results[name])) for name, _ in jobs]
    cp_time = rows[0][1]
    print(f"\n{'job':48} {'s':>7} {'files/s':>9} {'MB/s':>8} {'elem/s':>10} {'RSS MiB':>8} "
          f"{'x cp':>6}")
    for name, seconds, rss in rows:
        print(f"{name:48} {seconds:7.3f} {len(files) / seconds:9.0f} "
              f"{total / seconds / 1e6:8.0f} {elements / seconds:10.0f} {rss / 1024:8.0f} "
              f"{seconds / cp_time:6.2f}")
    cp, ds_ident, ds_edit, pd_ident, pd_edit, async_ident, async_edit = (
        results[name] for name, _ in jobs)
    print("\nratios: medians of the per-round ratios (each round runs every job once)")
    print(f"identity: {median_ratio(pd_ident, ds_ident):.2f}x pydicom's files/s, "
          f"{median_ratio(ds_ident, cp):.2f}x cp's time")
    print(f"edit:     {median_ratio(pd_edit, ds_edit):.2f}x pydicom's files/s, "
          f"{median_ratio(ds_edit, cp):.2f}x cp's time")
    print("--io threads (async runner, I/O in worker threads): identity "
          f"{median_ratio(async_ident, cp):.2f}x, edit {median_ratio(async_edit, cp):.2f}x "
          "cp's time")

    none, five = stage_overhead(files, args.runs)
    print(f"\nstage overhead (in-process parse->stages->encode of the series, CPU time): "
          f"0 stages {none:.3f} s, 5 no-op stages {five:.3f} s (+{(five / none - 1) * 100:.1f}%)")

    if not args.skip_big:
        big = work / "multiframe.dcm"
        size = int(float(args.big[:-3]) * 2**30) if args.big.endswith("GiB") else int(args.big)
        if not big.exists() or big.stat().st_size < size:
            write_multiframe(big, size, per_frame_groups=False)
        big_out = work / "multiframe-out.dcm"
        cp_big, cp_rss = median_run(["cp", str(big), str(big_out)], args.runs, big_out)
        ds_big, ds_rss = median_run([*ds_cli, "rewrite", str(big), str(big_out)], args.runs,
                                    big_out)
        gib = big.stat().st_size / 2**30
        print(f"\n{gib:.2f} GiB multi-frame: cp {cp_big:.2f} s ({cp_rss / 1024:.0f} MiB), "
              f"dicomstream rewrite {ds_big:.2f} s ({ds_rss / 1024:.0f} MiB peak RSS) "
              f"= {ds_big / cp_big:.2f}x cp")
        big_out.unlink(missing_ok=True)
    shutil.rmtree(out, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
