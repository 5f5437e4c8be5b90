"""The stage model: async transforms over batches of events.

A stage receives the events of one stream in order, batch by batch, and returns the
events to pass on. Most stages map or drop events; they override :meth:`Stage.process`
and loop over the batch in plain Python, so a pipeline costs one ``await`` per stage per
batch — not per element — and a chain of no-op stages costs next to nothing. A stage
may ``await`` I/O inside ``process`` (a key service, a lookup table).

A stage may hold events back (to look ahead) but must declare the bound in
:attr:`Stage.max_lookahead` and release them by :meth:`Stage.flush` at the end.
One stage instance serves one stream: bulk runs make a fresh instance per input.

A stage that never waits for anything — every built-in one but ``tap`` — derives from
:class:`SyncStage` and implements plain :meth:`SyncStage.transform` and
:meth:`SyncStage.finish` instead. It still works wherever a :class:`Stage` does (its
``process`` and ``flush`` call them), and a pipeline made only of such stages can also run
with no event loop at all: bulk runs over local files do (:mod:`dicomstream.local`),
which spares them asyncio's start-up and a coroutine per stage per batch.
"""

from __future__ import annotations

__all__ = ("Stage", "SyncStage", "is_sync_stage")

from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from dicomstream.events import Event


class Stage:
    """Base class of transform stages (a no-op as it is)."""

    name: ClassVar[str] = "noop"
    """The name the stage is registered under (``--stage NAME``)."""

    max_lookahead: ClassVar[int] = 0
    """Most events this stage ever holds back before passing them on."""

    async def process(self, batch: list[Event]) -> list[Event]:
        """Transform one batch; return the events to pass on (may be the same list)."""
        return batch

    async def flush(self) -> list[Event]:
        """The stream has ended: return any events still held back."""
        return []

    def report(self) -> dict[str, Any]:
        """Facts about the stream just processed, merged into its bulk report line
        (e.g. a checksum, counts of actions taken). Empty by default."""
        return {}


class SyncStage(Stage):
    """A stage whose work is plain computation: no I/O, nothing awaited.

    Subclasses override :meth:`transform` (and :meth:`finish` if they hold events
    back); :meth:`process` and :meth:`flush` wrap them for async pipelines.
    """

    def transform(self, batch: list[Event]) -> list[Event]:
        """Transform one batch; return the events to pass on (may be the same list)."""
        return batch

    def finish(self) -> list[Event]:
        """The stream has ended: return any events still held back."""
        return []

    async def process(self, batch: list[Event]) -> list[Event]:
        return self.transform(batch)

    async def flush(self) -> list[Event]:
        return self.finish()


def is_sync_stage(stage: Stage) -> bool:
    """Whether ``stage`` can run without an event loop: a :class:`SyncStage` whose
    ``process`` and ``flush`` are still the ones that call ``transform`` and ``finish``
    (a subclass that overrides them with async code is an async stage after all)."""
    cls = type(stage)
    return isinstance(stage, SyncStage) and cls.process is SyncStage.process and \
        cls.flush is SyncStage.flush
