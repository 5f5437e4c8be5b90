"""One clear line for an error: what failed and where, without a traceback."""

from __future__ import annotations

__all__ = ("describe",)

from dicomstream.errors import DicomStreamError


def describe(exc: BaseException) -> str:
    """A one-line description of ``exc`` (unwrapping exception groups)."""
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    if isinstance(exc, DicomStreamError):
        return f"{type(exc).__name__}: {exc}"
    if isinstance(exc, OSError):
        where = f" {exc.filename}" if exc.filename else ""
        return f"{type(exc).__name__}:{where} {exc.strerror or exc}"
    return f"{type(exc).__name__}: {exc}"
