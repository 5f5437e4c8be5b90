"""The parser and encoder against every DICOM file shipped with pydicom.

For each corpus file: it parses (or fails with exactly its documented error), its events
re-encode to the same bytes, they agree with what pydicom reads (tags, order, VRs, raw
value bytes, sequence structure, paths), they do not depend on how the input is split,
trailing bytes after a complete file are an error, and every offset points at what the
event says is there.
"""

from __future__ import annotations

import contextlib
import io
import struct
import warnings
import zlib
from typing import TYPE_CHECKING, Any

import pydicom
import pytest
from conftest import bytewise, random_split, split_feed
from corpus import (
    CORPUS,
    CORPUS_IDS,
    EXPECTED_WARNINGS,
    KNOWN_PARSE_FAILURES,
    NOT_BYTE_EXACT,
    PARSEABLE_IDS,
    corpus_events,
    feed,
    path_of,
    read_bytes,
    transfer_syntax_of,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydicom.dataelem import DataElement, RawDataElement, convert_raw_data_element
from pydicom.filereader import read_dataset

from dicomstream.encoder import Encoder
from dicomstream.errors import DicomStreamWarning, ParseError
from dicomstream.events import (
    UNDEFINED_LENGTH,
    DatasetEnd,
    DatasetStart,
    Element,
    Fragment,
    FragmentsEnd,
    FragmentsStart,
    ItemEnd,
    ItemStart,
    Preamble,
    SequenceEnd,
    SequenceStart,
    ValueChunk,
    ValueEnd,
    ValueStart,
)
from dicomstream.tags import ITEM
from dicomstream.transfer_syntax import lookup_transfer_syntax

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Sequence
    from contextlib import AbstractContextManager

    from pydicom.dataset import Dataset

    from dicomstream.events import Event
    from dicomstream.tags import TagPath

SMALL: dict[str, Any] = {"value_threshold": 256, "chunk_size": 1024}
"""Options that make every value above 256 bytes stream in 1 KiB chunks."""

BYTEWISE_WHOLE_LIMIT = 100 * 1024
"""Files up to this size are fed entirely byte by byte; larger ones only their head."""


def _expect_warning(name: str) -> AbstractContextManager[Any]:
    """``pytest.warns`` for the file's documented warning, or nothing."""
    if name in EXPECTED_WARNINGS:
        return pytest.warns(DicomStreamWarning, match=EXPECTED_WARNINGS[name][:40])
    return contextlib.nullcontext()


# --------------------------------------------------------------------------- parse


def test_corpus_is_complete() -> None:
    """The corpus walk finds what it should, files without extension included."""
    assert len(CORPUS) > 180
    assert "test_files/dicomdirtests/77654033/CR1/6154" in CORPUS_IDS
    assert "test_files/dicomdirtests/DICOMDIR-bigEnd" in CORPUS_IDS
    assert any(name.startswith("charset_files/") for name in CORPUS_IDS)
    assert any(name.startswith("palettes/") for name in CORPUS_IDS)
    assert not any(name.endswith((".py", ".json", ".txt", ".gz", ".dump")) for name in CORPUS_IDS)
    assert set(KNOWN_PARSE_FAILURES) <= set(CORPUS_IDS)
    assert set(NOT_BYTE_EXACT) <= set(PARSEABLE_IDS)


@pytest.mark.parametrize("name", CORPUS_IDS)
def test_parses_or_fails_as_documented(name: str) -> None:
    data = read_bytes(name)
    if name in KNOWN_PARSE_FAILURES:
        expected, _reason = KNOWN_PARSE_FAILURES[name]
        with pytest.raises(ParseError) as info:
            feed([data])
        exc = info.value
        assert type(exc) is expected, f"{type(exc).__name__}: {exc}"
        assert 0 <= exc.offset <= len(data)
        assert f"at offset {exc.offset}" in str(exc)
        assert exc.path in str(exc)
        return
    with _expect_warning(name):
        events = feed([data])
    assert type(events[-1]) is DatasetEnd
    assert sum(type(e) is DatasetEnd for e in events) == 1
    start = next(e for e in events if type(e) is DatasetStart)
    assert isinstance(start, DatasetStart)
    has_preamble = data[128:132] == b"DICM"
    assert (type(events[0]) is Preamble) == has_preamble
    ts = lookup_transfer_syntax(start.transfer_syntax)
    end = events[-1]
    assert isinstance(end, DatasetEnd)
    if not ts.deflated:
        assert end.offset == len(data)
    # Containers open and close in pairs.
    opens = sum(type(e) in (SequenceStart, ItemStart, FragmentsStart, ValueStart) for e in events)
    closes = sum(type(e) in (SequenceEnd, ItemEnd, FragmentsEnd, ValueEnd) for e in events)
    assert opens == closes


def test_truncated_files_fail_where_the_data_ends() -> None:
    """The errors of the truncated files name where the missing part is."""
    with pytest.raises(ParseError) as info:
        feed([read_bytes("test_files/rtplan_truncated.dcm")])
    assert info.value.path.startswith("(300A,00B0)[0] > (300A,0111)[0]")
    mr = read_bytes("test_files/MR_truncated.dcm")
    with pytest.raises(ParseError) as info:
        feed([mr])
    # The error points at the last header in the file, Pixel Data's, whose value is cut.
    offset = info.value.offset
    assert struct.unpack_from("<HH2s2xL", mr, offset) == (0x7FE0, 0x0010, b"OW", 8192)
    assert offset + 12 + 8192 > len(mr)


# --------------------------------------------------------------------------- identity


def _inflate(deflated: bytes) -> bytes:
    inflater = zlib.decompressobj(-15)
    out = inflater.decompress(deflated)
    assert inflater.eof
    return out


@pytest.mark.parametrize("name", PARSEABLE_IDS)
def test_identity(name: str) -> None:
    data = read_bytes(name)
    events = corpus_events(name)
    out = Encoder().send_all(events)
    if name not in NOT_BYTE_EXACT:
        assert out == data
        return
    assert out != data  # else it should not be listed
    # Same preamble and meta, and the deflated part inflates to the same dataset bytes.
    start = next(e for e in events if isinstance(e, DatasetStart))
    assert out[:start.offset] == data[:start.offset]
    assert _inflate(out[start.offset:]) == _inflate(data[start.offset:])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydicom's own remarks on the file
        original = pydicom.dcmread(io.BytesIO(data), force=True)
        again = pydicom.dcmread(io.BytesIO(out), force=True)
    assert again == original
    assert again.file_meta == original.file_meta


@pytest.mark.parametrize("name", PARSEABLE_IDS)
def test_identity_one_event_at_a_time(name: str) -> None:
    """``send`` event by event gives the same bytes as ``send_all`` (small thresholds)."""
    data = read_bytes(name)
    with _expect_warning(name):
        events = feed([data], **SMALL)
    encoder = Encoder()
    out = b"".join(encoder.send(e) for e in events)
    assert encoder.finished
    if name in NOT_BYTE_EXACT:
        start = next(e for e in events if isinstance(e, DatasetStart)).offset
        assert _inflate(out[start:]) == _inflate(data[start:])
    else:
        assert out == data


# --------------------------------------------------------------------------- pydicom oracle


class _Decodes:
    """Stands for the value of an element pydicom decoded while reading (its raw bytes are
    gone: empty values, Specific Character Set, DICOMDIR records). Equal to our raw bytes
    when pydicom decodes them to the same value."""

    def __init__(self, elem: DataElement, implicit: bool, little: bool, encoding: Any) -> None:
        self.elem, self.implicit, self.little, self.encoding = elem, implicit, little, encoding

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, bytes):
            return NotImplemented
        raw = RawDataElement(self.elem.tag, self.elem.VR, len(other), other, 0, self.implicit,
                             self.little)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            decoded = convert_raw_data_element(raw, encoding=self.encoding)
        return bool(decoded.value == self.elem.value)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<pydicom decoded {self.elem.value!r}>"


class _AnyOf:
    """A VR that matches any of several (pydicom keeps an ambiguous or replaced VR)."""

    def __init__(self, *vrs: str) -> None:
        self.vrs = frozenset(vrs)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, str):
            return NotImplemented
        return other in self.vrs

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return " or ".join(sorted(self.vrs))


def pydicom_vr(vr: str, *, converted: bool) -> Any:
    """The VR pydicom reports, in the form our events must match.

    Normalisation, each forced by how pydicom reads rather than by the file:

    * ``"OB or OW"`` (and the like) is left by pydicom when it cannot choose, e.g. for
      encapsulated Pixel Data read in implicit VR; we must report one of the options.
    * For elements pydicom decoded while reading (``converted``), the VR as written is
      lost, and pydicom replaces a written ``UN`` by the dictionary VR
      (``config.replace_un_with_known_vr``): ours may be that VR or ``UN``. The VR as
      written is checked against the file bytes in :func:`test_offsets_and_paths`.
    """
    if " or " in vr:
        return _AnyOf(*vr.split(" or "))
    if converted:
        return _AnyOf(vr, "UN")
    return vr


Row = tuple[Any, ...]


def pydicom_rows(ds: Dataset, path: TagPath = ()) -> Iterator[Row]:
    """pydicom's reading of ``ds`` as flat rows, in file order, with our kind of paths.

    ``(path, "E", tag, vr, raw value)`` per element, ``(path, "S", tag)`` per sequence,
    ``(path, "I", index)`` per item (``path`` ending in the item).
    """
    implicit, little = ds.original_encoding
    encoding = ds.original_character_set
    for tag in list(ds.keys()):  # insertion order = file order (iteration would sort)
        item = ds.get_item(tag)
        value: Any
        if isinstance(item, RawDataElement) and item.VR not in (None, "SQ"):
            # An explicit VR is taken as written: pydicom would turn a defined-length
            # element written as UN into the dictionary's SQ when converting it
            # (replace_un_with_known_vr; rtdose_rle.dcm's (300C,0002)); dcmtk (default
            # -uc) and we keep it UN, with its raw bytes.
            vr, value, children, converted = str(item.VR), item.value, None, False
        elif isinstance(item, RawDataElement):
            elem = ds[tag]  # implicit VR (pydicom's VR is its dictionary lookup) or SQ
            vr, value, converted = str(elem.VR), item.value, False
            children = elem.value if vr == "SQ" else None
        else:  # read as a sequence, or decoded while reading: no raw bytes left
            vr, converted = str(item.VR), True
            children = item.value if vr == "SQ" else None
            value = _Decodes(item, bool(implicit), bool(little), encoding)
        if children is not None:
            yield (path, "S", int(tag))
            for index, child in enumerate(children):
                inner = (*path, (int(tag), index))
                yield (inner, "I", index)
                yield from pydicom_rows(child, inner)
        else:
            yield (path, "E", int(tag), pydicom_vr(vr, converted=converted), value)


def _item_header(length: int) -> bytes:
    return struct.pack("<HHL", 0xFFFE, 0xE000, length)


def our_rows(events: Iterable[Event]) -> Iterator[Row]:
    """Our events as the same rows as :func:`pydicom_rows`.

    Streamed values are reassembled from their chunks; encapsulated Pixel Data becomes
    what pydicom holds for it: every fragment's item header and bytes, concatenated
    (pydicom's raw value of an undefined-length OB stops before the delimiter).
    """
    value: list[bytes] | None = None
    frags: list[bytes] | None = None
    start: Any = None
    frag_start: Any = None
    for e in events:
        cls = type(e)
        if cls is Element:
            assert isinstance(e, Element)
            yield (e.path, "E", e.tag, e.vr, bytes(e.value))
        elif cls is SequenceStart:
            assert isinstance(e, SequenceStart)
            yield (e.path, "S", e.tag)
        elif cls is ItemStart:
            assert isinstance(e, ItemStart)
            yield (e.path, "I", e.index)
        elif cls is FragmentsStart:
            frags, frag_start = [], e
        elif cls is Fragment:
            assert isinstance(e, Fragment) and frags is not None
            frags += [_item_header(e.length), bytes(e.value)]
        elif cls is FragmentsEnd:
            assert frags is not None
            yield (frag_start.path, "E", frag_start.tag, frag_start.vr, b"".join(frags))
            frags = None
        elif cls is ValueStart:
            assert isinstance(e, ValueStart)
            start, value = e, []
            if e.tag == ITEM:
                assert frags is not None
                frags.append(_item_header(e.length))
        elif cls is ValueChunk:
            assert isinstance(e, ValueChunk) and value is not None
            (frags if start.tag == ITEM else value).append(bytes(e.data))  # type: ignore[union-attr]
        elif cls is ValueEnd:
            assert value is not None
            if start.tag != ITEM:
                yield (start.path, "E", start.tag, start.vr, b"".join(value))
            value = None


def _dedupe_like_pydicom(rows: list[Row]) -> list[Row]:
    """A tag written twice in one item: pydicom keeps one element (the last value, at the
    first position); the parser reports both, as written (palettes/winter.dcm has a
    second (0008,0018)). Applied to our rows for the comparison only."""
    out: list[Row] = []
    where: dict[tuple[Any, int], int] = {}
    for row in rows:
        if row[1] == "E":
            key = (row[0], row[2])
            if key in where:
                out[where[key]] = row
                continue
            where[key] = len(out)
        out.append(row)
    return out


def _raw_meta(data: bytes) -> list[Row]:
    """The file meta group as raw elements (``dcmread`` decodes it while reading)."""
    pos = 132 if data[128:132] == b"DICM" else 0
    if data[pos:pos + 2] != b"\x02\x00":
        return []
    fp = io.BytesIO(data)
    fp.seek(pos)
    meta = read_dataset(fp, False, True, stop_when=lambda tag, vr, length: tag.group != 2)
    return list(pydicom_rows(meta))


@pytest.mark.parametrize("name", PARSEABLE_IDS)
def test_agrees_with_pydicom(name: str) -> None:
    """Same tags in the same order at every depth, same VRs, same raw bytes, same
    sequences and items, same paths — under the default value threshold, so large values
    arrive in chunks and are reassembled here."""
    ours = _dedupe_like_pydicom(list(our_rows(corpus_events(name))))
    assert ours == pydicom_view(name)


def pydicom_view(name: str) -> list[Row]:
    """pydicom's reading of corpus file ``name`` (file meta and dataset) as rows."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydicom's own remarks on odd files are not ours
        ds = pydicom.dcmread(path_of(name), force=True)
        return _raw_meta(read_bytes(name)) + list(pydicom_rows(ds))


def test_oracle_notices_differences() -> None:
    """The comparison fails on a changed raw value, a changed value pydicom decoded while
    reading, a changed VR, a changed path and a missing item."""
    name = "test_files/rtplan.dcm"
    theirs = pydicom_view(name)
    events = list(corpus_events(name))

    def rows_with(at: int, **changes: Any) -> list[Row]:
        changed = list(events)
        changed[at] = events[at]._replace(**changes)
        return list(our_rows(changed))

    def index_of(tag: int) -> int:
        return next(i for i, e in enumerate(events) if isinstance(e, Element) and e.tag == tag)

    assert list(our_rows(events)) == theirs
    patient = index_of(0x00100010)  # raw bytes in pydicom
    assert rows_with(patient, value=b"Other^Name") != theirs
    assert rows_with(patient, vr="LO") != theirs
    accession = index_of(0x00080050)  # empty: decoded by pydicom while reading
    assert rows_with(accession, value=b"A1") != theirs
    nested = next(i for i, e in enumerate(events) if isinstance(e, Element) and e.path)
    assert rows_with(nested, path=()) != theirs
    first_item = next(i for i, e in enumerate(events) if isinstance(e, ItemStart))
    assert rows_with(first_item, index=1) != theirs


def test_oracle_sees_streamed_values_and_fragments() -> None:
    """The oracle really compares reassembled chunks and fragments (not vacuously)."""
    events = corpus_events("test_files/examples_overlay.dcm")
    assert any(type(e) is ValueChunk for e in events)
    events = corpus_events("test_files/SC_rgb_rle_2frame.dcm")
    assert sum(type(e) is Fragment for e in events) == 3  # offset table + two frames


def test_path_of_a_nested_element_matches_pydicom() -> None:
    """rtplan.dcm: the first element of the first Dose Reference item sits at the path
    pydicom's structure gives it."""
    ds = pydicom.dcmread(path_of("test_files/rtplan.dcm"))
    seq_tag = next(int(t) for t in ds.keys() if ds[t].VR == "SQ")
    first_item = ds[seq_tag].value[0]
    first_tag = int(next(iter(first_item.keys())))
    expected_path = ((seq_tag, 0),)
    assert seq_tag == 0x300A0010
    events = corpus_events("test_files/rtplan.dcm")
    found = [e for e in events if isinstance(e, Element) and e.tag == first_tag]
    assert found
    assert found[0].path == expected_path
    item = next(e for e in events if isinstance(e, ItemStart))
    assert item.path == expected_path
    # And one two levels down: Beam Sequence > Control Point Sequence.
    beam = ds.BeamSequence[0]
    cp_tag = 0x300A0111
    cp_first = int(next(iter(beam[cp_tag].value[1].keys())))
    deep = [e for e in events if isinstance(e, Element) and e.tag == cp_first
            and e.path == ((0x300A00B0, 0), (cp_tag, 1))]
    assert len(deep) == 1


# --------------------------------------------------------------------------- chunk invariance


@pytest.mark.parametrize("name", PARSEABLE_IDS)
def test_bytewise_equals_whole(name: str) -> None:
    data = read_bytes(name)
    with _expect_warning(name):
        whole = feed([data], **SMALL)
    head = None if len(data) <= BYTEWISE_WHOLE_LIMIT else 64 * 1024
    with _expect_warning(name):
        ones = bytewise(data, head=head, **SMALL)
    assert ones == whole


@pytest.mark.parametrize("name", PARSEABLE_IDS)
@settings(max_examples=5, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_random_splits_equal_whole(name: str, data: st.DataObject) -> None:
    raw = read_bytes(name)
    cuts = data.draw(st.lists(st.integers(0, len(raw)), max_size=40).map(sorted), label="cuts")
    sizes = [b - a for a, b in zip([0, *cuts], cuts, strict=False)]
    with _expect_warning(name):
        whole = feed([raw], **SMALL)
    with _expect_warning(name):
        split = split_feed(raw, sizes, **SMALL)
    assert split == whole


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("name", ["test_files/rtplan.dcm", "test_files/image_dfl.dcm",
                                  "test_files/UN_sequence.dcm", "test_files/JPEG2000.dcm",
                                  "test_files/ExplVR_BigEnd.dcm", "test_files/test-SR.dcm",
                                  "test_files/dicomdirtests/DICOMDIR-bigEnd",
                                  "test_files/waveform_ecg.dcm"])
def test_tiny_random_chunks_equal_whole(name: str, seed: int) -> None:
    """Chunks of 1-13 bytes everywhere: almost every header is split, many twice."""
    raw = read_bytes(name)
    assert random_split(raw, seed, max_chunk=13, **SMALL) == feed([raw], **SMALL)


@pytest.mark.parametrize("name", ["test_files/rtplan.dcm", "test_files/image_dfl.dcm",
                                  "test_files/MR_small_bigendian.dcm",
                                  "test_files/UN_sequence.dcm"])
def test_chunk_types_and_pulling_style_do_not_matter(name: str) -> None:
    """``bytearray`` chunks give what ``bytes`` give, and ``next_event`` one by one gives
    what ``events()`` gives."""
    raw = read_bytes(name)
    whole = feed([raw], **SMALL)
    from dicomstream.parser import Parser

    parser = Parser(**SMALL)
    got: list[Event] = []
    for i in range(0, len(raw), 777):
        parser.receive_data(bytearray(raw[i:i + 777]))
        got += [e._replace(data=bytes(e.data)) if isinstance(e, ValueChunk) else e
                for e in parser.events()]
    parser.receive_data(b"")
    got += parser.events()
    assert got == whole
    assert feed([raw], pull="next_event", **SMALL) == whole


# --------------------------------------------------------------------------- trailing data

TRAILING = {
    "one byte": b"\x00",
    "text": b"GARBAGE!" * 4,
    "0xff": b"\xff" * 16,
    "counting": bytes(range(256)),
}
"""Bytes appended to complete files. (Eight zero bytes are not garbage in implicit VR:
they are a well-formed, empty (0000,0000) element, so they are not used.)"""

@pytest.mark.parametrize("trailing", list(TRAILING.values()), ids=list(TRAILING))
@pytest.mark.parametrize("name", PARSEABLE_IDS)
def test_trailing_data_is_an_error(name: str, trailing: bytes) -> None:
    data = read_bytes(name)
    with _expect_warning(name), pytest.raises(ParseError):
        feed([data + trailing])
    with _expect_warning(name), pytest.raises(ParseError):
        feed([data, trailing])


# --------------------------------------------------------------------------- offsets and paths


def _stream_bytes(data: bytes, events: Sequence[Event]) -> tuple[bytes, int]:
    """The bytes offsets count in: the file, or for deflated syntaxes the inflated dataset
    (whose offsets start again at ``DatasetStart.offset``); and the base of that count."""
    start = next(e for e in events if isinstance(e, DatasetStart))
    if lookup_transfer_syntax(start.transfer_syntax).deflated:
        return _inflate(data[start.offset:]), start.offset
    return data, 0


_DELIMITERS: dict[type, int] = {SequenceEnd: 0xE0DD, ItemEnd: 0xE00D, FragmentsEnd: 0xE0DD}


def _header_problems(stream: bytes, base: int, events: Sequence[Any], ts_uid: str
                     ) -> Iterator[str]:
    """What does not sit at each event's offset: the tag, the VR as written (explicit VR),
    item headers with their lengths, delimiters, the bytes of value chunks."""
    ts = lookup_transfer_syntax(ts_uid)
    # (little endian, explicit VR) of each open sequence's content; UN ones are implicit LE.
    modes: list[tuple[bool, bool]] = [(ts.little_endian, not ts.implicit_vr)]
    for e in events:
        cls = type(e)
        little, explicit = modes[-1]
        order = "<" if little else ">"
        at = e.offset - base
        where = f"{cls.__name__} at {e.offset}"
        if cls in (Element, ValueStart, SequenceStart, FragmentsStart) and e.tag != ITEM:
            group, elem = struct.unpack_from(order + "HH", stream, at)
            if (group << 16 | elem) != e.tag:
                yield f"{where}: tag {e.tag:08X} but {group:04X},{elem:04X}"
            if explicit and stream[at + 4:at + 6] != e.vr.encode():
                yield f"{where}: VR {e.vr} but {stream[at + 4:at + 6]!r}"
        if cls in (ItemStart, Fragment) or (cls is ValueStart and e.tag == ITEM):
            header = struct.unpack_from(order + "HHL", stream, at)
            if header != (0xFFFE, 0xE000, e.length):
                yield f"{where}: item header {header}"
        if cls is ValueChunk and stream[at:at + len(e.data)] != e.data:
            yield f"{where} holds other bytes"
        if cls is Element and e.length != len(e.value):
            yield f"{where}: length {e.length} but {len(e.value)} bytes"
        delimiter = _DELIMITERS.get(cls)
        if delimiter and getattr(e, "delimited", True):
            if struct.unpack_from(order + "HH", stream, at) != (0xFFFE, delimiter):
                yield f"{where} is not at its delimiter"
        if cls is SequenceStart:
            modes.append((True, False) if e.vr == "UN" else (little, explicit))
        elif cls is SequenceEnd:
            modes.pop()


@pytest.mark.parametrize("name", PARSEABLE_IDS)
def test_offsets_and_paths(name: str) -> None:
    """Offsets never go backwards and point at the header (tag, VR as written, item
    lengths) or bytes the event describes; paths follow the sequence/item nesting."""
    data = read_bytes(name)
    with _expect_warning(name):
        events: list[Any] = feed([data], **SMALL)
    offsets = [e.offset for e in events]
    assert all(o >= 0 for o in offsets)
    start_index = next(i for i, e in enumerate(events) if type(e) is DatasetStart)
    before, after = offsets[:start_index + 1], offsets[start_index:]
    assert before == sorted(before)
    assert after == sorted(after)
    stream, base = _stream_bytes(data, events)
    problems = list(_header_problems(stream, base, events[start_index:],
                                     transfer_syntax_of(events)))
    assert problems == []
    # Paths: every event's path is the stack of open (sequence, item index) pairs.
    stack: list[tuple[int, int]] = []
    seqs: list[int] = []
    for e in events:
        cls = type(e)
        if cls in (Element, ValueStart, SequenceStart, FragmentsStart, SequenceEnd):
            assert e.path == tuple(stack), e
        if cls is SequenceStart:
            seqs.append(e.tag)
        elif cls is SequenceEnd:
            assert seqs.pop() == e.tag
        elif cls is ItemStart:
            stack.append((seqs[-1], e.index))
            assert e.path == tuple(stack)
        elif cls is ItemEnd:
            assert e.path == tuple(stack)
            assert e.index == stack.pop()[1]
    assert stack == []
    assert seqs == []


def test_sequence_lengths_are_reported_as_written() -> None:
    """Defined and undefined sequence/item lengths as written (both occur in the corpus)."""
    events = corpus_events("test_files/rtplan.dcm")  # implicit VR, defined lengths
    lengths = {e.length for e in events if isinstance(e, SequenceStart | ItemStart)}
    assert lengths
    assert UNDEFINED_LENGTH not in lengths
    events = corpus_events("test_files/UN_sequence.dcm")
    seq = next(e for e in events if isinstance(e, SequenceStart))
    assert seq.vr == "UN"
    assert seq.length == UNDEFINED_LENGTH
    ends = [e for e in events if isinstance(e, SequenceEnd)]
    assert ends[-1].delimited
