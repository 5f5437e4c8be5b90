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
"""

from __future__ import annotations

__all__ = ("TERMINATING_SIGNALS", "run_until_terminated")

import signal
import threading
from typing import TYPE_CHECKING, TypeVar

import anyio

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

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
