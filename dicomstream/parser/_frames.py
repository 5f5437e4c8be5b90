"""Open containers, and the implicit VR lookups that depend on what they hold.

The parser keeps one :class:`Frame` per open container (the dataset, an item, a
sequence, encapsulated pixel data). In implicit VR the VR of an element comes from the
data dictionary — for a private element from its creator's dictionary, found through the
private creator elements of the same item, and for "US or SS" elements from the Pixel
Representation of the nearest dataset that has one — so a frame also remembers those
values (:func:`note_implicit`), and :func:`implicit_vr` looks VRs up.
"""

from __future__ import annotations

__all__ = ("FRAGS", "ITEM", "NOTED_MAX", "SEQ", "Frame", "implicit_vr", "note_implicit",
           "noted")

from typing import TYPE_CHECKING

from dicomstream.parser._ambiguous import resolve_ambiguous_vr
from dicomstream.vr import LONG_LENGTH_VRS, VR

if TYPE_CHECKING:
    from collections.abc import Callable

    from dicomstream.tags import TagPath

# Frame kinds
ITEM = 0  # the dataset itself (index -1) or an item of a sequence
SEQ = 1
FRAGS = 2

NOTED_MAX = 64  # a private creator is an LO: at most 64 bytes

_PIXEL_REPRESENTATION = 0x00280103
_LUT_DESCRIPTOR = 0x00283002
_VALID_VRS = frozenset(str(v.value) for v in VR)


class Frame:
    """One open container. The parser makes one per sequence and item (tens per file),
    so construction is kept to plain stores."""

    __slots__ = ("creators", "end", "hard", "implicit", "index", "kind", "limit", "little",
                 "lut_first", "parent", "path", "pixel_rep", "tag", "vr")

    def __init__(self, kind: int, tag: int, vr: str, end: int | None, limit: int | None,
                 hard: int | None, path: TagPath, index: int, implicit: bool, little: bool,
                 parent: Frame | None) -> None:
        self.kind = kind
        self.tag = tag
        self.vr = vr
        self.end = end  # absolute offset just past the container (defined length)
        self.limit = limit  # nearest defined end among this frame and its ancestors
        # ``limit`` or the end of the source when that comes first and a length past it is
        # an error (strict, not deflated): nothing inside may run past it.
        self.hard = hard
        self.path = path  # items: path of the contents; sequences: where they sit
        self.index = index  # items: own index; sequences/fragments: next child index
        self.implicit = implicit
        self.little = little
        self.parent = parent
        self.creators: dict[int, str] | None = None
        self.pixel_rep: int | None = None
        self.lut_first: int | None = None


_vr_for_tag: Callable[[int], str] | None = None


def dictionary_vr(tag: int) -> str:
    """The data dictionary's VR for ``tag`` (the dictionary loads on first use)."""
    global _vr_for_tag
    if _vr_for_tag is None:
        from dicomstream.dictionary import vr_for_tag

        _vr_for_tag = vr_for_tag
    return _vr_for_tag(tag)


def noted(tag: int) -> bool:
    """Implicit VR lookups depend on this element's value (see :func:`note_implicit`),
    so it arrives whole even above the value threshold: private creators, Pixel
    Representation, LUT Descriptor."""
    group = tag >> 16
    return tag in (_PIXEL_REPRESENTATION, _LUT_DESCRIPTOR) or (
        group & 1 == 1 and group > 7 and 0x10 <= tag & 0xFFFF <= 0xFF)


def implicit_vr(tag: int, frame: Frame) -> str:
    """The VR of ``tag`` read in implicit VR inside ``frame``."""
    group = tag >> 16
    elem = tag & 0xFFFF
    if group & 1 and group > 7 and group != 0xFFFF:
        if elem == 0:
            return "UL"
        if elem < 0x100:
            return "LO" if elem >= 0x10 else "UN"
        creator = frame.creators.get((group << 8) | (elem >> 8)) if frame.creators else None
        if creator is None:
            return "UN"
        from dicomstream.dictionary import private_vr

        found = private_vr(creator, tag)
        if found is None:
            return "UN"
        vr = found
    else:
        vr = dictionary_vr(tag)
    if " or " in vr:
        pixel_rep = None
        f: Frame | None = frame
        while f is not None:
            if f.pixel_rep is not None:
                pixel_rep = f.pixel_rep
                break
            f = f.parent
        vr = resolve_ambiguous_vr(tag, vr, pixel_rep, frame.lut_first)
    elif vr not in LONG_LENGTH_VRS and vr not in _VALID_VRS:
        vr = "UN"  # dictionary entries such as "NONE"
    return vr


def note_implicit(frame: Frame, tag: int, value: bytes) -> None:
    """Remember what later implicit VR lookups in this item depend on."""
    group = tag >> 16
    elem = tag & 0xFFFF
    little = frame.little
    if group & 1 and 0x10 <= elem <= 0xFF and group > 7:
        if frame.creators is None:
            frame.creators = {}
        frame.creators[(group << 8) | elem] = value.decode("latin-1").strip(" \x00")
    elif tag == _PIXEL_REPRESENTATION and len(value) >= 2:
        frame.pixel_rep = int.from_bytes(value[:2], "little" if little else "big")
    elif tag == _LUT_DESCRIPTOR and len(value) >= 2:
        frame.lut_first = int.from_bytes(value[:2], "little" if little else "big")
