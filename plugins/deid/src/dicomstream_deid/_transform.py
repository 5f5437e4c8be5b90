"""Value transformations: raw value bytes in, raw value bytes out.

Each function takes what the stage knows at the element (VR, byte order, the character
sets to read and to write) and never looks anything up globally; they are the only place
values are decoded, and only for elements whose action needs the value.
"""

from __future__ import annotations

__all__ = ("ZERO_PREAMBLE", "ValueOps", "preamble_kind")

import re
from typing import TYPE_CHECKING, Any

from dicomstream.dictionary import uid_type
from dicomstream.errors import EncodeError
from dicomstream.stages.edit import coerce_text_value
from dicomstream.values import CharacterSet, encode_value
from dicomstream_deid._actions import (
    FREE_TEXT_VRS,
    MAX_LENGTH,
    Cleaner,
    dummy_value,
    shift_date_value,
)

if TYPE_CHECKING:
    from dicomstream_deid._hashing import Keyring

_DATE_VRS = frozenset({"DA", "DT", "TM"})
_TEXT_CODEC_VRS = frozenset({"AE", "AS", "CS", "DA", "DS", "DT", "IS", "LO", "LT", "PN", "SH",
                             "ST", "TM", "UC", "UI", "UR", "UT"})
_REGISTRY_ROOT = "1.2.840.10008."
_AGE = re.compile(r"^(\d{3})([DWMY])$")

ZERO_PREAMBLE = bytes(128)
"""What de-identification writes as the Part 10 preamble, whatever was there."""

_EXECUTABLE_PREAMBLES = (
    (b"MZ", "PE"), (b"\x7fELF", "ELF"), (b"\xcf\xfa\xed\xfe", "Mach-O"),
    (b"\xce\xfa\xed\xfe", "Mach-O"), (b"\xfe\xed\xfa\xcf", "Mach-O"),
    (b"\xfe\xed\xfa\xce", "Mach-O"), (b"\xca\xfe\xba\xbe", "Mach-O universal"),
    (b"\xca\xfe\xba\xbf", "Mach-O universal"), (b"\xbe\xba\xfe\xca", "Mach-O universal"),
    (b"#!", "script"),
)


def preamble_kind(preamble: bytes) -> str | None:
    """What a preamble holds, for the audit: ``None`` when all zeros, else
    ``executable:PE`` (ELF, Mach-O, …) or ``non-zero``.

    PS3.10 §7.1 lets an application put anything in the 128 bytes (a TIFF header, a
    private pointer) — or an executable header, making the file also a program (the
    DICOM-PE polyglot, CVE-2019-11687). De-identification always replaces a non-zero
    preamble with zeros, which PS3.10 allows: it is content the profile does not list
    and nobody reviews, so it cannot be vouched for."""
    preamble = bytes(preamble)
    if not preamble.strip(b"\x00"):
        return None
    for magic, kind in _EXECUTABLE_PREAMBLES:
        if preamble.startswith(magic):
            return f"executable:{kind}"
    return "non-zero"


def _pad(raw: bytes, vr: str) -> bytes:
    if len(raw) & 1:
        return raw + (b"\0" if vr == "UI" else b" ")
    return raw


def _text(raw: bytes | memoryview) -> str:
    return bytes(raw).decode("latin-1").rstrip(" \0")


def _limit(vr: str, text: str) -> str:
    limit = MAX_LENGTH.get(vr)
    return text[:limit] if limit is not None and len(text) > limit else text


class ValueOps:
    """The value side of the actions, for one object."""

    def __init__(self, keyring: Keyring, *, date_offset: int, cleaner: Cleaner,
                 age: str = "keep") -> None:
        self.keyring = keyring
        self.date_offset = date_offset
        self.cleaner = cleaner
        self.age = age

    # -- text helpers ------------------------------------------------------------------

    @staticmethod
    def decode_text(vr: str, raw: bytes | memoryview, charset: CharacterSet) -> str:
        """The whole value as one string (several values joined with ``\\``)."""
        if vr in FREE_TEXT_VRS:
            return charset.decode(bytes(raw), vr).rstrip(" \0")
        return _text(raw)

    @staticmethod
    def encode_text(vr: str, text: str, charset: CharacterSet) -> bytes:
        """``text`` (all values, ``\\``-separated) in ``charset``; characters it cannot
        hold become ``?`` rather than failing the file."""
        if vr not in FREE_TEXT_VRS:
            return _pad(text.encode("ascii", "replace"), vr)
        try:
            return _pad(charset.encode(text, vr), vr)
        except EncodeError:
            safe = "".join(c if charset.can_encode(c, vr) else "?" for c in text)
            return _pad(charset.encode(safe, vr), vr)

    # -- actions -----------------------------------------------------------------------

    def remap_uids(self, raw: bytes | memoryview) -> bytes:
        """U: every UID that is not a registered (well-known) one gets its keyed form.

        A value that only looks registered (the root ``1.2.840.10008.`` followed by
        bytes no UID holds, such as non-ASCII ones) is not kept either: it is no UID,
        and it could carry anything."""
        out = []
        for uid in _text(raw).split("\\"):
            uid = uid.strip(" \0")
            registered = uid.isascii() and (uid.startswith(_REGISTRY_ROOT)
                                            or uid_type(uid) is not None)
            if uid and not registered:
                uid = self.keyring.uid(uid)
            out.append(uid)
        return _pad("\\".join(out).encode("ascii"), "UI")

    def dummy(self, tag: int, vr: str, little: bool) -> bytes:
        return dummy_value(tag, vr, little)

    def shift(self, vr: str, raw: bytes | memoryview) -> bytes | None:
        """S / C on dates: the value with every date moved by the patient's offset;
        ``None`` if it holds something that is not a date or time — non-ASCII bytes
        included (the caller empties it: the original is never kept)."""
        text = _text(raw)
        if vr not in _DATE_VRS or not text:
            return bytes(raw)
        if not text.isascii():
            return None
        shifted = shift_date_value(vr, text, self.date_offset)
        return None if shifted is None else _pad(shifted.encode("ascii"), vr)

    def clean(self, vr: str, raw: bytes | memoryview, read: CharacterSet,
              write: CharacterSet) -> bytes:
        """C on free text: identifying tokens, long digit runs and dates go."""
        text = self.decode_text(vr, raw, read)
        cleaned = _limit(vr, self.cleaner.clean(text))
        if cleaned == text and read == write:
            return bytes(raw)
        return self.encode_text(vr, cleaned, write)

    def hashed(self, tag: int, vr: str, raw: bytes | memoryview, read: CharacterSet,
               write: CharacterSet, little: bool) -> bytes:
        """H: a keyed pseudonym of the value (UIDs: their keyed form; dates: shifted)."""
        if vr == "UI":
            return self.remap_uids(raw)
        if vr in _DATE_VRS:
            return self.shift(vr, raw) or b""
        if vr not in _TEXT_CODEC_VRS:
            return self.dummy(tag, vr, little)
        text = self.decode_text(vr, raw, read)
        if not text:
            return b""
        if vr in ("IS", "DS"):
            digits = str(int.from_bytes(self.keyring.token("text", text, 8).encode(), "big")
                         % 10**8)
            return _pad(digits.encode("ascii"), vr)
        token = self.keyring.token("text", text, 26)
        value = ("H" + token) if vr != "PN" else ("H^" + token)
        return self.encode_text(vr, _limit(vr, value), write)

    def replace(self, vr: str, value: Any, little: bool, write: CharacterSet) -> bytes:
        """R: the recipe's value encoded for the VR (text is converted as on a command
        line: numbers split on ``\\``, hex for binary VRs)."""
        if isinstance(value, str) and vr not in FREE_TEXT_VRS:
            value = coerce_text_value(vr, value)
        elif isinstance(value, list) and vr in FREE_TEXT_VRS:
            value = "\\".join(str(v) for v in value)
        if isinstance(value, str) and vr in FREE_TEXT_VRS:
            return self.encode_text(vr, value, write)
        try:
            return encode_value(vr, value, little_endian=little, charset=write)
        except EncodeError as exc:
            raise ValueError(f"recipe value {value!r} does not fit VR {vr}: {exc}") from None

    def round_age(self, raw: bytes | memoryview) -> bytes:
        """Patient's Age in whole years; 90 and over as ``090Y`` (as HIPAA asks)."""
        m = _AGE.match(_text(raw))
        if m is None:
            return bytes(raw)
        number, unit = int(m.group(1)), m.group(2)
        years = {"Y": number, "M": number // 12, "W": number // 52, "D": number // 365}[unit]
        return f"{min(years, 90):03d}Y".encode("ascii")

    def transcode(self, vr: str, raw: bytes | memoryview, read: CharacterSet,
                  write: CharacterSet) -> bytes:
        """A kept text value re-encoded in the new character set."""
        return self.encode_text(vr, self.decode_text(vr, raw, read), write)
