"""PersonName: parts and groups as pydicom's PersonName has them, original bytes kept."""

from __future__ import annotations

import pickle
import warnings

import pytest
from pydicom.valuerep import PersonName as PydicomPersonName

from dicomstream.errors import DicomStreamWarning
from dicomstream.values import (
    CharacterSet,
    InvalidValueError,
    PersonName,
    decode_value,
    encode_value,
)

NAMES = [
    "",
    "Doe",
    "Doe^John",
    "Adams^John Robert Quincy^^Rev.^B.A. M.Div.",
    "^^^^",
    "Yamada^Tarou=山田^太郎=やまだ^たろう",
    "=山田^太郎",
    "Wang^XiaoDong=王^小東=",
    "Hong^Gildong==홍^길동",
]


@pytest.mark.parametrize("text", NAMES)
def test_parts_are_pydicoms(text: str) -> None:
    ours = PersonName(text)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = PydicomPersonName(text)
    assert str(ours) == str(theirs)
    assert repr(ours) == repr(theirs)
    assert ours == theirs
    assert ours.components == theirs.components
    for part in ("family_name", "given_name", "middle_name", "name_prefix", "name_suffix",
                 "alphabetic", "ideographic", "phonetic"):
        assert getattr(ours, part) == getattr(theirs, part), part
    assert ours.family_comma_given() == theirs.family_comma_given()
    fmt = "%(family_name)s, %(given_name)s [%(ideographic)s|%(phonetic)s]"
    assert ours.formatted(fmt) == theirs.formatted(fmt)
    assert bool(ours) == bool(theirs)


@pytest.mark.parametrize(
    "parts",
    [
        {"family_name": "Adams", "given_name": "John Robert Quincy", "name_prefix": "Rev.",
         "name_suffix": "B.A. M.Div."},
        {"family_name": "Hong", "given_name": "Gildong", "family_name_ideographic": "洪",
         "given_name_ideographic": "吉洞", "family_name_phonetic": "홍",
         "given_name_phonetic": "길동"},
        {"family_name_phonetic": "やまだ"},
        {},
    ],
)
def test_from_named_components_is_pydicoms(parts: dict[str, str]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = PydicomPersonName.from_named_components(encodings=["utf8"], **parts)
    assert PersonName.from_named_components(**parts) == str(theirs)


def test_veterinary() -> None:
    name = PersonName.from_named_components_veterinary("ABC Farms", "Running on Water")
    assert name == "ABC Farms^Running on Water"
    assert name.family_name == "ABC Farms"
    assert PersonName.from_named_components_veterinary(patient_name="Rex") == "^Rex"


@pytest.mark.parametrize("bad", ["a^b", "a=b", "a\\b"])
def test_named_components_reject_delimiters(bad: str) -> None:
    with pytest.raises(InvalidValueError):
        PersonName.from_named_components(given_name=bad)


def test_decoded_names_keep_their_bytes() -> None:
    """A name read with a non-canonical trailing '=' gives its bytes back unchanged, but
    only in the character set it was read in; an equal new name is encoded afresh."""
    utf8 = CharacterSet.from_terms(["ISO_IR 192"])
    raw = "Wang^XiaoDong=王^小東= ".encode()
    name = decode_value("PN", raw, charset=utf8)
    assert name == "Wang^XiaoDong=王^小東"
    assert encode_value("PN", name, charset=utf8) == raw
    fresh = PersonName(name)
    assert encode_value("PN", fresh, charset=utf8) == "Wang^XiaoDong=王^小東".encode()
    gb = CharacterSet.from_terms(["GB18030"])
    assert encode_value("PN", name, charset=gb) == b"Wang^XiaoDong=\xcd\xf5^\xd0\xa1\x96| "
    again = pickle.loads(pickle.dumps(name))
    assert again == name
    assert encode_value("PN", again, charset=utf8) == raw


def test_multi_valued_names() -> None:
    latin = CharacterSet.from_terms(["ISO_IR 100"])
    raw = b"Buc^J\xe9r\xf4me\\Doe^John="
    names = decode_value("PN", raw, charset=latin)
    assert names == ["Buc^Jérôme", "Doe^John"]
    assert all(isinstance(n, PersonName) for n in names)
    assert encode_value("PN", names, charset=latin) == raw
    assert encode_value("PN", ["A", PersonName("B")]) == b"A\\B "
    assert decode_value("PN", b"") == PersonName("")
    assert isinstance(decode_value("PN", b""), PersonName)


def test_backslash_byte_inside_a_character() -> None:
    """In JIS X 0208, 5CH is half of a character: the value is not split there, and the
    names (whose bytes cannot be told apart) are encoded afresh."""
    charset = CharacterSet.from_terms(["", "ISO 2022 IR 87"])
    kanji = b"\x1b$B0\\\x1b(B"  # one character whose second byte is 5CH
    text = charset.decode(kanji, "PN")
    assert len(text) == 1
    raw = kanji + b"\\" + kanji
    names = decode_value("PN", raw, charset=charset)
    assert names == [text, text]
    assert encode_value("PN", names, charset=charset) == raw + b" "


def test_names_must_be_strings() -> None:
    from dicomstream.errors import EncodeError

    with pytest.raises(EncodeError):
        encode_value("PN", 42)


def test_undecodable_names_warn_once_and_keep_their_bytes() -> None:
    utf8 = CharacterSet.from_terms(["ISO_IR 192"])
    with pytest.warns(DicomStreamWarning) as record:
        names = decode_value("PN", b"a\xff\\bc ", charset=utf8)
    assert len(record) == 1
    assert names == ["a\ufffd", "bc"]
    assert encode_value("PN", names, charset=utf8) == b"a\xff\\bc "
