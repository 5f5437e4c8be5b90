"""``dicomstream dump``: print a file's elements as they stream past.

Lines appear as soon as their elements are parsed, so the head of a multi-gigabyte file
prints at once and memory stays flat. The layout is pydicom's; a sequence's header line
carries its item count, so lines inside a sequence are held until it closes (at most
:data:`MAX_HELD_LINES`; beyond that they flow and the count shows as ``?``).
``--json`` prints one JSON object per event instead. A 128-byte preamble that is not all
zeros gets a first line: a warning when it looks like an executable (PE, ELF, Mach-O, a
``#!`` script: a polyglot file), a note otherwise (e.g. TIFF); the exit status stays 0.
"""

from __future__ import annotations

__all__ = ("MAX_HELD_LINES", "TextDumper", "command", "dump", "dump_local", "preamble_note")

import base64
import json
import sys
from typing import TYPE_CHECKING, Any, TextIO

from dicomstream.cli._command import Command
from dicomstream.context import StreamContext
from dicomstream.dictionary import name_for_tag
from dicomstream.events import (
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
from dicomstream.tags import ITEM, format_tag

if TYPE_CHECKING:
    import argparse
    from collections.abc import Iterable

    from dicomstream.events import Event

MAX_HELD_LINES = 10_000

_EXECUTABLE_MAGIC = {
    b"MZ": "a Windows executable (PE)",
    b"\x7fELF": "an ELF executable",
    b"\xcf\xfa\xed\xfe": "a Mach-O executable", b"\xce\xfa\xed\xfe": "a Mach-O executable",
    b"\xfe\xed\xfa\xcf": "a Mach-O executable", b"\xfe\xed\xfa\xce": "a Mach-O executable",
    b"\xca\xfe\xba\xbe": "a Mach-O universal binary or Java class",
    b"\xca\xfe\xba\xbf": "a Mach-O universal binary",
    b"\xbe\xba\xfe\xca": "a Mach-O universal binary",
    b"#!": "a script (#!)",
}
"""Magic numbers of executables. A file whose preamble starts with one is a polyglot
(it also runs: the DICOM-PE attack, CVE-2019-11687); dump warns about it and
de-identification (``dicomstream anonymize``) zeroes it."""

_OTHER_MAGIC = {b"II*\x00": "TIFF", b"MM\x00*": "TIFF", b"%PDF": "PDF",
                b"PK\x03\x04": "ZIP", b"\x89PNG": "PNG", b"\xff\xd8\xff": "JPEG"}
"""Other content seen in preambles (TIFF for dual-personality DICOM/TIFF files)."""


def preamble_note(preamble: bytes) -> str | None:
    """The line ``dump`` prints for a preamble that is not all zeros (PS3.10 §7.1
    allows any content; an executable one is a warning), or ``None``."""
    preamble = bytes(preamble)
    if not preamble.strip(b"\x00"):
        return None
    kind = next((desc for magic, desc in _EXECUTABLE_MAGIC.items()
                 if preamble.startswith(magic)), None)
    if kind:
        return f"# warning: the 128-byte preamble looks like {kind}"
    other = next((desc for magic, desc in _OTHER_MAGIC.items()
                  if preamble.startswith(magic)), None)
    what = f"{other} data" if other else f"starts {preamble[:8].hex(' ')}"
    return f"# note: the 128-byte preamble is not all zeros ({what})"


def _open_source(spec: str) -> Any:
    from dicomstream.io import FileSource, StdinSource

    if spec == "-":
        return StdinSource()
    from dicomstream.plugin import open_source_url

    opened = open_source_url(spec)
    return opened if opened is not None else FileSource(spec)


class TextDumper:
    """Turn events into pydicom-style lines."""

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._ctx = StreamContext()
        self._held: list[str] = []
        self._open_seqs: list[list[Any]] = []  # [line index or -1, tag, name, items, indent]
        self._indent = 0
        self._value: ValueStart | None = None
        self._frag_total = 0
        self._frag_line: tuple[int, str, int] | None = None
        self._meta_open = False

    def _emit(self, line: str) -> None:
        if self._open_seqs:
            self._held.append(line)
            if len(self._held) > MAX_HELD_LINES:
                self._release()
        else:
            self._out.write(line + "\n")

    def _release(self) -> None:
        from dicomstream._format import sequence_line

        for seq in self._open_seqs:
            index, tag, name, _, indent = seq
            if index >= 0:
                self._held[index] = sequence_line(tag, name, None, indent)
                seq[0] = -1
        self._out.write("".join(line + "\n" for line in self._held))
        self._held = []

    def _name(self, tag: int) -> str:
        from dicomstream._format import private_name

        if tag >> 16 & 1 and tag >> 16 > 7:
            return private_name(tag, self._ctx.private_creator(tag))
        return name_for_tag(tag)

    def feed(self, event: Event) -> None:  # noqa: C901 - a flat dispatch
        from dicomstream._format import element_line, repval, sequence_line

        cls = type(event)
        ctx = self._ctx
        if cls is Element:
            assert isinstance(event, Element)
            if ctx.in_meta and not self._meta_open:
                self._meta_open = True
                self._emit(f"{'Dataset.file_meta ':-<49}")
            value = ctx.decode(event)
            shown = repval(event.vr, value, event.length)
            self._emit(element_line(event.tag, self._name(event.tag), event.vr, shown,
                                    self._indent))
            ctx.feed(event)
        elif cls is SequenceStart:
            assert isinstance(event, SequenceStart)
            name = self._name(event.tag)
            self._open_seqs.append([len(self._held), event.tag, name, 0, self._indent])
            self._held.append(sequence_line(event.tag, name, None, self._indent))
            ctx.feed(event)
        elif cls is ItemStart:
            if self._open_seqs:
                self._open_seqs[-1][3] += 1
            self._indent += 1
            ctx.feed(event)
        elif cls is ItemEnd:
            self._emit(f"{'   ' * self._indent}---------")
            self._indent -= 1
            ctx.feed(event)
        elif cls is SequenceEnd:
            index, tag, name, items, indent = self._open_seqs.pop()
            if index >= 0:
                self._held[index] = sequence_line(tag, name, items, indent)
            if not self._open_seqs:
                self._out.write("".join(line + "\n" for line in self._held))
                self._held = []
            ctx.feed(event)
        elif cls is ValueStart:
            assert isinstance(event, ValueStart)
            if event.tag == ITEM:
                self._frag_total += 8 + event.length
            else:
                self._emit(element_line(event.tag, self._name(event.tag), event.vr,
                                        f"Array of {event.length} elements", self._indent))
        elif cls is FragmentsStart:
            assert isinstance(event, FragmentsStart)
            self._frag_total = 0
            self._frag_line = (event.tag, event.vr, self._indent)
        elif cls is Fragment:
            assert isinstance(event, Fragment)
            self._frag_total += 8 + event.length
        elif cls is FragmentsEnd:
            assert self._frag_line is not None
            tag, vr, indent = self._frag_line
            self._emit(element_line(tag, self._name(tag), vr,
                                    f"Array of {self._frag_total} elements", indent))
            self._frag_line = None
        elif cls is DatasetStart:
            if self._meta_open:
                self._emit(f"{'':-<49}")
            ctx.feed(event)
        elif cls is Preamble:
            assert isinstance(event, Preamble)
            note = preamble_note(event.preamble)
            if note:
                self._emit(note)
        elif cls in (ValueChunk, ValueEnd, DatasetEnd):
            pass

    def close(self) -> None:
        if self._held:
            self._release()
        self._out.flush()


def _json_event(event: Event) -> str:
    fields: dict[str, Any] = {"event": type(event).__name__}
    for key, value in event.fields().items():
        if key == "data":
            fields["length"] = len(value)
        elif isinstance(value, (bytes, bytearray, memoryview)):
            fields[key] = base64.b64encode(bytes(value)).decode("ascii")
        elif key == "tag":
            fields[key] = format_tag(value)
        elif key == "path":
            fields[key] = [[format_tag(t), i] for t, i in value]
        else:
            fields[key] = value
    return json.dumps(fields)


async def dump(spec: str, out: TextIO, *, as_json: bool = False, lenient: bool = False
               ) -> None:
    """Print the events of ``spec`` (a path, ``-`` or a URL a plugin handles)."""
    from dicomstream.streams import aiter_events

    printer = _Printer(out, as_json)
    try:
        async for batch in aiter_events(_open_source(spec), lenient=lenient):
            printer.batch(batch)
    finally:
        printer.close()


def dump_local(spec: str, out: TextIO, *, as_json: bool = False, lenient: bool = False
               ) -> None:
    """:func:`dump` of a local file or ``-`` (stdin), with no event loop: what the
    command does for them, without asyncio's start-up (a dump is often interactive)."""
    from dicomstream.local import iter_events

    source = sys.stdin.buffer if spec == "-" else spec
    printer = _Printer(out, as_json)
    try:
        for batch in iter_events(source, lenient=lenient):
            printer.batch(batch)
    finally:
        printer.close()


class _Printer:
    """Batches of events to ``out``: text lines or JSON objects, flushed per batch."""

    def __init__(self, out: TextIO, as_json: bool) -> None:
        self.out = out
        self.dumper = None if as_json else TextDumper(out)

    def batch(self, batch: Iterable[Event]) -> None:
        if self.dumper is None:
            self.out.write("".join(_json_event(e) + "\n" for e in batch))
        else:
            for event in batch:
                self.dumper.feed(event)
        self.out.flush()

    def close(self) -> None:
        if self.dumper is not None:
            self.dumper.close()


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("source", metavar="PATH|URL|-", help="file, URL or - for stdin")
    parser.add_argument("--json", action="store_true", help="one JSON object per event")
    parser.add_argument("--lenient", action="store_true",
                        help="print what a truncated file holds (with a warning)")


def _run(args: argparse.Namespace) -> int:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # lenient warnings are printed below instead
        if args.source == "-" or "://" not in args.source:
            dump_local(args.source, sys.stdout, as_json=args.json, lenient=args.lenient)
        else:
            import anyio

            anyio.run(lambda: dump(args.source, sys.stdout, as_json=args.json,
                                   lenient=args.lenient))
    return 0


command = Command(name="dump", help="print the elements of a DICOM file as they stream",
                  configure=_configure, run=_run)
