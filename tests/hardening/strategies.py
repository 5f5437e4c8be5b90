"""Hypothesis strategies for DICOM datasets, and an independent byte builder for them.

Why this exists: the corpus tests (``tests/parser``) check the parser and encoder on the
files pydicom ships; property tests check them on datasets nobody wrote by hand — every VR
(OB/OW/OF/OD/OL/OV/SV/UV/UN/UT/UC/UR/SQ included), sequences and items nested with defined
and undefined lengths, sequences written as UN (CP-246), private blocks with creators
(known to the private dictionary or not), Specific Character Set with text encoded in it.

A generated :class:`Dataset` is a small model (elements hold their value bytes in little
endian order). :func:`build` writes it as a Part 10 file in a transfer syntax with its own
few lines of ``struct`` — not with dicomstream's encoder — and also returns the events the
parser must produce for it, offsets and paths included; :func:`expected_view` gives what
pydicom must read from it. Element tags come from pydicom's data dictionary (so implicit
VR lookups agree with the model's VRs), never from dicomstream's.
"""

from __future__ import annotations

__all__ = (
    "CHARSETS",
    "SYNTAXES",
    "Dataset",
    "El",
    "Item",
    "Sq",
    "build",
    "charset_datasets",
    "datasets",
    "expected_view",
    "pydicom_reads",
    "pydicom_view",
)

import io
import struct
import warnings
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pydicom
from hypothesis import strategies as st
from pydicom._dicom_dict import DicomDictionary
from pydicom._private_dict import private_dictionaries
from pydicom.dataelem import RawDataElement

from dicomstream.events import (
    UNDEFINED_LENGTH,
    DatasetEnd,
    DatasetStart,
    Element,
    Event,
    ItemEnd,
    ItemStart,
    Preamble,
    SequenceEnd,
    SequenceStart,
)

if TYPE_CHECKING:
    from hypothesis.strategies import DrawFn, SearchStrategy

IMPLICIT_LE = "1.2.840.10008.1.2"
EXPLICIT_LE = "1.2.840.10008.1.2.1"
DEFLATED_LE = "1.2.840.10008.1.2.1.99"
EXPLICIT_BE = "1.2.840.10008.1.2.2"
SYNTAXES = (IMPLICIT_LE, EXPLICIT_LE, EXPLICIT_BE, DEFLATED_LE)

LONG_VRS = frozenset("OB OD OF OL OV OW SQ SV UC UN UR UT UV".split())
"""VRs with a 4-byte length in explicit VR (PS3.5 Table 7.1-1)."""

UNIT: dict[str, int] = {"AT": 2, "US": 2, "SS": 2, "OW": 2, "UL": 4, "SL": 4, "FL": 4,
                        "OF": 4, "OL": 4, "FD": 8, "OD": 8, "SV": 8, "UV": 8, "OV": 8}
"""Byte-order units of the binary VRs (AT is two 16-bit numbers)."""

_SIZE = {vr: (4 if vr == "AT" else unit) for vr, unit in UNIT.items()}  # one value
_TEXT = "AE AS CS DA DS DT IS LO LT PN SH ST TM UC UI UR UT".split()
_CHARSET_VRS = ("SH", "LO", "ST", "LT", "UT", "UC", "PN")
_ALL_VRS = (*_TEXT, *UNIT, "OB", "UN")

MAX_DEPTH = 3
"""Deepest sequence that has items (a dataset > sequence > item > sequence > … chain)."""

_EXCLUDED_GROUPS = frozenset({0x0000, 0x0002, 0x0004, 0x7FE0, 0xFFFE})
# Elements whose values implicit VR lookups depend on (Pixel Representation, LUT
# Descriptor) and Specific Character Set, which datasets add on purpose.
_EXCLUDED_TAGS = frozenset({0x00280103, 0x00283002, 0x00080005})


def _tag_pools() -> dict[str, list[int]]:
    pools: dict[str, list[int]] = {}
    for tag, entry in sorted(DicomDictionary.items()):
        vr = entry[0]
        if tag >> 16 in _EXCLUDED_GROUPS or tag & 0xFFFF == 0 or tag in _EXCLUDED_TAGS:
            continue
        if vr in (*_ALL_VRS, "SQ"):
            pools.setdefault(vr, []).append(tag)
    # a spread of each pool, so shrinking has few choices and every group kind shows up
    return {vr: tags[:: max(1, len(tags) // 12)] for vr, tags in pools.items()}


TAGS = _tag_pools()
"""Public tags by their dictionary VR (about a dozen each)."""

KNOWN_CREATORS: tuple[tuple[str, int, tuple[tuple[int, str], ...]], ...] = tuple(
    (creator, group, tuple(
        (int(mask[6:], 16), entry[0]) for mask, entry in private_dictionaries[creator].items()
        if mask.startswith(f"{group:04X}xx") and entry[0] in _ALL_VRS)[:8])
    for creator, group in (("GEMS_IDEN_01", 0x0009), ("SIEMENS CSA HEADER", 0x0029),
                           ("Philips Imaging DD 001", 0x2001))
)
"""Private creators of pydicom's private dictionary: (creator, group, ((element byte, VR)…)):
in implicit VR their elements' VRs come from that dictionary."""

CHARSETS: dict[str, tuple[str, str]] = {
    "ISO_IR 100": ("latin_1", "ÀÁÂÄÅÆÇÈÉÑÖÜßàáâäåæçèéñöü"),
    "ISO_IR 101": ("iso8859_2", "ĄąĆćČčĎďĘęŁłŃńŘřŠšŤťŮůŽž"),
    "ISO_IR 144": ("iso8859_5", "АБВГДЕЖЗИЙКЛМНабвгдежзийклмн"),
    "ISO_IR 126": ("iso8859_7", "ΑΒΓΔΕΖΗΘΙΚΛΜαβγδεζηθικλμ"),
    "ISO_IR 127": ("iso8859_6", "ابتثجحخدذرزسشصضطظعغ"),
    "ISO_IR 138": ("iso8859_8", "אבגדהוזחטיכלמנסעפצקרשת"),
    "ISO_IR 192": ("utf_8", "ÀÉÑßАБВΑΒΓابתש中文漢字山田€"),
    "GB18030": ("gb18030", "中文汉字测试医院病人张王李"),
    "\\ISO 2022 IR 87": ("iso2022_jp", "山田太郎病院検査画像"),
}
"""Specific Character Set value → (Python codec, letters to write text with)."""


# --------------------------------------------------------------------------- model


@dataclass(frozen=True)
class El:
    """An element; ``value`` in little endian order, ``text`` what it encodes (charset
    tests)."""

    tag: int
    vr: str
    value: bytes
    text: str | None = None


@dataclass(frozen=True)
class Item:
    nodes: tuple[El | Sq, ...]
    defined: bool


@dataclass(frozen=True)
class Sq:
    """A sequence; ``un``: written with VR UN (explicit VR only; content in implicit VR
    little endian, CP-246); ``private``: a private sequence whose creator no dictionary
    knows (in implicit VR with a defined length it is an opaque UN value)."""

    tag: int
    items: tuple[Item, ...]
    defined: bool
    un: bool = False
    private: bool = False


@dataclass(frozen=True)
class Dataset:
    nodes: tuple[El | Sq, ...]
    charset: str | None = None


# --------------------------------------------------------------------------- strategies


def _text_value(vr: str) -> SearchStrategy[bytes]:
    alphabet = {
        "DA": "0123456789", "TM": "0123456789.", "DT": "0123456789.+-",
        "DS": "0123456789.+-E", "IS": "0123456789+-", "UI": "0123456789.",
        "AS": "0123456789DWMY", "CS": "ABCDEFXYZ0189_ ",
    }.get(vr, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 .-_^/:")
    size = {"AS": 4, "AE": 16, "CS": 16, "SH": 16, "DA": 8}.get(vr, 24)
    pad = b"\0" if vr == "UI" else b" "

    def finish(pair: tuple[str, bool]) -> bytes:
        raw = pair[0].encode("ascii")
        return raw + pad if pair[1] and len(raw) % 2 else raw  # odd lengths sometimes

    return st.tuples(st.text(alphabet, max_size=size),
                     st.sampled_from((True, True, True, False))).map(finish)


def value_for(vr: str) -> SearchStrategy[bytes]:
    """Raw little endian value bytes for ``vr``."""
    if vr in _SIZE:
        return st.integers(0, 4).flatmap(lambda n: st.binary(min_size=n * _SIZE[vr],
                                                             max_size=n * _SIZE[vr]))
    if vr in ("OB", "UN"):
        return st.binary(max_size=24)
    return _text_value(vr)


@st.composite
def _element(draw: DrawFn) -> El:
    vr = draw(st.sampled_from(_ALL_VRS))
    return El(draw(st.sampled_from(TAGS[vr])), vr, draw(value_for(vr)))


@st.composite
def _private_block(draw: DrawFn, depth: int) -> tuple[El | Sq, ...]:
    """A creator element and some elements of its block, or a private sequence."""
    block = draw(st.integers(0x10, 0xFF))
    known = draw(st.booleans())
    if known:
        creator, group, entries = draw(st.sampled_from(KNOWN_CREATORS))
        chosen = draw(st.lists(st.sampled_from(entries), min_size=1, max_size=3,
                               unique_by=lambda e: e[0]))
    else:
        group = draw(st.sampled_from((0x0009, 0x0011, 0x0029, 0x4453)))
        creator = draw(st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789_", min_size=1,
                               max_size=20).map(str.strip).filter(bool))
        chosen = draw(st.lists(st.tuples(st.integers(0, 0xFF), st.sampled_from(_ALL_VRS)),
                               min_size=1, max_size=3, unique_by=lambda e: e[0]))
    raw = creator.encode("ascii")
    nodes: list[El | Sq] = [El((group << 16) | block, "LO", raw + b" " * (len(raw) % 2))]
    for elem, vr in chosen:
        nodes.append(El((group << 16) | (block << 8) | elem, vr, draw(value_for(vr))))
    if not known and draw(st.booleans()):
        tag = (group << 16) | (block << 8) | 0xF0
        nodes = [n for n in nodes if n.tag != tag]
        nodes.append(draw(_sequence(depth + 1, tag=tag, private=True)))
    return tuple(nodes)


def _items(depth: int) -> SearchStrategy[tuple[Item, ...]]:
    return st.lists(st.builds(Item, _nodes(depth, max_size=4), st.booleans()),
                    max_size=3).map(tuple)


@st.composite
def _sequence(draw: DrawFn, depth: int = 1, tag: int | None = None,
              private: bool = False) -> Sq:
    """A sequence at nesting level ``depth`` (items hold sequences down to level 3)."""
    if tag is None:
        tag = draw(st.sampled_from(TAGS["SQ"]))
    un = not private and draw(st.sampled_from((False, False, True)))
    items = draw(_items(depth)) if depth <= MAX_DEPTH else ()
    return Sq(tag, items, False if un else draw(st.booleans()), un, private)


def _nodes(depth: int, max_size: int) -> SearchStrategy[tuple[El | Sq, ...]]:
    """Elements, sequences and private blocks of one dataset or item, in tag order."""
    node = st.one_of(_element().map(lambda e: (e,)), _private_block(depth),
                     st.deferred(lambda: _sequence(depth + 1)).map(lambda s: (s,)))
    return st.lists(node, max_size=max_size).map(_ordered)


def _ordered(groups: list[tuple[El | Sq, ...]]) -> tuple[El | Sq, ...]:
    """Flattened, first of each tag kept, sorted by tag."""
    seen: dict[int, El | Sq] = {}
    for group in groups:
        if any(n.tag in seen for n in group):
            continue  # a private block whose creator slot is taken: drop it whole
        seen.update((n.tag, n) for n in group)
    return tuple(sorted(seen.values(), key=lambda n: n.tag))


def datasets() -> SearchStrategy[Dataset]:
    """Datasets of every VR, nested sequences and private blocks (no character set)."""
    return _nodes(0, max_size=8).map(Dataset)


@st.composite
def charset_datasets(draw: DrawFn) -> Dataset:
    """A Specific Character Set and text elements written in it (plus other elements)."""
    term = draw(st.sampled_from(sorted(CHARSETS)))
    codec, letters = CHARSETS[term]
    texts: dict[int, El | Sq] = {}
    for _ in range(draw(st.integers(1, 5))):
        vr = draw(st.sampled_from(_CHARSET_VRS))
        words = draw(st.lists(st.text(letters + "ABCxyz", min_size=1, max_size=6),
                              min_size=1, max_size=3))
        text = " ".join(words)
        raw = text.encode(codec)
        tag = draw(st.sampled_from(TAGS[vr]))
        texts[tag] = El(tag, vr, raw + b" " * (len(raw) % 2), text)
    raw_term = term.encode("ascii")
    charset = El(0x00080005, "CS", raw_term + b" " * (len(raw_term) % 2))
    others = draw(_nodes(0, max_size=3))
    nodes = {n.tag: n for n in others}
    nodes.update(texts)
    nodes[charset.tag] = charset
    return Dataset(tuple(sorted(nodes.values(), key=lambda n: n.tag)), term)


# --------------------------------------------------------------------------- builder


def _swap(value: bytes, vr: str, little: bool) -> bytes:
    unit = UNIT.get(vr)
    if little or unit is None or unit == 1:
        return value
    usable = len(value) - len(value) % unit
    return b"".join(value[i:i + unit][::-1] for i in range(0, usable, unit)) + value[usable:]


def _private_vr(tag: int, creators: dict[int, str]) -> str | None:
    """The VR pydicom's private dictionary gives ``tag`` under its creator, if any."""
    creator = creators.get((tag >> 16 << 8) | (tag >> 8 & 0xFF))
    if creator is None:
        return None
    try:
        vr = pydicom.datadict.get_private_entry(tag, creator)[0]
    except KeyError:
        return None
    return vr if vr in _ALL_VRS else None


class _Builder:
    """Writes nodes and records the events the parser must give for them."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def header(self, tag: int, vr: str, length: int, implicit: bool, little: bool) -> bytes:
        order = "<" if little else ">"
        if implicit or tag >> 16 == 0xFFFE:
            return struct.pack(order + "HHL", tag >> 16, tag & 0xFFFF, length)
        if vr in LONG_VRS:
            return struct.pack(order + "HH2s2xL", tag >> 16, tag & 0xFFFF, vr.encode(), length)
        return struct.pack(order + "HH2sH", tag >> 16, tag & 0xFFFF, vr.encode(), length)

    def nodes(self, nodes: tuple[El | Sq, ...], offset: int, implicit: bool, little: bool,
              path: tuple[tuple[int, int], ...]) -> bytes:
        out = bytearray()
        creators: dict[int, str] = {}
        for node in nodes:
            at = offset + len(out)
            if isinstance(node, El):
                value = _swap(node.value, node.vr, little)
                vr = node.vr
                if implicit and node.tag >> 16 & 1:
                    elem = node.tag & 0xFFFF
                    if 0x10 <= elem <= 0xFF:
                        vr = "LO"
                        creators[(node.tag >> 16 << 8) | elem] = node.value.decode(
                            "latin-1").strip(" \0")
                    else:
                        vr = _private_vr(node.tag, creators) or "UN"
                out += self.header(node.tag, node.vr, len(value), implicit, little) + value
                self.events.append(Element(node.tag, vr, len(value), value, at, path))
            else:
                out += self.sequence(node, at, implicit, little, path)
        return bytes(out)

    def sequence(self, sq: Sq, at: int, implicit: bool, little: bool,
                 path: tuple[tuple[int, int], ...]) -> bytes:
        un = sq.un and not implicit
        head = 12 if not implicit else 8
        inner_implicit, inner_little = (True, True) if un else (implicit, little)
        if implicit and sq.private and sq.defined:  # no dictionary knows it: a UN value
            mark = len(self.events)
            content = self.items(sq, at + 8, inner_implicit, inner_little, path)
            del self.events[mark:]
            self.events.append(Element(sq.tag, "UN", len(content), content, at, path))
            return self.header(sq.tag, "UN", len(content), True, little) + content
        start = SequenceStart(sq.tag, "UN" if un else "SQ",
                              UNDEFINED_LENGTH, at, path)
        self.events.append(start)
        mark = len(self.events) - 1
        content = self.items(sq, at + head, inner_implicit, inner_little, path)
        vr = "UN" if un else "SQ"
        if sq.defined:
            self.events[mark] = start._replace(length=len(content))
            self.events.append(SequenceEnd(sq.tag, False, at + head + len(content), path))
            return self.header(sq.tag, vr, len(content), implicit, little) + content
        end = self.header(0xFFFEE0DD, "", 0, True, inner_little)
        self.events.append(SequenceEnd(sq.tag, True, at + head + len(content), path))
        return self.header(sq.tag, vr, UNDEFINED_LENGTH, implicit, little) + content + end

    def items(self, sq: Sq, offset: int, implicit: bool, little: bool,
              path: tuple[tuple[int, int], ...]) -> bytes:
        out = bytearray()
        for index, item in enumerate(sq.items):
            at = offset + len(out)
            inner = (*path, (sq.tag, index))
            self.events.append(ItemStart(index, UNDEFINED_LENGTH, at, inner))
            mark = len(self.events) - 1
            content = self.nodes(item.nodes, at + 8, implicit, little, inner)
            if item.defined:
                self.events[mark] = ItemStart(index, len(content), at, inner)
                self.events.append(ItemEnd(index, False, at + 8 + len(content), inner))
                out += self.header(0xFFFEE000, "", len(content), True, little) + content
            else:
                self.events.append(ItemEnd(index, True, at + 8 + len(content), inner))
                out += self.header(0xFFFEE000, "", UNDEFINED_LENGTH, True, little) + content
                out += self.header(0xFFFEE00D, "", 0, True, little)
        return bytes(out)


def _meta(syntax: str) -> list[tuple[int, str, bytes]]:
    def uid(text: str) -> bytes:
        raw = text.encode("ascii")
        return raw + b"\0" * (len(raw) % 2)

    return [(0x00020001, "OB", b"\x00\x01"),
            (0x00020002, "UI", uid("1.2.840.10008.5.1.4.1.1.7")),
            (0x00020003, "UI", uid("1.2.826.0.1.3680043.8.498.1")),
            (0x00020010, "UI", uid(syntax)),
            (0x00020012, "UI", uid("1.2.826.0.1.3680043.8.498.9"))]


def build(dataset: Dataset, syntax: str) -> tuple[bytes, list[Event]]:
    """``dataset`` as a Part 10 file in ``syntax``, and the events it must parse to."""
    builder = _Builder()
    meta_elements = _meta(syntax)
    body = b"".join(builder.header(t, v, len(x), False, True) + x for t, v, x in meta_elements)
    group = builder.header(0x00020000, "UL", 4, False, True) + struct.pack("<L", len(body))
    events: list[Event] = [Preamble(b"\0" * 128, 0),
                           Element(0x00020000, "UL", 4, struct.pack("<L", len(body)), 132, ())]
    at = 132 + len(group)
    for tag, vr, value in meta_elements:
        events.append(Element(tag, vr, len(value), value, at, ()))
        at += (12 if vr in LONG_VRS else 8) + len(value)
    implicit, little = syntax == IMPLICIT_LE, syntax != EXPLICIT_BE
    dataset_bytes = builder.nodes(dataset.nodes, at, implicit, little, ())
    events += [DatasetStart(syntax, at, True), *builder.events,
               DatasetEnd(at + len(dataset_bytes))]
    if syntax == DEFLATED_LE:
        deflater = zlib.compressobj(9, zlib.DEFLATED, -15)
        dataset_bytes = deflater.compress(dataset_bytes) + deflater.flush()
    return b"\0" * 128 + b"DICM" + group + body + dataset_bytes, events


# --------------------------------------------------------------------------- pydicom


View = list[tuple[int, Any]]
"""(tag, raw value bytes) or (tag, [view of each item]), in tag order."""


def expected_view(dataset: Dataset, syntax: str) -> View:
    """What pydicom must read from ``build(dataset, syntax)`` (Specific Character Set,
    which pydicom decodes at once, left out)."""
    little = syntax != EXPLICIT_BE

    def nodes(items: tuple[El | Sq, ...], little: bool, implicit: bool) -> View:
        out: View = []
        for node in items:
            if isinstance(node, El):
                if node.tag != 0x00080005:
                    out.append((node.tag, _swap(node.value, node.vr, little)))
            elif implicit and node.private and node.defined:
                builder = _Builder()
                out.append((node.tag, builder.items(node, 0, True, little, ())))
            elif implicit and node.private and not node.items:
                out.append((node.tag, b""))  # pydicom: nothing tells it is a sequence
            else:
                inner = (True, True) if node.un and not implicit else (little, implicit)
                out.append((node.tag, [nodes(i.nodes, inner[0], inner[1])
                                       for i in node.items]))
        return out

    return nodes(dataset.nodes, little, syntax == IMPLICIT_LE)


def _sequence_like(raw: RawDataElement) -> bool:
    if raw.VR == "SQ" or raw.length == UNDEFINED_LENGTH:
        return True
    if raw.VR is not None:
        return False
    try:
        return bool(pydicom.datadict.dictionary_VR(raw.tag) == "SQ")
    except KeyError:
        return False


def pydicom_reads(dataset: Dataset, syntax: str) -> bool:
    """Whether pydicom 3.0 reads ``dataset`` in ``syntax`` as written: in explicit VR big
    endian it reads the content of a sequence written as UN in big endian ("No tag to
    read"), where dicomstream (and dcmtk) read implicit VR *little* endian, as CP-246
    writes it."""

    def has_un(nodes: tuple[El | Sq, ...]) -> bool:
        return any(isinstance(n, Sq) and (n.un or any(has_un(i.nodes) for i in n.items))
                   for n in nodes)

    return syntax != EXPLICIT_BE or not has_un(dataset.nodes)


def pydicom_view(data: bytes) -> View:
    """What pydicom reads: raw value bytes of elements, items of sequences."""

    def walk(ds: pydicom.Dataset) -> View:
        out: View = []
        for tag in sorted(ds._dict):
            if tag == 0x00080005:
                continue
            raw = ds._dict[tag]
            if isinstance(raw, RawDataElement) and not _sequence_like(raw):
                out.append((int(tag), bytes(raw.value or b"")))
                continue
            element = ds[tag]  # only what may be a sequence is converted
            if element.VR == "SQ":
                out.append((int(tag), [walk(item) for item in element.value]))
            else:
                out.append((int(tag), bytes(element.value or b"")))
        return out

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return walk(pydicom.dcmread(io.BytesIO(data)))
