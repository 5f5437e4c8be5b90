"""Finding events in a batch at C speed, for the built-in stages' fast paths.

``edit`` (top-level edits) and ``filter`` (tag rules) do not follow a batch event by
event: they read its tag column with ``map``/``compress`` and look only at the events
found. What they then need — where a dropped container or value ends, how many
containers are still open when it does not end in the batch — is here, once.
"""

from __future__ import annotations

from itertools import islice, repeat
from typing import TYPE_CHECKING

from dicomstream.events import (
    Element,
    FragmentsEnd,
    FragmentsStart,
    SequenceEnd,
    SequenceStart,
    ValueEnd,
    ValueStart,
)

if TYPE_CHECKING:
    from collections.abc import Iterable

    from dicomstream.events import Event

TAGGED_STARTS = frozenset({Element, SequenceStart, ValueStart, FragmentsStart})
"""Events that start an element: they carry its tag and path."""

_CLOSING: dict[type, type] = {SequenceStart: SequenceEnd, FragmentsStart: FragmentsEnd,
                              ValueStart: ValueEnd}
_NESTING: dict[type, int] = {SequenceStart: 1, FragmentsStart: 1, SequenceEnd: -1,
                             FragmentsEnd: -1}


def tag_column(batch: list[Event], start: int = 0, missing: int = -1) -> list[int]:
    """The tag of every event of ``batch[start:]`` (``missing`` for events without one:
    items, chunks, fragments, the dataset's start and end)."""
    return list(map(getattr, islice(batch, start, None), repeat("tag"), repeat(missing)))


def closing_index(batch: list[Event], opened_at: int, candidates: Iterable[int]) -> int:
    """Index of the event that closes the container or streamed value opened at
    ``batch[opened_at]``, or -1 if it is not in the batch.

    ``candidates``: later positions, in order, holding at least every event with the
    opening event's tag (the closing one has it too). For a sequence it is the first
    SequenceEnd with its tag and path (one of the same tag nested inside has a longer
    path); fragments and streamed values do not nest."""
    start = batch[opened_at]
    closing = _CLOSING[type(start)]
    tag = start.tag  # type: ignore[attr-defined]
    path = start.path  # type: ignore[attr-defined]
    for i in candidates:
        ev = batch[i]
        if type(ev) is closing and ev.tag == tag and (  # type: ignore[attr-defined]
                closing is not SequenceEnd or ev.path == path):  # type: ignore[attr-defined]
            return i
    return -1


def open_containers(batch: list[Event], opened_at: int) -> int:
    """Sequences and encapsulated pixel data opened from ``batch[opened_at]`` on and not
    closed by the end of the batch (what a stage dropping from there still skips in the
    next batch)."""
    return sum(map(_NESTING.get, map(type, islice(batch, opened_at, None)), repeat(0)))
