"""Run the fuzz targets: prepare the seeds, start libFuzzer, report one parseable line.

Why a runner: a libFuzzer process takes its corpus directories and flags on the command
line and exits when done (or at the first crash), so something has to write the seed
corpus (the pydicom wheel's DICOM files, which are not committed here), choose the flags
the issue asks for, run the targets one after another for the CI smoke run, and turn
libFuzzer's output into figures and an exit status.

Usage (from the repository root)::

    .venv/bin/python -m fuzz.run all --seconds 60              # CI smoke run: 4 x 60 s
    .venv/bin/python -m fuzz.run parser --seconds 600 --workdir .fuzz

For each target it prints one line, and for ``all`` a last ``target=all`` line::

    fuzz-result target=parser seconds=60 execs=81234 exec_per_s=1353 crashes=0 status=ok

``status`` is ``ok`` or ``crash``; the exit status is 1 when any target crashed (a
crashing input is then in ``WORKDIR/crashes/TARGET/``, kept even for a temporary
workdir), 2 on usage errors. Reproduce a crash with
``.venv/bin/python -m fuzz.fuzz_TARGET CRASH_FILE``.
"""

from __future__ import annotations

__all__ = ("TARGETS", "main", "run_target")

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

TARGETS = ("parser", "roundtrip", "collector_deid", "stages")
"""Target names; the module of target ``T`` is ``fuzz.fuzz_T``."""

DEFAULT_MAX_LEN = 1 << 20
"""libFuzzer's ``-max_len``: the issue's 1 MiB bound, so no seed is cut (the largest is
about 320 KiB) and mutations may grow inputs up to the size the time limit covers."""

DEFAULT_TIMEOUT = 10
"""libFuzzer's ``-timeout`` (s): catches true hangs, where the in-harness time check
(``--slow-limit``) never gets control back."""

DEFAULT_SLOW_LIMIT = 1.0
"""Seconds one operation may take (issue #7) before the harness reports a slow input."""

_STAT = re.compile(r"^stat::(\w+):\s*(\d+)", re.MULTILINE)
_PROGRESS = re.compile(r"^#(\d+)\s.*?exec/s: (\d+)", re.MULTILINE)
_ARTIFACT_PREFIXES = ("crash-", "timeout-", "oom-", "leak-", "finding-")


@dataclass
class Result:
    """What one libFuzzer run did."""

    target: str
    seconds: float
    execs: int
    exec_per_s: int
    crashes: int
    returncode: int
    corpus: int

    @property
    def status(self) -> str:
        return "ok" if self.crashes == 0 and self.returncode == 0 else "crash"

    def line(self) -> str:
        return (f"fuzz-result target={self.target} seconds={self.seconds:.0f} "
                f"execs={self.execs} exec_per_s={self.exec_per_s} crashes={self.crashes} "
                f"corpus={self.corpus} status={self.status}")


def prepare_seeds(directory: Path, max_len: int) -> int:
    """Write the seed corpus into ``directory`` (emptied first); the number of seeds."""
    from fuzz._common import seed_inputs  # imports dicomstream: only when needed

    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    seeds = seed_inputs(max_len)
    for name, data in seeds:
        (directory / name).write_bytes(data)
    return len(seeds)


def run_target(target: str, seconds: int, workdir: Path, *, max_len: int, timeout: int,
               slow_limit: float, ignore: list[str], extra: list[str], verbose: bool
               ) -> Result:
    """Fuzz ``target`` for ``seconds`` with the seeds in ``workdir/seeds``."""
    corpus = workdir / "corpus" / target
    crashes = workdir / "crashes" / target
    corpus.mkdir(parents=True, exist_ok=True)
    crashes.mkdir(parents=True, exist_ok=True)
    before = {p.name for p in crashes.iterdir()}
    command = [sys.executable, "-m", f"fuzz.fuzz_{target}", str(corpus),
               str(workdir / "seeds"), f"-max_total_time={seconds}", f"-max_len={max_len}",
               f"-timeout={timeout}", f"-artifact_prefix={crashes}{os.sep}",
               "-print_final_stats=1", *extra]
    env = dict(os.environ, DICOMSTREAM_FUZZ_SLOW_LIMIT=str(slow_limit),
               DICOMSTREAM_FUZZ_IGNORE="\n".join(ignore),
               DICOMSTREAM_FUZZ_ARTIFACTS=str(crashes))
    start = time.monotonic()
    proc = subprocess.run(command, cwd=REPO, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, errors="replace",
                          check=False)
    took = time.monotonic() - start
    output = proc.stdout
    (workdir / f"{target}.log").write_text(output)
    if verbose:
        sys.stdout.write(output)
    stats = {k: int(v) for k, v in _STAT.findall(output)}
    progress = _PROGRESS.findall(output)
    execs = stats.get("number_of_executed_units", int(progress[-1][0]) if progress else 0)
    rate = int(execs / took) if took else 0  # libFuzzer's own figure rounds 0.9 to 0
    new = [p for p in crashes.iterdir() if p.name not in before
           and p.name.startswith(_ARTIFACT_PREFIXES) and p.suffix != ".txt"]
    if proc.returncode != 0 or new:
        tail = "\n".join(output.splitlines()[-40:])
        print(f"--- {target}: libFuzzer exit status {proc.returncode}; last lines:\n{tail}",
              file=sys.stderr)
        for path in new:
            print(f"--- {target}: crashing input {path} ({path.stat().st_size} bytes)",
                  file=sys.stderr)
    found = {p.name.split("-", 1)[1] for p in new}  # the harness and libFuzzer both save
    return Result(target, took, execs, rate, len(found) or int(proc.returncode != 0),
                  proc.returncode, sum(1 for _ in corpus.iterdir()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m fuzz.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("target", choices=(*TARGETS, "all"),
                        help="a target, or all of them one after another")
    parser.add_argument("--seconds", type=int, required=True,
                        help="fuzzing time per target (the CI smoke run uses 60)")
    parser.add_argument("--workdir", type=Path,
                        help="keeps seeds, the growing corpus, crashes and logs "
                             "(default: a temporary directory, removed unless a target "
                             "crashed)")
    parser.add_argument("--max-len", type=int, default=DEFAULT_MAX_LEN,
                        help=f"largest input in bytes (default {DEFAULT_MAX_LEN})")
    parser.add_argument("--timeout", type=int, default=DEFAULT_TIMEOUT,
                        help=f"libFuzzer hang timeout in s (default {DEFAULT_TIMEOUT})")
    parser.add_argument("--slow-limit", type=float, default=DEFAULT_SLOW_LIMIT,
                        help="seconds one operation may take before the input is reported "
                             f"as slow (default {DEFAULT_SLOW_LIMIT})")
    parser.add_argument("--ignore", action="append", default=[], metavar="REGEX",
                        help="do not report failures whose 'Type: message' matches (to "
                             "look past a bug already reported; never in CI)")
    parser.add_argument("--verbose", action="store_true", help="show libFuzzer's output")
    parser.add_argument("libfuzzer_flags", nargs="*",
                        help="more libFuzzer flags, after --, e.g. -- -seed=1")
    args = parser.parse_args(argv)
    if args.seconds <= 0 or args.max_len <= 0:
        parser.error("--seconds and --max-len must be positive")
    temporary = args.workdir is None
    workdir: Path = Path(tempfile.mkdtemp(prefix="dicomstream-fuzz-")) if temporary \
        else args.workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    seeds = prepare_seeds(workdir / "seeds", args.max_len)
    print(f"fuzz: {seeds} seeds in {workdir / 'seeds'}", flush=True)
    targets = TARGETS if args.target == "all" else (args.target,)
    results = []
    for target in targets:
        result = run_target(target, args.seconds, workdir, max_len=args.max_len,
                            timeout=args.timeout, slow_limit=args.slow_limit,
                            ignore=args.ignore, extra=args.libfuzzer_flags, verbose=args.verbose)
        results.append(result)
        print(result.line(), flush=True)
    failed = any(r.status != "ok" for r in results)
    if len(results) > 1:
        total = Result("all", sum(r.seconds for r in results),
                       sum(r.execs for r in results),
                       int(sum(r.execs for r in results) / max(1e-9, sum(r.seconds
                                                                         for r in results))),
                       sum(r.crashes for r in results), int(failed),
                       sum(r.corpus for r in results))
        print(total.line(), flush=True)
    if temporary and not failed:
        shutil.rmtree(workdir, ignore_errors=True)
    elif failed:
        print(f"fuzz: crashing inputs and logs kept in {workdir}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
