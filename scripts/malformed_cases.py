"""The cases of ``scripts/malformed_corpus.py``: malformed inputs and what must happen.

Why this is a module of its own: the generators need a map of each original file (where
every header, value, item and delimiter lies, and which containers have defined
lengths) to *declare* the outcome of a mutation from the structure alone — before and
independently of running the parser on it. The map comes from the original's events
(the original is validated elsewhere: pydicom oracle, byte-exact identity). Each
generator documents its mutation and the reasoning behind its expectation.
"""

from __future__ import annotations

__all__ = ("BASE_FILES", "DEFLATED", "DEFLATED_VARIANTS", "GENERATORS", "MODES", "Base",
           "Case", "Expect", "Node", "generate_cases", "hostile_cases", "inflate",
           "load_base", "materialise", "parse_all")

import dataclasses
import random
import struct
import sys
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

_ROOT = Path(__file__).resolve().parents[1]
for _p in (str(_ROOT), str(_ROOT / "tests")):
    if _p not in sys.path:
        sys.path.insert(0, _p)

import hostile_files as hostile  # noqa: E402
from corpus import read_bytes  # noqa: E402

from dicomstream.encoder import Encoder  # noqa: E402
from dicomstream.errors import (  # noqa: E402
    ContainerOverrunError,
    InflateError,
    InflateLimitError,
    InvalidLengthError,
    InvalidVRError,
    LengthExceedsSourceError,
    NestingTooDeepError,
    NotDicomError,
    ParseError,
    StructureError,
    TruncatedError,
)
from dicomstream.events import (  # noqa: E402
    UNDEFINED_LENGTH,
    DatasetEnd,
    DatasetStart,
    Element,
    Event,
    Fragment,
    FragmentsEnd,
    FragmentsStart,
    ItemEnd,
    ItemStart,
    Preamble,
    SequenceEnd,
    SequenceStart,
    ValueChunk,
    ValueStart,
)
from dicomstream.parser import Parser  # noqa: E402
from dicomstream.tags import ITEM  # noqa: E402
from dicomstream.transfer_syntax import lookup_transfer_syntax  # noqa: E402
from dicomstream.vr import LONG_LENGTH_VRS, VR_BY_BYTES  # noqa: E402

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

DEFLATED = "1.2.840.10008.1.2.1.99"

BASE_FILES: tuple[str, ...] = (
    "test_files/rtplan.dcm",  # implicit VR LE, defined-length sequences 4 deep
    "test_files/rtstruct.dcm",  # implicit VR LE, no preamble or meta, undefined lengths
    "test_files/reportsi.dcm",  # explicit VR LE SR, undefined-length nesting
    "test_files/reportsi_with_empty_number_tags.dcm",  # explicit LE, defined lengths
    "test_files/test-SR.dcm",  # explicit LE, 56 defined-length sequences
    "test_files/rtdose_expb_1frame.dcm",  # explicit VR big endian, sequences, pixels
    "test_files/dicomdirtests/DICOMDIR-bigEnd",  # big endian, 52 defined-length items
    "test_files/UN_sequence.dcm",  # a sequence written as UN (CP-246)
    "test_files/nested_priv_SQ.dcm",  # private sequences, implicit VR
    "test_files/ExplVR_LitEndNoMeta.dcm",  # no preamble, no meta
    "test_files/ExplVR_BigEndNoMeta.dcm",  # no meta, big endian
    "test_files/no_meta_group_length.dcm",  # meta without (0002,0000)
    "test_files/meta_missing_tsyntax.dcm",  # meta without a transfer syntax
    "test_files/SC_rgb_rle.dcm",  # encapsulated fragments
    "test_files/JPEG2000.dcm",  # undefined-length sequences and fragments
    "test_files/SC_rgb_small_odd_jpeg.dcm",  # defined sequences and fragments, odd sizes
    "test_files/MR_small_padded.dcm",  # native pixel data, trailing padding (FFFC,FFFC)
    "test_files/CT_small.dcm",  # 32 KiB native pixel data
    "charset_files/chrSQEncoding.dcm",  # character sets, defined-length sequence
    "palettes/pet.dcm",  # undefined-length sequences, long LUT values
    "test_files/image_dfl.dcm",  # deflated (with a gzip trailer)
)
"""Corpus files the mutations start from (a spread of syntaxes and structures)."""

DEFLATED_VARIANTS: tuple[str, ...] = ("test_files/reportsi.dcm",)
"""Corpus files also re-encoded as Deflated Explicit VR LE, so structural mutations of
nested sequences are exercised through the inflater too."""

MODES: dict[str, dict[str, Any]] = {
    "strict": {},
    "sized": {"source_size": -1},  # -1: replaced by the input's size
    "lenient": {"lenient": True},
    "stream": {"value_threshold": 16, "chunk_size": 64},
}
"""Parser options per mode."""

_GARBLED_VRS = (b"QQ", b"ZZ", b"XY", b"Q?", b"AB", b"KK", b"\x00\x00", b"o\xff")

# ----------------------------------------------------------------------------- layout


@dataclass(slots=True)
class Node:
    """One header-bearing piece of the original stream (offsets in the plain stream)."""

    kind: str  # meta | element | sequence | item | fragments | fragment | *_delim
    start: int
    header: int
    length: int
    end: int  # just past it (closing delimiter included)
    tag: int
    vr: str
    explicit: bool
    little: bool
    depth: int  # open containers around it
    limit: int | None  # nearest end of a defined-length container around it
    defined_around: bool  # some container around it has a defined length
    event: int  # index of its (start) event in the original's events

    @property
    def len_field(self) -> tuple[int, int]:
        """Offset and size of the length field."""
        if self.explicit and self.kind in ("meta", "element", "sequence", "fragments"):
            return (self.start + 8, 4) if self.header == 12 else (self.start + 6, 2)
        return self.start + 4, 4


@dataclass(slots=True)
class Base:
    """An original input: its bytes, its plain stream (inflated for deflated syntaxes)
    and a layout of that stream."""

    name: str
    data: bytes
    plain: bytes
    ds_start: int
    deflated: bool
    meta_ts: str | None
    group_length: tuple[int, int] | None  # (value offset, value) of (0002,0000)
    nodes: list[Node]
    events: list[Event]

    def encode(self, plain: bytes) -> bytes:
        """The input whose plain stream is ``plain`` (re-deflated when needed)."""
        if not self.deflated or len(plain) <= self.ds_start:
            return plain  # (a cut before the deflated dataset has no deflate stream)
        deflater = zlib.compressobj(6, zlib.DEFLATED, -15)
        body = deflater.compress(plain[self.ds_start:]) + deflater.flush()
        return plain[:self.ds_start] + body


def materialise(events: Sequence[Event]) -> list[Event]:
    """Events with ``ValueChunk`` data as ``bytes``."""
    return [e._replace(data=bytes(e.data)) if type(e) is ValueChunk else e for e in events]


def parse_all(data: bytes, **options: Any) -> list[Event]:
    """Every event of a well-formed ``data`` (warnings ignored)."""
    parser = Parser(**options)
    parser.receive_data(data)
    parser.receive_data(b"")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return materialise(parser.events())


def inflate(data: bytes) -> tuple[bytes, bool, bytes]:
    """Raw-inflate ``data``: the output, whether the deflate stream ended, what follows it."""
    d = zlib.decompressobj(-15)
    out = d.decompress(data) + d.flush()
    return out, d.eof, d.unused_data


def load_base(name: str, *, deflate: bool = False) -> Base:
    """Read corpus file ``name`` (re-encoded as deflated if asked) and lay it out."""
    data = read_bytes(name)
    if deflate:
        data = Encoder(DEFLATED).send_all(parse_all(data))
        name += " (deflated)"
    events = parse_all(data)
    start = next(e for e in events if type(e) is DatasetStart)
    is_deflated = lookup_transfer_syntax(start.transfer_syntax).deflated
    plain = data[:start.offset] + inflate(data[start.offset:])[0] if is_deflated else data
    nodes, meta_ts, group_length = _layout(plain, events)
    return Base(name, data, plain, start.offset, is_deflated, meta_ts, group_length, nodes,
                events)


def _layout(plain: bytes, events: list[Event]) -> tuple[
        list[Node], str | None, tuple[int, int] | None]:
    nodes: list[Node] = []
    # open containers: (node, defined end, content explicit, content little)
    stack: list[tuple[Node, int | None, bool, bool]] = []
    explicit, little = True, True
    meta_ts: str | None = None
    group_length: tuple[int, int] | None = None
    in_meta = True

    def add(i: int, kind: str, start: int, header: int, length: int, tag: int, vr: str,
            exp: bool, lit: bool) -> Node:
        ends = [end for _, end, _, _ in stack if end is not None]
        node = Node(kind, start, header, length, start + header + (
            0 if length == UNDEFINED_LENGTH else length), tag, vr, exp, lit, len(stack),
            min(ends) if ends else None, bool(ends), i)
        nodes.append(node)
        return node

    def ctx() -> tuple[bool, bool]:
        return (stack[-1][2], stack[-1][3]) if stack else (explicit, little)

    for i, e in enumerate(events):
        if isinstance(e, Preamble):
            nodes.append(Node("preamble", 0, 0, 128, 132, 0, "", True, True, 0, None,
                              False, i))
        elif isinstance(e, DatasetStart):
            ts = lookup_transfer_syntax(e.transfer_syntax)
            explicit, little, in_meta = not ts.implicit_vr, ts.little_endian, False
        elif isinstance(e, Element) and in_meta:
            exp = plain[e.offset + 4:e.offset + 6] == e.vr.encode()
            header = (12 if e.vr in LONG_LENGTH_VRS else 8) if exp else 8
            add(i, "meta", e.offset, header, e.length, e.tag, e.vr, exp, True)
            if e.tag == 0x00020010:
                meta_ts = e.value.decode("ascii").rstrip("\0 ")
            elif e.tag == 0x00020000 and e.length == 4:
                group_length = (e.offset + header, struct.unpack("<L", e.value)[0])
        elif isinstance(e, Element | ValueStart | SequenceStart | FragmentsStart):
            exp, lit = ctx()
            if isinstance(e, ValueStart) and stack and stack[-1][0].kind == "fragments":
                add(i, "fragment", e.offset, 8, e.length, ITEM, "", False, lit)  # large
                continue
            frags = isinstance(e, FragmentsStart)
            header = (12 if frags or e.vr in LONG_LENGTH_VRS else 8) if exp else 8
            length = UNDEFINED_LENGTH
            if not isinstance(e, FragmentsStart):
                length = e.length
            kind = "sequence" if isinstance(e, SequenceStart) else (
                "fragments" if frags else "element")
            node = add(i, kind, e.offset, header, length, e.tag, e.vr, exp, lit)
            if kind != "element":
                end = None if length == UNDEFINED_LENGTH else node.end
                content = (False, True) if e.vr == "UN" and kind == "sequence" else (exp, lit)
                stack.append((node, end, *content))
        elif isinstance(e, Fragment):
            add(i, "fragment", e.offset, 8, e.length, ITEM, "", False, ctx()[1])
        elif isinstance(e, ItemStart):
            exp, lit = ctx()
            node = add(i, "item", e.offset, 8, e.length, ITEM, "", False, lit)
            stack.append((node, None if e.length == UNDEFINED_LENGTH else node.end, exp, lit))
        elif isinstance(e, ItemEnd | SequenceEnd | FragmentsEnd):
            node = stack[-1][0]
            if isinstance(e, FragmentsEnd) or e.delimited:  # the delimiter is inside
                kind = "item_delim" if isinstance(e, ItemEnd) else (
                    "seq_delim" if isinstance(e, SequenceEnd) else "frag_delim")
                add(i, kind, e.offset, 8, 0, 0, "", False, ctx()[1])
                node.end = e.offset + 8
            else:
                node.end = e.offset
            stack.pop()
    return nodes, meta_ts, group_length


# ----------------------------------------------------------------------------- cases


@dataclass(slots=True)
class Expect:
    """What a case must produce in strict mode (other modes derive from it, see
    :meth:`for_mode`).

    ``errors``: ParseError classes allowed (subclasses too, unless ``exact``).
    ``success``: allowed successes: ``"same"`` (events equal the reference: the original's
    events, patched), ``"prefix"`` (the original's events up to a clean cut, then
    ``DatasetEnd``), ``"covered"`` (any success whose events account for every input byte),
    ``"warned"`` (success with warnings). ``truncated``: the mutation removed bytes the
    structure declares, so a silent success is a silent truncation.
    """

    errors: tuple[type[ParseError], ...] = ()
    success: frozenset[str] = frozenset()
    truncated: bool = False
    consistent: bool = False  # events (before an error or lenient closers) are the original's
    exact: bool = False
    lenient_warns: bool = False  # lenient may warn instead of these errors (not only truncation)
    ignorable: tuple[int, ...] = ()  # input bytes a re-encoding may write as zero
    reference: Callable[[list[Event]], list[Event]] | None = None

    def for_mode(self, mode: str) -> Expect:
        may_truncate = any(issubclass(TruncatedError, e) for e in self.errors)
        if mode == "sized" and may_truncate and not self.exact:
            return _replace(self, errors=(*self.errors, LengthExceedsSourceError))
        if mode == "lenient" and (may_truncate or self.lenient_warns):
            return _replace(self, success=self.success | {"warned"})
        return self

    def describe(self) -> str:
        parts = [("=" if self.exact else "") + e.__name__ for e in self.errors]
        parts += sorted(f"success:{s}" for s in self.success)
        return " | ".join(parts) + (" [truncated]" if self.truncated else "")


def _replace(expect: Expect, **changes: Any) -> Expect:
    return dataclasses.replace(expect, **changes)


def errors(*classes: type[ParseError], truncated: bool = False,
           success: Sequence[str] = ()) -> Expect:
    """Any of ``classes`` (or a success of the kinds named); ``truncated`` also means the
    events must be the original's up to where the input ends."""
    return Expect(errors=classes, truncated=truncated, consistent=truncated,
                  success=frozenset(success))


ANY_ERROR = errors(ParseError)
ANY_OR_COVERED = errors(ParseError, success=("covered",))


@dataclass(slots=True)
class Case:
    """One malformed input and what must happen to it."""

    id: str
    kind: str
    sub: str
    data: bytes
    expect: Expect
    base: Base | None = None
    note: str = ""


def _flip(data: bytes, pos: int, bit: int) -> bytes:
    return data[:pos] + bytes([data[pos] ^ (1 << bit)]) + data[pos + 1:]


def _set_len(plain: bytes, node: Node, value: int) -> bytes:
    pos, size = node.len_field
    order = "<" if node.little else ">"
    return plain[:pos] + struct.pack(order + ("H" if size == 2 else "L"), value) + \
        plain[pos + size:]


def _prefix_ref(cut: int) -> Callable[[list[Event]], list[Event]]:
    """The events of a clean cut at a top-level boundary (or the end of the meta group)."""

    def ref(orig: list[Event]) -> list[Event]:
        for i, e in enumerate(orig):
            if isinstance(e, DatasetStart) and e.offset == cut:
                return [*orig[:i + 1], DatasetEnd(cut)]
            if isinstance(e, Element | ValueStart | SequenceStart | FragmentsStart) and \
                    e.offset == cut and not e.path and _after_start(orig, i):
                return [*orig[:i], DatasetEnd(cut)]
        return orig

    return ref


def _after_start(orig: list[Event], i: int) -> bool:
    return any(type(e) is DatasetStart for e in orig[:i])


def _patched_ref(offset: int, value: bytes) -> Callable[[list[Event]], list[Event]]:
    """The original's events with the value of the element at ``offset`` replaced."""

    def ref(orig: list[Event]) -> list[Event]:
        return [e._replace(value=value) if type(e) is Element and e.offset == offset else e
                for e in orig]

    return ref


def truncations(base: Base, rng: random.Random) -> Iterator[Case]:
    """Cuts inside the preamble, DICM, meta headers/values, at meta element boundaries,
    at the meta end, inside dataset headers, values, pixel data, delimiters, at inner
    boundaries of sequences, and at clean top-level boundaries."""
    plain, nodes, ds = base.plain, base.nodes, base.ds_start
    meta = [n for n in nodes if n.kind == "meta"]
    body = [n for n in nodes if n.kind not in ("meta", "preamble")]
    meta_end = None if base.group_length is None else base.group_length[0] + 4 + \
        base.group_length[1]
    picks: list[tuple[str, int]] = []
    if any(n.kind == "preamble" for n in nodes):
        picks += [("preamble", rng.randrange(1, 128)), ("dicm", rng.randrange(128, 132))]
    if meta:
        n = rng.choice([m for m in meta if m.header > 1])
        picks.append(("meta-header", n.start + rng.randrange(1, n.header)))
        n = rng.choice([m for m in meta if m.length > 1])
        picks.append(("meta-value", n.start + n.header + rng.randrange(1, n.length)))
        if len(meta) > 1:
            picks.append(("meta-boundary", rng.choice(meta[1:]).start))
        picks.append(("meta-end", ds))
    pools = {
        "header": [n for n in body if n.kind in ("element", "sequence", "fragments", "item")],
        "value": [n for n in body if n.kind == "element" and 1 < n.length < 4096],
        "pixel": [n for n in body if (n.tag == 0x7FE00010 and n.kind == "element")
                  or n.kind == "fragment" and n.length > 1],
        "inner-boundary": [n for n in body if n.depth > 0],
        "delimiter": [n for n in body if n.kind.endswith("delim") or n.kind == "item"],
        "boundary": [n for n in body if n.depth == 0 and n.start > ds],
    }
    for sub, pool in pools.items():
        if not pool:
            continue
        n = rng.choice(pool)
        if sub in ("header", "delimiter"):
            cut = n.start + rng.randrange(1, n.header)
        elif sub in ("value", "pixel"):
            cut = n.start + n.header + rng.randrange(1, n.length)
        else:
            cut = n.start
        picks.append((sub, cut))
    if not base.deflated:
        picks.append(("last-byte", len(plain) - 1))
    for sub, cut in picks:
        yield Case(f"truncate:{base.name}@{cut}:{sub}", "truncate", sub,
                   base.encode(plain[:cut]), _truncation_expect(base, sub, cut, meta_end),
                   base)
    if base.deflated:
        yield from _deflate_truncations(base, rng)


def _truncation_expect(base: Base, sub: str, cut: int, meta_end: int | None) -> Expect:
    if sub in ("preamble", "dicm"):  # what is left is no preamble: no events to compare
        return Expect(errors=(ParseError,), truncated=True)
    if sub == "meta-boundary":
        if meta_end is not None and cut < meta_end:
            return errors(TruncatedError, truncated=True)
        return Expect(success=frozenset({"covered"}))
    if sub.startswith("meta"):
        if sub == "meta-end" and base.deflated:  # no deflate stream at all
            return errors(TruncatedError, InflateError, truncated=True)
        if sub == "meta-end":
            return Expect(success=frozenset({"prefix"}), reference=_prefix_ref(cut))
        return errors(TruncatedError, truncated=True)
    if sub == "boundary":
        return Expect(success=frozenset({"prefix"}), reference=_prefix_ref(cut))
    if base.meta_ts is None and cut - base.ds_start < 8:
        return errors(NotDicomError, TruncatedError, truncated=True)  # syntax undetectable
    return errors(TruncatedError, truncated=True)


def _deflate_truncations(base: Base, rng: random.Random) -> Iterator[Case]:
    """Cuts in the compressed bytes: anywhere, one or two bytes short of the end of the
    deflate stream, inside a gzip trailer, and exactly at its start."""
    body = base.data[base.ds_start:]
    d = zlib.decompressobj(-15)
    d.decompress(body)
    stream_end = base.ds_start + len(body) - len(d.unused_data)
    cuts = [("compressed", base.ds_start + rng.randrange(1, stream_end - base.ds_start)),
            ("deflate-end-1", stream_end - 1), ("deflate-end-2", stream_end - 2)]
    for sub, cut in cuts:
        yield Case(f"truncate:{base.name}@{cut}:{sub}", "truncate-deflate", sub,
                   base.data[:cut], errors(TruncatedError, InflateError, truncated=True),
                   base)
    if len(base.data) > stream_end + 2:  # a gzip trailer (CRC and size) follows the stream
        cut = stream_end + rng.randrange(2, len(base.data) - stream_end)
        expect = errors(StructureError, truncated=True)
        expect.lenient_warns = True
        yield Case(f"truncate:{base.name}@{cut}:in-trailer", "truncate-deflate", "in-trailer",
                   base.data[:cut], expect, base)
        yield Case(f"truncate:{base.name}@{stream_end}:no-trailer", "truncate-deflate",
                   "no-trailer", base.data[:stream_end],
                   Expect(success=frozenset({"same"}), reference=list), base)


def header_bit_flips(base: Base, rng: random.Random, count: int = 3) -> Iterator[Case]:
    """One bit flipped in a random header (tag, VR or length). Any typed error, or a
    success that accounts for every byte (a changed tag is undetectable)."""
    pool = [n for n in base.nodes if n.kind != "preamble"]
    for _ in range(count):
        n = rng.choice(pool)
        pos = n.start + rng.randrange(n.header)
        bit = rng.randrange(8)
        expect, sub = ANY_OR_COVERED, n.kind
        if n.explicit and n.header == 12 and pos in (n.start + 6, n.start + 7):
            # PS3.5 7.1.2: the 2 bytes after a long VR are reserved, "not used or
            # decoded": the same events, re-encoded with zeros there
            expect, sub = Expect(success=frozenset({"covered"}), ignorable=(pos,)), "reserved"
        yield Case(f"bitflip:{base.name}@{pos}.{bit}:{sub}", "bitflip-header", sub,
                   base.encode(_flip(base.plain, pos, bit)), expect, base)


def length_off_by_one(base: Base, rng: random.Random) -> Iterator[Case]:
    """±1 on an element, item, sequence or fragment length."""
    size = len(base.plain)
    pools = {
        "element": [n for n in base.nodes if n.kind == "element" and n.length >= 2],
        "item": [n for n in base.nodes if n.kind == "item" and 2 <= n.length < UNDEFINED_LENGTH],
        "sequence": [n for n in base.nodes
                     if n.kind == "sequence" and 2 <= n.length < UNDEFINED_LENGTH],
        "fragment": [n for n in base.nodes if n.kind == "fragment" and n.length >= 2],
    }
    for sub, pool in pools.items():
        for delta in (1, -1):
            if not pool:
                continue
            n = rng.choice(pool)
            if n.len_field[1] == 2 and n.length + delta > 0xFFFF:
                continue
            at_limit = n.limit is not None and n.end == n.limit
            at_eof = n.limit is None and n.end == size
            if sub == "fragment":
                expect = ANY_ERROR
            elif delta == -1 and sub != "element":
                expect = errors(ContainerOverrunError)  # the content runs past the end
            elif at_limit and delta == 1:
                expect = errors(ContainerOverrunError)
            elif at_eof:
                expect = errors(TruncatedError)  # 1 byte missing / 1 byte unread at the end
            elif at_limit or sub != "element":
                expect = ANY_ERROR
            else:
                expect = ANY_OR_COVERED  # the next header is read one byte off
            mutated = _set_len(base.plain, n, n.length + delta)
            yield Case(f"length:{base.name}@{n.start}:{sub}{delta:+d}", "length-off-by-one",
                       f"{sub}{delta:+d}", base.encode(mutated), expect, base)


def vr_garbles(base: Base, rng: random.Random, count: int = 2) -> Iterator[Case]:
    """The two VR bytes of an explicit VR header replaced by bytes that name no VR."""
    pool = [n for n in base.nodes if n.explicit and n.kind in (
        "meta", "element", "sequence", "fragments")]
    first = min((n.start for n in base.nodes if n.kind != "meta" and n.kind != "preamble"),
                default=-1)
    for _ in range(count if pool else 0):
        n = rng.choice(pool)
        bad = rng.choice(_GARBLED_VRS)
        assert bad not in VR_BY_BYTES
        if n.kind == "meta":
            expect = ANY_OR_COVERED  # read as an implicit VR meta element, as some writers do
        elif n.start == first and n.little:
            # the first header decides (or checks) the VR mode: read as implicit VR
            expect = errors(ParseError, success=("covered", "warned"))
        else:
            expect = errors(InvalidVRError)
        mutated = base.plain[:n.start + 4] + bad + base.plain[n.start + 6:]
        yield Case(f"vr:{base.name}@{n.start}:{bad!r}", "vr-garbled", n.kind,
                   base.encode(mutated), expect, base)


def delimiters(base: Base, rng: random.Random) -> Iterator[Case]:
    """An item, sequence or fragments delimiter removed, or written twice."""
    size = len(base.plain)
    for kind in ("item_delim", "seq_delim", "frag_delim"):
        pool = [n for n in base.nodes if n.kind == kind]
        if not pool:
            continue
        n = rng.choice(pool)
        plain = base.plain
        removed = plain[:n.start] + plain[n.end:]
        if n.defined_around:
            gone = ANY_ERROR
        elif kind != "item_delim" and n.end == size:
            gone = errors(TruncatedError, truncated=True)
        else:
            gone = errors(StructureError)
        yield Case(f"delim:{base.name}@{n.start}:{kind}-missing", "delimiter-missing", kind,
                   base.encode(removed), gone, base)
        doubled = plain[:n.end] + plain[n.start:n.end] + plain[n.end:]
        twice = ANY_ERROR if n.defined_around else errors(StructureError)
        yield Case(f"delim:{base.name}@{n.start}:{kind}-twice", "delimiter-duplicated", kind,
                   base.encode(doubled), twice, base)


def meta_group_lengths(base: Base, rng: random.Random) -> Iterator[Case]:
    """(0002,0000) off by one, by eight, zero or huge: the parser reads the meta group by
    its elements (as pydicom and dcmtk do), so the events equal the original's except
    that value; the encoder keeps a wrong value when the meta group is unchanged."""
    if base.group_length is None:
        return
    pos, value = base.group_length
    for new in rng.sample([value + 1, value - 1, value + 8, 0, 0xFFFFFFFF], 2):
        raw = struct.pack("<L", new)
        mutated = base.plain[:pos] + raw + base.plain[pos + 4:]
        expect = Expect(success=frozenset({"same", "warned"}),
                        reference=_patched_ref(pos - 8, raw))
        yield Case(f"meta-gl:{base.name}:{value}->{new}", "meta-group-length", "value",
                   base.encode(mutated), expect, base)


def value_bit_flips(base: Base, rng: random.Random, count: int = 2) -> Iterator[Case]:
    """Control: one bit flipped inside a small value (not meta, not a value implicit VR
    lookups depend on): the same events as the original's, that value apart."""
    pool = [n for n in base.nodes if n.kind == "element" and 0 < n.length <= 16
            and (n.explicit or not _noted(n.tag))]
    for _ in range(count if pool else 0):
        n = rng.choice(pool)
        pos = n.start + n.header + rng.randrange(n.length)
        mutated = _flip(base.plain, pos, rng.randrange(8))
        value = mutated[n.start + n.header:n.end]
        expect = Expect(success=frozenset({"same"}), reference=_patched_ref(n.start, value))
        yield Case(f"value:{base.name}@{pos}", "value-bitflip (control)", n.vr,
                   base.encode(mutated), expect, base)


def _noted(tag: int) -> bool:
    group = tag >> 16
    return tag in (0x00280103, 0x00283002) or (group & 1 == 1 and group > 7
                                               and 0x10 <= tag & 0xFFFF <= 0xFF)


def hostile_cases() -> Iterator[Case]:
    """The hand-built hostile inputs of ``tests/hostile_files.py``, with the outcome their
    docstrings declare."""
    bomb = hostile.deflate_bomb(inflated_size=64 << 20)
    assert isinstance(bomb, bytes)
    table: list[tuple[str, bytes, Expect]] = [
        ("item_longer_than_sequence", hostile.item_longer_than_sequence(),
         errors(ContainerOverrunError)),
        ("undefined_length_text", hostile.undefined_length_text(),
         errors(InvalidLengthError)),
        ("odd_length_values", hostile.odd_length_values(), Expect(success=frozenset(
            {"covered"}))),
        ("deep_nesting(100,closed)", hostile.deep_nesting(100, closed=True),
         errors(NestingTooDeepError)),
        ("deep_nesting(100,open)", hostile.deep_nesting(100), errors(NestingTooDeepError)),
        ("deep_nesting(8,closed)", hostile.deep_nesting(8, closed=True),
         Expect(success=frozenset({"covered"}))),
        ("unclosed_item", hostile.unclosed_item(), errors(TruncatedError, truncated=True)),
        ("stray_delimiter", hostile.stray_delimiter(), errors(StructureError)),
        ("invalid_vr", hostile.invalid_vr(), errors(InvalidVRError)),
        ("fragments_without_delimiter", hostile.fragments_without_delimiter(),
         errors(TruncatedError, truncated=True)),
        ("huge_declared_length", hostile.huge_declared_length(),
         errors(TruncatedError, truncated=True)),
        ("corrupt_deflate", hostile.corrupt_deflate(),
         Expect(errors=(InflateError,), exact=True)),
        ("deflate_bomb(64MiB)", bomb, errors(InflateLimitError)),
    ]
    table += [(f"garbage_after_meta({seed})", hostile.garbage_after_meta(seed),
               ANY_ERROR) for seed in range(4)]
    for name, data, expect in table:
        yield Case(f"hostile:{name}", "hostile (tests/hostile_files.py)", name, data, expect)


GENERATORS: tuple[Callable[[Base, random.Random], Iterator[Case]], ...] = (
    truncations, header_bit_flips, length_off_by_one, vr_garbles, delimiters,
    meta_group_lengths, value_bit_flips)


def generate_cases(seed: int = 0) -> list[Case]:
    """Every case, deterministic for ``seed``; kinds interleaved so a ``--limit`` keeps
    a spread of them."""
    bases = [load_base(name) for name in BASE_FILES]
    bases += [load_base(name, deflate=True) for name in DEFLATED_VARIANTS]
    by_kind: dict[str, list[Case]] = {}
    for base in bases:
        for gen in GENERATORS:
            rng = random.Random(f"{seed}:{base.name}:{gen.__name__}")
            for case in gen(base, rng):
                by_kind.setdefault(case.kind, []).append(case)
    for case in hostile_cases():
        by_kind.setdefault(case.kind, []).append(case)
    lists = list(by_kind.values())
    out: list[Case] = []
    for i in range(max(map(len, lists))):
        out.extend(cases[i] for cases in lists if i < len(cases))
    return out
