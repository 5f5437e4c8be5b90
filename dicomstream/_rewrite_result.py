"""What one rewrite did: the record every pipeline driver returns.

In a module of its own so that the async pipeline (:mod:`dicomstream.pipeline`) and the
event-loop-free one (:mod:`dicomstream.local`) return the same type without one
importing the other.
"""

from __future__ import annotations

__all__ = ("RewriteResult",)

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class RewriteResult:
    """What one rewrite did.

    Attributes:
        source: the source's name.
        destination: the sink's name.
        bytes_read: bytes taken from the source.
        bytes_written: bytes given to the sink.
        events: events that reached the encoder.
        seconds: wall time.
        details: what the stages reported (:meth:`Stage.report`), merged.
    """

    source: str
    destination: str
    bytes_read: int
    bytes_written: int
    events: int
    seconds: float
    details: dict[str, Any] = field(default_factory=dict)
