"""Ending a bulk run cleanly when the process is asked to stop (SIGTERM, SIGHUP).

Why this exists: schedulers (systemd, Kubernetes, batch queues, ``timeout``) stop a job
with SIGTERM and only later with SIGKILL. Python's default action for SIGTERM ends the
process on the spot, in the middle of whatever it was writing: temporary files of the
outputs in flight stay in the destination until a resumed run sweeps them, and nothing
says why the run stopped. :func:`run_until_terminated` turns the signal into a
cancellation of the run instead. Cancellation is what the pipeline already handles: every
open sink is aborted (temporary files deleted), finished outputs stay (they were renamed
into place atomically), and the report keeps every line written so far (it is flushed
line by line). The caller then exits with ``128 + signal`` (143 for SIGTERM), the status
a shell shows for a process the signal ended.

Signal handlers can only be installed in the main thread; elsewhere (a command run from
a worker thread) the run is not watched and the signal keeps its default action.

:func:`call_until_terminated` does the same for a run with no event loop
(:mod:`dicomstream.local`): the signal raises an exception in the main thread, which
unwinds the run like any error — the output in progress is removed, outputs already
handed to the writer thread are finished and reported — and becomes the same result.
"""

from __future__ import annotations

__all__ = ("TERMINATING_SIGNALS", "call_until_terminated", "run_until_terminated")

import signal
import threading
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from types import FrameType

    from anyio.abc import TaskStatus

T = TypeVar("T")

TERMINATING_SIGNALS: tuple[signal.Signals, ...] = (signal.SIGTERM, signal.SIGHUP)
"""Signals that end a run cleanly: SIGTERM, and SIGHUP (the terminal of a foreground run
went away) unless it is ignored — under ``nohup`` it stays ignored. SIGINT is left to
Python (``KeyboardInterrupt``, which asyncio also turns into a cancellation of the run);
SIGKILL cannot be caught, which is why outputs are atomic and a re-run sweeps temporary
files."""


def _watched(signals: tuple[signal.Signals, ...]) -> tuple[signal.Signals, ...]:
    """``signals`` without those this process ignores (``nohup``, ``trap '' HUP``): a
    handler would make them stop the run."""
    return tuple(s for s in signals if signal.getsignal(s) is not signal.SIG_IGN)


def run_until_terminated(
    func: Callable[[], Awaitable[T]],
    *,
    signals: tuple[signal.Signals, ...] = TERMINATING_SIGNALS,
) -> tuple[T | None, int | None]:
    """``anyio.run(func)``, cancelled by the first of ``signals`` to arrive (those the
    process ignores stay ignored).

    Returns ``(result, None)`` when ``func`` finished, ``(None, signum)`` when a signal
    cancelled it. An exception of ``func`` propagates as itself (not in a group).
    """
    import anyio  # here: runs without an event loop (call_until_terminated) never need it

    if threading.current_thread() is not threading.main_thread():
        return anyio.run(func), None
    signals = _watched(signals)
    if not signals:
        return anyio.run(func), None

    async def main() -> tuple[T | None, int | None]:
        caught: list[int] = []
        result: T | None = None
        finished = False
        error: Exception | None = None

        async def watch(*, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED
                        ) -> None:
            with anyio.open_signal_receiver(*signals) as received:
                task_status.started()
                async for signum in received:
                    caught.append(signum)
                    tg.cancel_scope.cancel()
                    return

        async with anyio.create_task_group() as tg:
            await tg.start(watch)
            try:
                result = await func()
                finished = True
            except Exception as exc:  # re-raised below, outside the task group's wrapping
                error = exc
            tg.cancel_scope.cancel()
        if error is not None:
            raise error
        if caught and not finished:
            return None, caught[0]
        return result, None  # a signal after the last output changes nothing

    return anyio.run(main)


class _Terminated(BaseException):
    """A terminating signal, raised in the main thread to unwind a synchronous run."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def call_until_terminated(
    func: Callable[[], T],
    *,
    signals: tuple[signal.Signals, ...] = TERMINATING_SIGNALS,
) -> tuple[T | None, int | None]:
    """``func()``, interrupted by the first of ``signals`` to arrive (those the process
    ignores stay ignored): :func:`run_until_terminated` for code with no event loop.

    The first signal raises an exception in the main thread wherever it runs (a blocking
    read included), so ``func`` must clean up in ``finally``/``except BaseException``
    blocks, as :func:`dicomstream.local.run_local` does; a second signal during that
    clean-up is ignored rather than cutting it short. Returns ``(result, None)`` or
    ``(None, signum)``; the handlers in place before are restored.
    """
    if threading.current_thread() is not threading.main_thread():
        return func(), None
    signals = _watched(signals)
    caught: list[int] = []
    running = True

    def handler(signum: int, frame: FrameType | None) -> None:
        # The first one unwinds the run; later ones must not cut its clean-up short, and
        # one after the run's end (before the handlers are restored) changes nothing.
        if not caught and running:
            caught.append(signum)
            raise _Terminated(signum)

    previous = {s: signal.signal(s, handler) for s in signals}
    try:
        result = func()
        running = False
        return result, None
    except _Terminated as stop:
        return None, stop.signum
    finally:
        running = False
        for s, action in previous.items():
            signal.signal(s, action)
