"""Limits that keep hostile input from costing time or memory, each overridable.

Every limit is a named constant here and a keyword argument of :class:`~dicomstream.parser.Parser`.
"""

from __future__ import annotations

__all__ = (
    "DEFAULT_CHUNK_SIZE",
    "DEFAULT_VALUE_THRESHOLD",
    "MAX_INFLATE_RATIO",
    "MAX_INFLATED_SIZE",
    "MAX_NESTING_DEPTH",
    "RATIO_GRACE",
)

DEFAULT_VALUE_THRESHOLD = 64 * 1024
"""Values up to this many bytes arrive whole in one ``Element``; larger ones stream.

pydicom's ``defer_size`` and dcmtk's ``--max-read-length`` (4 KiB) play the same role;
64 KiB keeps every header value whole while a CT slice's pixel data streams."""

DEFAULT_CHUNK_SIZE = 256 * 1024
"""Size of every ``ValueChunk`` but the last of a value (a multiple of 8, so byte-order
units never straddle chunks). Independent of how the input was split."""

MAX_NESTING_DEPTH = 64
"""Sequences nested deeper than this are refused. dcmtk refuses beyond a similar fixed
depth; real files rarely exceed 5 levels (structured reports reach about 10)."""

MAX_INFLATE_RATIO = 200
"""Deflated datasets may inflate to at most this many times their compressed size once
more than :data:`RATIO_GRACE` bytes have been produced. Real deflated DICOM inflates 3–20×;
a zero-filled bomb reaches about 1000×. zlib-based tools such as libarchive use 100–1000."""

RATIO_GRACE = 16 * 1024 * 1024
"""Inflated bytes produced before the ratio limit starts to apply."""

MAX_INFLATED_SIZE = 1 << 40
"""Absolute ceiling on inflated bytes (1 TiB): a safety net, not a practical limit."""
