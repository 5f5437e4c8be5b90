"""Shared fixtures and feeders.

The feeders follow the h11 / python-multipart habit: a test source is a list of chunks,
and the same input is fed whole, byte by byte and at random split points; the events must
not depend on the split. Test modules import the helpers directly
(``from conftest import split_feed``).
"""

from __future__ import annotations

import random
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

_ROOT = Path(__file__).resolve().parents[1]
if str(_ROOT) not in sys.path:  # benchmarks/ is imported from the repository root
    sys.path.insert(0, str(_ROOT))

from corpus import feed, path_of  # noqa: E402

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from dicomstream.events import Event

REPO_ROOT = _ROOT
PYTHON = sys.executable


def chunks_of(data: bytes, sizes: Iterable[int]) -> Iterator[bytes]:
    """``data`` cut into pieces of the given sizes (sizes of 0 are skipped); whatever is
    left comes as one last piece."""
    pos = 0
    for size in sizes:
        if pos >= len(data):
            return
        if size <= 0:
            continue  # an empty chunk would mean the end of input
        yield data[pos:pos + size]
        pos += size
    if pos < len(data):
        yield data[pos:]


def split_feed(data: bytes, sizes: Iterable[int], *, pull: str = "events",
               **options: Any) -> list[Event]:
    """Feed ``data`` to a fresh parser in chunks of ``sizes`` (the rest in one chunk), end
    the input, and return every event (``ValueChunk`` data as ``bytes``)."""
    return feed(chunks_of(data, sizes), pull=pull, **options)


def bytewise(data: bytes, *, head: int | None = None, rest_chunk: int = 65536,
             **options: Any) -> list[Event]:
    """Feed ``data`` one byte at a time, pulling with ``next_event`` after each byte.

    With ``head``, only the first ``head`` bytes go one by one and the rest in chunks of
    ``rest_chunk`` (byte-by-byte feeding of a multi-megabyte file takes minutes).
    """
    ones = len(data) if head is None else min(head, len(data))

    def sizes() -> Iterator[int]:
        yield from (1 for _ in range(ones))
        while True:
            yield rest_chunk

    return split_feed(data, sizes(), pull="next_event", **options)


def random_sizes(rng: random.Random, total: int, max_chunk: int = 4096) -> list[int]:
    """Random chunk sizes (1 … ``max_chunk``) covering ``total`` bytes."""
    sizes: list[int] = []
    left = total
    while left > 0:
        size = rng.randint(1, max_chunk)
        sizes.append(size)
        left -= size
    return sizes


def random_split(data: bytes, seed: int, *, max_chunk: int = 4096,
                 **options: Any) -> list[Event]:
    """Feed ``data`` at pseudo-random split points drawn from ``seed``."""
    rng = random.Random(seed)
    return split_feed(data, random_sizes(rng, len(data), max_chunk), **options)


# --------------------------------------------------------------------------- fixtures


@pytest.fixture
def rtplan_path() -> Path:
    """pydicom's rtplan.dcm: implicit VR LE, nested defined-length sequences."""
    return path_of("test_files/rtplan.dcm")


@pytest.fixture
def rtplan_bytes(rtplan_path: Path) -> bytes:
    return rtplan_path.read_bytes()


@pytest.fixture(scope="session")
def dcmconv() -> str:
    """Path of dcmtk's ``dcmconv``; skips the test when dcmtk is not installed."""
    found = shutil.which("dcmconv")
    if found is None:
        pytest.skip("dcmtk's dcmconv is not on PATH (apt-get install dcmtk)")
    return found


@pytest.fixture(scope="session")
def dcmdump() -> str:
    """Path of dcmtk's ``dcmdump``; skips the test when dcmtk is not installed."""
    found = shutil.which("dcmdump")
    if found is None:
        pytest.skip("dcmtk's dcmdump is not on PATH (apt-get install dcmtk)")
    return found


PEAK_RSS_START = (
    "import os\n"
    "with open('/proc/self/clear_refs', 'w') as _f:\n"
    "    _f.write('5')  # reset the high-water mark: it still holds the parent's pages\n"
)
"""Code to run first in a child whose peak RSS is measured: a forked child inherits the
parent's resident pages until ``exec``, and ``ru_maxrss`` counts them (``wait4`` too);
Linux resets ``VmHWM`` on writing 5 to ``clear_refs``."""

PEAK_RSS_END = (
    "def peak_rss_kib():\n"
    "    with open('/proc/self/status') as _f:\n"
    "        return next(int(l.split()[1]) for l in _f if l.startswith('VmHWM:'))\n"
)
"""Defines ``peak_rss_kib()`` in the child: its own peak RSS since :data:`PEAK_RSS_START`."""
