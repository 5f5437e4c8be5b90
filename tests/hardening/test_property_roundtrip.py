"""Property tests: generated datasets in every uncompressed syntax, against an
independent builder and pydicom.

Why: the corpus has a few hundred files; these properties hold for every dataset the
strategies in ``strategies.py`` can draw (every VR, nested defined/undefined sequences
and items, UN sequences, private blocks, character sets). For each dataset and each of
implicit VR LE, explicit VR LE, explicit VR BE and deflated explicit VR LE:

* the parser gives exactly the events the builder says (tags, VRs, lengths, values,
  offsets, paths, delimiters), fed whole, byte by byte or at random split points, and
  with values streamed in chunks;
* the encoder writes those events back byte for byte (deflated: the same dataset);
* re-targeting explicit VR LE events to another syntax gives the builder's bytes for it;
* pydicom reads the same structure and values from the bytes;
* text in a Specific Character Set decodes to what was written, as pydicom decodes it.

``max_examples`` keeps the module well under a minute on a shared machine.
"""

from __future__ import annotations

import io
import random
import warnings
import zlib
from typing import TYPE_CHECKING, Any

import pydicom
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dicomstream.encoder import Encoder
from dicomstream.events import (
    NEED_DATA,
    DatasetStart,
    Element,
    Event,
    ValueChunk,
    ValueEnd,
    ValueStart,
)
from dicomstream.parser import Parser
from dicomstream.values import CharacterSet, decode_value
from hardening.strategies import (
    DEFLATED_LE,
    EXPLICIT_BE,
    EXPLICIT_LE,
    IMPLICIT_LE,
    SYNTAXES,
    Dataset,
    El,
    build,
    charset_datasets,
    datasets,
    expected_view,
    pydicom_reads,
    pydicom_view,
)

if TYPE_CHECKING:
    from collections.abc import Iterable

SETTINGS = settings(
    max_examples=60,
    deadline=None,
    database=None,  # nothing written to the working tree
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
STREAMED: dict[str, Any] = {"value_threshold": 4, "chunk_size": 8}  # values > 4 bytes stream


def parse(chunks: Iterable[bytes], *, pull: str = "events", **options: Any) -> list[Event]:
    """Every event of the input fed as ``chunks``; ``ValueChunk`` data as bytes."""
    parser = Parser(**options)
    out: list[Event] = []

    def drain() -> None:
        if pull == "events":
            while batch := parser.events():
                out.extend(batch)
            return
        while (event := parser.next_event()) is not NEED_DATA:
            assert isinstance(event, Event)
            out.append(event)

    for chunk in chunks:
        parser.receive_data(chunk)
        drain()
    parser.receive_data(b"")
    drain()
    return [e._replace(data=bytes(e.data)) if type(e) is ValueChunk else e for e in out]


def splits(data: bytes, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    out, pos = [], 0
    while pos < len(data):
        size = rng.randint(1, rng.choice((2, 9, 100, 1000)))
        out.append(data[pos:pos + size])
        pos += size
    return out


def _dataset_offset(events: list[Event]) -> int:
    return next(e.offset for e in events if isinstance(e, DatasetStart))


def _inflated(data: bytes, start: int) -> bytes:
    return zlib.decompressobj(-15).decompress(data[start:])


@SETTINGS
@given(dataset=datasets(), seed=st.integers(0, 2**32))
def test_events_are_the_builders_however_fed(dataset: Dataset, seed: int) -> None:
    for syntax in SYNTAXES:
        data, expected = build(dataset, syntax)
        assert parse([data]) == expected, syntax
        assert parse([data[i:i + 1] for i in range(len(data))], pull="next_event") == \
            expected, syntax
        assert parse(splits(data, seed)) == expected, syntax
        streamed = parse([data], **STREAMED)
        assert parse(splits(data, seed + 1), **STREAMED) == streamed, syntax
        assert whole_values(streamed) == expected, syntax


def whole_values(events: list[Event]) -> list[Event]:
    """``events`` with each streamed value (start, chunks, end) as one ``Element``."""
    out: list[Event] = []
    start: ValueStart | None = None
    parts: list[bytes] = []
    for event in events:
        if isinstance(event, ValueStart):
            start, parts = event, []
        elif isinstance(event, ValueChunk):
            parts.append(bytes(event.data))
        elif isinstance(event, ValueEnd):
            assert start is not None and event.tag == start.tag
            out.append(Element(start.tag, start.vr, start.length, b"".join(parts),
                               start.offset, start.path))
            start = None
        else:
            out.append(event)
    return out


@SETTINGS
@given(dataset=datasets(), seed=st.integers(0, 2**32))
def test_encoder_writes_the_input_back(dataset: Dataset, seed: int) -> None:
    for syntax in SYNTAXES:
        data, expected = build(dataset, syntax)
        streamed = parse(splits(data, seed), **STREAMED)
        parser = Parser()
        parser.receive_data(data)
        parser.receive_data(b"")
        batch = parser.events()  # as the parser made it (the encoder's verbatim path)
        if syntax == DEFLATED_LE:
            start = _dataset_offset(expected)
            for events in (expected, streamed, batch):
                again = Encoder().send_all(list(events))
                assert parse([again]) == expected
                assert _inflated(again, start) == _inflated(data, start)
            continue
        assert Encoder().send_all(list(expected)) == data, syntax
        assert Encoder().send_all(streamed) == data, syntax
        assert Encoder().send_all(batch) == data, syntax
        encoder = Encoder()
        assert b"".join(encoder.send(e) for e in expected) == data, syntax


@SETTINGS
@given(dataset=datasets())
def test_retargeting_gives_the_builders_bytes(dataset: Dataset) -> None:
    data, events = build(dataset, EXPLICIT_LE)
    assert parse([data]) == events
    for target in (IMPLICIT_LE, EXPLICIT_BE, DEFLATED_LE):
        wanted, target_events = build(dataset, target)
        written = Encoder(target).send_all(list(events))
        if target == DEFLATED_LE:
            start = _dataset_offset(target_events)
            assert written[:start] == wanted[:start]
            assert _inflated(written, start) == _inflated(wanted, start)
        else:
            assert written == wanted, target


@SETTINGS
@given(dataset=datasets())
def test_pydicom_reads_the_same(dataset: Dataset) -> None:
    for syntax in SYNTAXES:
        if pydicom_reads(dataset, syntax):
            data, _ = build(dataset, syntax)
            assert pydicom_view(data) == expected_view(dataset, syntax), syntax


@SETTINGS
@given(dataset=charset_datasets())
def test_character_sets_decode_as_written(dataset: Dataset) -> None:
    texts = [n for n in dataset.nodes if isinstance(n, El) and n.text is not None]
    for syntax in SYNTAXES:
        data, expected = build(dataset, syntax)
        events = parse(splits(data, len(data)))
        assert events == expected, syntax
        if syntax != DEFLATED_LE:
            assert Encoder().send_all(events) == data, syntax
        top = {e.tag: e.value for e in events if type(e) is Element and not e.path}
        charset = CharacterSet.from_raw(top[0x00080005])
        theirs: dict[int, str] = {}
        if pydicom_reads(dataset, syntax):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # pydicom validates lengths as it decodes
                read = pydicom.dcmread(io.BytesIO(data))
                theirs = {e.tag: str(read[e.tag].value) for e in texts}
        for element in texts:
            ours = decode_value(element.vr, top[element.tag],
                                little_endian=syntax != EXPLICIT_BE, charset=charset)
            assert str(ours) == element.text, (syntax, dataset.charset, element.vr)
            if theirs:
                assert theirs[element.tag] == element.text, (syntax, element.vr)


def test_empty_deflated_dataset() -> None:
    """A deflated file whose dataset is empty: its deflate stream is 2 bytes (03 00),
    shorter than the 8 bytes the parser reads to see whether the meta group goes on."""
    data, expected = build(Dataset(()), DEFLATED_LE)
    assert parse([data]) == expected
