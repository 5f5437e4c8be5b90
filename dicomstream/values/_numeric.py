"""Binary VRs: numbers (US SS UL SL SV UV FL FD), tags (AT) and byte blobs (O*, UN).

Why apart from the text codecs: these never see a character set but do see the byte
order, and they are the hot path of pixel-module attributes, so they go straight to
:mod:`struct` with one cached format per (VR, byte order, count).

Numbers decode to ``int``/``float``, a list when there are several, ``None`` when the
value is empty (as pydicom). A length that is not a multiple of the value size is
tolerated: the whole values are decoded and a warning names the bytes left over.

OB, OD, OF, OL, OV, OW and UN are returned and taken as ``bytes`` *exactly as in the
stream*: no byte swapping, even for OW/OF/OL/OD/OV in a big endian stream. Whoever reads
them as numbers (pixel data handlers, LUTs) applies the stream's byte order; whoever
re-targets a stream to the other byte order swaps them by
:data:`dicomstream.vr.SWAP_SIZES`. This keeps the codecs lossless for every value.
"""

from __future__ import annotations

__all__ = (
    "NUMBER_FORMATS",
    "decode_at",
    "decode_bytes",
    "decode_numbers",
    "encode_at",
    "encode_bytes",
    "encode_numbers",
)

import functools
import numbers
import struct
from typing import Any

from dicomstream.errors import EncodeError
from dicomstream.values._errors import warn_value

NUMBER_FORMATS: dict[str, str] = {
    "US": "H",
    "SS": "h",
    "UL": "L",
    "SL": "l",
    "UV": "Q",
    "SV": "q",
    "FL": "f",
    "FD": "d",
}
"""The :mod:`struct` format of one value of each numeric VR."""

_FLOAT_VRS = frozenset({"FL", "FD"})


@functools.lru_cache(maxsize=1024)
def _struct(fmt: str, little_endian: bool, count: int) -> struct.Struct:
    return struct.Struct(f"{'<' if little_endian else '>'}{count}{fmt}")


def _whole(raw: bytes, size: int, vr: str) -> int:
    """How many whole values ``raw`` holds (warning about bytes left over)."""
    count, extra = divmod(len(raw), size)
    if extra:
        warn_value(f"{vr} value of {len(raw)} bytes is not a multiple of {size}; "
                   f"ignoring the last {extra} bytes")
    return count


def decode_numbers(vr: str, raw: bytes, little_endian: bool) -> Any:
    """``int``/``float``, a list of them, or ``None`` for an empty value."""
    fmt = NUMBER_FORMATS[vr]
    size = struct.calcsize("<" + fmt)
    count = _whole(raw, size, vr)
    if count == 0:
        return None
    values = _struct(fmt, little_endian, count).unpack_from(raw)
    return values[0] if count == 1 else list(values)


def decode_at(raw: bytes, little_endian: bool) -> Any:
    """A tag (``group << 16 | element``), a list of tags, or ``None``."""
    count = _whole(raw, 4, "AT")
    if count == 0:
        return None
    halves = _struct("H", little_endian, 2 * count).unpack_from(raw)
    tags = [halves[i] << 16 | halves[i + 1] for i in range(0, 2 * count, 2)]
    return tags[0] if count == 1 else tags


def decode_bytes(raw: bytes) -> bytes | None:
    """The bytes unchanged (``None`` when empty, as pydicom)."""
    return bytes(raw) if raw else None


def _as_list(value: Any) -> list[Any]:
    if isinstance(value, list | tuple):
        return list(value)
    return [value]


def encode_numbers(vr: str, value: Any, little_endian: bool) -> bytes:
    """Pack one number or a sequence of them.

    Raises:
        EncodeError: a value is not a number of the VR's kind or out of its range.
    """
    values = _as_list(value)
    if vr in _FLOAT_VRS:
        ok = all(isinstance(v, numbers.Real) for v in values)
    else:
        ok = all(isinstance(v, numbers.Integral) for v in values)
        values = [int(v) for v in values] if ok else values
    if not ok:
        kind = "real numbers" if vr in _FLOAT_VRS else "integers"
        raise EncodeError(f"{vr} values must be {kind}, not {value!r}")
    try:
        return _struct(NUMBER_FORMATS[vr], little_endian, len(values)).pack(*values)
    except (struct.error, OverflowError) as exc:
        raise EncodeError(f"cannot encode {value!r} as {vr}: {exc}") from exc


def encode_at(value: Any, little_endian: bool) -> bytes:
    """Pack one tag (an ``int``) or a sequence of tags.

    Raises:
        EncodeError: a tag is not an integer in 0 … FFFFFFFFH.
    """
    tags = _as_list(value)
    halves: list[int] = []
    for tag in tags:
        if not isinstance(tag, numbers.Integral) or not 0 <= int(tag) <= 0xFFFFFFFF:
            raise EncodeError(f"AT values must be tags (int 0 … 0xFFFFFFFF), not {tag!r}")
        halves += (int(tag) >> 16, int(tag) & 0xFFFF)
    return _struct("H", little_endian, len(halves)).pack(*halves)


def encode_bytes(vr: str, value: Any) -> bytes:
    """The bytes as given (no byte swapping).

    Raises:
        EncodeError: ``value`` is not bytes-like.
    """
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    raise EncodeError(f"{vr} values must be bytes, not {type(value).__name__}")
