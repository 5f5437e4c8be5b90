"""Value Representations and the sets the encoding rules need.

:class:`VR` is a ``StrEnum``: ``VR.US == "US"``, so events may carry either. The sets
below answer the questions the parser and encoder ask on every element: does this VR
use the 4-byte length form in explicit VR? what unit must be byte-swapped between
little and big endian? is the value text (space padded) or binary (NUL padded)?
"""

from __future__ import annotations

__all__ = (
    "BINARY_VRS",
    "LONG_LENGTH_VRS",
    "SWAP_SIZES",
    "TEXT_VRS",
    "VR",
    "VR_BY_BYTES",
    "padding_byte",
)

from enum import StrEnum


class VR(StrEnum):
    """The 34 value representations of PS3.5 §6.2."""

    AE = "AE"
    AS = "AS"
    AT = "AT"
    CS = "CS"
    DA = "DA"
    DS = "DS"
    DT = "DT"
    FD = "FD"
    FL = "FL"
    IS = "IS"
    LO = "LO"
    LT = "LT"
    OB = "OB"
    OD = "OD"
    OF = "OF"
    OL = "OL"
    OV = "OV"
    OW = "OW"
    PN = "PN"
    SH = "SH"
    SL = "SL"
    SQ = "SQ"
    SS = "SS"
    ST = "ST"
    SV = "SV"
    TM = "TM"
    UC = "UC"
    UI = "UI"
    UL = "UL"
    UN = "UN"
    UR = "UR"
    US = "US"
    UT = "UT"
    UV = "UV"


VR_BY_BYTES: dict[bytes, VR] = {v.value.encode("ascii"): v for v in VR}
"""The two bytes of an explicit VR header → VR; anything else is not a VR."""

LONG_LENGTH_VRS: frozenset[str] = frozenset(
    {"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"}
)
"""VRs written with 2 reserved bytes and a 4-byte length in explicit VR (PS3.5 §7.1.2)."""

SWAP_SIZES: dict[str, int] = {
    "AT": 2,  # a pair of 16-bit numbers, each swapped on its own
    "US": 2,
    "SS": 2,
    "OW": 2,
    "UL": 4,
    "SL": 4,
    "FL": 4,
    "OF": 4,
    "OL": 4,
    "FD": 8,
    "OD": 8,
    "SV": 8,
    "UV": 8,
    "OV": 8,
}
"""Size of the unit whose bytes are reversed between little and big endian."""

TEXT_VRS: frozenset[str] = frozenset(
    {"AE", "AS", "CS", "DA", "DS", "DT", "IS", "LO", "LT", "PN", "SH", "ST", "TM", "UC",
     "UI", "UR", "UT"}
)
"""VRs whose values are character strings."""

BINARY_VRS: frozenset[str] = frozenset(VR) - TEXT_VRS - {"SQ"}
"""VRs whose values are bytes or binary numbers."""


def padding_byte(vr: str) -> bytes:
    """The byte that pads a value to even length: NUL for UI and binary VRs, else space."""
    return b" " if vr in TEXT_VRS and vr != "UI" else b"\x00"
