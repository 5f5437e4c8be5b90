"""Specific Character Set (0008,0005): text bytes ⇄ ``str``, ISO 2022 code extensions included.

Why a module of its own: the character set is the one piece of decoding state that is
not in the element itself. It is read once per dataset (and per sequence item that
overrides it) and then applied to every SH, LO, ST, LT, UC, UT and PN value inside, so a
:class:`CharacterSet` is immutable, cached, and carries everything needed to decode and
encode without looking anything up again.

The model is ISO 2022 as PS3.5 §6.1 restricts it: every value starts in the *initial
state* that value 1 of (0008,0005) defines (a G0 set for bytes below 80H and, usually, a
G1 set for the bytes above). An escape sequence designates another set to G0 or G1. At a
delimiter the initial state comes back: CR, LF, TAB and FF in every VR, ``\\`` in the VRs
that may be multi-valued, ``^`` and ``=`` in PN (PS3.5 §6.1.2.5.3). A delimiter is only
a delimiter while G0 holds a single-byte set; inside two-byte JIS text the same bytes are
halves of characters.

Encoding writes few escape sequences, and only ones every reader agrees on: a character
stays in the set already active when it can, otherwise the first set in declaration order
that has it is designated; G0 is switched back explicitly before a delimiter and at the
end of the value (``ESC ( B``, or ``ESC ( J`` when value 1 is ISO 2022 IR 13); a G1 set
changed before a delimiter is designated again after it (readers that reset G1 there and
readers that do not, such as pydicom for ``^`` and ``=``, then read the same); G1 bytes
never follow two-byte G0 text directly. This reproduces the byte sequences of the PS3.5
Annex H/I/J examples and of pydicom's writer for person names. (pydicom also writes a
redundant ``ESC ( B`` before an ASCII run that opens a mixed value; this module does not.)

Decoding is lenient, as pydicom's: unknown or misspelled terms fall back (with a warning)
to what pydicom assumes, a byte above 7FH with no G1 set active is read in the G1 set last
designated or else as ISO 8859-1, and undecodable bytes become U+FFFD with a
:class:`~dicomstream.errors.DicomStreamWarning`.
"""

from __future__ import annotations

__all__ = ("DEFAULT_CHARSET", "CUSTOMIZABLE_VRS", "CharacterSet")

import codecs
import functools
import re
from typing import TYPE_CHECKING, NamedTuple

from dicomstream.errors import EncodeError
from dicomstream.values._errors import warn_value

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

CUSTOMIZABLE_VRS: frozenset[str] = frozenset({"LO", "LT", "PN", "SH", "ST", "UC", "UT"})
"""VRs whose text is in the Specific Character Set; all others use the default repertoire."""

_ESC = 0x1B
_CONTROL_DELIMITERS = frozenset("\r\n\t\f")
_DELIMITERS: dict[str, frozenset[str]] = {
    "PN": _CONTROL_DELIMITERS | {"^", "=", "\\"},
    "LO": _CONTROL_DELIMITERS | {"\\"},
    "SH": _CONTROL_DELIMITERS | {"\\"},
    "UC": _CONTROL_DELIMITERS | {"\\"},
    "LT": _CONTROL_DELIMITERS,
    "ST": _CONTROL_DELIMITERS,
    "UT": _CONTROL_DELIMITERS,
}
_DELIMITER_BYTES: dict[str, frozenset[int]] = {
    vr: frozenset(ord(c) for c in chars) for vr, chars in _DELIMITERS.items()
}


class _GraphicSet(NamedTuple):
    """A coded character set that an escape sequence designates to G0 or G1."""

    name: str
    g1: bool  # designated to G1 (bytes 80H-FFH), else G0 (bytes 00H-7FH)
    escape: bytes
    width: int  # bytes per character
    codec: str  # Python codec that reads the set's bytes (see _decode_run)


_ASCII = _GraphicSet("ISO-IR 6", False, b"\x1b(B", 1, "ascii")
# JIS X 0201 Romaji differs from ASCII only at 5CH/7EH (yen, overline); pydicom and
# Python's shift_jis read those bytes as ASCII, and so does this module.
_JIS_ROMAN = _GraphicSet("ISO-IR 14", False, b"\x1b(J", 1, "ascii")
_KATAKANA = _GraphicSet("ISO-IR 13", True, b"\x1b)I", 1, "shift_jis")
_JIS_X_0208 = _GraphicSet("ISO-IR 87", False, b"\x1b$B", 2, "iso2022_jp")
_JIS_X_0212 = _GraphicSet("ISO-IR 159", False, b"\x1b$(D", 2, "iso2022_jp_2")
_KS_X_1001 = _GraphicSet("ISO-IR 149", True, b"\x1b$)C", 2, "euc_kr")
_GB2312 = _GraphicSet("ISO-IR 58", True, b"\x1b$)A", 2, "gb2312")

_SINGLE_BYTE_G1: dict[str, _GraphicSet] = {
    number: _GraphicSet(f"ISO-IR {number}", True, b"\x1b-" + final, 1, codec)
    for number, final, codec in (
        ("100", b"A", "latin_1"),
        ("101", b"B", "iso8859_2"),
        ("109", b"C", "iso8859_3"),
        ("110", b"D", "iso8859_4"),
        ("126", b"F", "iso8859_7"),
        ("127", b"G", "iso8859_6"),
        ("138", b"H", "iso8859_8"),
        ("144", b"L", "iso8859_5"),
        ("148", b"M", "iso8859_9"),
        ("166", b"T", "tis_620"),
        ("203", b"b", "iso8859_15"),
    )
}
_LATIN_1 = _SINGLE_BYTE_G1["100"]

_BY_ESCAPE: dict[bytes, _GraphicSet] = {
    s.escape: s
    for s in (_ASCII, _JIS_ROMAN, _KATAKANA, _JIS_X_0208, _JIS_X_0212, _KS_X_1001, _GB2312,
              *_SINGLE_BYTE_G1.values())
}
_BY_ESCAPE[b"\x1b$@"] = _JIS_X_0208  # JIS C 6226-1978, read as its successor


class _Term(NamedTuple):
    """What one defined term of (0008,0005) brings."""

    g0: _GraphicSet | None
    g1: _GraphicSet | None
    standalone: str | None = None  # codec of a term that allows no code extensions


_TERMS: dict[str, _Term] = {
    "": _Term(_ASCII, None),
    "ISO_IR 6": _Term(_ASCII, None),
    "ISO 2022 IR 6": _Term(_ASCII, None),
    "ISO_IR 13": _Term(_JIS_ROMAN, _KATAKANA),
    "ISO 2022 IR 13": _Term(_JIS_ROMAN, _KATAKANA),
    "ISO 2022 IR 87": _Term(_JIS_X_0208, None),
    "ISO 2022 IR 159": _Term(_JIS_X_0212, None),
    "ISO 2022 IR 149": _Term(None, _KS_X_1001),
    "ISO 2022 IR 58": _Term(None, _GB2312),
    "ISO 2022 58": _Term(None, _GB2312),  # spelling of CP 1234, as pydicom accepts
    "ISO_IR 192": _Term(None, None, "utf_8"),
    "GB18030": _Term(None, None, "gb18030"),
    "GBK": _Term(None, None, "gbk"),
    "ISO 2022 GBK": _Term(None, None, "gbk"),  # spelling of CP 1234, as pydicom accepts
}
for _number, _set in _SINGLE_BYTE_G1.items():
    _TERMS[f"ISO_IR {_number}"] = _Term(_ASCII, _set)
    _TERMS[f"ISO 2022 IR {_number}"] = _Term(_ASCII, _set)


def _resolve_term(term: str) -> _Term:
    """The term, or what pydicom makes of a misspelled or unknown one (with a warning)."""
    known = _TERMS.get(term)
    if known is not None:
        return known
    patched = None
    if re.match("^ISO[^_]IR", term):
        patched = "ISO_IR" + term[6:]
    elif re.match("^(?=ISO.2022.IR.)(?!ISO 2022 IR )", term):
        patched = "ISO 2022 IR " + term[12:]
    if patched is not None and patched in _TERMS:
        warn_value(f"incorrect Specific Character Set term {term!r}, assuming {patched!r}")
        return _TERMS[patched]
    codec = _python_text_codec(term) if patched is None else None
    if codec is not None:
        warn_value(f"Specific Character Set term {term!r} is a Python codec name, "
                   "not a DICOM defined term; using that codec")
        return _Term(None, None, codec)
    warn_value(f"unknown Specific Character Set term {term!r}, using the default repertoire")
    return _TERMS[""]


_CODEC_PROBE = bytes(range(256)) + b"A\\B^C=D"
"""Bytes a Python codec taken for a term must decode (with replacement characters)."""


def _python_text_codec(term: str) -> str | None:
    """The Python codec ``term`` names, if it can stand in for a character set: a text
    encoding that decodes any bytes and encodes any text (with replacement characters)
    and leaves ``\\`` alone — not ``base64``, ``rot13``, ``idna``, ``punycode``,
    ``undefined`` or ``unicode_escape``. A term that names none (or cannot be a codec
    name at all: an embedded NUL) gives ``None``."""
    try:
        info = codecs.lookup(term)
    except (LookupError, ValueError):  # ValueError: "embedded null character"
        return None
    if not getattr(info, "_is_text_encoding", True) or info.name.endswith("escape"):
        return None
    try:
        _CODEC_PROBE.decode(info.name, errors="replace")
        "A^\u00e9\\\u4e2d".encode(info.name, errors="replace")
    except (UnicodeError, LookupError, ValueError, TypeError):
        return None
    return info.name


@functools.lru_cache(maxsize=8192)
def _encode_char(gset: _GraphicSet, char: str) -> bytes | None:
    """The bytes of ``char`` in ``gset`` (as they follow its escape sequence), or None."""
    if gset.codec == "ascii":
        return char.encode("ascii") if ord(char) < 0x80 else None
    try:
        encoded = char.encode(gset.codec)
    except UnicodeEncodeError:
        return None
    if gset is _JIS_X_0208 or gset is _JIS_X_0212:
        prefix = gset.escape
        if encoded.startswith(prefix) and len(encoded) >= len(prefix) + 2:
            return encoded[len(prefix):len(prefix) + 2]
        return None
    if gset.width == 2:
        ok = len(encoded) == 2 and encoded[0] >= 0xA1 and encoded[1] >= 0xA1
        return encoded if ok else None
    if gset is _KATAKANA:
        return encoded if len(encoded) == 1 and 0xA1 <= encoded[0] <= 0xDF else None
    return encoded if len(encoded) == 1 and encoded[0] >= 0x80 else None


class _Decoder:
    """Decodes one value; collects the fact that something could not be decoded."""

    __slots__ = ("failed",)

    def __init__(self) -> None:
        self.failed = False

    def run(self, data: bytes, gset: _GraphicSet) -> str:
        """Decode bytes that all belong to ``gset``."""
        if gset.width == 2 and not gset.g1:
            data = gset.escape + data  # Python's ISO 2022 codecs want the designation
        try:
            return data.decode(gset.codec)
        except UnicodeDecodeError:
            self.failed = True
            return data.decode(gset.codec, errors="replace")


class CharacterSet:
    """The character repertoires of a dataset, from Specific Character Set (0008,0005).

    Build one with :meth:`from_raw` (the raw value bytes) or :meth:`from_terms`; both are
    cached, so calling them per element is cheap. Two character sets are equal when they
    decode and encode alike (``ISO_IR 6`` equals the default), whatever their spelling.

    Attributes:
        terms: the defined terms as given (stripped of padding); ``()`` for the default.
    """

    __slots__ = ("_available", "_codec", "_g0", "_g1", "_key", "_single_codec", "terms")

    terms: tuple[str, ...]
    _codec: str | None
    _g0: _GraphicSet
    _g1: _GraphicSet | None
    _available: tuple[_GraphicSet, ...]
    _key: tuple[object, ...]
    _single_codec: str | None

    def __init__(self, terms: Iterable[str] = ()) -> None:
        self.terms = tuple(t.strip(" \x00") for t in terms)
        resolved = [_resolve_term(t) for t in self.terms] or [_TERMS[""]]
        first, rest = resolved[0], resolved[1:]
        self._codec = first.standalone
        if self._codec is not None and rest:
            warn_value(f"Specific Character Set {self.terms[0]!r} allows no code "
                       f"extensions; ignoring {', '.join(self.terms[1:])}")
        else:
            for term, meaning in zip(self.terms[1:], rest, strict=True):
                if meaning.standalone is not None:
                    warn_value(f"Specific Character Set {term!r} allows no code extensions "
                               "and so cannot be one; ignoring it")
        rest = [t for t in rest if t.standalone is None]
        self._g0 = first.g0 if first.g0 is not None and first.g0.width == 1 else _ASCII
        self._g1 = first.g1
        available: list[_GraphicSet] = []
        for gset in (self._g0, self._g1, first.g0, *(s for t in rest for s in (t.g0, t.g1))):
            if gset is not None and gset not in available:
                available.append(gset)
        self._available = tuple(available) if self._codec is None else ()
        self._key = (self._codec, self._g0, self._g1, self._available)
        simple = self._g0 is _ASCII and self._g1 is not None and self._g1.width == 1
        simple = simple and len(self._available) == 2
        self._single_codec = self._g1.codec if simple and self._g1 is not None else None

    @classmethod
    def from_terms(cls, terms: Sequence[str]) -> CharacterSet:
        """The character set named by ``terms`` (the values of (0008,0005))."""
        return _cached(tuple(terms))

    @classmethod
    def from_raw(cls, raw: bytes | None) -> CharacterSet:
        """The character set of a raw (0008,0005) value; ``None`` or empty: the default."""
        if not raw:
            return DEFAULT_CHARSET
        text = raw.decode("latin_1").rstrip(" \x00")
        return _cached(tuple(text.split("\\"))) if text else DEFAULT_CHARSET

    # -- comparison ------------------------------------------------------------------

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CharacterSet) and self._key == other._key

    def __hash__(self) -> int:
        return hash(self._key)

    def __repr__(self) -> str:
        return f"CharacterSet({list(self.terms)!r})"

    @property
    def is_default(self) -> bool:
        """True when this is the default repertoire (ISO-IR 6) only."""
        return self._key == DEFAULT_CHARSET._key

    @property
    def uses_code_extensions(self) -> bool:
        """True when escape sequences may switch sets (ISO 2022, more than one set)."""
        return any(s is not self._g0 and s is not self._g1 for s in self._available)

    # -- decoding --------------------------------------------------------------------

    def decode(self, raw: bytes, vr: str) -> str:
        """Decode a whole value (all its values, padding included) of VR ``vr``.

        VRs outside SH, LO, ST, LT, UC, UT and PN use the default repertoire, read as
        ISO 8859-1 as pydicom does. Bytes that cannot be decoded become U+FFFD, with a
        :class:`~dicomstream.errors.DicomStreamWarning`.
        """
        text, failed = self._decode(raw, vr)
        if failed:
            warn_value(f"could not decode {raw!r} with {list(self.terms) or ['ISO_IR 6']}; "
                       "using replacement characters")
        return text

    def _decode(self, raw: bytes, vr: str) -> tuple[str, bool]:
        """The text, and whether some bytes could not be decoded."""
        delimiters = _DELIMITER_BYTES.get(vr)
        if delimiters is None:
            return raw.decode("latin_1"), False
        if self._codec is not None:
            try:
                return raw.decode(self._codec), False
            except UnicodeDecodeError:
                return raw.decode(self._codec, errors="replace"), True
        if _ESC in raw:
            return self._decode_iso2022(raw, delimiters)
        if raw.isascii():
            return raw.decode("ascii"), False
        decoder = _Decoder()
        text = decoder.run(raw, self._g1 or _LATIN_1)
        return text, decoder.failed

    def _decode_iso2022(self, raw: bytes, delimiters: frozenset[int]) -> tuple[str, bool]:
        decoder = _Decoder()
        out: list[str] = []
        g0, g1 = self._g0, self._g1
        last_g1: _GraphicSet | None = None
        i, n = 0, len(raw)
        while i < n:
            byte = raw[i]
            if byte == _ESC:
                length = 4 if raw[i + 1:i + 3] in (b"$(", b"$)") else 3
                gset = _BY_ESCAPE.get(raw[i:i + length])
                if gset is None:
                    decoder.failed = True
                    out.append("\x1b")
                    i += 1
                elif gset.g1:
                    g1 = last_g1 = gset
                    i += length
                else:
                    g0 = gset
                    i += length
            elif byte < 0x80:
                if g0.width == 2 and 0x21 <= byte <= 0x7E:
                    j = i
                    while j + 1 < n and 0x21 <= raw[j] <= 0x7E and 0x21 <= raw[j + 1] <= 0x7E:
                        j += 2
                    if j == i:  # a lone byte where a pair must be
                        decoder.failed = True
                        out.append("\ufffd")
                        i += 1
                    else:
                        out.append(decoder.run(raw[i:j], g0))
                        i = j
                    continue
                if byte in delimiters:
                    g0, g1 = self._g0, self._g1
                out.append(chr(byte))
                i += 1
            else:
                j = i + 1
                while j < n and raw[j] >= 0x80:
                    j += 1
                out.append(decoder.run(raw[i:j], g1 or last_g1 or _LATIN_1))
                i = j
        return "".join(out), decoder.failed

    # -- encoding --------------------------------------------------------------------

    def encode(self, text: str, vr: str) -> bytes:
        """Encode ``text`` (all values of one element, joined by ``\\``) for VR ``vr``.

        Raises:
            EncodeError: a character is in none of the character sets (or, for VRs
                outside SH, LO, ST, LT, UC, UT and PN, not in the default repertoire).
        """
        delimiters = _DELIMITERS.get(vr)
        if delimiters is None or (self._codec is None and text.isascii()):
            try:
                return text.encode("ascii")
            except UnicodeEncodeError as exc:
                raise EncodeError(
                    f"{vr} values use the default repertoire only; cannot encode {text!r}"
                ) from exc
        if self._codec is not None:
            try:
                return text.encode(self._codec)
            except UnicodeEncodeError as exc:
                raise EncodeError(f"cannot encode {text!r} with {list(self.terms)}") from exc
        if self._single_codec is not None:
            try:  # ASCII and one single-byte G1 set: the codec is exactly the repertoire
                return text.encode(self._single_codec)
            except UnicodeEncodeError as exc:
                raise EncodeError(f"cannot encode {text!r} with {list(self.terms)}") from exc
        return self._encode_iso2022(text, delimiters)

    def _encode_iso2022(self, text: str, delimiters: frozenset[str]) -> bytes:
        out = bytearray()
        g0, g1 = self._g0, self._g1
        for char in text:
            if char in delimiters:
                if g0 is not self._g0:
                    out += self._g0.escape
                    g0 = self._g0
                # readers differ on whether G1 comes back at a delimiter (pydicom: only at
                # control characters): a G1 set designated before it is designated again
                g1 = self._g1 if g1 is self._g1 else None
                out += char.encode("ascii")
                continue
            encoded = _encode_char(g0, char)
            if encoded is not None:
                out += encoded
                continue
            target = g1
            encoded = _encode_char(g1, char) if g1 is not None else None
            if encoded is None:
                for target in self._available:
                    encoded = _encode_char(target, char)
                    if encoded is not None:
                        break
                else:
                    raise EncodeError(f"cannot encode {char!r} (in {text!r}) with "
                                      f"{list(self.terms) or ['ISO_IR 6']}")
            assert target is not None
            if target.g1 and g0.width == 2:
                # G1 bytes inside two-byte G0 text are valid ISO 2022 but rejected by
                # common decoders (Python's iso2022_jp, hence pydicom): close G0 first
                out += self._g0.escape
                g0 = self._g0
            if target is not g0 and target is not g1:
                out += target.escape
                if target.g1:
                    g1 = target
                else:
                    g0 = target
            out += encoded
        if g0 is not self._g0:
            out += self._g0.escape
        return bytes(out)

    def can_encode(self, text: str, vr: str = "LO") -> bool:
        """Whether :meth:`encode` would succeed."""
        try:
            self.encode(text, vr)
        except EncodeError:
            return False
        return True


@functools.lru_cache(maxsize=256)
def _cached(terms: tuple[str, ...]) -> CharacterSet:
    stripped = tuple(t.strip(" \x00") for t in terms)
    if not any(stripped):
        return DEFAULT_CHARSET
    return CharacterSet(stripped)


DEFAULT_CHARSET = CharacterSet()
"""The default repertoire (ISO-IR 6), in force when (0008,0005) is absent or empty."""
