"""Where the edit job's time goes, against the identity job, in one process.

Run: ``python benchmarks/edit_breakdown.py [--rounds 3] [--work /dev/shm/dicomstream-bench]``

``bench_rewrite.py`` times whole command lines; this script says which part of the edit
job (``--set PatientName=ANON --set PatientID=ANON --remove-private``) costs what. It runs
``dicomstream.local.rewrite_many_local`` over the 500-file series with ``jobs=1`` (no
writer thread, so the CPU time is the one thread's), identity and edit in turn for
``--rounds`` rounds, and prints the process CPU time of each (the minimum over rounds)
and, for the edit job, the time spent in each stage's ``transform``, in stage set-up and
in the encoder (``send_all_parts``) — the last also for the identity job.
"""

from __future__ import annotations

import argparse
import functools
import shutil
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._generate import write_ct_series  # noqa: E402
from dicomstream.encoder import _encoder  # noqa: E402
from dicomstream.local import rewrite_many_local  # noqa: E402
from dicomstream.stages import EditStage, FilterStage, build_cli_stages  # noqa: E402

_SPENT: dict[str, float] = {}


def _timed(owner: Any, name: str, label: str) -> None:
    """Wrap ``owner.name`` so that its wall time adds up under ``label``."""
    original = getattr(owner, name)

    @functools.wraps(original)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            _SPENT[label] = _SPENT.get(label, 0.0) + time.perf_counter() - started

    setattr(owner, name, wrapper)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--work", type=Path, default=Path("/dev/shm/dicomstream-bench"))
    parser.add_argument("--files", type=int, default=500)
    args = parser.parse_args()
    src = args.work / "ct"
    if not src.exists() or len(list(src.iterdir())) != args.files:
        shutil.rmtree(src, ignore_errors=True)
        write_ct_series(src, args.files)
    out = args.work / "breakdown-out"
    _timed(EditStage, "transform", "edit transform")
    _timed(FilterStage, "transform", "filter transform")
    _timed(EditStage, "__init__", "stage set-up")
    _timed(FilterStage, "__init__", "stage set-up")
    _timed(_encoder.Encoder, "send_all_parts", "encoder")
    stages = build_cli_stages(sets=["PatientName=ANON", "PatientID=ANON"], remove_private=True)
    best: dict[str, tuple[float, dict[str, float]]] = {}
    for _ in range(args.rounds):
        for job, factory in (("identity", None), ("edit", stages)):
            shutil.rmtree(out, ignore_errors=True)
            _SPENT.clear()
            started = time.process_time()
            rewrite_many_local(str(src), str(out), stages=factory, jobs=1)
            cpu = time.process_time() - started
            if job not in best or cpu < best[job][0]:
                best[job] = (cpu, dict(_SPENT))
    shutil.rmtree(out, ignore_errors=True)
    print(f"{args.files} files, jobs=1, CPU seconds (minimum of {args.rounds} rounds)")
    for job, (cpu, spent) in best.items():
        parts = ", ".join(f"{name} {seconds * 1000:.0f} ms" for name, seconds in
                          sorted(spent.items()))
        print(f"{job:9} {cpu:.3f} s  ({parts})")
    print(f"edit - identity: {(best['edit'][0] - best['identity'][0]) * 1000:.0f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
