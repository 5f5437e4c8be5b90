"""Every row of Table E.1-1, under the Basic Profile and under each option, checked
against the TSV (read here independently of the plugin).

One synthetic object holds every attribute of the table with a distinctive value; it is
de-identified once per option set, and each row's outcome is compared with what the row's
codes ask for. Compound codes resolve conservatively here (the SOP Class has no IOD);
their resolution by IOD Type is checked on real SOP Classes at the end.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

import pytest
from deid_support import (
    CT_IMAGE,
    KEY,
    OPTION_COLUMNS,
    Row,
    deid_bytes,
    every_row_dataset,
    expected_code,
    read,
    table_rows,
    to_bytes,
    vr_of,
)
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from dicomstream_deid import Keyring

PATIENT_ID, PATIENT_NAME = 0x00100020, 0x00100010
ROWS = [r for r in table_rows() if r.tag is not None and r.tag >> 16 != 0x0002]
KEYRING = Keyring(KEY)


@functools.cache
def run(options: frozenset[str]) -> tuple[Dataset, Dataset]:
    source = every_row_dataset()
    data = to_bytes(source)
    out, _ = deid_bytes(data, options=options)
    return read(data), read(out)


def _shift(vr: str, text: str, days: int) -> str:
    def da(s: str) -> str:
        d = dt.date(int(s[:4]), int(s[4:6]), int(s[6:8])) + dt.timedelta(days=days)
        return d.strftime("%Y%m%d")
    if vr == "DA":
        return da(text)
    if vr == "DT":
        return da(text[:8]) + text[8:]
    return text  # TM: whole-day offsets leave times alone


def _text(value: Any) -> str:
    return str(value) if not isinstance(value, bytes) else value.decode("latin-1")


def _nested_uid(before: str, options: frozenset[str]) -> str:
    """Referenced SOP Instance UID (a U row, K under Retain UIDs) inside a sequence."""
    return before if "retain-uids" in options else KEYRING.uid(before)


def check(row: Row, code: str, source: Dataset, out: Dataset,
          options: frozenset[str] = frozenset()) -> None:
    tag = row.tag
    assert tag is not None
    vr = vr_of(tag, row.name)
    before = source[tag]
    after = out.get(tag)
    patient_key = str(source[PATIENT_ID].value)
    if tag == PATIENT_ID and code in ("Z", "D"):
        assert after is not None and after.value == KEYRING.patient_id(patient_key)
        return
    if tag == PATIENT_NAME and code in ("Z", "D"):
        assert after is not None and str(after.value) == KEYRING.patient_name(patient_key)
        return
    if code == "X":
        assert after is None, f"{row.name} should be removed"
        return
    assert after is not None, f"{row.name} should be present ({code})"
    if code == "Z":
        assert after.is_empty or (vr == "SQ" and len(after.value) == 0), \
            f"{row.name}: {after.value!r} is not empty"
    elif code == "K" and vr == "SQ":
        assert [_item_view(i) for i in after.value] == [_item_view(i) for i in before.value]
    elif code == "K":
        assert str(after.value) == str(before.value)
    elif code == "U" and vr == "SQ":  # X/Z/U*: kept, with the UIDs inside replaced
        assert after.value[0].CodeMeaning == before.value[0].CodeMeaning
        assert after.value[0].ReferencedSOPInstanceUID == _nested_uid(
            before.value[0].ReferencedSOPInstanceUID, options)
    elif code == "U":
        assert after.value == KEYRING.uid(str(before.value))
    elif code == "D":
        if vr == "SQ":
            assert len(after.value) == len(before.value)
            for item in after.value:  # free text of a dummy sequence is dummy
                assert item.CodeMeaning == "ANONYMIZED"
        elif vr == "UI":
            assert after.value == KEYRING.uid(str(before.value))
        else:
            assert not after.is_empty and after.value != before.value, \
                f"{row.name}: dummy {after.value!r}"
    elif code == "C":
        if vr in ("DA", "DT", "TM"):
            offset = KEYRING.date_offset(patient_key)
            assert str(after.value) == _shift(vr, str(before.value), offset)
        elif vr == "SQ":
            assert len(after.value) == len(before.value)
            assert after.value[0].CodeMeaning == before.value[0].CodeMeaning
            assert after.value[0].ReferencedSOPInstanceUID == _nested_uid(
                before.value[0].ReferencedSOPInstanceUID, options)
        else:  # text without identifying tokens comes through cleaning unchanged
            assert _text(after.value) == _text(before.value)
    else:  # pragma: no cover - the table has no other codes
        raise AssertionError(code)


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.tag_text)
def test_basic_profile_row(row: Row) -> None:
    source, out = run(frozenset())
    check(row, expected_code(row), source, out)


ROW_TAGS = frozenset(r.tag for r in ROWS)


def _item_view(item: Dataset) -> list[tuple[int, str]]:
    """An item's elements that no row of the table governs (rows are checked on their
    own, at every depth)."""
    return sorted((int(e.tag), str(e.value)) for e in item if int(e.tag) not in ROW_TAGS)


def _outcome(ds: Dataset, tag: int) -> Any:
    element = ds.get(tag)
    if element is None:
        return None
    if element.VR == "SQ":
        return [_item_view(item) for item in element.value]
    return (element.VR, str(element.value))


def _observable(row: Row, option: str) -> bool:
    """Whether the option's code for ``row`` can show in the row's own outcome: keeping
    a sequence (K) and keeping it with its UIDs replaced (U) differ only in the UID rows
    inside it, which have codes of their own."""
    if option not in row.options:
        return False
    codes = {expected_code(row), expected_code(row, {option})}
    return not (codes == {"U", "K"} and vr_of(row.tag or 0, row.name) == "SQ")


@pytest.mark.parametrize("option", list(OPTION_COLUMNS))
def test_option_changes_exactly_its_rows(option: str) -> None:
    """Each option changes exactly the rows whose column it has a code in, and every row
    under it does what the row says."""
    source, basic = run(frozenset())
    _, optioned = run(frozenset({option}))
    changed = {r.tag_text for r in ROWS
               if _outcome(basic, r.tag) != _outcome(optioned, r.tag)}  # type: ignore[arg-type]
    wanted = {r.tag_text for r in ROWS if _observable(r, option)}
    assert changed == wanted
    for row in ROWS:
        check(row, expected_code(row, {option}), source, optioned, frozenset({option}))


def test_options_together() -> None:
    """All options but full dates at once: K beats C where two options meet."""
    options = frozenset(OPTION_COLUMNS) - {"retain-long-full-dates"}
    source, out = run(options)
    for row in ROWS:
        check(row, expected_code(row, options), source, out, options)


def test_meta_instance_uid_follows() -> None:
    source, out = run(frozenset())
    assert out.file_meta.MediaStorageSOPInstanceUID == out.SOPInstanceUID
    assert out.SOPInstanceUID == KEYRING.uid(source.SOPInstanceUID)


def test_profile_attributes_added() -> None:
    for options, longitudinal in ((frozenset(), "REMOVED"),
                                  (frozenset({"retain-long-full-dates"}), "UNMODIFIED"),
                                  (frozenset({"retain-long-modified-dates", "retain-uids"}),
                                   "MODIFIED")):
        _, out = run(options)
        assert out.PatientIdentityRemoved == "YES"
        assert out.LongitudinalTemporalInformationModified == longitudinal
        codes = [(i.CodeValue, i.CodingSchemeDesignator) for i in
                 out.DeidentificationMethodCodeSequence]
        assert codes[0] == ("113100", "DCM")
        assert len(codes) == 1 + len(options)
        assert any("Basic Profile" in m for m in out.DeidentificationMethod)


# -- compound codes by the IOD of the object -------------------------------------------

def _object(sop_class: str) -> Dataset:
    ds = Dataset()
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = "1.2.826.0.1.3680043.10.1.5.1"
    ds.PatientID = "PID-1"
    ds.ContentDate = "20200102"
    ds.ContentTime = "101010"
    ds.InstitutionName = "Hospital A"
    ds.AcquisitionDate = "20200102"
    ds.OperatorsName = "Doe^Jane"
    ref = Dataset()
    ref.ReferencedSOPClassUID = CT_IMAGE
    ref.ReferencedSOPInstanceUID = "1.2.826.0.1.3680043.10.1.5.2"
    ds.ReferencedImageSequence = Sequence([ref])
    return ds


@pytest.mark.parametrize(("sop_class", "expected"), [
    # CT Image (PS3.3 A.3): Content Date 2C -> Z, Institution Name 3 -> X, Acquisition
    # Date 3 -> X, Operators' Name 3 -> X, Referenced Image Sequence 3 -> X.
    (CT_IMAGE, {"ContentDate": "Z", "InstitutionName": "X", "AcquisitionDate": "X",
                "OperatorsName": "X", "ReferencedImageSequence": "X"}),
    # Comprehensive SR (A.35.3): Content Date 1 -> D.
    ("1.2.840.10008.5.1.4.1.1.88.33", {"ContentDate": "D", "InstitutionName": "X"}),
    # RT Structure Set (A.19): RT Series Operators' Name 2 -> Z.
    ("1.2.840.10008.5.1.4.1.1.481.3", {"OperatorsName": "Z", "InstitutionName": "X"}),
    # No IOD known: the choice valid in every IOD.
    ("1.2.826.0.1.3680043.10.1.999", {"ContentDate": "D", "InstitutionName": "D",
                                      "AcquisitionDate": "Z", "OperatorsName": "D",
                                      "ReferencedImageSequence": "U"}),
])
def test_compound_codes_follow_the_iod(sop_class: str, expected: dict[str, str]) -> None:
    source = _object(sop_class)
    out = read(deid_bytes(to_bytes(source))[0])
    for keyword, code in expected.items():
        element = out[keyword] if keyword in out else None
        if code == "X":
            assert element is None, keyword
        elif code == "Z":
            assert element is not None and element.is_empty, keyword
        elif code == "D":
            assert element is not None and not element.is_empty, keyword
            assert element.value != source[keyword].value
        elif code == "U":
            assert element is not None
            assert element.value[0].ReferencedSOPInstanceUID == KEYRING.uid(
                "1.2.826.0.1.3680043.10.1.5.2")


def test_nested_compound_codes_are_conservative() -> None:
    """Inside a sequence the IOD's Type is unknown: X/Z/D gives D, X/Z gives Z."""
    ds = _object(CT_IMAGE)
    item = Dataset()
    item.InstitutionName = "Hospital B"
    item.AcquisitionDate = "20200101"
    ds.RequestAttributesSequence = Sequence([item])
    ds.ReferencedStudySequence = Sequence()
    out = read(deid_bytes(to_bytes(ds))[0])
    assert "RequestAttributesSequence" not in out  # X at the top level
    ds.add_new(0x00400275, "SQ", Sequence([item]))
    kept = read(deid_bytes(to_bytes(ds), options={"clean-descriptors"})[0])
    nested = kept.RequestAttributesSequence[0]
    assert nested.InstitutionName == "ANONYMIZED"
    assert nested.AcquisitionDate == ""
