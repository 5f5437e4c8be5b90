"""The DICOM files shipped in the installed pydicom wheel, as a test corpus.

:data:`CORPUS` lists every DICOM file under ``pydicom/data`` (``test_files/`` with its
``dicomdirtests/`` tree — files without an extension and the ``DICOMDIR*`` variants
included —, ``charset_files/`` and ``palettes/``); everything else in that folder (Python
modules, hashes, READMEs, JSON, dumps, ICC profiles, the gzipped MR) is skipped. Files are
named by their path relative to the data folder (:data:`DATA_ROOT`), POSIX style, which is
also their pytest id.

The few files dicomstream refuses, and the one that cannot re-encode byte for byte, are
listed with the reason, so a test can expect exactly that and nothing else.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pydicom.data
import pytest

from dicomstream.errors import (
    ContainerOverrunError,
    DicomStreamWarning,
    NotDicomError,
    ParseError,
    TruncatedError,
)
from dicomstream.events import NEED_DATA, DatasetStart, Event, FragmentsStart, ValueChunk
from dicomstream.parser import Parser
from dicomstream.transfer_syntax import UNCOMPRESSED_TRANSFER_SYNTAXES

if TYPE_CHECKING:
    from collections.abc import Iterable

DATA_ROOT = Path(pydicom.data.__file__).parent
"""The ``pydicom/data`` folder of the installed wheel."""

_NOT_DICOM_SUFFIXES = frozenset({".py", ".pyc", ".json", ".txt", ".md", ".gz", ".icc", ".dump"})


def _is_dicom_candidate(path: Path) -> bool:
    return (
        path.is_file()
        and path.suffix not in _NOT_DICOM_SUFFIXES
        and not path.name.startswith("README")
        and "__pycache__" not in path.parts
    )


def relative(path: Path) -> str:
    """``path`` relative to :data:`DATA_ROOT`, POSIX style (the id used everywhere)."""
    return path.relative_to(DATA_ROOT).as_posix()


CORPUS: list[Path] = sorted(
    (p for p in DATA_ROOT.rglob("*") if _is_dicom_candidate(p)), key=relative
)
"""Every DICOM file of the corpus, sorted by relative path."""

CORPUS_IDS: list[str] = [relative(p) for p in CORPUS]
"""The relative paths of :data:`CORPUS`, in the same order (pytest ids)."""

KNOWN_PARSE_FAILURES: dict[str, tuple[type[ParseError], str]] = {
    "test_files/MR_truncated.dcm": (
        TruncatedError,
        "the file ends inside Pixel Data: 8130 of its 8192 declared bytes are there "
        "(pydicom reads the value short; dcmdump fails)",
    ),
    "test_files/rtplan_truncated.dcm": (
        TruncatedError,
        "the file ends inside a DS value four levels deep, (300A,00B0)[0] > (300A,0111)[0] > "
        "(300A,012C), 29 of 50 bytes (pydicom reads the value short; dcmdump fails)",
    ),
    "test_files/no_meta.dcm": (
        NotDicomError,
        "the file starts with a stray byte (20 08 00 05 …): no DICM, no meta group and no "
        "header a dataset can start with; pydicom (force=True) reads it as one garbage "
        "element (0820,0500) of 173228800 bytes and dcmdump fails on it too",
    ),
    "test_files/dicomdirtests/DICOMDIR-nooffset": (
        ContainerOverrunError,
        "the last directory record is a defined-length item (248 bytes) that runs 24 bytes "
        "past the end of its defined-length Directory Record Sequence (the file's end); "
        "pydicom and dcmdump stop at the sequence end and ignore the item length",
    ),
}
"""Files dicomstream must refuse: relative path → (exact error class, why)."""

NOT_BYTE_EXACT: dict[str, str] = {
    "test_files/image_dfl.dcm": (
        "deflated: re-encodes to an equal dataset, not the same compressed bytes"
    ),
}
"""Files whose re-encoding is an equal dataset but not the same bytes, with why."""

EXPECTED_WARNINGS: dict[str, str] = {
    "test_files/SC_rgb_jpeg.dcm": (
        "transfer syntax 1.2.840.10008.1.2.4.50 declares explicit VR but the dataset is "
        "written in implicit VR"
    ),
}
"""Files the parser reads with a :class:`DicomStreamWarning`: path → start of the message."""

PARSEABLE_IDS: list[str] = [name for name in CORPUS_IDS if name not in KNOWN_PARSE_FAILURES]
"""Corpus files dicomstream reads without error."""


def path_of(name: str) -> Path:
    """The absolute path of corpus file ``name`` (relative id)."""
    return DATA_ROOT / name


@functools.cache
def read_bytes(name: str) -> bytes:
    """The bytes of corpus file ``name`` (cached: the corpus is about 3 MB)."""
    return path_of(name).read_bytes()


def _materialise(events: Iterable[Event]) -> list[Event]:
    """Events with every ``ValueChunk.data`` as ``bytes`` (views die with the parser)."""
    return [
        e._replace(data=bytes(e.data)) if type(e) is ValueChunk else e
        for e in events
    ]


def feed(
    chunks: Iterable[bytes], *, pull: str = "events", **options: Any
) -> list[Event]:
    """Feed ``chunks`` to a fresh :class:`Parser`, then end the input; collect every event.

    ``pull`` is ``"events"`` (batch :meth:`Parser.events` after each chunk) or
    ``"next_event"`` (pull one by one until ``NEED_DATA``). Warnings pass through to the
    caller (the test decides what to expect).
    """
    parser = Parser(**options)
    out: list[Event] = []

    def drain() -> None:
        if pull == "events":
            while batch := parser.events():  # deflated input comes in bounded batches
                out.extend(_materialise(batch))
            return
        while True:
            event = parser.next_event()
            if event is NEED_DATA:
                return
            assert isinstance(event, Event)
            out.extend(_materialise((event,)))

    for chunk in chunks:
        parser.receive_data(chunk)
        drain()
    parser.receive_data(b"")
    drain()
    return out


def parse_corpus_file(name: str, **options: Any) -> list[Event]:
    """Parse corpus file ``name`` whole; the expected warning (if any) is checked."""
    data = read_bytes(name)
    if name in EXPECTED_WARNINGS:
        with pytest.warns(DicomStreamWarning, match=EXPECTED_WARNINGS[name][:40]):
            return feed([data], **options)
    return feed([data], **options)


@functools.cache
def corpus_events(name: str) -> tuple[Event, ...]:
    """Events of corpus file ``name`` with default options (cached; do not mutate)."""
    return tuple(parse_corpus_file(name))


def transfer_syntax_of(events: Iterable[Event]) -> str:
    """The UID named by the ``DatasetStart`` event."""
    return next(e.transfer_syntax for e in events if type(e) is DatasetStart)


UNCOMPRESSED_UIDS = frozenset(ts.uid for ts in UNCOMPRESSED_TRANSFER_SYNTAXES)


@functools.cache
def uncompressed_ids() -> list[str]:
    """Parseable corpus files read in an uncompressed transfer syntax and without
    encapsulated pixel data (SC_rgb_jpeg.dcm is read as implicit VR, as it is written,
    but its pixel data is JPEG fragments: it is left out)."""
    return [name for name in PARSEABLE_IDS
            if transfer_syntax_of(corpus_events(name)) in UNCOMPRESSED_UIDS
            and not any(type(e) is FragmentsStart for e in corpus_events(name))]
