"""Hostile inputs fail fast, cheaply and with the specific error their builder names.

Each builder of ``tests/hostile_files.py`` is parsed as a stream source would feed it (64
KiB chunks, events pulled and dropped as they come); the parse must raise exactly the
documented :class:`~dicomstream.errors.DicomStreamError` subclass, with its offset in the
message, in well under a second and a few MiB of memory. ``dicomstream dump`` on each
must exit non-zero with one line on stderr.
"""

from __future__ import annotations

import functools
import io
import subprocess
import sys
import time
import tracemalloc
from typing import TYPE_CHECKING, Any

import hostile_files as hostile
import pydicom
import pytest
from corpus import feed, read_bytes

from dicomstream.encoder import Encoder
from dicomstream.errors import (
    ContainerOverrunError,
    DicomStreamError,
    DicomStreamWarning,
    InflateError,
    InflateLimitError,
    InvalidLengthError,
    InvalidVRError,
    LengthExceedsSourceError,
    NestingTooDeepError,
    ParseError,
    StructureError,
    TruncatedError,
)
from dicomstream.events import (
    NEED_DATA,
    DatasetEnd,
    Element,
    ItemEnd,
    ItemStart,
    SequenceEnd,
    SequenceStart,
    ValueChunk,
    ValueEnd,
    ValueStart,
)
from dicomstream.parser import MAX_NESTING_DEPTH, Parser

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

FEED_CHUNK = 64 * 1024
TIME_LIMIT = 5.0  # seconds; each case takes well under 1 s (generous for slow CI)
MEMORY_LIMIT = 8 << 20  # tracemalloc peak, bytes

RTPLAN = read_bytes("test_files/rtplan.dcm")


class Case:
    """A hostile input, the parser options to use, and the exact error expected."""

    def __init__(self, build: Callable[[], bytes], expected: type[ParseError], *,
                 known_size: bool = False, warns: bool = False, exact: bool = True) -> None:
        self.build = build
        self.expected = expected
        self.known_size = known_size
        self.warns = warns  # the input also triggers a DicomStreamWarning first
        self.exact = exact  # else any subclass of ``expected`` is fine


def _bomb() -> bytes:
    data = hostile.deflate_bomb()
    assert isinstance(data, bytes)
    return data


CASES: dict[str, Case] = {
    "huge-declared-length": Case(hostile.huge_declared_length, TruncatedError),
    "huge-declared-length-known-size": Case(hostile.huge_declared_length,
                                            LengthExceedsSourceError, known_size=True),
    "nesting-100000": Case(hostile.deep_nesting, NestingTooDeepError),
    "nesting-100000-closed": Case(functools.partial(hostile.deep_nesting, closed=True),
                                  NestingTooDeepError),
    "unclosed-item": Case(hostile.unclosed_item, TruncatedError),
    "item-longer-than-sequence": Case(hostile.item_longer_than_sequence,
                                      ContainerOverrunError),
    "deflate-bomb": Case(_bomb, InflateLimitError),
    # Random bytes after the meta group: the first "header" has no valid VR, so the parser
    # reads the dataset as implicit VR (with a warning, as pydicom and dcmtk do) and fails
    # on the first impossible length. Any ParseError is what the builder promises.
    "garbage-after-meta": Case(hostile.garbage_after_meta, ParseError, warns=True,
                               exact=False),
    "garbage-after-meta-known-size": Case(hostile.garbage_after_meta, ParseError,
                                          known_size=True, warns=True, exact=False),
    "fragments-without-delimiter": Case(hostile.fragments_without_delimiter, TruncatedError),
    "undefined-length-text": Case(hostile.undefined_length_text, InvalidLengthError),
    "stray-delimiter": Case(hostile.stray_delimiter, StructureError),
    "invalid-vr": Case(hostile.invalid_vr, InvalidVRError),
    "corrupt-deflate": Case(hostile.corrupt_deflate, InflateError),
    # rtplan.dcm cut: inside the meta group, inside a value of the dataset, inside a
    # defined-length sequence, one byte short. With the size known, a value or sequence
    # that runs past the end is refused when its header is read.
    "truncated-in-meta": Case(functools.partial(hostile.truncated, RTPLAN, 200),
                              TruncatedError),
    "truncated-in-meta-known-size": Case(functools.partial(hostile.truncated, RTPLAN, 200),
                                         TruncatedError, known_size=True),
}
for _name, _at in {"in-value": 400, "in-sequence": len(RTPLAN) // 2, "last-byte": -1}.items():
    _cut = functools.partial(hostile.truncated, RTPLAN, _at)
    CASES[f"truncated-{_name}"] = Case(_cut, TruncatedError)
    CASES[f"truncated-{_name}-known-size"] = Case(_cut, LengthExceedsSourceError,
                                                  known_size=True)


@functools.cache
def build(name: str) -> bytes:
    return CASES[name].build()


def _warm_up() -> None:
    """Import what the parser loads lazily (the dictionary), so it is not measured."""
    feed([RTPLAN])


def _parse_streaming(data: bytes, **options: Any) -> int:
    """Feed ``data`` in chunks, pulling and dropping events; returns how many came."""
    parser = Parser(**options)
    count = 0
    for i in range(0, len(data), FEED_CHUNK):
        parser.receive_data(data[i:i + FEED_CHUNK])
        count += len(parser.events())
    parser.receive_data(b"")
    return count + len(parser.events())


def _run(name: str) -> tuple[BaseException | None, float, int]:
    """Parse case ``name``; returns (error, seconds, tracemalloc peak) of the parse alone."""
    case = CASES[name]
    data = build(name)
    options = {"source_size": len(data)} if case.known_size else {}
    _warm_up()
    error: BaseException | None = None
    tracemalloc.start()
    started = time.perf_counter()
    try:
        _parse_streaming(data, **options)
    except DicomStreamError as exc:
        error = exc
    finally:
        seconds = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return error, seconds, peak


def _check_error(name: str, error: BaseException | None) -> None:
    case = CASES[name]
    assert error is not None, "no error"
    if case.exact:
        assert type(error) is case.expected, f"{type(error).__name__}: {error}"
    else:
        assert isinstance(error, case.expected), f"{type(error).__name__}: {error}"
    assert isinstance(error, ParseError)
    assert f"at offset {error.offset}" in str(error)
    assert 0 <= error.offset


@pytest.mark.parametrize("name", list(CASES))
def test_hostile_input_fails_fast_with_its_error(name: str) -> None:
    if CASES[name].warns:
        with pytest.warns(DicomStreamWarning):
            error, seconds, _ = _run(name)
    else:
        error, seconds, _ = _run(name)
    _check_error(name, error)
    assert seconds < TIME_LIMIT


@pytest.mark.parametrize("name", list(CASES))
def test_hostile_input_costs_little_memory(name: str) -> None:
    if CASES[name].warns:
        with pytest.warns(DicomStreamWarning):
            _, _, peak = _run(name)
    else:
        _, _, peak = _run(name)
    assert peak < MEMORY_LIMIT, f"peak {peak / (1 << 20):.1f} MiB"


def test_deflate_bomb_is_stopped_long_before_its_size() -> None:
    """The bomb (8 GiB inflated) stops within its first few MiB, fed whole or pulled one
    event at a time."""
    error, _, peak = _run("deflate-bomb")
    assert isinstance(error, InflateLimitError)
    assert error.offset < 64 << 20
    data = build("deflate-bomb")
    parser = Parser()
    tracemalloc.start()
    try:
        with pytest.raises(InflateLimitError):
            for i in range(0, len(data), FEED_CHUNK):
                parser.receive_data(data[i:i + FEED_CHUNK])
                while parser.next_event() is not NEED_DATA:
                    pass
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < MEMORY_LIMIT


def test_nesting_limit_is_the_documented_default() -> None:
    with pytest.raises(NestingTooDeepError) as info:
        feed([build("nesting-100000")])
    assert info.value.path.count("(0040,A730)[0]") == MAX_NESTING_DEPTH
    # Within the limit the same structure is valid, and one more level is refused.
    ok = hostile.deep_nesting(MAX_NESTING_DEPTH, closed=True)
    events = feed([ok])
    assert sum(isinstance(e, SequenceStart) for e in events) == MAX_NESTING_DEPTH
    assert Encoder().send_all(events) == ok
    with pytest.raises(NestingTooDeepError):
        feed([hostile.deep_nesting(MAX_NESTING_DEPTH + 1, closed=True)])
    assert feed([hostile.deep_nesting(MAX_NESTING_DEPTH + 1, closed=True)], max_depth=65)


def test_odd_length_values_are_read_as_written() -> None:
    data = hostile.odd_length_values()
    events = feed([data])
    assert Encoder().send_all(events) == data
    odd = [e for e in events if getattr(e, "length", 0) % 2]
    assert len(odd) >= 7


# --------------------------------------------------------------------------- lenient


@pytest.mark.parametrize("name", ["unclosed-item", "truncated-in-sequence", "truncated-in-value",
                                  "fragments-without-delimiter", "huge-declared-length"])
def test_lenient_returns_what_was_read_with_a_warning(name: str) -> None:
    data = build(name)
    parser = Parser(lenient=True, value_threshold=256, chunk_size=1024)
    parser.receive_data(data)
    with pytest.warns(DicomStreamWarning, match="input ends"):
        parser.receive_data(b"")
        events = parser.events()
    assert isinstance(events[-1], DatasetEnd)
    assert parser.done
    assert parser.warnings and "input ends" in parser.warnings[0]
    # Every container and value that was opened is closed.
    pairs = [(SequenceStart, SequenceEnd), (ItemStart, ItemEnd), (ValueStart, ValueEnd)]
    for opening, closing in pairs:
        assert (sum(isinstance(e, opening) for e in events)
                == sum(isinstance(e, closing) for e in events))
    # Nothing that was read is dropped: the values' bytes reach the end of the input.
    chunks = [e for e in events if isinstance(e, ValueChunk)]
    if chunks:
        assert chunks[-1].offset + len(chunks[-1].data) == len(data)


def test_lenient_truncated_file_keeps_complete_elements() -> None:
    """rtplan cut in the middle: every element wholly before the cut is there, as in the
    whole file, and the result encodes to a file pydicom reads."""
    cut = build("truncated-in-sequence")
    with pytest.warns(DicomStreamWarning):
        events = feed([cut], lenient=True)
    whole = feed([RTPLAN])
    # rtplan.dcm is implicit VR: 8-byte headers.
    complete = [e for e in whole if isinstance(e, Element) and e.offset + 8 + e.length <= len(cut)]
    assert [e for e in events if isinstance(e, Element)] == complete
    assert any(e.path for e in complete)  # the cut is inside a sequence
    out = Encoder().send_all(events)
    ds = pydicom.dcmread(io.BytesIO(out))
    assert ds.PatientName == "Last^First^mid^pre"
    top_sequences = [e.tag for e in events if isinstance(e, SequenceStart) and not e.path]
    assert [int(t) for t in ds.keys() if ds[t].VR == "SQ"] == top_sequences


def test_strict_is_the_default() -> None:
    with pytest.raises(TruncatedError):
        feed([build("unclosed-item")])


# --------------------------------------------------------------------------- CLI


@pytest.fixture(scope="module")
def hostile_paths(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("hostile")
    paths: dict[str, Path] = {}
    for name, case in CASES.items():
        if case.known_size:
            continue  # the CLI always knows a file's size: same bytes as the other case
        path = root / f"{name}.dcm"
        if name == "deflate-bomb":
            hostile.deflate_bomb(path)
        else:
            path.write_bytes(build(name))
        paths[name] = path
    return paths


def test_dump_fails_with_one_line(hostile_paths: dict[str, Path]) -> None:
    """``dicomstream dump`` on every hostile file: non-zero exit, exactly one stderr line
    naming the error class, no traceback (all run at once to spread process start-up)."""
    procs = {name: subprocess.Popen([sys.executable, "-m", "dicomstream", "dump", str(path)],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
             for name, path in hostile_paths.items()}
    failures: list[str] = []
    for name, proc in procs.items():
        _, err = proc.communicate(timeout=60)
        lines = err.decode(errors="replace").splitlines()
        case = CASES.get(f"{name}-known-size", CASES[name])  # the CLI knows file sizes
        expected = case.expected.__name__
        if (proc.returncode == 0 or len(lines) != 1 or "Traceback" in err.decode()
                or "offset" not in lines[0]
                or (case.exact and expected not in lines[0])):
            failures.append(f"{name}: exit {proc.returncode}, stderr {lines}")
    assert failures == []
