"""The ``tap`` stage: watch the stream without changing it (inspection, metrics).

The callback sees every batch, every event or every whole element, as chosen, and may
be a plain function or a coroutine function. Batches are the cheap choice: one call per
chunk read, however many elements it holds.
"""

from __future__ import annotations

__all__ = ("TapStage",)

import inspect
from typing import TYPE_CHECKING, Any, ClassVar

from dicomstream.events import Element
from dicomstream.stages._base import Stage

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from dicomstream.events import Event


class TapStage(Stage):
    """Call ``callback`` for each batch (``per="batch"``), event or element."""

    name: ClassVar[str] = "tap"

    def __init__(self, callback: Callable[[Any], Any], *, per: str = "event") -> None:
        if per not in ("batch", "event", "element"):
            raise ValueError("per must be 'batch', 'event' or 'element'")
        self.callback = callback
        self.per = per
        self._async = inspect.iscoroutinefunction(callback)

    @classmethod
    def from_cli(cls, options: Mapping[str, str]) -> TapStage:
        """``--stage tap`` prints a count of events and elements on stderr at the end."""
        counter = _Counter()
        stage = cls(counter, per="batch")
        stage._counter = counter  # type: ignore[attr-defined]
        return stage

    async def process(self, batch: list[Event]) -> list[Event]:
        cb = self.callback
        if self.per == "batch":
            items: list[Any] = [batch]
        elif self.per == "event":
            items = batch
        else:
            items = [ev for ev in batch if type(ev) is Element]
        if self._async:
            for item in items:
                await cb(item)
        else:
            for item in items:
                cb(item)
        return batch

    async def flush(self) -> list[Event]:
        counter = getattr(self, "_counter", None)
        if counter is not None:
            import sys

            print(f"tap: {counter.events} events, {counter.elements} elements",
                  file=sys.stderr)
        return []


class _Counter:
    def __init__(self) -> None:
        self.events = 0
        self.elements = 0

    def __call__(self, batch: list[Event]) -> None:
        self.events += len(batch)
        self.elements += sum(1 for ev in batch if type(ev) is Element)
