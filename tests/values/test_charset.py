"""Specific Character Set: the PS3.5 example files, ISO 2022 rules, leniency, round trips.

pydicom is the oracle for decoding (its ``decode_bytes``) and for the bytes of person
names (its ``PersonName.encode``), except where pydicom is known to be wrong (GB2312 by
escape sequence, which it leaves undecoded).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pydicom
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydicom.charset import convert_encodings, decode_bytes
from pydicom.valuerep import TEXT_VR_DELIMS
from pydicom.valuerep import PersonName as PydicomPersonName

from dicomstream.errors import DicomStreamWarning, EncodeError
from dicomstream.values import (
    CUSTOMIZABLE_VRS,
    DEFAULT_CHARSET,
    CharacterSet,
    PersonName,
    decode_value,
    encode_value,
)

CHARSET_DIR = Path(pydicom.data.__file__).parent / "charset_files"
TEXT_VRS = ("PN", "LO", "SH", "LT", "ST", "UT", "UC")

# PN bytes that are valid but not as this module (and pydicom) writes them.
_KOREAN = "redundant ESC ( B after KS X 1001 text in G1"
_SQ_ENCODING = "returns to ASCII (ESC ( B) where value 1 is ISO 2022 IR 13 (ESC ( J)"
NON_CANONICAL_NAMES = {
    ("chrKoreanMulti.dcm", 0x00081070): _KOREAN,
    ("chrKoreanMulti.dcm", 0x00100010): _KOREAN,
    ("chrKoreanMulti.dcm", 0x00101001): _KOREAN,
    ("chrSQEncoding.dcm", 0x00100010): _SQ_ENCODING,
    ("chrSQEncoding1.dcm", 0x00100010): _SQ_ENCODING,
    ("chrX1.dcm", 0x00100010): "a trailing empty component group ('=')",
    ("chrX2.dcm", 0x00100010): "a trailing empty component group ('=')",
}


def _pydicom_decode(raw: bytes, terms: list[str]) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return decode_bytes(raw, convert_encodings(terms or [""]), TEXT_VR_DELIMS)


def _names_in(path: Path) -> list[tuple[int, bytes, CharacterSet, list[str]]]:
    """(tag, raw PN bytes, character set, pydicom's names) of every PN in a file."""
    found: list[tuple[int, bytes, CharacterSet, list[str]]] = []

    def walk(ds: pydicom.Dataset, terms: list[str]) -> None:
        if "SpecificCharacterSet" in ds:
            value = ds.SpecificCharacterSet
            terms = [value] if isinstance(value, str) else list(value)
        for tag in list(ds.keys()):
            raw = ds.get_item(tag).value  # before pydicom converts it
            element = ds[tag]
            if element.VR == "SQ":
                for item in element.value:
                    walk(item, terms)
            elif element.VR == "PN" and element.value:
                assert isinstance(raw, bytes)
                values = element.value if element.VM > 1 else [element.value]
                charset = CharacterSet.from_terms(terms)
                found.append((int(tag), raw, charset, [str(v) for v in values]))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        walk(pydicom.dcmread(path, force=True), [])
    return found


CHARSET_FILES = sorted(p.name for p in CHARSET_DIR.glob("chr*.dcm"))


@pytest.mark.parametrize("name", CHARSET_FILES)
def test_charset_file_names(name: str) -> None:
    """Names decode as pydicom decodes them; re-encoded afresh they give the file's bytes
    (unless those are not canonical); edited names round-trip in the same character set."""
    rows = _names_in(CHARSET_DIR / name)
    assert rows
    for tag, raw, charset, expected in rows:
        decoded = decode_value("PN", raw, charset=charset)
        values = decoded if isinstance(decoded, list) else [decoded]
        assert [str(v) for v in values] == expected
        # unchanged: the bytes come back (the names remember them)
        assert encode_value("PN", decoded, charset=charset) == raw
        # re-encoded afresh from text
        fresh = encode_value("PN", [PersonName(str(v)) for v in values], charset=charset)
        pydicom_bytes = b"\\".join(
            PydicomPersonName(str(v), encodings=convert_encodings(list(charset.terms) or [""]))
            .encode() for v in values
        )
        assert fresh.rstrip(b" ") == pydicom_bytes
        if (name, tag) in NON_CANONICAL_NAMES:
            assert fresh != raw
        else:
            assert fresh == raw
        # a changed name in the same character set round-trips
        changed = [PersonName(str(v).replace("^", "^X", 1)) for v in values]
        encoded = encode_value("PN", changed, charset=charset)
        again = decode_value("PN", encoded, charset=charset)
        again_list = again if isinstance(again, list) else [again]
        assert [str(v) for v in again_list] == [str(v) for v in changed]
        assert _pydicom_decode(encoded.rstrip(b" "), list(charset.terms)) == "\\".join(
            str(v) for v in changed
        )


def test_japanese_name_parts() -> None:
    """PS3.5 H.3.1: the component groups and parts of an ISO 2022 IR 87 name."""
    raw = (b"Yamada^Tarou=\x1b$B;3ED\x1b(B^\x1b$BB@O:\x1b(B="
           b"\x1b$B$d$^$@\x1b(B^\x1b$B$?$m$&\x1b(B")
    name = decode_value("PN", raw, charset=CharacterSet.from_raw(b"\\ISO 2022 IR 87"))
    assert isinstance(name, PersonName)
    assert name.components == ("Yamada^Tarou", "山田^太郎", "やまだ^たろう")
    assert name.family_name == "Yamada"
    assert name.ideographic == "山田^太郎"
    assert name.phonetic.split("^") == ["やまだ", "たろう"]


def test_two_byte_text_holds_delimiter_bytes() -> None:
    """'ま' is 24H 5EH in JIS X 0208: the 5EH is no '^' while G0 holds two-byte text."""
    charset = CharacterSet.from_terms(["", "ISO 2022 IR 87"])
    assert charset.encode("やまだ", "PN") == b"\x1b$B$d$^$@\x1b(B"
    assert charset.decode(b"\x1b$B$d$^$@\x1b(B", "PN") == "やまだ"


@pytest.mark.parametrize(
    ("terms", "raw", "vr", "text"),
    [
        # a control character brings back value 1's G1 set (PS3.5 6.1.2.5.3)
        (["ISO 2022 IR 100", "ISO 2022 IR 144"], b"\x1b-L\xbb\r\xbb", "LT", "Л\r»"),
        # ... as '^' does in PN, and '\\' in multi-valued VRs
        (["ISO 2022 IR 100", "ISO 2022 IR 144"], b"\x1b-L\xbb^\xbb", "PN", "Л^»"),
        (["ISO 2022 IR 100", "ISO 2022 IR 144"], b"\x1b-L\xbb\\\xbb", "LO", "Л\\»"),
        # but not in LT, which cannot be multi-valued
        (["ISO 2022 IR 100", "ISO 2022 IR 144"], b"\x1b-L\xbb\\\xbb", "LT", "Л\\Л"),
        # a G1 byte with no G1 set: the set last designated (lenient, as pydicom)
        (["", "ISO 2022 IR 149"], b"\x1b$)C\xb1\xe8^\xc8\xf1", "PN", "김^희"),
        # ... or ISO 8859-1 (pydicom's reading of the default repertoire)
        (["", "ISO 2022 IR 87"], b"Caf\xe9", "LO", "Café"),
        # escape sequences of any set are understood, declared or not
        (["", "ISO 2022 IR 87"], b"\x1b$)C\xb1\xe8", "LO", "김"),
        (["", "ISO 2022 IR 58"], b"Zhang\x1b$)A\xd5\xc5\xc8\xfd", "PN", "Zhang张三"),
        (["", "ISO 2022 IR 87", "ISO 2022 IR 159"], b"\x1b$(D0!\x1b$B;3\x1b(B", "LO", "丂山"),
        (["ISO 2022 IR 13", "ISO 2022 IR 87"], b"\xd4\x1b$B;3\x1b(J\xd4", "SH", "ﾔ山ﾔ"),
        (["ISO_IR 13"], b"\xd4\xcf\xc0\xdeabc", "SH", "ﾔﾏﾀﾞabc"),
        (["ISO 2022 IR 166"], b"\xca\xc7\xd1\xca\xb4\xd5", "LO", "สวัสดี"),
        (["ISO_IR 203"], b"\xa4", "LO", "€"),
        (["GB18030"], b"\xcd\xf5", "PN", "王"),
        (["GBK"], b"\xcd\xf5", "PN", "王"),
        (["ISO_IR 192"], "Ωμέγα".encode(), "UT", "Ωμέγα"),
    ],
)
def test_decode_rules(terms: list[str], raw: bytes, vr: str, text: str) -> None:
    assert CharacterSet.from_terms(terms).decode(raw, vr) == text


@pytest.mark.parametrize(
    ("terms", "text", "vr", "raw"),
    [
        (["", "ISO 2022 IR 87"], "Yamada山田 x", "LO", b"Yamada\x1b$B;3ED\x1b(B x"),
        (["", "ISO 2022 IR 149"], "김희중\r\nabc김", "LT",
         b"\x1b$)C\xb1\xe8\xc8\xf1\xc1\xdf\r\nabc\x1b$)C\xb1\xe8"),
        (["ISO 2022 IR 100", "ISO 2022 IR 126"], "é Δ é", "LO", b"\xe9 \x1b-F\xc4 \x1b-A\xe9"),
        (["ISO 2022 IR 100", "ISO 2022 IR 144"], "é\rЛ\nЛé", "LT",
         b"\xe9\r\x1b-L\xbb\n\x1b-L\xbb\x1b-A\xe9"),
        # G1 text never sits inside two-byte G0 text: G0 is closed first
        (["ISO 2022 IR 13", "ISO 2022 IR 87"], "ﾔ山ﾔ", "SH", b"\xd4\x1b$B;3\x1b(J\xd4"),
        (["", "ISO 2022 IR 58"], "Zhang张三", "PN", b"Zhang\x1b$)A\xd5\xc5\xc8\xfd"),
        # G1 changed before a delimiter is designated again after it, even value 1's
        (["ISO 2022 IR 100", "ISO 2022 IR 126"], "Δ=é^Δ", "PN",
         b"\x1b-F\xc4=\x1b-A\xe9^\x1b-F\xc4"),
        (["", "ISO 2022 IR 87", "ISO 2022 IR 159"], "丂山", "LO", b"\x1b$(D0!\x1b$B;3\x1b(B"),
        (["ISO_IR 192"], "Wang^王", "PN", b"Wang^\xe7\x8e\x8b"),
        (["ISO_IR 100"], "Jérôme", "PN", b"J\xe9r\xf4me"),
    ],
)
def test_encode_rules(terms: list[str], text: str, vr: str, raw: bytes) -> None:
    charset = CharacterSet.from_terms(terms)
    assert charset.encode(text, vr) == raw
    assert charset.decode(raw, vr) == text


# Alphabets for property tests: characters each set combination can hold.
_ALPHABETS: dict[tuple[str, ...], str] = {
    ("ISO_IR 100",): "abcXYZ 019-.éüßÀ",
    ("ISO_IR 144",): "abc ДЛжюя",
    ("ISO_IR 126",): "abc ΔΩαβ",
    ("ISO_IR 192",): "abc é王김Ωя€",
    ("GB18030",): "abc 王小东",
    ("", "ISO 2022 IR 87"): "abcXY 0- 山田太郎やまだたろう",
    ("ISO 2022 IR 13", "ISO 2022 IR 87"): "abc 0- ﾔﾏﾀﾞﾛｳ山田やまだ",
    ("", "ISO 2022 IR 149"): "abc 0- 김희중洪吉洞",
    ("ISO 2022 IR 100", "ISO 2022 IR 144", "ISO 2022 IR 126"): "abc éüЛжΔΩ",
    ("", "ISO 2022 IR 58"): "abc 张三王",
}


@settings(max_examples=100, deadline=None)
@given(data=st.data())
@pytest.mark.parametrize("terms", list(_ALPHABETS))
def test_text_round_trips(terms: tuple[str, ...], data: st.DataObject) -> None:
    """Any text of the repertoire, with delimiters, encodes and decodes back; pydicom
    decodes our bytes to the same text (but for GB2312, which it cannot)."""
    alphabet = _ALPHABETS[terms] + "^=\\\r\n"
    text = data.draw(st.text(alphabet=alphabet, max_size=24))
    vr = data.draw(st.sampled_from(TEXT_VRS))
    charset = CharacterSet.from_terms(terms)
    raw = charset.encode(text, vr)
    assert charset.decode(raw, vr) == text
    if "ISO 2022 IR 58" not in terms:
        assert _pydicom_decode(raw, list(terms)) == text


def test_from_raw_and_terms() -> None:
    assert CharacterSet.from_raw(None) is DEFAULT_CHARSET
    assert CharacterSet.from_raw(b"") is DEFAULT_CHARSET
    assert CharacterSet.from_raw(b"  ") is DEFAULT_CHARSET
    assert DEFAULT_CHARSET.terms == ()
    assert DEFAULT_CHARSET.is_default
    latin = CharacterSet.from_raw(b"ISO_IR 100")
    assert latin.terms == ("ISO_IR 100",)
    assert latin is CharacterSet.from_terms(["ISO_IR 100"])  # cached
    japanese = CharacterSet.from_raw(b"\\ISO 2022 IR 87 ")
    assert japanese.terms == ("", "ISO 2022 IR 87")
    assert japanese.uses_code_extensions
    assert not latin.uses_code_extensions
    # equal when they behave alike, whatever the spelling
    assert CharacterSet.from_terms(["ISO_IR 6"]) == DEFAULT_CHARSET
    assert CharacterSet.from_terms(["ISO 2022 IR 100"]) == latin
    assert japanese == CharacterSet.from_terms(["ISO 2022 IR 6", "ISO 2022 IR 87"])
    assert latin != DEFAULT_CHARSET
    assert repr(japanese) == "CharacterSet(['', 'ISO 2022 IR 87'])"
    assert len({latin, CharacterSet.from_terms(["ISO 2022 IR 100"])}) == 1


@pytest.mark.parametrize(
    ("terms", "message", "text", "raw"),
    [
        (["ISO IR 100"], "assuming 'ISO_IR 100'", "é", b"\xe9"),
        (["ISO 2022 IR 87X", "ISO 2022 IR 87"], "unknown", "山", b"\x1b$B;3\x1b(B"),
        (["ISO-2022 IR 126"], "assuming 'ISO 2022 IR 126'", "Δ", b"\xc4"),
        (["FOOBAR"], "unknown", "a", b"a"),
        (["latin_1"], "Python codec", "é", b"\xe9"),
        (["ISO_IR 192", "ISO 2022 IR 87"], "allows no code extensions", "山", "山".encode()),
        (["ISO 2022 IR 100", "GB18030"], "cannot be one", "é", b"\xe9"),
    ],
)
def test_lenient_terms(terms: list[str], message: str, text: str, raw: bytes) -> None:
    with pytest.warns(DicomStreamWarning, match=message):
        charset = CharacterSet(terms)
    assert charset.decode(raw, "LO") == text
    assert charset.encode(text, "LO") == raw


def test_undecodable_bytes_warn() -> None:
    with pytest.warns(DicomStreamWarning, match="replacement"):
        assert CharacterSet.from_terms(["ISO_IR 192"]).decode(b"a\xff", "LO") == "a\ufffd"
    with pytest.warns(DicomStreamWarning, match="replacement"):
        text = CharacterSet.from_terms(["", "ISO 2022 IR 87"]).decode(b"\x1b%Gx", "LO")
    assert text == "\x1b%Gx"
    with pytest.warns(DicomStreamWarning, match="replacement"):
        text = CharacterSet.from_terms(["", "ISO 2022 IR 87"]).decode(b"\x1b$B;3;", "LO")
    assert text == "山\ufffd"


def test_unencodable_text_raises() -> None:
    with pytest.raises(EncodeError, match="cannot encode"):
        DEFAULT_CHARSET.encode("Jérôme", "PN")
    with pytest.raises(EncodeError):
        CharacterSet.from_terms(["ISO_IR 100"]).encode("Д", "LO")
    with pytest.raises(EncodeError):
        CharacterSet.from_terms(["", "ISO 2022 IR 87"]).encode("김", "LO")
    with pytest.raises(EncodeError):
        CharacterSet.from_terms(["GB18030"]).encode("\ud800", "LO")
    assert not DEFAULT_CHARSET.can_encode("é")
    assert DEFAULT_CHARSET.can_encode("e")
    assert CharacterSet.from_terms(["", "ISO 2022 IR 149"]).can_encode("김", "PN")
    with pytest.raises(EncodeError):
        encode_value("PN", "Jérôme")


def test_default_repertoire_vrs() -> None:
    """Only SH LO ST LT UC UT PN use the character set; the rest are ISO 8859-1 on reading
    (as pydicom) and ASCII on writing."""
    utf8 = CharacterSet.from_terms(["ISO_IR 192"])
    assert CUSTOMIZABLE_VRS == {"SH", "LO", "ST", "LT", "UC", "UT", "PN"}
    assert utf8.decode(b"\xc3\xa9", "CS") == "Ã©"
    assert utf8.decode(b"\xc3\xa9", "LO") == "é"
    with pytest.raises(EncodeError, match="default repertoire"):
        utf8.encode("é", "CS")
