"""Fuzz target (d): the built-in stages' fast paths equal their event-by-event walks.

Why it exists: ``edit`` (top-level edits) and ``filter`` (tag rules) skip most events of
a batch by searching its tag column, and describe their changes as spans of the input
that the encoder copies as bytes. Both are short cuts past code that follows every
event; on hostile structure (tags out of order, repeated sequence tags, containers cut
by batch ends) they must still agree with it (see :func:`fuzz._common.check_stages`).

Run it through the runner: ``python -m fuzz.run stages --seconds 60``.
"""

from __future__ import annotations

import atheris  # type: ignore[import-untyped]  # no type information shipped

with atheris.instrument_imports(include=["dicomstream"]):
    from fuzz._common import check_stages, fuzz

if __name__ == "__main__":
    fuzz(check_stages)
