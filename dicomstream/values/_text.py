"""Text VRs: strings, names, dates and numbers written as characters.

Why one module: every text VR is the same three steps — decode the characters (character
set for SH LO ST LT UC UT PN, the default repertoire otherwise), split on ``\\`` where the
VR may be multi-valued, strip the padding the VR allows — and differs only in those
details, which must match pydicom's reading exactly:

========  =====================================================================
VR        decoded value (``list`` when several values; ``""`` / ``None`` empty)
========  =====================================================================
AE        each value stripped of spaces on both sides
AS CS UI  trailing spaces and NULs of the whole value removed (UI: also NULs)
DA DT TM  as CS, each value a :class:`DA` / :class:`DT` / :class:`TM`
DS        whole value stripped, each value a :class:`DSfloat` (blank: the string)
IS        as CS, each value an :class:`IS` (blank: the string; a fraction:
          :class:`ISfloat`)
SH LO UC  each value stripped of trailing spaces and NULs
ST LT UT  not split; trailing spaces and NULs removed
UR        not split; trailing whitespace removed
PN        trailing spaces/NULs removed, each value a :class:`PersonName`
========  =====================================================================

A DS or IS that is no number is returned as text, with a warning (pydicom does the same,
silently). Encoding joins values with ``\\`` and encodes once, so the character set's
delimiter rules apply across values; padding is added by the registry.
"""

from __future__ import annotations

__all__ = ("MULTI_VALUED_TEXT_VRS", "decode_text", "encode_text")

import datetime as _dt
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from dicomstream.errors import EncodeError
from dicomstream.values._datetime import DA, DT, TM, format_da, format_dt, format_tm
from dicomstream.values._errors import InvalidValueError, warn_value
from dicomstream.values._numbers import (
    IS,
    DSfloat,
    ISfloat,
    format_ds,
    format_is,
    parse_ds,
    parse_is,
)
from dicomstream.values._person_name import PersonName

if TYPE_CHECKING:
    from collections.abc import Callable

    from dicomstream.values._charset import CharacterSet

SINGLE_VALUED_TEXT_VRS = frozenset({"LT", "ST", "UT", "UR"})
MULTI_VALUED_TEXT_VRS = frozenset(
    {"AE", "AS", "CS", "DA", "DS", "DT", "IS", "LO", "PN", "SH", "TM", "UC", "UI"}
)


def _one_or_list(values: list[Any]) -> Any:
    return values[0] if len(values) == 1 else values


def _split(text: str, kind: Callable[[str], Any]) -> Any:
    """pydicom's ``multi_string``: strip trailing padding, split, convert each value."""
    return _one_or_list([kind(v) for v in text.rstrip(" \x00").split("\\")])


def _as_text_fallback(vr: str, text: str, exc: Exception) -> Any:
    warn_value(f"{vr} value {text!r} is not valid ({exc}); returning it as text")
    return _one_or_list([v.rstrip(" \x00") for v in text.split("\\")])


def decode_text(vr: str, raw: bytes, charset: CharacterSet) -> Any:
    """The Python value of a non-empty text value (see the module's table)."""
    text = charset.decode(raw, vr)
    if vr in ("SH", "LO", "UC"):
        return _one_or_list([v.rstrip(" \x00") for v in text.split("\\")])
    if vr in ("ST", "LT", "UT"):
        return text.rstrip(" \x00")
    if vr == "PN":
        return _decode_pn(raw, text, charset)
    if vr in ("CS", "AS"):
        return _split(text, str)
    if vr == "UI":
        return _split(text.rstrip(" \x00"), str)
    if vr == "AE":
        return _one_or_list([v.strip() for v in text.split("\\")])
    if vr == "UR":
        return text.rstrip()
    if vr == "DA":
        return _split(text, DA)
    if vr == "TM":
        return _split(text, TM)
    if vr == "DT":
        return _split(text, DT)
    try:
        if vr == "DS":
            return _split(text.strip(), parse_ds)
        if vr == "IS":
            return _split(text, parse_is)
    except InvalidValueError as exc:
        return _as_text_fallback(vr, text, exc)
    raise InvalidValueError(f"{vr} is not a text VR")


def _decode_pn(raw: bytes, text: str, charset: CharacterSet) -> Any:
    """Person names; each remembers its bytes when they can be told apart."""
    stripped = raw.rstrip(b"\x00 ")
    values = text.rstrip("\x00 ").split("\\")
    if len(values) == 1:
        return PersonName._decoded(values[0], stripped, charset)
    pieces = stripped.split(b"\\")
    if len(pieces) != len(values) or any(
        charset._decode(piece, "PN")[0] != value
        for piece, value in zip(pieces, values, strict=True)
    ):  # a backslash byte inside a multi-byte character: keep no bytes
        return [PersonName(v) for v in values]
    return [PersonName._decoded(v, p, charset) for v, p in zip(values, pieces, strict=True)]


# -- encoding ----------------------------------------------------------------------------


def _format_number(vr: str, value: Any) -> str:
    if isinstance(value, str):  # DSfloat/IS are not str; a str is written as given
        return value
    if vr == "DS":
        if isinstance(value, DSfloat):
            return value.to_ds()
        if isinstance(value, ISfloat | IS) and value.original_string is not None:
            return value.original_string
        if isinstance(value, float | int | Decimal) and not isinstance(value, bool):
            return format_ds(float(value) if not isinstance(value, Decimal) else value)
    else:
        if isinstance(value, IS | ISfloat) and value.original_string is not None:
            return value.original_string
        if isinstance(value, int) and not isinstance(value, bool):
            return format_is(value)
        if isinstance(value, float | Decimal) and _is_integral(value):
            return format_is(int(value))
    raise EncodeError(f"cannot encode {value!r} as {vr}")


def _is_integral(value: float | Decimal) -> bool:
    try:
        return value == int(value)
    except (ValueError, OverflowError):  # nan, infinity
        return False


def _format_one(vr: str, value: Any) -> str:
    """One value as text (dates, times, numbers formatted as pydicom writes them)."""
    if vr in ("DS", "IS"):
        return _format_number(vr, value)
    if isinstance(value, str):
        return value
    if vr == "DA" and isinstance(value, _dt.date):
        return format_da(value)
    if vr == "TM" and isinstance(value, _dt.time):
        return format_tm(value)
    if vr == "DT" and isinstance(value, _dt.date):
        return format_dt(value)
    raise EncodeError(f"{vr} values must be str, not {type(value).__name__}: {value!r}")


def encode_text(vr: str, value: Any, charset: CharacterSet) -> bytes:
    """The bytes of a text value, unpadded.

    Raises:
        EncodeError: a value of the wrong type, several values for a single-valued VR,
            or characters the character set cannot encode.
    """
    if isinstance(value, list | tuple):
        if vr in SINGLE_VALUED_TEXT_VRS and len(value) > 1:
            raise EncodeError(f"{vr} cannot be multi-valued: {value!r}")
        values = list(value)
    else:
        values = [value]
    if vr == "PN":
        return _encode_pn(values, charset)
    return charset.encode("\\".join(_format_one(vr, v) for v in values), vr)


def _encode_pn(values: list[Any], charset: CharacterSet) -> bytes:
    """Names that keep their original bytes in this character set reuse them."""
    parts: list[bytes] = []
    for value in values:
        if not isinstance(value, str):
            raise EncodeError(f"PN values must be str, not {type(value).__name__}")
        original = value._original_bytes(charset) if isinstance(value, PersonName) else None
        parts.append(original if original is not None else charset.encode(value, "PN"))
    return b"\\".join(parts)
