"""One thread that writes finished small outputs while the event loop parses the next.

Why it exists: a bulk rewrite of small files (``--io inline`` in the event loop) spends
about a third of its time in the kernel writing outputs, and the rest in Python parsing
and encoding. In the loop's thread the two alternate; on a machine with a second core
they can overlap, because a ``write`` system call runs without the GIL. A general thread
pool hop (``anyio.to_thread``) costs more per file than it saves — each hop wakes a pool
thread, passes through capacity limiters and cancel scopes, and wins the GIL back several
times — so this is the smallest hop that works: one long-lived thread, a queue, and an
asyncio future settled through ``call_soon_threadsafe``. The job is the whole output in
one go (open the temporary file, write every part, close, rename), so the thread needs
the GIL only a handful of times per file. Measured on the 500-file CT series of
``benchmarks/bench_rewrite.py`` (2 cores): −10 % wall time (median of 12 interleaved
runs), −18 % best case.

Only for asyncio (anyio's default backend): :func:`write_behind_available` says whether
the running loop is one; callers write in line otherwise. A process forked while the
thread exists starts a fresh one in the child when first needed. Runs with no event loop
(:mod:`dicomstream.local`) have their own writer thread, ``LocalWriter``.
"""

from __future__ import annotations

__all__ = ("WriteBehind", "write_behind", "write_behind_available")

import asyncio
import os
import queue
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable


class WriteBehind:
    """A daemon thread running write jobs one after another, in submission order."""

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[tuple[asyncio.AbstractEventLoop, asyncio.Future[None],
                                            Callable[..., None], tuple[Any, ...]]]
        self._jobs = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="dicomstream-write-behind",
                                        daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            loop, future, job, args = self._jobs.get()
            error: Exception | None = None
            try:
                job(*args)
            except Exception as exc:  # handed to the awaiting task, raised there
                error = exc
            try:
                loop.call_soon_threadsafe(_settle, future, error)
            except RuntimeError:  # the loop was closed meanwhile: nobody is waiting
                pass
            del loop, future, job, args  # the output's bytes are not kept alive here

    def submit(self, job: Callable[..., None], *args: Any) -> asyncio.Future[None]:
        """Queue ``job(*args)``; the future settles (result or exception) once it ran."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        self._jobs.put((loop, future, job, args))
        return future


def _settle(future: asyncio.Future[None], error: Exception | None) -> None:
    if future.done():  # cancelled: the error, if any, has nobody to go to
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)


_instance: WriteBehind | None = None
_lock = threading.Lock()


def write_behind() -> WriteBehind:
    """The process's write-behind thread (started on first use)."""
    global _instance
    if _instance is None:
        with _lock:
            if _instance is None:
                _instance = WriteBehind()
    return _instance


def write_behind_available() -> bool:
    """Whether the caller runs in an asyncio event loop (where futures can be awaited)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:  # another backend (trio), or no loop
        return False
    return True


def _forget_after_fork() -> None:
    global _instance, _lock
    _instance = None  # the thread did not survive the fork
    _lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)
