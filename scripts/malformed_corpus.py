#!/usr/bin/env python3
"""Malformed-input corpus: mutate real DICOM files, declare what must happen, check it.

Why this exists: the parser's promise (DESIGN.md §1) is that bad input raises a typed
:class:`~dicomstream.errors.ParseError` carrying a byte offset and a tag path, that
truncated input is an error by default (a warning under ``lenient=True``), and that it is
*never* silently accepted. Hand-built hostile files (``tests/hostile_files.py``) test a
dozen shapes; this script derives hundreds more from the real corpus (every DICOM file of
the pydicom wheel, ``tests/corpus.py``): truncations at every kind of position, bit flips
in headers, lengths off by one, garbled VR bytes, missing and duplicated delimiters, wrong
meta group lengths — and value bit flips as a control that must change nothing else.

Each case carries the outcome its generator EXPECTS, derived from the structure of the
original file (a layout built from the original's events), not from running the parser on
the mutated bytes. Every case runs in four modes (``strict``: the defaults; ``sized``:
``source_size`` known; ``lenient``; ``stream``: tiny value threshold and chunk size, so
values stream), each fed whole and in random splits (and byte by byte when small); the
outcome must not depend on the split (error class, offset and path; for an
InflateError the offset may differ: zlib drops the output of a failing call). Runs are
classified as:

* ``typed-error`` — a ParseError subclass the case allows, with an int ``offset`` and a
  well-formed ``path``;
* ``warned`` — success with recorded warnings, where the case allows it;
* ``silent-ok`` — success without warnings, where the case allows it (clean cuts at a
  top-level element boundary, value flips, wrong meta group lengths …);
* ``SILENT-TRUNCATION`` — the input ended and the parser raised nothing and recorded no
  warning, yet input was lost, namely (a) the events do not account for every input
  byte: no ``DatasetEnd`` at all, ``DatasetEnd.offset`` short of the end of the
  (inflated) stream, a deflate stream that never ended, or bytes after it that the
  parser's own policy refuses (anything but one NUL pad or a matching gzip trailer); or
  (b) the generator knows the mutation removed bytes the structure declares: a cut that
  is not at a clean top-level element boundary, a meta group cut short of its (0002,0000)
  group length, a cut preamble;
* ``unexpected-outcome`` — anything else that differs from the declaration (another error
  class, success where an error is required, events that differ from the reference, an
  error without offset/path, an outcome that depends on the chunking, events that do not
  re-encode to the input — where a case allows it, modulo the reserved bytes of a long VR
  header, which PS3.5 7.1.2 says are "not used or decoded");
* ``unexpected-exception`` — anything raised that is not a DicomStreamError (or a hang).

Usage::

    .venv/bin/python scripts/malformed_corpus.py [--seed N] [--limit N] [--verbose]
                                                 [--json FILE]

Exit status 1 when any run is a silent truncation, an unexpected exception or an
unexpected outcome; 0 otherwise. Deterministic for a given ``--seed``.
"""

from __future__ import annotations

__all__ = ("CATEGORIES", "FAILING", "MODES", "Case", "CaseResult", "Outcome", "RunResult",
           "classify", "coverage_problem", "feed", "generate_cases", "main", "print_report",
           "run_case", "run_cases", "summarize", "to_json")

import argparse
import json
import random
import re
import signal
import struct
import sys
import threading
import time
import warnings
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from malformed_cases import (  # noqa: E402
    DEFLATED,
    MODES,
    Case,
    generate_cases,
    inflate,
    materialise,
    parse_all,
)

from dicomstream.encoder import Encoder  # noqa: E402
from dicomstream.errors import DicomStreamError, InflateError, ParseError  # noqa: E402
from dicomstream.events import (  # noqa: E402
    NEED_DATA,
    DatasetEnd,
    DatasetStart,
    Element,
    Event,
    FragmentsEnd,
    ItemEnd,
    SequenceEnd,
    ValueChunk,
    ValueEnd,
)
from dicomstream.parser import Parser  # noqa: E402
from dicomstream.transfer_syntax import lookup_transfer_syntax  # noqa: E402

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

HANG_SECONDS = 20.0  # one case (all modes and chunkings) takes milliseconds
BYTEWISE_MAX = 4 * 1024  # inputs up to this size are also fed one byte at a time

CATEGORIES = ("typed-error", "warned", "silent-ok", "SILENT-TRUNCATION",
              "unexpected-outcome", "unexpected-exception")
FAILING = frozenset(CATEGORIES[3:])

_PATH_RE = re.compile(
    r"^(\([0-9A-F]{4},[0-9A-F]{4}\)(\[\d+\])?)?( > \([0-9A-F]{4},[0-9A-F]{4}\)(\[\d+\])?)*$")
_CLOSERS = (ValueEnd, SequenceEnd, ItemEnd, FragmentsEnd, DatasetEnd)


# ----------------------------------------------------------------------------- running


class Hang(BaseException):
    """A case took longer than :data:`HANG_SECONDS` (a BaseException, so that nothing on
    the way catches it before :func:`run_case` does)."""


@dataclass(slots=True)
class Outcome:
    """What one parse produced: events (those before the error too), warnings, error."""

    events: list[Event]
    warnings: list[str]
    error: Exception | None

    def signature(self) -> tuple[object, ...]:
        """Equal for equal outcomes (events before an error may depend on the split).

        The offset of an :class:`InflateError` may: zlib drops the output of a call that
        fails, so it names the end of what earlier calls inflated, and a limit trips at
        the batch where it is exceeded; class and path must still agree.
        """
        e = self.error
        if e is None:
            return ("ok", tuple(self.events), tuple(self.warnings))
        if isinstance(e, InflateError):
            return ("error", type(e).__name__, e.path)
        if isinstance(e, ParseError):
            return ("error", type(e).__name__, e.offset, e.path, str(e))
        return ("exception", type(e).__name__, str(e))


@dataclass(slots=True)
class RunResult:
    """One case in one mode: its category and what happened."""

    mode: str
    category: str
    outcome: str
    detail: str = ""
    error: dict[str, Any] | None = None


@dataclass(slots=True)
class CaseResult:
    case: Case
    runs: list[RunResult] = field(default_factory=list)

    @property
    def category(self) -> str:
        """The most severe category among the runs."""
        order = ("unexpected-exception", "SILENT-TRUNCATION", "unexpected-outcome",
                 "typed-error", "warned", "silent-ok")
        return min((r.category for r in self.runs), key=order.index)


def _chunks(data: bytes, sizes: Sequence[int] | None) -> Iterator[bytes]:
    if sizes is None:
        if data:
            yield data
        return
    pos = 0
    for size in sizes:
        if pos >= len(data):
            return
        yield data[pos:pos + size]
        pos += size
    if pos < len(data):
        yield data[pos:]


def feed(data: bytes, options: dict[str, Any], sizes: Sequence[int] | None = None,
         pull: str = "events") -> Outcome:
    """Feed ``data`` (whole, or in chunks of ``sizes``) to a fresh parser, end the input
    and collect every event, the warnings and the exception raised, if any."""
    parser = Parser(**options)
    out: list[Event] = []
    error: Exception | None = None

    def drain() -> None:
        if pull == "events":
            while batch := parser.events():
                out.extend(materialise(batch))
            return
        while (event := parser.next_event()) is not NEED_DATA:
            assert isinstance(event, Event)
            out.extend(materialise([event]))

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            for chunk in _chunks(data, sizes):
                parser.receive_data(chunk)
                drain()
            parser.receive_data(b"")
            drain()
        except Exception as exc:  # classified by the caller, whatever it is
            error = exc
    found = list(parser.warnings)
    found += [str(w.message) for w in caught if str(w.message) not in found]
    return Outcome(out, found, error)


def _random_sizes(rng: random.Random, total: int) -> list[int]:
    """Random chunk sizes covering ``total`` bytes: tiny to page-sized pieces, at most
    about 2000 of them (so a 40 KiB file is not fed in 3-byte pieces)."""
    biggest = max(rng.choice((3, 17, 256, 4096)), total // 1000)
    sizes: list[int] = []
    while total > 0:
        sizes.append(rng.randint(1, biggest))
        total -= sizes[-1]
    return sizes


def _reference_events(case: Case, mode: str) -> list[Event]:
    base = case.base
    if base is None:
        return []
    if mode == "stream":
        if base.name not in _STREAM_EVENTS:
            _STREAM_EVENTS[base.name] = parse_all(base.data, **MODES["stream"])
        return _STREAM_EVENTS[base.name]
    return base.events


_STREAM_EVENTS: dict[str, list[Event]] = {}
"""The originals' events in ``stream`` mode, by base name."""


def _gzip_trailer(inflated: bytes) -> bytes:
    return struct.pack("<LL", zlib.crc32(inflated), len(inflated) & 0xFFFFFFFF)


def coverage_problem(data: bytes, events: list[Event], ignorable: Sequence[int] = ()
                     ) -> tuple[str, str] | None:
    """Whether a successful parse accounted for every byte of ``data``: ``None``, or the
    category (``SILENT-TRUNCATION`` when bytes were lost, ``unexpected-outcome`` when the
    events do not re-encode to the input) and why."""
    lost = "SILENT-TRUNCATION"
    end = events[-1] if events else None
    starts = [e for e in events if type(e) is DatasetStart]
    if type(end) is not DatasetEnd or not starts:
        last = events[-1].fields().get("offset", 0) if events else 0
        return lost, (f"the input ended but the parser gave neither DatasetEnd nor an error "
                      f"(last event at offset {last} of {len(data)})")
    start = starts[0]
    try:
        encoded = Encoder().send_all(events)
    except DicomStreamError as exc:
        return "unexpected-outcome", f"the encoder refused the events: {exc}"
    if not lookup_transfer_syntax(start.transfer_syntax).deflated:
        if end.offset != len(data):
            return lost, f"DatasetEnd at {end.offset}, but the input has {len(data)} bytes"
        if ignorable:
            data = bytes(0 if i in ignorable else b for i, b in enumerate(data))
        if encoded != data:
            at = next((i for i, (a, b) in enumerate(zip(encoded, data, strict=False))
                       if a != b), min(len(encoded), len(data)))
            return "unexpected-outcome", f"the events re-encode differently from byte {at}"
        return None
    try:
        inflated, eof, unused = inflate(data[start.offset:])
    except zlib.error as exc:
        return lost, f"a corrupt deflate stream was accepted ({exc})"
    if not eof:
        return lost, "the deflate stream never ends (it is cut short), yet the parse ended"
    if unused not in (b"", b"\0") and unused != _gzip_trailer(inflated):
        return lost, f"{len(unused)} bytes after the deflate stream were ignored"
    if end.offset != start.offset + len(inflated):
        return lost, (f"DatasetEnd at {end.offset}, but the inflated dataset ends at "
                      f"{start.offset + len(inflated)}")
    if ignorable:
        inflated = bytes(0 if i + start.offset in ignorable else b
                         for i, b in enumerate(inflated))
    again, _, _ = inflate(encoded[start.offset:])
    if encoded[:start.offset] != data[:start.offset] or again != inflated:
        return "unexpected-outcome", "the events re-encode to a different dataset"
    return None


def _lenient_consistent(events: list[Event], orig: list[Event]) -> bool:
    """A lenient parse of a cut input: the original's events, maybe the start of one more
    value chunk, then only closing events and ``DatasetEnd``."""
    i = 0
    while i < len(events) and i < len(orig) and events[i] == orig[i]:
        i += 1
    rest = events[i:]
    first, cut = (rest[0], orig[i]) if rest and i < len(orig) else (None, None)
    if isinstance(first, ValueChunk) and isinstance(cut, ValueChunk) and \
            first.offset == cut.offset and bytes(cut.data).startswith(bytes(first.data)):
        rest = rest[1:]
    elif isinstance(first, DatasetStart) and isinstance(cut, Element) and \
            cut.tag >> 16 == 0x0002:
        rest = rest[1:]  # cut inside the meta group: an empty dataset starts and ends
    return all(isinstance(e, _CLOSERS) for e in rest) and type(events[-1]) is DatasetEnd


def classify(case: Case, mode: str, outcome: Outcome) -> RunResult:
    """Compare ``outcome`` with what ``case`` declares for ``mode``."""
    expect = case.expect.for_mode(mode)
    want = expect.describe()
    err = outcome.error
    orig = _reference_events(case, mode)
    if err is not None and not isinstance(err, DicomStreamError):
        return RunResult(mode, "unexpected-exception", type(err).__name__, f"{err!r}")
    if err is not None:
        name = type(err).__name__
        info = {"class": name, "message": str(err),
                "offset": getattr(err, "offset", None), "path": getattr(err, "path", None)}
        if not isinstance(err, ParseError):
            return RunResult(mode, "unexpected-outcome", name,
                             "a DicomStreamError that is not a ParseError", info)
        deflated = (case.base is not None and case.base.deflated) or \
            DEFLATED.encode() in case.data[:2048]
        if not (isinstance(err.offset, int) and 0 <= err.offset
                and (deflated or err.offset <= len(case.data))):
            return RunResult(mode, "unexpected-outcome", name,
                             f"bad offset {err.offset!r}", info)
        if not isinstance(err.path, str) or not _PATH_RE.match(err.path):
            return RunResult(mode, "unexpected-outcome", name,
                             f"bad path {err.path!r}", info)
        ok = type(err) in expect.errors if expect.exact else isinstance(err, expect.errors)
        if not ok:
            return RunResult(mode, "unexpected-outcome", name,
                             f"{err}; expected {want}", info)
        if expect.consistent and orig and outcome.events != orig[:len(outcome.events)]:
            return RunResult(mode, "unexpected-outcome", name,
                             "events before the error differ from the original's", info)
        return RunResult(mode, "typed-error", name, str(err), info)
    events = outcome.events
    if outcome.warnings:
        if not expect.success & {"warned", "covered"}:
            return RunResult(mode, "unexpected-outcome", "ok+warnings",
                             f"warned {outcome.warnings[0]!r}; expected {want}")
        if expect.consistent and orig and not _lenient_consistent(events, orig):
            return RunResult(mode, "unexpected-outcome", "ok+warnings",
                             "a lenient parse delivered other events than the original's")
        return RunResult(mode, "warned", "ok+warnings", outcome.warnings[0])
    problem = coverage_problem(case.data, events, expect.ignorable)
    if problem is not None:
        return RunResult(mode, problem[0], "ok", problem[1])
    if expect.truncated:
        return RunResult(mode, "SILENT-TRUNCATION", "ok",
                         f"the input is cut short, yet parsed without error or warning "
                         f"(expected {want})")
    if "covered" in expect.success:
        return RunResult(mode, "silent-ok", "ok")
    if expect.success & {"same", "prefix"} and expect.reference is not None:
        if events == expect.reference(orig):
            return RunResult(mode, "silent-ok", "ok")
        return RunResult(mode, "unexpected-outcome", "ok",
                         "events differ from the reference events")
    return RunResult(mode, "unexpected-outcome", "ok", f"parsed; expected {want}")


def run_case(case: Case, rng: random.Random, modes: Sequence[str] = tuple(MODES)) -> CaseResult:
    """Run ``case`` in every mode, whole and in random splits (and byte by byte in strict
    mode when small); the outcome must not depend on the split."""
    result = CaseResult(case)
    with _time_limit(HANG_SECONDS):
        try:
            for mode in modes:
                options = dict(MODES[mode])
                if "source_size" in options:
                    options["source_size"] = len(case.data)
                whole = feed(case.data, options)
                run = classify(case, mode, whole)
                splits = [("random", _random_sizes(rng, len(case.data)), "events")]
                if mode == "strict" and len(case.data) <= BYTEWISE_MAX:
                    splits.append(("bytewise", [1] * len(case.data), "next_event"))
                for label, sizes, pull in splits:
                    other = feed(case.data, options, sizes, pull)
                    if other.signature() != whole.signature() and \
                            run.category != "unexpected-exception":
                        run = RunResult(mode, "unexpected-outcome", run.outcome,
                                        f"fed {label}: {_short(other)} instead of "
                                        f"{_short(whole)}", run.error)
                        break
                result.runs.append(run)
        except Hang as exc:
            result.runs.append(RunResult("?", "unexpected-exception", "Hang", str(exc)))
    return result


def _short(outcome: Outcome) -> str:
    if outcome.error is not None:
        return f"{type(outcome.error).__name__}({outcome.error})"
    return f"{len(outcome.events)} events, {len(outcome.warnings)} warnings"


class _time_limit:  # noqa: N801 - used as a context manager, like contextlib's
    """Raise :class:`Hang` after ``seconds`` (main thread on Unix only; else a no-op)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.active = hasattr(signal, "setitimer") and \
            threading.current_thread() is threading.main_thread()

    def __enter__(self) -> None:
        if self.active:
            def on_alarm(signum: int, frame: object) -> None:
                raise Hang(f"no outcome after {self.seconds:g} s")
            self.previous = signal.signal(signal.SIGALRM, on_alarm)
            signal.setitimer(signal.ITIMER_REAL, self.seconds)

    def __exit__(self, *exc: object) -> None:
        if self.active:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self.previous)


def run_cases(cases: Sequence[Case], seed: int = 0) -> list[CaseResult]:
    """Every case, each with its own seeded random splits."""
    return [run_case(case, random.Random(f"{seed}:{case.id}")) for case in cases]


# ----------------------------------------------------------------------------- report


def summarize(results: Sequence[CaseResult]) -> dict[str, Any]:
    """Counts per category, per mutation kind and per error class."""
    totals: Counter[str] = Counter()
    by_kind: dict[str, Counter[str]] = {}
    error_classes: Counter[str] = Counter()
    for res in results:
        kind = by_kind.setdefault(res.case.kind, Counter())
        kind["cases"] += 1
        for run in res.runs:
            totals[run.category] += 1
            kind[run.category] += 1
            kind["runs"] += 1
            if run.category == "typed-error":
                error_classes[run.outcome] += 1
    return {
        "cases": len(results),
        "runs": sum(totals.values()),
        "totals": {c: totals[c] for c in CATEGORIES},
        "by_kind": {k: dict(v) for k, v in by_kind.items()},
        "error_classes": dict(error_classes.most_common()),
        "failures": sum(totals[c] for c in FAILING),
    }


def print_report(summary: dict[str, Any], results: Sequence[CaseResult], *,
                 verbose: bool, seed: int, seconds: float) -> None:
    cols = ("cases", "runs", *CATEGORIES)
    heads = ("cases", "runs", "typed-error", "warned", "silent-ok", "SILENT-TRUNC",
             "unexpected", "exception")
    if verbose:
        for res in results:
            runs = " ".join(f"{r.mode}={r.outcome}" for r in res.runs)
            print(f"{res.category:<20} {res.case.id}  [{res.case.expect.describe()}]  {runs}")
    width = max(len(k) for k in summary["by_kind"]) + 2
    print(f"\nmalformed corpus, seed {seed}: {summary['cases']} cases, {summary['runs']} runs "
          f"(modes {', '.join(MODES)}; each whole, random splits, bytewise when small) "
          f"in {seconds:.1f} s")
    print("kind".ljust(width) + "".join(h.rjust(13) for h in heads))
    for kind, counts in summary["by_kind"].items():
        print(kind.ljust(width) + "".join(str(counts.get(c, 0)).rjust(13) for c in cols))
    row = {"cases": summary["cases"], "runs": summary["runs"], **summary["totals"]}
    print("total".ljust(width) + "".join(str(row[c]).rjust(13) for c in cols))
    print("typed errors by class: " + ", ".join(
        f"{k} {v}" for k, v in summary["error_classes"].items()))
    failures = [(res, r) for res in results for r in res.runs if r.category in FAILING]
    for res, run in failures:
        print(f"  {run.category}: {res.case.id} [{run.mode}] {run.outcome}: {run.detail}")


def to_json(summary: dict[str, Any], results: Sequence[CaseResult], seed: int) -> dict[str, Any]:
    return {
        "seed": seed,
        "summary": summary,
        "cases": [{
            "id": res.case.id, "kind": res.case.kind, "sub": res.case.sub,
            "size": len(res.case.data), "expected": res.case.expect.describe(),
            "category": res.category,
            "runs": [{"mode": r.mode, "category": r.category, "outcome": r.outcome,
                      "detail": r.detail, "error": r.error} for r in res.runs],
        } for res in results],
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0, help="seed of mutations and splits")
    parser.add_argument("--limit", type=int, default=None, help="run only the first N cases")
    parser.add_argument("--verbose", action="store_true", help="list every case")
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    args = parser.parse_args(argv)
    began = time.perf_counter()
    cases = generate_cases(args.seed)[:args.limit]
    results = run_cases(cases, args.seed)
    summary = summarize(results)
    print_report(summary, results, verbose=args.verbose, seed=args.seed,
                 seconds=time.perf_counter() - began)
    if args.json is not None:
        args.json.write_text(json.dumps(to_json(summary, results, args.seed), indent=1))
    return 1 if summary["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
