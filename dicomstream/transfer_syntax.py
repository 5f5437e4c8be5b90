"""Transfer syntaxes: how a dataset is encoded.

A :class:`TransferSyntax` says what the parser and encoder need: implicit or explicit VR,
byte order, whether the dataset is deflated, and whether pixel data is encapsulated.
Every transfer syntax of the standard is known (the list comes from the generated UID
dictionary); an unknown UID is treated as explicit VR little endian with encapsulated
pixel data, which is what every syntax added since 2000 has been.
"""

from __future__ import annotations

__all__ = (
    "DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN",
    "EXPLICIT_VR_BIG_ENDIAN",
    "EXPLICIT_VR_LITTLE_ENDIAN",
    "IMPLICIT_VR_LITTLE_ENDIAN",
    "UNCOMPRESSED_TRANSFER_SYNTAXES",
    "TransferSyntax",
    "lookup_transfer_syntax",
    "resolve_transfer_syntax",
)

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TransferSyntax:
    """Encoding properties of one transfer syntax.

    Attributes:
        uid: the transfer syntax UID.
        name: its name in PS3.6 (or the UID when unknown).
        implicit_vr: VRs are not written; they come from the data dictionary.
        little_endian: byte order of binary values and headers.
        deflated: the dataset after the file meta group is a raw deflate stream.
        encapsulated: pixel data is a sequence of fragments (compressed or not).
    """

    uid: str
    name: str
    implicit_vr: bool = False
    little_endian: bool = True
    deflated: bool = False
    encapsulated: bool = True

    @property
    def is_uncompressed(self) -> bool:
        """Native (not encapsulated) pixel data, so any of these can be transcoded."""
        return not self.encapsulated

    def __str__(self) -> str:
        return f"{self.name} ({self.uid})"


IMPLICIT_VR_LITTLE_ENDIAN = TransferSyntax(
    "1.2.840.10008.1.2", "Implicit VR Little Endian", implicit_vr=True, encapsulated=False
)
EXPLICIT_VR_LITTLE_ENDIAN = TransferSyntax(
    "1.2.840.10008.1.2.1", "Explicit VR Little Endian", encapsulated=False
)
DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN = TransferSyntax(
    "1.2.840.10008.1.2.1.99", "Deflated Explicit VR Little Endian", deflated=True,
    encapsulated=False,
)
EXPLICIT_VR_BIG_ENDIAN = TransferSyntax(
    "1.2.840.10008.1.2.2", "Explicit VR Big Endian", little_endian=False, encapsulated=False
)

UNCOMPRESSED_TRANSFER_SYNTAXES: tuple[TransferSyntax, ...] = (
    IMPLICIT_VR_LITTLE_ENDIAN,
    EXPLICIT_VR_LITTLE_ENDIAN,
    DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
    EXPLICIT_VR_BIG_ENDIAN,
)

# Syntaxes that are neither the four above nor encapsulated: their pixel data (if any)
# is native or lives outside the dataset.
_NATIVE_OTHERS: dict[str, bool] = {
    "1.2.840.10008.1.2.4.94": False,  # JPIP Referenced: explicit VR LE, no pixel data
    "1.2.840.10008.1.2.4.95": True,  # JPIP Referenced Deflate: deflated
    "1.2.840.10008.1.2.7.1": False,  # SMPTE ST 2110-20 uncompressed progressive video
    "1.2.840.10008.1.2.7.2": False,  # SMPTE ST 2110-20 uncompressed interlaced video
    "1.2.840.10008.1.2.7.3": False,  # SMPTE ST 2110-30 PCM audio
}

_BY_UID: dict[str, TransferSyntax] = {ts.uid: ts for ts in UNCOMPRESSED_TRANSFER_SYNTAXES}

_ALIASES: dict[str, TransferSyntax] = {
    "implicit": IMPLICIT_VR_LITTLE_ENDIAN,
    "implicitvrlittleendian": IMPLICIT_VR_LITTLE_ENDIAN,
    "explicit": EXPLICIT_VR_LITTLE_ENDIAN,
    "explicitvrlittleendian": EXPLICIT_VR_LITTLE_ENDIAN,
    "big": EXPLICIT_VR_BIG_ENDIAN,
    "bigendian": EXPLICIT_VR_BIG_ENDIAN,
    "explicitvrbigendian": EXPLICIT_VR_BIG_ENDIAN,
    "deflated": DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
    "deflate": DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
    "deflatedexplicitvrlittleendian": DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
}


def _uid_name(uid: str) -> str | None:
    from dicomstream.dictionary import uid_name

    return uid_name(uid)


def lookup_transfer_syntax(uid: str) -> TransferSyntax:
    """The :class:`TransferSyntax` for ``uid`` (trailing NUL/space padding ignored)."""
    uid = uid.rstrip("\x00 ")
    ts = _BY_UID.get(uid)
    if ts is not None:
        return ts
    name = _uid_name(uid) or uid
    if uid in _NATIVE_OTHERS:
        ts = TransferSyntax(uid, name, deflated=_NATIVE_OTHERS[uid], encapsulated=False)
    else:
        ts = TransferSyntax(uid, name)
    _BY_UID[uid] = ts
    return ts


def resolve_transfer_syntax(text: str) -> TransferSyntax:
    """A transfer syntax from a UID, a keyword (``ExplicitVRBigEndian``) or a short name
    (``implicit``, ``explicit``, ``big``, ``deflated``), as given on a command line."""
    key = text.strip().replace(" ", "").replace("_", "").replace("-", "").lower()
    if key in _ALIASES:
        return _ALIASES[key]
    if text and text.strip()[0].isdigit():
        return lookup_transfer_syntax(text.strip())
    from dicomstream.dictionary import uid_for_keyword

    uid = uid_for_keyword(text.strip())
    if uid is None:
        raise ValueError(f"unknown transfer syntax: {text!r}")
    return lookup_transfer_syntax(uid)
