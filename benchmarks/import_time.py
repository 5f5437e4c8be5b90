"""Import time of dicomstream vs pydicom, each in a fresh interpreter.

    python benchmarks/import_time.py [--runs 10] [--no-bytecode]

Every command runs ``--runs`` times in a new subprocess (after one warm-up run) and the
median wall time is reported next to a bare ``python -c pass``. By default the children
may write and use bytecode caches (under a temporary ``PYTHONPYCACHEPREFIX``, so the tree
stays clean), which is what an installed package sees; ``--no-bytecode`` measures the
compile-every-time case instead. The repository root is appended to ``PYTHONPATH``, so the
working tree is measured unless ``PYTHONPATH`` already points somewhere else.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

COMMANDS = (
    ("python -c pass (interpreter startup)", "pass"),
    ("import pydicom", "import pydicom"),
    ("import dicomstream", "import dicomstream"),
    ("import dicomstream.dictionary", "import dicomstream.dictionary"),
    (
        "import dicomstream.dictionary + vr_for_tag",
        "import dicomstream.dictionary as d; d.vr_for_tag(0x00100010)",
    ),
)


def _env(pycache: str | None) -> dict[str, str]:
    env = dict(os.environ)
    paths = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join([*paths, str(ROOT)])
    if pycache is None:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    else:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = pycache
    return env


def _time_once(code: str, env: dict[str, str], cwd: str) -> tuple[float, str | None]:
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=cwd, capture_output=True, text=True
    )
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        lines = result.stderr.strip().splitlines()
        return elapsed, lines[-1] if lines else f"exit status {result.returncode}"
    return elapsed, None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10, help="runs per command (default 10)")
    parser.add_argument(
        "--no-bytecode", action="store_true", help="children neither read nor write .pyc"
    )
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="dicomstream-import-time-") as tmp:
        env = _env(None if args.no_bytecode else os.path.join(tmp, "pycache"))
        rows: list[tuple[str, float | None, float | None, str | None]] = []
        for label, code in COMMANDS:
            _, error = _time_once(code, env, tmp)  # warm-up (and bytecode cache fill)
            if error is not None:
                rows.append((label, None, None, error))
                continue
            times = [_time_once(code, env, tmp)[0] for _ in range(args.runs)]
            rows.append((label, statistics.median(times), min(times), None))

    width = max(len(label) for label, *_ in rows)
    mode = "no bytecode" if args.no_bytecode else "with bytecode cache"
    print(f"Python {sys.version.split()[0]}, {args.runs} runs each, {mode}")
    print(f"{'command':<{width}}  {'median':>9}  {'min':>9}")
    base = rows[0][1]
    for label, median, fastest, error in rows:
        if error is not None or median is None or fastest is None:
            print(f"{label:<{width}}  FAILED: {error}")
            continue
        extra = (
            f"  (+{(median - base) * 1e3:.1f} ms over startup)"
            if base and label != rows[0][0]
            else ""
        )
        print(f"{label:<{width}}  {median * 1e3:7.1f}ms  {fastest * 1e3:7.1f}ms{extra}")
    return 1 if any(error for *_, error in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
