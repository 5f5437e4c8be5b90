"""The identity and edit rewrites of this checkout against another revision, in one run.

Run: ``python benchmarks/compare_revisions.py REV [--runs 11] [--work /dev/shm/dicomstream-bench]``

A change's effect on a shared VM is smaller than the VM's own drift (the same job's time
moves by 20-50 % within minutes), so comparing two benchmark runs taken at different
times says little. This script checks ``REV`` out into a temporary git worktree and runs
``cp -r``, then the identity and edit rewrites of the 500-file series for this checkout
and for ``REV``, round-robin (the rewrites in reverse order every other round),
``--runs`` rounds; it prints per job the median time and the median of its per-round
ratios to ``cp`` — so both revisions meet the same drift.

Both revisions run with this checkout's interpreter and installed dependencies (the
worktree is put first on ``PYTHONPATH``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._generate import write_ct_series  # noqa: E402

EDIT = ["--set", "PatientName=ANON", "--set", "PatientID=ANON", "--remove-private"]
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def timed(cmd: list[str], out: Path, env: dict[str, str]) -> float:
    shutil.rmtree(out, ignore_errors=True)
    started = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env,
                          cwd=tempfile.gettempdir())  # not ROOT: its package would come first
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {proc.stderr.decode()}")
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("rev", help="the revision to compare with (e.g. HEAD~3, a tag)")
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("--work", type=Path, default=Path("/dev/shm/dicomstream-bench"))
    parser.add_argument("--files", type=int, default=500)
    args = parser.parse_args()
    src = args.work / "ct"
    if not src.exists() or len(list(src.iterdir())) != args.files:
        shutil.rmtree(src, ignore_errors=True)
        write_ct_series(src, args.files)
    out = args.work / "compare-out"
    other = Path(tempfile.mkdtemp(prefix="dicomstream-rev-"))
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-f", str(other),
                    args.rev], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        here = {**ENV, "PYTHONPATH": str(ROOT)}
        there = {**ENV, "PYTHONPATH": str(other)}
        cli = [sys.executable, "-m", "dicomstream", "rewrite"]
        jobs = [
            ("cp -r", ["cp", "-r", str(src), str(out)], ENV),
            ("identity (this checkout)", [*cli, str(src), str(out)], here),
            (f"identity ({args.rev})", [*cli, str(src), str(out)], there),
            ("edit (this checkout)", [*cli, str(src), str(out), *EDIT], here),
            (f"edit ({args.rev})", [*cli, str(src), str(out), *EDIT], there),
        ]
        for _, cmd, env in jobs:
            timed(cmd, out, env)  # warm-up: bytecode caches, page cache
        times: dict[str, list[float]] = {name: [] for name, _, _ in jobs}
        for round_ in range(args.runs):
            # cp first, then the four rewrites — in reverse order every other round, so
            # that no revision always runs right after another job (its page cache, its
            # freed memory).
            order = jobs[1:] if round_ % 2 == 0 else jobs[:0:-1]
            for name, cmd, env in [jobs[0], *order]:
                times[name].append(timed(cmd, out, env))
        shutil.rmtree(out, ignore_errors=True)
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(other)],
                       check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    cp = times["cp -r"]
    print(f"{args.runs} rounds; edit = {' '.join(EDIT)}")
    print(f"{'job':36} {'median s':>9} {'x cp (median of rounds)':>24}")
    for name, _, _ in jobs:
        ratio = statistics.median(t / c for t, c in zip(times[name], cp, strict=True))
        print(f"{name:36} {statistics.median(times[name]):9.3f} {ratio:24.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
