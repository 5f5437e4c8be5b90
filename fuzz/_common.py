"""What the fuzz targets share: the layout of a fuzz input, the seed corpus and the checks.

Why one module: the four harnesses (``fuzz_parser``, ``fuzz_roundtrip``,
``fuzz_collector_deid``, ``fuzz_stages``) and the regression tests must judge an input
the same way. So each check is a plain function of the fuzz input's bytes here; a harness is atheris
around one of them, and ``tests/hardening/test_fuzz_regressions.py`` calls them
uninstrumented on the saved crashers and on a few seeds.

**Input layout.** A fuzz input is :data:`CONTROL_LEN` control bytes, then the payload —
the bytes the parser sees. :func:`read_input` reads the control bytes through
:class:`atheris.FuzzedDataProvider`: they choose where the payload is cut into chunks,
how events are pulled (``events`` / ``next_event`` / ``next_batch``), small value
thresholds (so values stream as ``ValueStart``/``ValueChunk``/``ValueEnd``), the lenient
policy, event-by-event encoding, and the de-identification options. A seed is a corpus
file behind control bytes derived from its name (:func:`seed_inputs`). Mutations hit both
parts; the checks hold whatever the control bytes say.

**The rules** (issue #7). A check raises :class:`Finding` — never a
:class:`~dicomstream.errors.DicomStreamError`, so atheris reports it as a crash — when:

* an exception other than a ``DicomStreamError`` escapes dicomstream (those propagate
  as they are, with their own traceback);
* one operation (one parse, one encode, ``dcmread`` …) takes longer than
  :data:`SLOW_LIMIT` seconds (:class:`SlowInput`);
* the events, warnings or error depend on how the input was chunked or pulled, or on
  the source's size being known (:func:`check_parser`);
* an input that parses without a warning does not re-encode to its own bytes, or the
  re-encoded bytes do not parse to the same events (deflated input: the same events
  and, encoded again, the same bytes; input read with a warning: re-encoded bytes that
  parse and encode to themselves) (:func:`check_roundtrip`);
* the collector refuses what the parser accepts, does not save an unchanged dataset as
  the bytes its events encode to (deflated: as an equal dataset), or reads differently
  from a chunked async source; or the ``deid`` stage's output does not encode and parse
  back (:func:`check_collector_deid`);
* a built-in stage's fast path (``edit`` searching the tag column, ``filter``'s tag
  rules) gives other events or errors than its event-by-event walk, or a spliced batch
  encodes to other bytes than its events (:func:`check_stages`).

Warnings are recorded (and compared where the contract says they must agree), never
raised: ``warnings.catch_warnings`` wraps every operation, so a ``filterwarnings=error``
test run judges inputs the same way the fuzzer does.
"""

from __future__ import annotations

__all__ = (
    "ARTIFACTS_ENV",
    "CHECKS",
    "CONTROL_LEN",
    "IGNORE_ENV",
    "MAX_CHUNKS",
    "MAX_INPUT",
    "SLOW_LIMIT",
    "SLOW_LIMIT_ENV",
    "Finding",
    "Plan",
    "SlowInput",
    "check_collector_deid",
    "check_parser",
    "check_roundtrip",
    "corpus_files",
    "fuzz",
    "read_input",
    "seed_inputs",
)

import gc
import hashlib
import io
import os
import re
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import anyio
import atheris  # type: ignore[import-untyped]  # no type information shipped
import pydicom.data

from dicomstream.collector import Dataset, dcmread, read_dataset
from dicomstream.encoder import Encoder
from dicomstream.errors import DicomStreamError
from dicomstream.events import NEED_DATA, DatasetEnd, DatasetStart, Event, EventBatch, ValueChunk
from dicomstream.io import IterableSource
from dicomstream.parser import Parser
from dicomstream.transfer_syntax import lookup_transfer_syntax
from dicomstream_deid import OPTIONS, DeidConfig, DeidStage, ListAudit

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Coroutine, Sequence

_T = TypeVar("_T")

CONTROL_LEN = 16
"""Control bytes at the start of every fuzz input (see the module docstring)."""

MAX_INPUT = 1 << 20
"""Inputs up to this size (control bytes included) must end within :data:`SLOW_LIMIT`."""

SLOW_LIMIT = 1.0
"""Seconds one operation may take on an input of at most :data:`MAX_INPUT` bytes
(issue #7). The runner passes ``--slow-limit`` to raise it for coverage-instrumented
runs on a loaded machine; the regression tests use this value, uninstrumented."""

MAX_CHUNKS = 1024
"""Most chunks an input is cut into; whatever is left comes as one last chunk (feeding
1 MiB byte by byte would measure the harness, not the parser)."""

DEID_KEY = b"fuzz key: dicomstream hardening 0123456789"
"""The fixed project key of the de-identification stage (as in the deid tests)."""

_CONFIG_REUSE = 512
"""A de-identification config is rebuilt after this many objects: it caches one plan
per SOP Class UID, and fuzzed UIDs are endless (a bulk run sees a few dozen)."""

_PULLS = ("events", "next_event", "next_batch", "events")

_NOT_DICOM_SUFFIXES = frozenset({".py", ".pyc", ".json", ".txt", ".md", ".gz", ".icc",
                                 ".dump"})


class Finding(Exception):
    """A check failed: a bug in dicomstream (not a ``DicomStreamError``, on purpose)."""


class SlowInput(Finding):
    """One operation took longer than the time limit."""


# -- the input layout -----------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """What the control bytes of a fuzz input ask for.

    Attributes:
        sizes: chunk sizes, used in turn until the payload is cut (at most
            :data:`MAX_CHUNKS` chunks).
        pull: how events are taken from the parser: ``events``, ``next_event`` or
            ``next_batch``.
        parser_options: ``value_threshold`` and ``chunk_size`` (small ones make values
            stream) and, for the parser target, ``lenient``.
        per_event: encode event by event (``Encoder.send``) instead of batch by batch.
        deid_options: options of the de-identification profile.
        audit: give the de-identification stage an audit sink.
    """

    sizes: tuple[int, ...]
    pull: str = "events"
    parser_options: dict[str, Any] = field(default_factory=dict)
    per_event: bool = False
    deid_options: frozenset[str] = frozenset()
    audit: bool = False

    def chunks(self, payload: bytes) -> list[bytes]:
        """``payload`` cut as the plan says (never an empty chunk: that ends input)."""
        out: list[bytes] = []
        pos, n, sizes = 0, len(payload), self.sizes
        while pos < n and len(out) < MAX_CHUNKS - 1:
            size = sizes[len(out) % len(sizes)]
            out.append(payload[pos:pos + size])
            pos += size
        if pos < n:
            out.append(payload[pos:])
        return out


def read_input(data: bytes) -> tuple[Plan, bytes]:
    """The plan the control bytes of ``data`` describe, and the payload."""
    fdp = atheris.FuzzedDataProvider(data[:CONTROL_LEN])
    flags = fdp.ConsumeIntInRange(0, 255)
    option_bits = fdp.ConsumeIntInRange(0, (1 << len(OPTIONS)) - 1)
    threshold = fdp.ConsumeIntInRange(0, 1024)
    chunk_size = fdp.ConsumeIntInRange(8, 4096)
    sizes: list[int] = []
    while fdp.remaining_bytes() and len(sizes) < 8:
        scale = fdp.ConsumeIntInRange(0, 17)  # 1 B … 128 KiB, small ones as likely
        sizes.append(fdp.ConsumeIntInRange(1, 1 << scale))
    parser_options: dict[str, Any] = {}
    if flags & 4:
        parser_options.update(value_threshold=threshold, chunk_size=chunk_size)
    if flags & 8:
        parser_options["lenient"] = True
    options = {o for i, o in enumerate(OPTIONS) if option_bits >> i & 1}
    if {"retain-long-full-dates", "retain-long-modified-dates"} <= options:
        options.discard("retain-long-modified-dates")  # they exclude each other
    plan = Plan(sizes=tuple(sizes) or (1,), pull=_PULLS[flags & 3],
                parser_options=parser_options, per_event=bool(flags & 16),
                deid_options=frozenset(options), audit=bool(flags & 32))
    return plan, data[CONTROL_LEN:]


# -- seeds --------------------------------------------------------------------------------


def corpus_files() -> list[tuple[str, Path]]:
    """Every DICOM file of the pydicom wheel's data folder (``test_files/`` with
    ``dicomdirtests/``, ``charset_files/``, ``palettes/``): (relative name, path), chosen
    as ``tests/corpus.py`` chooses them."""
    root = Path(pydicom.data.__file__).parent
    files = [p for p in root.rglob("*")
             if p.is_file() and p.suffix not in _NOT_DICOM_SUFFIXES
             and not p.name.startswith("README") and "__pycache__" not in p.parts]
    return sorted((p.relative_to(root).as_posix(), p) for p in files)


def seed_inputs(max_len: int = MAX_INPUT) -> list[tuple[str, bytes]]:
    """The seed corpus: each corpus file behind control bytes derived from its name,
    cut to ``max_len`` bytes in all. (file name for the seed, fuzz input)"""
    seeds = []
    for name, path in corpus_files():
        control = hashlib.sha256(name.encode()).digest()[:CONTROL_LEN]
        data = control + path.read_bytes()
        seeds.append((name.replace("/", "__"), data[:max_len]))
    return seeds


# -- running dicomstream --------------------------------------------------------------------


@dataclass
class Parsed:
    """What one parse gave: the events (``ValueChunk`` data as bytes) in the batches they
    came in, the warnings' texts, and the error that ended it (if any)."""

    batches: list[list[Event]]
    warnings: list[str]
    error: DicomStreamError | None

    @property
    def events(self) -> list[Event]:
        return [e for batch in self.batches for e in batch]


def _timed(what: str, limit: float, run: Callable[[], _T]) -> _T:
    """``run()``, raising :class:`SlowInput` when it takes longer than ``limit`` s."""
    start = time.perf_counter()
    try:
        return run()
    finally:
        took = time.perf_counter() - start
        if took > limit:
            raise SlowInput(f"{what} took {took:.2f} s (limit {limit:.2f} s)")


def _materialise(batch: Sequence[Event]) -> list[Event]:
    return [e._replace(data=bytes(e.data)) if type(e) is ValueChunk
            else e for e in batch]


def parse(chunks: Sequence[bytes], *, pull: str = "events", **options: Any) -> Parsed:
    """Feed ``chunks`` to a fresh parser, end the input, take every event."""
    parser = Parser(**options)
    batches: list[list[Event]] = []

    def drain() -> None:
        if pull == "next_event":
            while (event := parser.next_event()) is not NEED_DATA:
                assert isinstance(event, Event)
                batches.append(_materialise((event,)))
            return
        take = parser.events if pull == "events" else parser.next_batch
        while batch := take():
            batches.append(_materialise(batch))

    error = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            for chunk in chunks:
                parser.receive_data(chunk)
                drain()
            parser.receive_data(b"")
            drain()
        except DicomStreamError as exc:
            error = exc
    return Parsed(batches, [f"{w.category.__name__}: {w.message}" for w in caught], error)


def _error_text(error: BaseException | None) -> str:
    return "no error" if error is None else f"{type(error).__name__}: {error}"


def _first_difference(a: Sequence[Event], b: Sequence[Event]) -> str:
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return f"event {i}: {x!r:.300} != {y!r:.300}"
    return f"{len(a)} events != {len(b)} events"


def _same_parse(what: str, ref: Parsed, other: Parsed) -> None:
    """``other`` must give what ``ref`` gave: the same error, warnings and events. When
    the parse failed, only the events before the error was raised count, and how many
    arrive before it depends on when it is raised (an ``events()`` call that raises
    drops the events it had made), so then one list must be a prefix of the other."""
    if _error_text(ref.error) != _error_text(other.error):
        raise Finding(f"{what}: {_error_text(other.error)} where the reference gave "
                      f"{_error_text(ref.error)}")
    if ref.warnings != other.warnings:
        raise Finding(f"{what}: warnings {other.warnings} != {ref.warnings}")
    ref_events, events = ref.events, other.events
    if ref.error is not None:
        n = min(len(ref_events), len(events))
        ref_events, events = ref_events[:n], events[:n]
    if events != ref_events:
        raise Finding(f"{what}: events differ, {_first_difference(ref_events, events)}")


def encode(batches: Sequence[Sequence[Event]], *, per_event: bool = False) -> bytes:
    """Encode in the input's own syntax, batch by batch (or event by event)."""
    encoder = Encoder()
    if per_event:
        out = b"".join(encoder.send(e) for batch in batches for e in batch)
    else:
        out = b"".join(encoder.send_all(batch) for batch in batches)
    if not encoder.finished:
        raise Finding("the encoder is not finished after DatasetEnd")
    return out


def encode_as_read(chunks: Sequence[bytes], pull: str, **options: Any) -> bytes:
    """Parse and encode as a pipeline does: each batch straight from the parser to the
    encoder, unchanged (so the encoder may write it as the bytes it was read from)."""
    parser = Parser(**options)
    encoder = Encoder()
    take = parser.events if pull == "events" else parser.next_batch
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for chunk in (*chunks, b""):
            parser.receive_data(chunk)
            while batch := take():
                out.append(encoder.send_all(batch))
    return b"".join(out)


def _deflated(events: Sequence[Event]) -> bool:
    start = next((e for e in events if type(e) is DatasetStart), None)
    if start is None:
        raise Finding("a stream that parsed has no DatasetStart")
    return lookup_transfer_syntax(start.transfer_syntax).deflated


# -- the checks ---------------------------------------------------------------------------


def _ends_properly(parsed: Parsed) -> None:
    """A parse that raised nothing has ended its dataset: exactly one ``DatasetEnd``, last
    (truncation is an error, or a warning under the lenient policy — never silent)."""
    if parsed.error is not None:
        return
    events = parsed.events
    ends = sum(type(e) is DatasetEnd for e in events)
    if ends != 1 or type(events[-1]) is not DatasetEnd:
        last = type(events[-1]).__name__ if events else "no event"
        raise Finding(f"the input ended without an error, {ends} DatasetEnd events, the last "
                      f"event {last}")


def check_parser(data: bytes, *, limit: float = SLOW_LIMIT) -> None:
    """Target (a): the parser on any input, in any chunks, pulled any way.

    The reference is the whole input in one chunk; the input cut as the plan says (and
    pulled its way) must give the same events, warnings and error. Told the source's
    size (as ``dcmread`` does), a strict parser must accept exactly what it accepted,
    with the same events; an error may differ (a length that runs past the end is
    refused at its header), and a lenient one is not compared (a length past a known
    end is an error even then, see ``fuzz/README.md``)."""
    plan, payload = read_input(data)
    options = plan.parser_options
    ref = _timed("parse (whole)", limit, lambda: parse([payload], **options))
    _ends_properly(ref)
    chunks = plan.chunks(payload)
    split = _timed(f"parse ({len(chunks)} chunks)", limit,
                   lambda: parse(chunks, pull=plan.pull, **options))
    _same_parse(f"{len(chunks)} chunks, pulled by {plan.pull}", ref, split)
    sized = _timed("parse (sized)", limit,
                   lambda: parse([payload], source_size=len(payload), **options))
    if options.get("lenient"):
        return
    if ref.error is None or sized.error is None:
        _same_parse("told the source size", ref, sized)


def check_roundtrip(data: bytes, *, limit: float = SLOW_LIMIT) -> None:
    """Target (b): parse → encode → parse gives identical events and bytes.

    An input that parses (strict policy) without a warning encodes to its own bytes,
    batch by batch or event by event, and so do the parser's own batches (written as
    read, ``EventBatch.raw``); the re-encoded bytes parse to the same events. A deflated
    input re-encodes to an equal dataset, not the same compressed bytes: there the
    events of the re-encoded bytes must equal the input's, and encoding them again must
    give the same bytes once more (the deflater is deterministic). An input read with a
    warning may re-encode differently — the warning says so (a delimiter's non-zero
    length, a meta element in implicit VR) — but the re-encoded bytes must parse, and
    encode to themselves."""
    plan, payload = read_input(data)
    options = {k: v for k, v in plan.parser_options.items() if k != "lenient"}
    first = _timed("parse", limit, lambda: parse(plan.chunks(payload), pull=plan.pull,
                                                 **options))
    _ends_properly(first)
    if first.error is not None:
        return
    events = first.events
    out = _timed("encode", limit, lambda: encode(first.batches, per_event=plan.per_event))
    deflated = _deflated(events)
    warned = bool(first.warnings)
    if not deflated and not warned and out != payload:
        raise Finding(f"re-encoded {len(out)} bytes differ from the {len(payload)} input "
                      f"bytes, first at {_where(events, _first_byte_difference(out, payload))}")
    live = _timed("encode (as read)", limit, lambda: encode_as_read(
        plan.chunks(payload), "next_batch" if plan.pull == "next_batch" else "events",
        **options))
    if not warned and live != out:
        raise Finding("the parser's own batches (EventBatch.raw) encode to other bytes than "
                      f"their events, first at {_first_byte_difference(live, out)}")
    again = _timed("parse (re-encoded)", limit, lambda: parse([out], **options))
    if again.error is not None:
        raise Finding(f"the re-encoded bytes do not parse: {_error_text(again.error)}")
    if not warned and again.events != events:
        raise Finding("the re-encoded bytes parse to other events: "
                      f"{_first_difference(events, again.events)}")
    if deflated or warned:
        out2 = _timed("encode (again)", limit, lambda: encode(again.batches))
        if out2 != out:
            raise Finding(f"the re-encoded bytes encode to other bytes the second time, first "
                          f"at {_first_byte_difference(out2, out)}")


_STAGE_EDITS: tuple[dict[str, Any], ...] = (
    {"set": {"PatientName": "ANON", "PatientID": "X1"}},
    {"delete": ["ReferencedSOPSequence", "PixelData", "IconImageSequence"],
     "insert": {"StudyID": "S1"}},
    {"replace": {"PixelData": b"\x00\x01", "Rows": 2}, "set": {"0x00091001": "P"}},
)


def check_stages(data: bytes, *, limit: float = SLOW_LIMIT) -> None:
    """Target (d): the built-in stages' fast paths equal their walks, and a spliced
    batch encodes to the bytes of its events.

    ``edit`` with top-level edits searches the tag column instead of walking every
    event, ``filter``'s tag rules do the same, and both hand the encoder spans of the
    input it copies as bytes. On any input that parses, the parser's batches through
    each stage must give the events the event-by-event walk gives on plain lists, and
    the encoder the bytes it gives for those events one by one — unless the parse
    warned: then the input bytes may differ from their events' encoding, as
    :func:`check_roundtrip` allows. Errors must match."""
    from dicomstream.stages import EditStage, FilterStage

    plan, payload = read_input(data)
    options = {k: v for k, v in plan.parser_options.items() if k != "lenient"}
    parsed = _timed("parse", limit, lambda: _parser_batches(plan.chunks(payload), **options))
    if parsed is None:
        return
    batches, warned = parsed
    pick = payload[0] if payload else 0
    makers = [lambda: EditStage(**_STAGE_EDITS[pick % len(_STAGE_EDITS)]),
              lambda: FilterStage(remove_private=True, remove_groups=[0x0029] if pick & 8
                                  else [], remove_tags=[0x00100010] if pick & 16 else [])]
    slow = ("_top_only", "_by_tag_only")
    for make, flag in zip(makers, slow, strict=True):
        fast = make()
        fast_out, fast_error = _timed("stage", limit, lambda: _through_stage(
            fast, batches, plain=False))  # noqa: B023 - called here, in this iteration
        walker = make()
        setattr(walker, flag, False)
        slow_out, slow_error = _through_stage(walker, batches, plain=True)
        name = type(walker).__name__
        if type(fast_error) is not type(slow_error):
            raise Finding(f"{name}: the fast path raised {fast_error!r}, the walk "
                          f"{slow_error!r}")
        fast_events = [e for b in fast_out for e in b]
        slow_events = [e for b in slow_out for e in b]
        if fast_events != slow_events:
            raise Finding(f"{name}: fast path and walk differ, "
                          f"{_first_difference(slow_events, fast_events)}")
        if fast_error is None and not warned:
            spliced = _timed("encode", limit, lambda: _encoded(fast_out))  # noqa: B023
            if spliced != _encoded([list(b) for b in fast_out]):
                raise Finding(f"{name}: a spliced batch encodes to other bytes than its "
                              "events")
            # The same events as a plain list a stage returned: the encoder finds the
            # stretches that are still the input's by identity (no spans).
            found = [batch.derive(list(out)) if out and batch.raw is not None else out
                     for batch, out in zip(batches, fast_out, strict=False)]
            found += fast_out[len(batches):]
            if _encoded(found) != spliced:
                raise Finding(f"{name}: a batch whose unchanged stretches are found by "
                              "identity encodes to other bytes than the spliced one")


def _parser_batches(chunks: Sequence[bytes], **options: Any
                    ) -> tuple[list[EventBatch], bool] | None:
    """The parser's own batches (``next_batch``, raw stretches kept) and whether it
    warned, or ``None`` if the input does not parse."""
    parser = Parser(**options)
    batches: list[EventBatch] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            for chunk in (*chunks, b""):
                parser.receive_data(chunk)
                while batch := parser.next_batch():
                    batches.append(batch)  # type: ignore[arg-type]
        except DicomStreamError:
            return None
    return batches, bool(caught)


def _through_stage(stage: Any, batches: list[EventBatch], *, plain: bool
                   ) -> tuple[list[list[Event]], DicomStreamError | None]:
    out: list[list[Event]] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            for batch in batches:
                result = stage.transform(list(batch) if plain else batch)
                out.append(batch.derive(result)
                           if result and not plain and result is not batch else result)
            out.append(stage.finish())
        except DicomStreamError as exc:
            return out, exc
    return out, None


def _encoded(batches: Sequence[list[Event]]) -> bytes | str:
    """The bytes, or the error's type name (both ways must fail alike)."""
    encoder = Encoder()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return b"".join(bytes(p) for b in batches for p in encoder.send_all_parts(b))
        except DicomStreamError as exc:
            return type(exc).__name__


def _where(events: Sequence[Event], pos: int) -> str:
    """``pos`` and the event whose bytes hold it (the last that starts at or before it)."""
    holder = None
    for event in events:
        offset = getattr(event, "offset", -1)
        if 0 <= offset <= pos and type(event) is not DatasetStart:
            holder = event
    if holder is None:
        return f"{pos}"
    tag = getattr(holder, "tag", None)
    name = type(holder).__name__ + (f" ({tag >> 16:04X},{tag & 0xFFFF:04X})"
                                    if isinstance(tag, int) else "")
    return f"{pos}, byte {pos - holder.offset} of {name} at {holder.offset}"  # type: ignore[attr-defined]


def _first_byte_difference(a: bytes, b: bytes) -> int:
    return next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y),
                min(len(a), len(b)))


_configs: dict[tuple[frozenset[str], bool], tuple[DeidConfig, int]] = {}


_CONFIGS_KEPT = 32
"""Configs kept at once: each builds its plans (~2,400 actions per SOP class), and the
option sets of a long run are many; kept without bound they slow every full GC."""


def _deid_config(options: frozenset[str], audit: bool) -> DeidConfig:
    config, uses = _configs.get((options, audit), (None, 0))
    if config is None and len(_configs) >= _CONFIGS_KEPT:
        _configs.clear()
    if config is None or uses >= _CONFIG_REUSE:
        config = DeidConfig.create(DEID_KEY, options,
                                   audit=ListAudit(values=True) if audit else None)
        uses = 0
    _configs[options, audit] = (config, uses + 1)
    return config


def _await(coro: Coroutine[Any, Any, _T]) -> _T:
    """Run a coroutine that never suspends (the ``deid`` stage awaits nothing)."""
    try:
        coro.send(None)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]
    coro.close()
    raise RuntimeError("the stage suspended: drive it with anyio instead")


def deid(batches: Sequence[list[Event]], options: frozenset[str], audit: bool
         ) -> list[list[Event]]:
    """Run the ``deid`` stage over ``batches`` (as a pipeline would), then flush."""
    stage = DeidStage(_deid_config(options, audit))
    out = [_await(stage.process(list(batch))) for batch in batches]
    out.append(_await(stage.flush()))
    stage.report()
    return out


def _exercise(ds: Dataset) -> None:
    """What a user does with a dataset: print it, DICOM JSON, walk every value."""
    for elem in ds.iterall():
        try:
            elem.value  # noqa: B018 - decoding is the point
        except DicomStreamError:
            pass
    str(ds)
    ds.to_json_dict()


def check_collector_deid(data: bytes, *, limit: float = SLOW_LIMIT) -> None:
    """Target (c): ``dcmread``, ``read_dataset`` and the ``deid`` stage.

    ``dcmread`` must accept exactly the inputs the parser accepts; its dataset decodes
    every value, prints and converts to DICOM JSON (a ``DicomStreamError`` there is
    allowed), and saves unchanged as the bytes its events encode to (deflated: as an
    equal dataset); ``read_dataset`` from a chunked source of unknown size gives an
    equal dataset. The ``deid`` stage, with the plan's options, runs over the parsed
    events (it may refuse with a ``DicomStreamError``), and its output encodes and
    parses."""
    plan, payload = read_input(data)
    parsed = _timed("parse", limit, lambda: parse(plan.chunks(payload), pull=plan.pull))
    _ends_properly(parsed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = _collect(payload, parsed, limit)
        if ds is not None and parsed.error is not None:
            raise Finding(f"dcmread accepts what the parser refuses: "
                          f"{_error_text(parsed.error)}")
        if ds is not None:
            _timed("dataset use", limit, lambda: _guarded(_exercise, ds))
            _check_save(payload, ds, parsed, limit)
            chunks = plan.chunks(payload)
            try:
                streamed = _timed("read_dataset", limit,
                                  lambda: anyio.run(_read_async, chunks))
            except DicomStreamError as exc:
                raise Finding(f"read_dataset refuses what dcmread read: "
                              f"{_error_text(exc)}") from exc
            if streamed != ds:
                raise Finding("read_dataset from chunks gives another dataset than dcmread")
        if parsed.error is not None:
            return
        out = _timed("deid", limit, lambda: _guarded(
            deid, parsed.batches, plan.deid_options, plan.audit))
        if out is None:
            return
        try:
            encoded = _timed("encode (deid)", limit, lambda: encode(out))
        except DicomStreamError as exc:
            raise Finding(f"the de-identified events do not encode: {_error_text(exc)}"
                          ) from exc
    again = _timed("parse (deid)", limit, lambda: parse([encoded]))
    if again.error is not None and not _reads_as_preamble(parsed, encoded):
        raise Finding(f"the de-identified output does not parse: "
                      f"{_error_text(again.error)}")


def _reads_as_preamble(parsed: Parsed, encoded: bytes) -> bool:
    """A dataset without preamble or meta whose bytes 128-131 are ``DICM``: every reader
    (dicomstream, pydicom, dcmtk) takes those 128 bytes for a preamble, as PS3.10 offers
    no other signal. A de-identified value of another length can move a ``DICM`` from
    inside a value to that offset; that output is right, and the format ambiguous."""
    first = parsed.events[0] if parsed.events else None
    return (type(first) is DatasetStart and not first.has_meta
            and encoded[128:132] == b"DICM")


def _guarded(run: Callable[..., _T], *args: Any) -> _T | None:
    """``run(*args)``, or None when it raises a ``DicomStreamError`` (allowed)."""
    try:
        return run(*args)
    except DicomStreamError:
        return None


def _collect(payload: bytes, parsed: Parsed, limit: float) -> Dataset | None:
    try:
        return _timed("dcmread", limit, lambda: dcmread(payload))
    except DicomStreamError as exc:
        if parsed.error is None:
            raise Finding(f"dcmread refuses what the parser accepts: "
                          f"{_error_text(exc)}") from exc
        return None


def _check_save(payload: bytes, ds: Dataset, parsed: Parsed, limit: float) -> None:
    """``save_as`` of the unchanged dataset writes what the parsed events encode to —
    the input's bytes, unless the round-trip target has a finding of its own on this
    input; a deflated dataset reads back equal."""
    buffer = io.BytesIO()
    try:
        _timed("save_as", limit, lambda: ds.save_as(buffer))
    except DicomStreamError as exc:
        raise Finding(f"an unchanged dataset does not save: {_error_text(exc)}") from exc
    out = buffer.getvalue()
    if not _deflated(parsed.events):
        try:
            expected = _timed("encode", limit, lambda: encode(parsed.batches))
        except DicomStreamError as exc:
            raise Finding(f"the parsed events do not encode: {_error_text(exc)}") from exc
        if out != expected:
            raise Finding(f"save_as of the unchanged dataset: {len(out)} bytes differ from "
                          f"the {len(expected)} bytes its events encode to, first at "
                          f"{_first_byte_difference(out, expected)}")
        return
    try:
        again = _timed("dcmread (saved)", limit, lambda: dcmread(out))
    except DicomStreamError as exc:
        raise Finding(f"the saved deflated dataset does not read: {_error_text(exc)}"
                      ) from exc
    if again != ds:
        raise Finding("the saved deflated dataset reads as another dataset")


async def _read_async(chunks: Sequence[bytes]) -> Dataset:
    async def produce() -> AsyncIterator[bytes]:
        for chunk in chunks:
            yield chunk

    return await read_dataset(IterableSource(produce()))


CHECKS: dict[str, Callable[..., None]] = {
    "parser": check_parser,
    "roundtrip": check_roundtrip,
    "collector_deid": check_collector_deid,
    "stages": check_stages,
}
"""The check of each target, by target name."""


# -- the harness entry point ----------------------------------------------------------------

SLOW_LIMIT_ENV = "DICOMSTREAM_FUZZ_SLOW_LIMIT"
"""Environment variable the runner sets to pass ``--slow-limit`` to a target process."""

IGNORE_ENV = "DICOMSTREAM_FUZZ_IGNORE"
"""Environment variable the runner sets to pass ``--ignore`` patterns (one a line)."""

ARTIFACTS_ENV = "DICOMSTREAM_FUZZ_ARTIFACTS"
"""Environment variable naming the directory where a failing input is saved as
``finding-SHA1`` before the failure propagates (libFuzzer writes ``crash-SHA1`` too, but
not when a pending ``-timeout`` alarm kills the process while it reports)."""


def _load_lazy_tables() -> None:
    """Load what dicomstream loads on first use — the public, private and UID data
    dictionaries, about 1 MB of generated source, compiled on that first use when
    bytecode is not cached — so the first input that needs one is not timed with the
    load."""
    from dicomstream import dictionary

    dictionary.lookup(0x00100010)
    dictionary.private_entry("GEMS_IMAG_01", 0x00271045)
    dictionary.uid_name("1.2.840.10008.1.2")


def fuzz(check: Callable[..., None]) -> None:
    """Run ``check`` under libFuzzer with this process's command line (never returns).

    A failure whose ``"ExceptionType: message"`` matches one of the ``--ignore``
    patterns is not reported: that lets a long run look past a bug already reported
    (libFuzzer stops at the first crash, and its fork mode does not work under atheris).
    """
    limit = float(os.environ.get(SLOW_LIMIT_ENV) or SLOW_LIMIT)
    ignored = [re.compile(p) for p in os.environ.get(IGNORE_ENV, "").splitlines() if p]
    artifacts = os.environ.get(ARTIFACTS_ENV)
    _load_lazy_tables()
    # Everything alive now lives as long as the process (modules, the dictionaries'
    # ~0.5 M objects): out of the collector's sight, a full collection no longer takes
    # ~0.3 s — ~1 s with the other core busy — in the middle of some input's timing.
    gc.collect()
    gc.freeze()

    def test_one_input(data: bytes) -> None:
        try:
            check(data, limit=limit)
        except Exception as exc:
            text = f"{type(exc).__name__}: {exc}"
            if any(p.search(text) for p in ignored):
                return
            if artifacts:
                name = f"finding-{hashlib.sha1(data).hexdigest()}"
                Path(artifacts, name).write_bytes(data)
                Path(artifacts, name + ".txt").write_text(text[:2000] + "\n")
            raise

    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
