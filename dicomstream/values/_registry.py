"""The VR → codec table and the two entry points, :func:`decode_value` / :func:`encode_value`.

Why a table: every consumer (collector, edit stage, JSON, dump) goes through these two
functions, so they must cover every VR the parser can emit; :func:`check_every_vr_has_codec`
guards that (pydicom keeps the same check). Each codec is a pair of plain functions —
no classes to instantiate, no global configuration (options are arguments).

Empty values decode as pydicom decodes them: ``""`` for the string VRs,
``PersonName("")`` for PN, ``None`` for numbers, DS, IS, AT and the byte VRs. Encoding
``None``, ``""`` or ``[]`` gives an empty value; anything else is padded to even length
with the VR's padding byte (space for text, NUL for UI and binary VRs).
"""

from __future__ import annotations

__all__ = ("CODECS", "Codec", "check_every_vr_has_codec", "decode_value", "encode_value")

from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple

from dicomstream.errors import DicomStreamError, EncodeError
from dicomstream.values._charset import DEFAULT_CHARSET, CharacterSet
from dicomstream.values._errors import InvalidValueError, warn_value
from dicomstream.values._numeric import (
    NUMBER_FORMATS,
    decode_at,
    decode_bytes,
    decode_numbers,
    encode_at,
    encode_bytes,
    encode_numbers,
)
from dicomstream.values._person_name import PersonName
from dicomstream.values._text import MULTI_VALUED_TEXT_VRS, decode_text, encode_text
from dicomstream.vr import VR, padding_byte

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping


class Codec(NamedTuple):
    """How one VR's values go between bytes and Python.

    Attributes:
        decode: ``(raw, little_endian, charset) -> value`` for a non-empty raw value.
        encode: ``(value, little_endian, charset) -> bytes``, unpadded, for a non-empty
            value.
        empty: what an empty value decodes to.
    """

    decode: Callable[[bytes, bool, CharacterSet], Any]
    encode: Callable[[Any, bool, CharacterSet], bytes]
    empty: Any


def _text_codec(vr: str) -> Codec:
    empty: Any = PersonName("") if vr == "PN" else (None if vr in ("DS", "IS") else "")
    return Codec(
        lambda raw, _le, charset: decode_text(vr, raw, charset),
        lambda value, _le, charset: encode_text(vr, value, charset),
        empty,
    )


def _number_codec(vr: str) -> Codec:
    return Codec(
        lambda raw, le, _cs: decode_numbers(vr, raw, le),
        lambda value, le, _cs: encode_numbers(vr, value, le),
        None,
    )


def _bytes_codec(vr: str) -> Codec:
    return Codec(
        lambda raw, _le, _cs: decode_bytes(raw),
        lambda value, _le, _cs: encode_bytes(vr, value),
        None,
    )


def _build() -> dict[str, Codec]:
    table: dict[str, Codec] = {}
    for vr in (*MULTI_VALUED_TEXT_VRS, "LT", "ST", "UT", "UR"):
        table[vr] = _text_codec(vr)
    for vr in NUMBER_FORMATS:
        table[vr] = _number_codec(vr)
    for vr in ("OB", "OD", "OF", "OL", "OV", "OW", "UN"):
        table[vr] = _bytes_codec(vr)
    table["AT"] = Codec(lambda raw, le, _cs: decode_at(raw, le),
                        lambda value, le, _cs: encode_at(value, le), None)
    return table


CODECS: Mapping[str, Codec] = MappingProxyType(_build())
"""Every VR but SQ → its :class:`Codec` (SQ values are events, not bytes)."""


def check_every_vr_has_codec() -> None:
    """Raise unless :data:`CODECS` covers exactly the VRs of :class:`~dicomstream.vr.VR`
    other than SQ."""
    expected = {v.value for v in VR} - {"SQ"}
    if set(CODECS) != expected:
        missing = sorted(expected - set(CODECS))
        extra = sorted(set(CODECS) - expected)
        raise DicomStreamError(f"VR codecs out of step: missing {missing}, extra {extra}")


def decode_value(vr: str, raw: bytes | bytearray | memoryview, *, little_endian: bool = True,
                 charset: CharacterSet | None = None) -> Any:
    """The Python value of a raw value, as pydicom 3 decodes it.

    Args:
        vr: the element's VR (``"PN"`` or :class:`~dicomstream.vr.VR`).
        raw: the value bytes as in the stream, padding included (a read-only view
            such as :attr:`~dicomstream.events.ValueChunk.data` will do).
        little_endian: the byte order of the stream (binary numbers and AT only; byte
            VRs such as OW are returned unswapped).
        charset: the Specific Character Set in scope (default repertoire if ``None``).

    An unknown VR gives the bytes unchanged, with a warning.

    Raises:
        InvalidValueError: ``vr`` is SQ (sequences arrive as events).
    """
    codec = CODECS.get(vr)
    if codec is None:
        if vr == "SQ":
            raise InvalidValueError("SQ values are sequences of events, not bytes")
        warn_value(f"unknown VR {vr!r}; value left as bytes")
        return bytes(raw)
    if not raw:
        return codec.empty
    if not isinstance(raw, bytes):
        raw = bytes(raw)
    return codec.decode(raw, little_endian, charset or DEFAULT_CHARSET)


def encode_value(vr: str, value: Any, *, little_endian: bool = True,
                 charset: CharacterSet | None = None) -> bytes:
    """The value bytes for ``value``, padded to even length — the inverse of
    :func:`decode_value`.

    Values decoded from bytes and left unchanged give those bytes back where they were
    canonical (DS/IS keep their original strings; person names their bytes).

    Raises:
        EncodeError: an unknown VR or SQ, a value of the wrong type or out of range, or
            text the character set cannot encode.
    """
    codec = CODECS.get(vr)
    if codec is None:
        raise EncodeError(f"no value codec for VR {vr!r}")
    if value is None or (isinstance(value, str | list | tuple) and len(value) == 0):
        return b""
    data = codec.encode(value, little_endian, charset or DEFAULT_CHARSET)
    if len(data) % 2:
        data += padding_byte(vr)
    return data
