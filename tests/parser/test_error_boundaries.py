"""What comes before an error, and lenient reads of a source of known size.

Why: chunk boundaries never change the events — that includes the events that precede
an error (they come first; the next call raises), and a lenient parse must not depend on
whether the source told its size.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import pytest
from corpus import read_bytes

from dicomstream.errors import ContainerOverrunError, ParseError, TruncatedError
from dicomstream.parser import Parser

if TYPE_CHECKING:
    from dicomstream.events import Event


def _until_error(chunks: list[bytes], **options: object) -> tuple[list[Event], ParseError]:
    parser = Parser(**options)  # type: ignore[arg-type]
    out: list[Event] = []
    try:
        for chunk in [*chunks, b""]:
            parser.receive_data(chunk)
            while batch := parser.next_batch():
                out.extend(batch)
    except ParseError as exc:
        return out, exc
    raise AssertionError("no error")


def _split(data: bytes, size: int) -> list[bytes]:
    return [data[i:i + size] for i in range(0, len(data), size)]


@pytest.mark.parametrize(("name", "error"), [
    ("test_files/dicomdirtests/DICOMDIR-nooffset", ContainerOverrunError),
    ("test_files/rtplan_truncated.dcm", TruncatedError),
    ("test_files/MR_truncated.dcm", TruncatedError),
])
@pytest.mark.parametrize("size", [1, 100, 4096])
def test_events_before_an_error_do_not_depend_on_chunking(name: str, error: type,
                                                          size: int) -> None:
    data = read_bytes(name)
    whole, whole_error = _until_error([data])
    split, split_error = _until_error(_split(data, size))
    assert type(whole_error) is type(split_error) is error
    assert whole_error.offset == split_error.offset
    assert len(whole) > 10
    assert split == whole


def test_next_event_delivers_what_precedes_an_error() -> None:
    data = read_bytes("test_files/dicomdirtests/DICOMDIR-nooffset")
    expected, _ = _until_error([data])
    parser = Parser()
    parser.receive_data(data)
    parser.receive_data(b"")
    got = []
    with pytest.raises(ContainerOverrunError):
        while True:
            got.append(parser.next_event())
    assert got == expected


@pytest.mark.parametrize("name", ["test_files/MR_truncated.dcm",
                                  "test_files/rtplan_truncated.dcm"])
def test_lenient_reads_the_same_whether_the_size_is_known(name: str) -> None:
    data = read_bytes(name)
    results = []
    for size in (None, len(data)):
        parser = Parser(lenient=True, source_size=size)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            parser.receive_data(data)
            parser.receive_data(b"")
            events = parser.events()
        assert parser.warnings
        results.append(events)
    assert results[0] == results[1]
    assert type(results[0][-1]).__name__ == "DatasetEnd"
