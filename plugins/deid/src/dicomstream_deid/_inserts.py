"""The elements a de-identified object gets (PS3.15 E.1.1 and CID 7050)."""

from __future__ import annotations

__all__ = ("profile_elements",)

from typing import TYPE_CHECKING

from dicomstream.events import Element, ItemEnd, ItemStart, SequenceEnd, SequenceStart
from dicomstream_deid._table import BASIC_PROFILE_CODE, OPTION_CODES
from dicomstream_deid._version import __version__

if TYPE_CHECKING:
    from dicomstream.events import Event
    from dicomstream.tags import TagPath
    from dicomstream_deid._profile import DeidConfig

CHARSET = 0x00080005
IDENTITY_REMOVED, METHOD, METHOD_CODES = 0x00120062, 0x00120063, 0x00120064
LONGITUDINAL = 0x00280303
_UNDEFINED = 0xFFFFFFFF


def _text(tag: int, vr: str, value: str, path: TagPath = ()) -> Element:
    raw = value.encode("ascii")
    raw += b" " if len(raw) & 1 else b""
    return Element(tag, vr, len(raw), raw, -1, path)


def profile_elements(config: DeidConfig, *, utf8: bool) -> list[tuple[int, list[Event]]]:
    """(tag, events) of the top-level elements the stage writes, in tag order, replacing
    any the object has: Specific Character Set (only when switching to UTF-8), Patient
    Identity Removed, De-identification Method, De-identification Method Code Sequence
    (the profile's and each option's CID 7050 code) and Longitudinal Temporal
    Information Modified."""
    options = config.ordered_options()
    method = [f"dicomstream-deid {__version__}", f"PS3.15 {config.edition} Basic Profile",
              *options]
    recipe = config.recipe
    if recipe.tag_rules or recipe.path_rules or recipe.private_rules:
        method.append(recipe.source)
    inserts: list[tuple[int, list[Event]]] = []
    if utf8:
        inserts.append((CHARSET, [_text(CHARSET, "CS", "ISO_IR 192")]))
    inserts.append((IDENTITY_REMOVED, [_text(IDENTITY_REMOVED, "CS", "YES")]))
    inserts.append((METHOD, [_text(METHOD, "LO", "\\".join(m[:64] for m in method))]))
    codes: list[Event] = [SequenceStart(METHOD_CODES, "SQ", _UNDEFINED, -1, ())]
    for index, (value, meaning) in enumerate(
            [BASIC_PROFILE_CODE, *(OPTION_CODES[o] for o in options)]):
        path: TagPath = ((METHOD_CODES, index),)
        codes += [ItemStart(index, _UNDEFINED, -1, path),
                  _text(0x00080100, "SH", value, path),
                  _text(0x00080102, "SH", "DCM", path),
                  _text(0x00080104, "LO", meaning, path),
                  ItemEnd(index, True, -1, path)]
    codes.append(SequenceEnd(METHOD_CODES, True, -1, ()))
    inserts.append((METHOD_CODES, codes))
    inserts.append((LONGITUDINAL, [_text(LONGITUDINAL, "CS", config.longitudinal)]))
    return inserts
