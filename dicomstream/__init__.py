"""dicomstream: streaming DICOM for asyncio/anyio.

A sans-IO push parser turns byte chunks into element events, async stages transform
event streams, and a streaming encoder turns events back into bytes — byte-identical
when nothing changed. See README.md for a tour.
"""

from __future__ import annotations

__all__ = (
    "DicomStreamError",
    "Encoder",
    "Parser",
    "__version__",
)

from dicomstream.encoder import Encoder
from dicomstream.errors import DicomStreamError
from dicomstream.parser import Parser

__version__ = "0.1.0"
