"""The sans-IO push parser: feed bytes, pull events. No I/O and no async library here."""

from __future__ import annotations

__all__ = (
    "DEFAULT_CHUNK_SIZE",
    "DEFAULT_VALUE_THRESHOLD",
    "MAX_BATCH_INFLATED",
    "MAX_INFLATED_SIZE",
    "MAX_INFLATE_RATIO",
    "MAX_NESTING_DEPTH",
    "Parser",
    "parse_bytes",
)

from dicomstream.parser._limits import (
    DEFAULT_CHUNK_SIZE,
    DEFAULT_VALUE_THRESHOLD,
    MAX_BATCH_INFLATED,
    MAX_INFLATE_RATIO,
    MAX_INFLATED_SIZE,
    MAX_NESTING_DEPTH,
)
from dicomstream.parser._parser import Parser, parse_bytes
