"""The one error and the one warning the value codecs report.

Decoding is lenient, as pydicom's is: bad bytes become replacement characters, a
malformed number stays a string, and a :class:`~dicomstream.errors.DicomStreamWarning`
says so (never silently). Asking a value for something it cannot give (``DA("2024").date()``,
``DSfloat("abc")``) raises :class:`InvalidValueError`, which is both a
:class:`~dicomstream.errors.DicomStreamError` and a :class:`ValueError`, so code written
for pydicom's ``except ValueError`` keeps working. Values that cannot be *encoded* raise
:class:`~dicomstream.errors.EncodeError`.
"""

from __future__ import annotations

__all__ = ("InvalidValueError", "warn_value")

import warnings

from dicomstream.errors import DicomStreamWarning, InvalidValueError


def warn_value(message: str) -> None:
    """Report a tolerated problem with a value (decoding goes on)."""
    warnings.warn(message, DicomStreamWarning, stacklevel=3)
