"""Limits that keep hostile input from costing time or memory, each overridable.

Every limit is a named constant here and a keyword argument of :class:`~dicomstream.parser.Parser`.
"""

from __future__ import annotations

__all__ = (
    "DEFAULT_CHUNK_SIZE",
    "DEFAULT_VALUE_THRESHOLD",
    "MAX_INFLATE_RATIO",
    "MAX_INFLATED_SIZE",
    "MAX_BATCH_INFLATED",
    "MAX_NESTING_DEPTH",
    "RATIO_GRACE",
)

DEFAULT_VALUE_THRESHOLD = 64 * 1024
"""Values up to this many bytes arrive whole in one ``Element``; larger ones stream.

pydicom's ``defer_size`` and dcmtk's ``--max-read-length`` (4 KiB) play the same role;
64 KiB keeps every header value whole while a CT slice's pixel data streams."""

DEFAULT_CHUNK_SIZE = 256 * 1024
"""Most bytes in one ``ValueChunk``. Chunks of a value end at stream offsets that are
multiples of this size (the first and last chunk of a value are usually shorter), so they
never depend on how the input was split, and a source reading at aligned offsets hands
the parser buffers each chunk is a view of. Byte-order units may straddle two chunks:
consumers that swap bytes carry the remainder (the encoder does)."""

MAX_NESTING_DEPTH = 64
"""Sequences nested deeper than this are refused. dcmtk refuses beyond a similar fixed
depth; real files rarely exceed 5 levels (structured reports reach about 10)."""

MAX_INFLATE_RATIO = 500
"""Deflated datasets may inflate to at most this many times their compressed size once
more than :data:`RATIO_GRACE` bytes have been produced. Deflate cannot exceed about
1032:1, which is what bombs built from runs of zeros reach; real deflated DICOM inflates
3–20×, and a mostly blank image 100–300×. (libarchive and Apache Commons Compress use
similar ratio guards.) Raise it for inputs known to hold blank images."""

RATIO_GRACE = 1024 * 1024
"""Inflated bytes produced before the ratio limit starts to apply (tiny inputs may have
any ratio)."""

MAX_BATCH_INFLATED = 1024 * 1024
"""Inflated bytes one ``events()`` call consumes at most: the rest waits for the next call,
so a batch of events never holds more than about this much inflated data."""

MAX_INFLATED_SIZE = 1 << 40
"""Absolute ceiling on inflated bytes (1 TiB): a safety net, not a practical limit."""
