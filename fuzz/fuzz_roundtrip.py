"""Fuzz target (b): parse → encode → parse gives identical events and bytes.

Why it exists: dicomstream promises that the unmodified events of any input re-encode to
its exact bytes (deflated input: to an equal dataset), so a rewrite changes nothing it
was not asked to. This target checks that promise on every mutated input that parses,
with values streamed in small chunks or whole and encoded batch by batch or event by
event as the control bytes say (see :func:`fuzz._common.check_roundtrip`).

Run it through the runner: ``python -m fuzz.run roundtrip --seconds 60``.
"""

from __future__ import annotations

import atheris  # type: ignore[import-untyped]  # no type information shipped

with atheris.instrument_imports(include=["dicomstream"]):
    from fuzz._common import check_roundtrip, fuzz

if __name__ == "__main__":
    fuzz(check_roundtrip)
