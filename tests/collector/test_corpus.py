"""The collector against every DICOM file shipped with pydicom.

For each corpus file the collected :class:`~dicomstream.Dataset` agrees with pydicom's
``dcmread``: the same tags at every depth (file meta included), the same VRs, equal
values; ``str(ds)`` is pydicom's text line for line (tags spelled the pydicom 2 way, so
the comparison normalises the spelling and nothing else); ``save_as`` of the unchanged
dataset gives the input's bytes (the deflated file: an equal dataset). The files the
parser refuses raise their documented error from ``dcmread`` too.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import anyio
import pytest
from corpus import (
    KNOWN_PARSE_FAILURES,
    NOT_BYTE_EXACT,
    PARSEABLE_IDS,
    path_of,
    read_bytes,
)

import dicomstream
from collector.helpers import (
    differences,
    expected_warnings,
    normalise_tags,
    pydicom_quiet,
    pydicom_read,
    read_corpus,
)
from dicomstream.errors import LengthExceedsSourceError, ParseError
from dicomstream.io import IterableSource

if TYPE_CHECKING:
    from collections.abc import AsyncIterator


@pytest.mark.parametrize("name", PARSEABLE_IDS)
def test_agrees_with_pydicom(name: str) -> None:
    ours = read_corpus(name)
    theirs = pydicom_read(path_of(name))
    assert differences(ours, theirs) == []
    assert differences(ours.file_meta, theirs.file_meta, "file meta > ") == []


@pytest.mark.parametrize("name", PARSEABLE_IDS)
def test_str_matches_pydicom(name: str) -> None:
    ours = read_corpus(name)
    theirs = pydicom_read(path_of(name))
    with pydicom_quiet():
        expected = normalise_tags(str(theirs)).splitlines()
    assert normalise_tags(str(ours)).splitlines() == expected


@pytest.mark.parametrize("name", PARSEABLE_IDS)
def test_save_unchanged_is_byte_exact(name: str) -> None:
    with expected_warnings(name):
        ds = dicomstream.dcmread(path_of(name))
    out = io.BytesIO()
    ds.save_as(out)
    if name in NOT_BYTE_EXACT:
        with expected_warnings(name):
            again = dicomstream.dcmread(out.getvalue())
        assert again == ds
    else:
        assert out.getvalue() == read_bytes(name)


SIZED_ERRORS: dict[str, type[ParseError]] = {
    "test_files/MR_truncated.dcm": LengthExceedsSourceError,
    "test_files/rtplan_truncated.dcm": LengthExceedsSourceError,
}
"""What ``dcmread`` raises where it differs from :data:`KNOWN_PARSE_FAILURES`: it knows
the file's size, so the length that runs past the end is refused at its header instead
of as a truncation at the end (a source of unknown size gives ``TruncatedError``)."""


@pytest.mark.parametrize("name", sorted(KNOWN_PARSE_FAILURES))
def test_known_bad_files_raise_typed_errors(name: str) -> None:
    streamed, _why = KNOWN_PARSE_FAILURES[name]
    sized = SIZED_ERRORS.get(name, streamed)
    for source in (path_of(name), read_bytes(name)):
        with pytest.raises(ParseError) as info:
            dicomstream.dcmread(source)
        assert type(info.value) is sized
    chunks = IterableSource(_chunks(read_bytes(name)))  # no size: read to the end
    with pytest.raises(ParseError) as info:
        anyio.run(dicomstream.read_dataset, chunks)
    assert type(info.value) is streamed


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    for i in range(0, len(data), 4096):
        yield data[i:i + 4096]
