"""Person names (PN): up to three component groups of up to five components.

Why a type: a PN value is a string with structure (``Family^Given^Middle^Prefix^Suffix``
for the alphabetic group, then ``=`` ideographic ``=`` phonetic) that users want by part,
and whose bytes mix character sets per group in ISO 2022 files. :class:`PersonName` is a
``str`` (so it compares, hashes and prints like pydicom's ``str(PersonName)``, trailing
empty groups dropped) with the parts as properties. A name decoded from bytes remembers
them and the character set, so encoding it unchanged in the same character set gives the
same bytes even where they were not canonical (a trailing ``=``, redundant escapes).
"""

from __future__ import annotations

__all__ = ("PersonName",)

from typing import TYPE_CHECKING

from dicomstream.values._errors import InvalidValueError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from dicomstream.values._charset import CharacterSet

_PART_NAMES = ("family_name", "given_name", "middle_name", "name_prefix", "name_suffix")


def _strip_empty_groups(text: str) -> str:
    groups = text.split("=")
    while groups and not groups[-1]:
        groups.pop()
    return "=".join(groups)


class PersonName(str):
    """A PN value; ``str(name)`` is the name with its groups joined by ``=``.

    ``PersonName("Yamada^Tarou=山田^太郎=やまだ^たろう").ideographic == "山田^太郎"``.
    """

    _raw: bytes | None
    _charset: CharacterSet | None

    def __new__(cls, value: str = "") -> PersonName:
        self = super().__new__(cls, _strip_empty_groups(str(value)))
        self._raw = None
        self._charset = None
        return self

    @classmethod
    def _decoded(cls, text: str, raw: bytes, charset: CharacterSet) -> PersonName:
        """A name decoded from ``raw`` (one value, padding stripped) in ``charset``."""
        name = cls(text)
        name._raw = raw
        name._charset = charset
        return name

    def _original_bytes(self, charset: CharacterSet) -> bytes | None:
        """The bytes this name was decoded from, if it was so in ``charset``."""
        return self._raw if self._charset == charset else None

    # -- parts -----------------------------------------------------------------------

    @property
    def components(self) -> tuple[str, ...]:
        """The component groups present: (alphabetic[, ideographic[, phonetic]])."""
        return tuple(self.split("=")) if self else ()

    def _group(self, index: int) -> str:
        groups = self.components
        return groups[index] if index < len(groups) else ""

    @property
    def alphabetic(self) -> str:
        """The alphabetic (single-byte) component group."""
        return self._group(0)

    @property
    def ideographic(self) -> str:
        """The ideographic component group."""
        return self._group(1)

    @property
    def phonetic(self) -> str:
        """The phonetic component group."""
        return self._group(2)

    def _part(self, index: int) -> str:
        parts = self.alphabetic.split("^")
        return parts[index] if index < len(parts) else ""

    @property
    def family_name(self) -> str:
        """First component of the alphabetic group."""
        return self._part(0)

    @property
    def given_name(self) -> str:
        """Second component of the alphabetic group."""
        return self._part(1)

    @property
    def middle_name(self) -> str:
        """Third component of the alphabetic group."""
        return self._part(2)

    @property
    def name_prefix(self) -> str:
        """Fourth component of the alphabetic group."""
        return self._part(3)

    @property
    def name_suffix(self) -> str:
        """Fifth component of the alphabetic group."""
        return self._part(4)

    def family_comma_given(self) -> str:
        """``"Family, Given"``."""
        return f"{self.family_name}, {self.given_name}"

    def formatted(self, format_str: str) -> str:
        """``format_str % parts``, with keys ``family_name`` … ``name_suffix``,
        ``ideographic`` and ``phonetic`` (as pydicom's ``formatted``)."""
        parts = {name: self._part(i) for i, name in enumerate(_PART_NAMES)}
        parts.update(ideographic=self.ideographic, phonetic=self.phonetic)
        return format_str % parts

    # -- construction from parts -----------------------------------------------------

    @classmethod
    def _from_groups(cls, groups: Sequence[Sequence[str]]) -> PersonName:
        for group in groups:
            for part in group:
                for char in ("\\", "=", "^"):
                    if char in part:
                        raise InvalidValueError(f"name parts may not contain {char!r}: "
                                                f"{part!r}")
        return cls("=".join("^".join(group).rstrip("^") for group in groups))

    @classmethod
    def from_named_components(
        cls,
        family_name: str = "",
        given_name: str = "",
        middle_name: str = "",
        name_prefix: str = "",
        name_suffix: str = "",
        family_name_ideographic: str = "",
        given_name_ideographic: str = "",
        middle_name_ideographic: str = "",
        name_prefix_ideographic: str = "",
        name_suffix_ideographic: str = "",
        family_name_phonetic: str = "",
        given_name_phonetic: str = "",
        middle_name_phonetic: str = "",
        name_prefix_phonetic: str = "",
        name_suffix_phonetic: str = "",
    ) -> PersonName:
        """A name from its parts (trailing empty parts and groups are left out).

        Raises:
            InvalidValueError: a part contains ``\\``, ``=`` or ``^``.
        """
        return cls._from_groups((
            (family_name, given_name, middle_name, name_prefix, name_suffix),
            (family_name_ideographic, given_name_ideographic, middle_name_ideographic,
             name_prefix_ideographic, name_suffix_ideographic),
            (family_name_phonetic, given_name_phonetic, middle_name_phonetic,
             name_prefix_phonetic, name_suffix_phonetic),
        ))

    @classmethod
    def from_named_components_veterinary(
        cls,
        responsible_party_name: str = "",
        patient_name: str = "",
        responsible_party_name_ideographic: str = "",
        patient_name_ideographic: str = "",
        responsible_party_name_phonetic: str = "",
        patient_name_phonetic: str = "",
    ) -> PersonName:
        """A veterinary name: responsible party (family or organisation) ``^`` patient."""
        return cls._from_groups((
            (responsible_party_name, patient_name),
            (responsible_party_name_ideographic, patient_name_ideographic),
            (responsible_party_name_phonetic, patient_name_phonetic),
        ))
