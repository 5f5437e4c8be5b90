"""Builders of hostile DICOM inputs, written byte by byte with :mod:`struct`.

pydicom will not write broken files, so these are assembled by hand. Each builder's
docstring starts with what it tests and ends with the error dicomstream is expected to
raise (names from :mod:`dicomstream.errors`). Small inputs are returned as ``bytes``; the
deflate bomb may also be streamed to a path.

The helpers at the top (:func:`element`, :func:`element_header`, :func:`part10`) are
reusable for new fixtures: they encode Explicit VR Little Endian unless told otherwise.
"""

from __future__ import annotations

__all__ = (
    "DEFLATED_EXPLICIT_VR_LE",
    "EXPLICIT_VR_BE",
    "EXPLICIT_VR_LE",
    "IMPLICIT_VR_LE",
    "JPEG_BASELINE",
    "corrupt_deflate",
    "deep_nesting",
    "deflate_bomb",
    "element",
    "element_header",
    "fragments_without_delimiter",
    "garbage_after_meta",
    "huge_declared_length",
    "invalid_vr",
    "item_longer_than_sequence",
    "odd_length_values",
    "part10",
    "stray_delimiter",
    "truncated",
    "unclosed_item",
    "undefined_length_text",
)

import functools
import random
import struct
import zlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

IMPLICIT_VR_LE = "1.2.840.10008.1.2"
EXPLICIT_VR_LE = "1.2.840.10008.1.2.1"
DEFLATED_EXPLICIT_VR_LE = "1.2.840.10008.1.2.1.99"
EXPLICIT_VR_BE = "1.2.840.10008.1.2.2"
JPEG_BASELINE = "1.2.840.10008.1.2.4.50"

SECONDARY_CAPTURE = "1.2.840.10008.5.1.4.1.1.7"
ENCAPSULATED_PDF = "1.2.840.10008.5.1.4.1.1.104.1"
BASIC_TEXT_SR = "1.2.840.10008.5.1.4.1.1.88.11"
_UID_ROOT = "1.2.826.0.1.3680043.8.498.77"
SOP_INSTANCE = _UID_ROOT + ".1.1"

UNDEFINED = 0xFFFFFFFF
ITEM = 0xFFFEE000
ITEM_DELIMITER = 0xFFFEE00D
SEQUENCE_DELIMITER = 0xFFFEE0DD
_LONG_VRS = frozenset("OB OD OF OL OV OW SQ SV UC UN UR UT UV".split())
_GiB = 1 << 30

# --------------------------------------------------------------------------- helpers


def element_header(
    tag: int, vr: str, length: int, *, implicit: bool = False, little: bool = True
) -> bytes:
    """Tag, VR (explicit VR) and length of one element; items/delimiters get no VR."""
    order = "<" if little else ">"
    group, elem = tag >> 16, tag & 0xFFFF
    if implicit or group == 0xFFFE:
        return struct.pack(order + "HHI", group, elem, length)
    if vr in _LONG_VRS:
        return struct.pack(order + "HH2s2xI", group, elem, vr.encode("ascii"), length)
    if length > 0xFFFF:
        raise ValueError(f"{vr} has a 2-byte length field, {length} does not fit")
    return struct.pack(order + "HH2sH", group, elem, vr.encode("ascii"), length)


def element(
    tag: int,
    vr: str,
    value: bytes | str,
    *,
    implicit: bool = False,
    little: bool = True,
    pad: bool = True,
) -> bytes:
    """A whole element; ``str`` values are ASCII. ``pad`` pads odd values (UI with NUL)."""
    raw = value.encode("latin-1") if isinstance(value, str) else value
    if pad and len(raw) % 2:
        raw += b"\0" if vr in ("UI", "OB", "UN") else b" "
    return element_header(tag, vr, len(raw), implicit=implicit, little=little) + raw


def _item(content: bytes, *, defined: bool = True) -> bytes:
    if defined:
        return element_header(ITEM, "", len(content)) + content
    return element_header(ITEM, "", UNDEFINED) + content + element_header(ITEM_DELIMITER, "", 0)


def part10(
    dataset: bytes,
    transfer_syntax: str = EXPLICIT_VR_LE,
    *,
    sop_class: str = SECONDARY_CAPTURE,
    sop_instance: str = SOP_INSTANCE,
) -> bytes:
    """Preamble + ``DICM`` + a valid meta group (correct group length) + ``dataset``."""
    meta = b"".join(
        (
            element(0x00020001, "OB", b"\x00\x01"),
            element(0x00020002, "UI", sop_class),
            element(0x00020003, "UI", sop_instance),
            element(0x00020010, "UI", transfer_syntax),
            element(0x00020012, "UI", _UID_ROOT + ".9"),
            element(0x00020013, "SH", "HOSTILE_FILES"),
        )
    )
    group_length = element(0x00020000, "UL", struct.pack("<I", len(meta)))
    return b"\0" * 128 + b"DICM" + group_length + meta + dataset


def _sop_common(sop_class: str, *, implicit: bool = False, little: bool = True) -> bytes:
    return element(0x00080016, "UI", sop_class, implicit=implicit, little=little) + element(
        0x00080018, "UI", SOP_INSTANCE, implicit=implicit, little=little
    )


def truncated(data: bytes, at: int) -> bytes:
    """``data`` cut after ``at`` bytes (negative: that many bytes from the end).

    expect: TruncatedError whenever the cut falls inside a header, a value or an open
    container (LengthExceedsSourceError if the cut value's length is checked first against
    a known source size); a cut exactly between two top-level elements parses cleanly.
    """
    return data[:at]


# --------------------------------------------------------------------------- lengths


def huge_declared_length() -> bytes:
    """An Encapsulated Document (0042,0011) OB declaring 0xFFFFFFF0 bytes, then 9 bytes and EOF.

    Tests that a declared length is never used as an allocation size, and the check of a
    length against what a source of known size can still deliver. The file is < 1 KiB.
    expect: LengthExceedsSourceError when the source size is known, else TruncatedError.
    """
    dataset = (
        _sop_common(ENCAPSULATED_PDF)
        + element(0x00080060, "CS", "DOC")
        + element(0x00100010, "PN", "Hostile^Length")
        + element_header(0x00420011, "OB", 0xFFFFFFF0)
        + b"%PDF-1.7\n"
    )
    return part10(dataset, sop_class=ENCAPSULATED_PDF)


def item_longer_than_sequence() -> bytes:
    """A defined-length sequence whose defined-length item declares 16 bytes more than it holds.

    The item's declared end lies inside the next top-level element (PatientName), so a
    parser that trusts the item over its sequence reads PatientName as item content.
    expect: ContainerOverrunError.
    """
    content = element(0x00081150, "UI", "1.2.840.10008.3.1.2.3.1") + element(
        0x00081155, "UI", _UID_ROOT + ".2.1"
    )
    item = element_header(ITEM, "", len(content) + 16) + content
    sequence = element_header(0x00081110, "SQ", len(item)) + item
    dataset = (
        _sop_common(SECONDARY_CAPTURE)
        + sequence
        + element(0x00100010, "PN", "Overrun^Item")
        + element(0x00100020, "LO", "OVR001")
    )
    return part10(dataset)


def undefined_length_text() -> bytes:
    """A UT element (Study Comments, (0032,4000)) declaring undefined length.

    Undefined length is only legal for SQ, for encapsulated OB/OW Pixel Data and for UN
    (CP-246); a text value with it has no end. expect: InvalidLengthError.
    """
    dataset = (
        _sop_common(SECONDARY_CAPTURE)
        + element(0x00100010, "PN", "Undefined^Text")
        + element_header(0x00324000, "UT", UNDEFINED)
        + b"comment that never ends "
        + element(0x00380010, "LO", "ADM1")
    )
    return part10(dataset)


def odd_length_values() -> bytes:
    """Odd value lengths where real files have them (unpadded UI, LO, PN, OB, a private LO).

    Not an error: many writers emit odd lengths; the parser must read them as declared
    (no alignment assumed) and report the lengths as written so they re-encode exactly.
    expect: no error (parses; pydicom reads it too).
    """
    dataset = (
        element(0x00080016, "UI", SECONDARY_CAPTURE, pad=False)  # 25 bytes
        + element(0x00080018, "UI", "1.2.3.4.5", pad=False)  # 9 bytes
        + element(0x00080060, "CS", "OT")
        + element(0x00080070, "LO", "ACM", pad=False)  # 3 bytes
        + element(0x00090010, "LO", "ODD CREATOR", pad=False)  # 11 bytes
        + element(0x00091001, "OB", b"\x01\x02\x03\x04\x05\x06\x07", pad=False)  # 7 bytes
        + element(0x00091002, "LO", "X", pad=False)  # 1 byte
        + element(0x00100010, "PN", "Doe^J", pad=False)  # 5 bytes
        + element(0x00100020, "LO", "ID7", pad=False)
        + element(0x00280010, "US", struct.pack("<H", 2))
    )
    return part10(dataset, sop_instance="1.2.3.4.5")


# --------------------------------------------------------------------------- structure


def _nesting_levels(depth: int, closed: bool) -> bytes:
    """``depth`` undefined-length ContentSequence > item levels (closed or not)."""
    open_level = element_header(0x0040A730, "SQ", UNDEFINED) + element_header(ITEM, "", UNDEFINED)
    innermost = element(0x0040A040, "CS", "TEXT") + element(0x0040A160, "UT", "deepest")
    if not closed:
        return open_level * depth + innermost
    close_level = element_header(ITEM_DELIMITER, "", 0) + element_header(SEQUENCE_DELIMITER, "", 0)
    return open_level * depth + innermost + close_level * depth


def deep_nesting(depth: int = 100_000, *, closed: bool = False) -> bytes:
    """An SR whose ContentSequence nests ``depth`` undefined-length sequences (~2 MB at 100 000).

    Each level is an undefined-length (0040,A730) SQ holding an undefined-length item that
    holds the next level; the innermost item has a text value. ``closed=False`` ends the file
    there (nothing is closed); ``closed=True`` closes every item and sequence properly, so
    the only fault is the depth (20 bytes a level, 36 when closed).
    expect: NestingTooDeepError (at depth 65 under the default limit of 64), in both
    variants; with a small ``depth`` and ``closed=True`` the file is valid.
    """
    dataset = (
        _sop_common(BASIC_TEXT_SR)
        + element(0x00080060, "CS", "SR")
        + element(0x0040A040, "CS", "CONTAINER")
        + _nesting_levels(depth, closed)
    )
    return part10(dataset, sop_class=BASIC_TEXT_SR)


def unclosed_item() -> bytes:
    """An undefined-length sequence with an undefined-length item never closed before EOF.

    expect: TruncatedError (the input ends inside an open item and sequence).
    """
    content = element(0x00081150, "UI", "1.2.840.10008.5.1.4.1.1.2") + element(
        0x00081155, "UI", _UID_ROOT + ".3.1"
    )
    dataset = (
        _sop_common(SECONDARY_CAPTURE)
        + element(0x00100010, "PN", "Unclosed^Item")
        + element_header(0x00081140, "SQ", UNDEFINED)  # Referenced Image Sequence
        + element_header(ITEM, "", UNDEFINED)
        + content
    )
    return part10(dataset)


def stray_delimiter() -> bytes:
    """A Sequence Delimitation Item at top level, between two ordinary elements.

    expect: StructureError.
    """
    dataset = (
        _sop_common(SECONDARY_CAPTURE)
        + element_header(SEQUENCE_DELIMITER, "", 0)
        + element(0x00100010, "PN", "Stray^Delimiter")
    )
    return part10(dataset)


def invalid_vr() -> bytes:
    """An Explicit VR LE element whose VR bytes are ``"Q?"``, which names no VR.

    expect: InvalidVRError.
    """
    dataset = (
        _sop_common(SECONDARY_CAPTURE)
        + struct.pack("<HH2sH", 0x0010, 0x0010, b"Q?", 8)
        + b"Bad^VR  "
        + element(0x00100020, "LO", "VR0001")
    )
    return part10(dataset)


def garbage_after_meta(seed: int = 0, size: int = 4096) -> bytes:
    """A valid meta group (Explicit VR LE) followed by ``size`` random bytes.

    Tests that noise is rejected quickly, without hanging or allocating a declared length.
    expect: InvalidVRError (random VR bytes name no VR; with another seed any ParseError
    subclass — ContainerOverrunError, LengthExceedsSourceError, TruncatedError — is fine).
    """
    return part10(random.Random(seed).randbytes(size))


def fragments_without_delimiter() -> bytes:
    """JPEG Baseline pixel data: Basic Offset Table and two fragments, then EOF, no delimiter.

    expect: TruncatedError (the undefined-length Pixel Data is never closed by its
    Sequence Delimitation Item).
    """
    fragments = [
        b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
        + bytes(40)
        + b"\xff\xd9",
        b"\xff\xd8\xff\xdb\x00\x43\x00" + bytes(range(64)) + b"\xff\xd9\x00",  # padded to even
    ]
    offsets = [0, 8 + len(fragments[0])]
    pixel_data = (
        element_header(0x7FE00010, "OB", UNDEFINED)
        + element_header(ITEM, "", 4 * len(offsets))
        + struct.pack(f"<{len(offsets)}I", *offsets)
        + b"".join(element_header(ITEM, "", len(f)) + f for f in fragments)
    )
    dataset = (
        _sop_common(SECONDARY_CAPTURE)
        + element(0x00280002, "US", struct.pack("<H", 1))
        + element(0x00280004, "CS", "YBR_FULL_422")
        + element(0x00280008, "IS", "2")
        + element(0x00280010, "US", struct.pack("<H", 8))
        + element(0x00280011, "US", struct.pack("<H", 8))
        + element(0x00280100, "US", struct.pack("<H", 8))
        + element(0x00280101, "US", struct.pack("<H", 8))
        + element(0x00280102, "US", struct.pack("<H", 7))
        + element(0x00280103, "US", struct.pack("<H", 0))
        + pixel_data
    )
    return part10(dataset, JPEG_BASELINE)


# --------------------------------------------------------------------------- deflate

#: Zeros deflated per reusable segment: 16 MiB -> ~16 KB (ratio ~1028, deflate's limit ~1032).
_ZERO_BLOCK = 16 << 20


def _segment(data: bytes) -> bytes:
    """``data`` as a self-contained, non-final, byte-aligned run of raw deflate blocks.

    A full flush empties the compressor's window, so segments compressed separately
    concatenate into one valid deflate stream; only the final empty block ends it.
    """
    deflater = zlib.compressobj(9, zlib.DEFLATED, -15)
    return deflater.compress(data) + deflater.flush(zlib.Z_FULL_FLUSH)


@functools.cache
def _zero_segment() -> bytes:
    return _segment(bytes(_ZERO_BLOCK))


def _zeros(n: int) -> list[bytes]:
    whole, rest = divmod(n, _ZERO_BLOCK)
    return [_zero_segment()] * whole + ([_segment(bytes(rest))] if rest else [])


def deflate_bomb(path: Path | None = None, inflated_size: int = 8 * _GiB) -> bytes | Path:
    """A Deflated Explicit VR LE file whose ~8 MB of deflate inflates to ``inflated_size`` bytes.

    The dataset is valid once inflated: a private block of OB elements of up to 1 GiB of
    zeros each (so any size is reachable despite the 4 GiB element limit). Built from one
    pre-compressed 16 MiB zero segment repeated, so generating 8 GiB takes ~0.1 s and the
    memory of the output only. Returns the bytes, or writes ``path`` and returns it.
    expect: InflateLimitError (ratio ~1000:1 and size far beyond the limits).
    """
    inflated_size += inflated_size & 1
    start = (
        _sop_common(SECONDARY_CAPTURE)
        + element(0x00080060, "CS", "OT")
        + element(0x00090010, "LO", "DICOMSTREAM BOMB")
    )
    segments = []
    remaining, k = inflated_size, 0
    while remaining > 0:
        length = min(remaining, _GiB)
        header = element_header(0x00091000 + k, "OB", length)
        segments.append(_segment(start + header) if k == 0 else _segment(header))
        segments.extend(_zeros(length))
        remaining -= length
        k += 1
    if k == 0:
        segments.append(_segment(start))
    segments.append(zlib.compressobj(9, zlib.DEFLATED, -15).flush(zlib.Z_FINISH))
    prefix = part10(b"", DEFLATED_EXPLICIT_VR_LE)
    if path is None:
        return prefix + b"".join(segments)
    with path.open("wb") as f:
        f.write(prefix)
        for segment in segments:
            f.write(segment)
    return path


def corrupt_deflate() -> bytes:
    """Deflated Explicit VR LE whose deflated stream turns to garbage after a valid start.

    expect: InflateError (not InflateLimitError).
    """
    good = zlib.compressobj(6, zlib.DEFLATED, -15)
    stream = good.compress(_sop_common(SECONDARY_CAPTURE)) + good.flush(zlib.Z_FULL_FLUSH)
    # 0xFF..: BTYPE=11 (reserved block type) — invalid for any inflater.
    return part10(stream + b"\xff" * 64, DEFLATED_EXPLICIT_VR_LE)
