"""Fuzz target (a): the parser, fed random chunkings of mutated corpus files.

Why it exists: the parser is the first thing hostile bytes meet. This target checks that
only ``DicomStreamError`` subclasses escape it, that no input of up to 1 MiB takes more
than a second, and that the events, warnings and error never depend on how the input is
cut into chunks or pulled (see :func:`fuzz._common.check_parser`). The chunk boundaries,
pull style, value thresholds and lenient policy come from the input's control bytes.

Run it through the runner: ``python -m fuzz.run parser --seconds 60``.
"""

from __future__ import annotations

import atheris  # type: ignore[import-untyped]  # no type information shipped

with atheris.instrument_imports(include=["dicomstream"]):
    from fuzz._common import check_parser, fuzz

if __name__ == "__main__":
    fuzz(check_parser)
