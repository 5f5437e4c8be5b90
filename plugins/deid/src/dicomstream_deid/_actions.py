"""What each action does to a value: dummies per VR, compound codes, date shifting,
cleaning of free text.

Action letters (Table E.1-1a), as the stage applies them:

====== ==================================================================================
``X``  remove the element (a sequence with everything in it)
``Z``  zero-length value (a sequence: no items)
``D``  a dummy value valid for the VR (:data:`DUMMY_TEXT`; a sequence keeps its items,
       whose contents become dummies too — see the stage)
``K``  keep
``C``  clean: dates shift by the patient's offset, free text loses identifying tokens,
       a sequence keeps its items and its free text is cleaned
``U``  replace UIDs by their keyed ``2.25`` form (registered UIDs stay)
====== ==================================================================================

Compound codes are resolved by the attribute's Type in the IOD of the object (PS3.15
Table E.1-1a): ``X/Z`` → X for Type 3, else Z; ``X/D`` → X for Type 3, else D; ``Z/D`` →
Z unless Type 1; ``X/Z/D`` → X, Z or D for Type 3, 2, 1; ``X/Z/U*`` → X, Z, or keep the
sequence with its UIDs replaced. Without a Type (an unknown IOD, or inside a sequence) the
choice that keeps the object valid in every IOD is taken: D, Z or U.
"""

from __future__ import annotations

__all__ = (
    "DUMMY_TEXT",
    "FREE_TEXT_VRS",
    "MAX_LENGTH",
    "Cleaner",
    "dummy_value",
    "resolve_compound",
    "shift_date_value",
)

import datetime as _dt
import re
from struct import pack
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable

DUMMY_TEXT = "ANONYMIZED"
DUMMY_DA = "19000101"
DUMMY_TM = "000000"
DUMMY_DT = "19000101000000"

FREE_TEXT_VRS = frozenset({"LO", "SH", "ST", "LT", "UT", "UC", "PN"})
"""VRs whose values are free text a person typed (what cleaning and dummy sequences treat)."""

MAX_LENGTH: dict[str, int] = {
    "AE": 16, "AS": 4, "CS": 16, "DA": 8, "DS": 16, "DT": 26, "IS": 12, "LO": 64,
    "LT": 10240, "PN": 64, "SH": 16, "ST": 1024, "TM": 14, "UC": 0xFFFFFFFE,
    "UI": 64, "UR": 0xFFFFFFFE, "UT": 0xFFFFFFFE,
}

_DUMMY_BY_VR: dict[str, str] = {
    "AE": DUMMY_TEXT, "AS": "000D", "CS": DUMMY_TEXT, "DA": DUMMY_DA, "DS": "0",
    "DT": DUMMY_DT, "IS": "0", "LO": DUMMY_TEXT, "LT": DUMMY_TEXT, "PN": DUMMY_TEXT,
    "SH": DUMMY_TEXT, "ST": DUMMY_TEXT, "TM": DUMMY_TM, "UC": DUMMY_TEXT,
    "UR": "urn:anonymized", "UT": DUMMY_TEXT,
}
_DUMMY_BY_TAG: dict[int, str] = {
    0x04000565: "COERCE",  # Reason for the Attribute Modification: enumerated COERCE/CORRECT
}
_BINARY_SIZES = {"US": "H", "SS": "h", "UL": "I", "SL": "i", "UV": "Q", "SV": "q",
                 "FL": "f", "FD": "d", "AT": "HH"}
_BYTE_VRS = {"OB": 2, "UN": 2, "OW": 2, "OF": 4, "OL": 4, "OD": 8, "OV": 8}


def dummy_value(tag: int, vr: str, little_endian: bool) -> bytes:
    """The raw bytes (padded) of the dummy value D writes for ``tag`` with ``vr``."""
    text = _DUMMY_BY_TAG.get(tag) or _DUMMY_BY_VR.get(vr)
    if text is not None:
        raw = text.encode("ascii")
        return raw + b" " if len(raw) & 1 else raw
    fmt = _BINARY_SIZES.get(vr)
    if fmt is not None:
        return pack(("<" if little_endian else ">") + fmt, *([0] * len(fmt)))
    return b"\0" * _BYTE_VRS.get(vr, 2)


def resolve_compound(code: str, iod_type: str | None) -> str:
    """One of X, Z, D, U for a compound ``code`` and the attribute's Type ("1", "2", "3";
    ``None`` when unknown: the conformant choice). Simple codes come back unchanged."""
    if "/" not in code:
        return code
    if code == "Z/D":
        return "D" if iod_type in ("1", None) else "Z"
    options = code.rstrip("*").split("/")
    if iod_type is None or iod_type == "1":
        return options[-1]
    if iod_type == "2":
        return "Z" if "Z" in options else options[-1]
    return "X"


# -- dates -----------------------------------------------------------------------------

_DA = re.compile(r"^(\d{4})(\d{2})(\d{2})$|^(\d{4})\.(\d{2})\.(\d{2})$")
_TM = re.compile(r"\d{2}(?::?\d{2}(?::?\d{2}(?:\.\d{1,6})?)?)?")  # also ACR-NEMA's HH:MM:SS
_DT = re.compile(r"^(\d{4})(\d{2})?(\d{2})?(\d{2}(?:\d{2}(?:\d{2}(?:\.\d{1,6})?)?)?)?([+-]\d{4})?$")


def _shift_da(text: str, days: int) -> str | None:
    m = _DA.match(text)
    if m is None:
        return None
    y, mo, d = (int(g) for g in m.groups() if g is not None)
    try:
        new = _dt.date(y, mo, d) + _dt.timedelta(days=days)
    except (ValueError, OverflowError):
        return None
    return f"{new.year:04}{new.month:02}{new.day:02}"


def _shift_dt(text: str, days: int) -> str | None:
    m = _DT.match(text)
    if m is None:
        return None
    year, month, day, rest, zone = m.groups()
    try:
        base = _dt.date(int(year), int(month or 1), int(day or 1)) + _dt.timedelta(days=days)
    except (ValueError, OverflowError):
        return None
    out = f"{base.year:04}"
    if month:
        out += f"{base.month:02}"
        if day:
            out += f"{base.day:02}" + (rest or "")
    return out + (zone or "")


def _shift_tm(text: str, days: int) -> str | None:
    """A time is not moved (the offset is a whole number of days), only checked."""
    return text if _TM.fullmatch(text) else None


def shift_date_value(vr: str, text: str, days: int) -> str | None:
    """``text`` (a whole DA, DT or TM value: several values, ranges, partial DTs with UTC
    offsets) with every date moved by ``days``; times stay as they are (the offset is a
    whole number of days). ``None`` when something in it is not a date or time (so
    nothing that is not one is ever kept: the caller empties it)."""
    shift = _shift_da if vr == "DA" else _shift_tm if vr == "TM" else _shift_dt
    values = []
    for value in text.split("\\"):
        value = value.strip(" \0")
        if not value:
            values.append("")
            continue
        parts = value.split("-") if vr != "DT" or value.count("-") == 1 and \
            not re.search(r"[+-]\d{4}$", value) else [value]
        shifted = []
        for part in parts:
            if not part:
                shifted.append("")
                continue
            new = shift(part, days)
            if new is None:
                return None
            shifted.append(new)
        values.append("-".join(shifted))
    return "\\".join(values)


# -- cleaning free text ----------------------------------------------------------------

_DIGITS = re.compile(r"\d{5,}")
_DATE_LIKE = re.compile(r"\b\d{4}[-./]\d{1,2}[-./]\d{1,2}\b|\b\d{1,2}[-./]\d{1,2}[-./]\d{2,4}\b")
MASK = "***"


class Cleaner:
    """Removes identifying content from free text while keeping its meaning.

    What goes: every identifying value the object carried before the text (names — each
    name part on its own —, IDs, accession numbers, institution and physician names, …:
    whatever the profile removes or replaces), any run of 5 or more digits (record,
    accession and phone numbers, dates written as digits) and dates written with
    separators. Each is replaced by ``***``. What stays: everything else ("CT CHEST W/O
    CONTRAST" is unchanged).
    """

    def __init__(self) -> None:
        self._tokens: set[str] = set()
        self._pattern: re.Pattern[str] | None = None

    def add(self, text: str, *, person_name: bool = False) -> None:
        """Learn identifying ``text`` (a PN value is also learnt part by part)."""
        pieces: Iterable[str] = [text]
        if person_name:
            pieces = [text, *re.split(r"[\^=\\ ,]+", text)]
        for piece in pieces:
            piece = piece.strip(" \0^=")
            if len(piece) >= 2 and not piece.isdigit() or len(piece) >= 3:
                if piece.lower() not in self._tokens:
                    self._tokens.add(piece.lower())
                    self._pattern = None

    def _compiled(self) -> re.Pattern[str] | None:
        if self._pattern is None and self._tokens:
            words = sorted(self._tokens, key=len, reverse=True)
            self._pattern = re.compile(
                r"(?<!\w)(?:" + "|".join(re.escape(w) for w in words) + r")(?!\w)",
                re.IGNORECASE)
        return self._pattern

    def clean(self, text: str) -> str:
        pattern = self._compiled()
        if pattern is not None:
            text = pattern.sub(MASK, text)
        text = _DATE_LIKE.sub(MASK, text)
        return _DIGITS.sub(MASK, text)
