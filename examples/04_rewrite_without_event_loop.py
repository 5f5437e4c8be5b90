"""Rewrite a file or a whole tree in plain synchronous code — no ``async``, no event loop:
``python 04_rewrite_without_event_loop.py SRC DST``.

:mod:`dicomstream.local` drives the same parser, stages and encoder as the async pipeline
(outputs are byte for byte the same), for scripts and for bulk jobs over local disks:
every stage here is a :class:`~dicomstream.stages.SyncStage`. A tree is mirrored under
DST, outputs appear atomically, a re-run skips what is done, and one bad input is
reported without stopping the others.
"""

from __future__ import annotations

import os
import sys

from dicomstream.local import rewrite_local, rewrite_many_local
from dicomstream.stages import EditStage, FilterStage, SyncStage


def stages() -> list[SyncStage]:
    """Fresh stages for one input (stages keep per-stream state)."""
    return [EditStage(set={"PatientName": "ANON"}, delete=["PatientBirthDate"]),
            FilterStage(remove_private=True)]


def main(src: str, dst: str) -> int:
    if not os.path.isdir(src):
        result = rewrite_local(src, dst, stages=stages())
        print(f"{result.bytes_read} bytes in, {result.bytes_written} bytes out")
        return 0
    summary = rewrite_many_local(src, dst, stages=stages)
    for source, message in summary.failures:
        print(f"{source}: {message}", file=sys.stderr)
    print(f"{summary.ok} written, {summary.skipped} skipped, {summary.failed} failed")
    return 1 if summary.failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
