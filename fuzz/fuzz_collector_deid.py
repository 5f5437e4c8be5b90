"""Fuzz target (c): the collector (``dcmread``, ``read_dataset``) and the ``deid`` stage.

Why it exists: what the parser accepts flows on into the collector, which decodes
values, prints and converts datasets, and into the de-identification plugin, which
rewrites them; both must cope with whatever a hostile file holds. This target checks
that only ``DicomStreamError`` subclasses escape them, that each step ends within a
second, that the collector accepts what the parser accepts and saves it back unchanged,
and that the de-identified output encodes and parses (see
:func:`fuzz._common.check_collector_deid`). The de-identification options come from the
input's control bytes; the key is fixed.

Run it through the runner: ``python -m fuzz.run collector_deid --seconds 60``.
"""

from __future__ import annotations

import atheris  # type: ignore[import-untyped]  # no type information shipped

with atheris.instrument_imports(include=["dicomstream", "dicomstream_deid"]):
    from fuzz._common import check_collector_deid, fuzz

if __name__ == "__main__":
    fuzz(check_collector_deid)
