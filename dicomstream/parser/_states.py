"""The parser's states and the transitions between them: the only home of that logic.

The parser reads, in order, an optional preamble, an optional file meta group, then the
dataset, in which a large value may be streamed (VALUE) before parsing resumes. Any
transition not listed here is a bug and is refused.
"""

from __future__ import annotations

__all__ = ("TRANSITIONS", "State")

from enum import Enum, auto


class State(Enum):
    """Where the parser is in the stream."""

    START = auto()  # nothing read yet: preamble? meta? raw dataset?
    META = auto()  # in the file meta group (explicit VR little endian)
    DATASET = auto()  # element headers, items and delimiters of the dataset
    VALUE = auto()  # streaming the bytes of a large value or fragment
    DONE = auto()  # DatasetEnd emitted
    ERROR = auto()  # a ParseError was raised; the parser is unusable

    # Members are singletons: hash them by identity, in C, not by name in Python as Enum
    # does (every transition looks its state up in TRANSITIONS).
    __hash__ = object.__hash__


TRANSITIONS: dict[State, frozenset[State]] = {
    State.START: frozenset({State.META, State.DATASET, State.ERROR}),
    State.META: frozenset({State.DATASET, State.ERROR}),
    State.DATASET: frozenset({State.VALUE, State.DONE, State.ERROR}),
    State.VALUE: frozenset({State.DATASET, State.DONE, State.ERROR}),
    State.DONE: frozenset(),
    State.ERROR: frozenset(),
}
