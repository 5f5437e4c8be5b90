"""Every exception dicomstream raises, under one root.

Catch :class:`DicomStreamError` to handle anything dicomstream reports. Bad *input*
(a file that is not what it claims to be) raises a :class:`ParseError` subclass that
names the byte offset and the tag path where the problem was found; *misuse* by the
caller (events out of order, a value that cannot be encoded) raises :class:`EncodeError`.
Errors of foreign libraries (``zlib``, ``OSError`` …) are translated at the boundary
where they occur, with the original chained as ``__cause__``.

The tree::

    DicomStreamError
    ├── ParseError                    bad input; .offset, .path
    │   ├── NotDicomError             no preamble/DICM and no recognisable dataset
    │   ├── TruncatedError            input ended inside a header, value or container
    │   ├── InvalidVRError            explicit VR bytes that are no VR
    │   ├── InvalidLengthError        a length that cannot be right
    │   │   ├── ContainerOverrunError     an element or item longer than its container
    │   │   └── LengthExceedsSourceError  longer than what the source can still deliver
    │   ├── StructureError            delimiters/items where they cannot be
    │   ├── NestingTooDeepError       more nested sequences than the limit
    │   └── InflateError              deflated data that is corrupt …
    │       └── InflateLimitError     … or inflates beyond the ratio/size limits
    ├── InvalidValueError             a value not valid for its VR (also a ValueError)
    ├── EncodeError                   caller misuse of the encoder / bad values
    ├── StageError                    a transform stage failed
    ├── SourceError                   reading input failed
    ├── SinkError                     writing output failed
    └── PluginError                   a plugin could not be loaded or used

Warnings issued under a lenient policy are :class:`DicomStreamWarning`.
"""

from __future__ import annotations

__all__ = (
    "ContainerOverrunError",
    "DicomStreamError",
    "DicomStreamWarning",
    "EncodeError",
    "InflateError",
    "InflateLimitError",
    "InvalidLengthError",
    "InvalidValueError",
    "InvalidVRError",
    "LengthExceedsSourceError",
    "NestingTooDeepError",
    "NotDicomError",
    "ParseError",
    "PluginError",
    "SinkError",
    "SourceError",
    "StageError",
    "StructureError",
    "TruncatedError",
)


class DicomStreamError(Exception):
    """Root of every exception raised by dicomstream."""


class DicomStreamWarning(UserWarning):
    """A problem tolerated under a lenient policy (never silently)."""


class ParseError(DicomStreamError):
    """The input is not valid DICOM at ``offset``, inside ``path``.

    ``offset`` is the byte offset in the (inflated, for deflated syntaxes) stream;
    ``path`` is a readable tag path such as ``(0040,A730)[2] > (0008,0100)``, empty at
    the top level.
    """

    def __init__(self, message: str, *, offset: int, path: str = "") -> None:
        self.message = message
        self.offset = offset
        self.path = path
        where = f"at offset {offset}"
        if path:
            where += f" in {path}"
        super().__init__(f"{message} ({where})")

    def __reduce__(self) -> tuple[object, ...]:  # keep picklable across processes
        return (_rebuild_parse_error, (type(self), self.message, self.offset, self.path))


def _rebuild_parse_error(
    cls: type[ParseError], message: str, offset: int, path: str
) -> ParseError:
    return cls(message, offset=offset, path=path)


class NotDicomError(ParseError):
    """Neither a Part 10 header nor a recognisable raw dataset."""


class TruncatedError(ParseError):
    """The input ended inside a header, a value or an open container."""


class InvalidVRError(ParseError):
    """Explicit VR bytes that name no VR."""


class InvalidLengthError(ParseError):
    """A declared length that cannot be right (odd where even is required, …)."""


class ContainerOverrunError(InvalidLengthError):
    """An element or item runs past the end of the container that holds it."""


class LengthExceedsSourceError(InvalidLengthError):
    """A declared length larger than what the source can still deliver."""


class StructureError(ParseError):
    """Items, delimiters or fragments where the encoding does not allow them."""


class NestingTooDeepError(ParseError):
    """Sequences nested deeper than the configured limit."""


class InflateError(ParseError):
    """Deflated data that cannot be inflated."""


class InflateLimitError(InflateError):
    """Deflated data that inflates beyond the configured ratio or size."""


class InvalidValueError(DicomStreamError, ValueError):
    """A value (or a string meant to become one) is not valid for its VR."""


class EncodeError(DicomStreamError):
    """Events that cannot be encoded: out of order, or values that do not fit."""


class StageError(DicomStreamError):
    """A transform stage failed."""


class SourceError(DicomStreamError):
    """Reading from a source failed."""


class SinkError(DicomStreamError):
    """Writing to a sink failed."""


class PluginError(DicomStreamError):
    """A plugin could not be loaded or used."""
