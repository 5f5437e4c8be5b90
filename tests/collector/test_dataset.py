"""The Dataset, DataElement and Sequence API, as pydicom users expect it."""

from __future__ import annotations

import copy
import datetime
import io
import pickle
from typing import Any

import pydicom
import pytest
from corpus import path_of

import dicomstream
from collector.helpers import normalise_tags, read_corpus
from dicomstream import DataElement, Dataset, FileMetaDataset, Sequence, Tag
from dicomstream.errors import DicomStreamWarning, EncodeError, InvalidValueError
from dicomstream.values import DA, DT, IS, TM, DSfloat, PersonName


@pytest.fixture
def rtplan() -> Dataset:
    return read_corpus("test_files/rtplan.dcm")


def _saved(ds: Dataset, **options: Any) -> bytes:
    out = io.BytesIO()
    ds.save_as(out, **options)
    return out.getvalue()


# -- access -------------------------------------------------------------------------------


def test_access_by_keyword_tag_pair_and_name(rtplan: Dataset) -> None:
    elem = rtplan["PatientName"]
    assert rtplan[0x00100010] is elem
    assert rtplan[0x0010, 0x0010] is elem
    assert rtplan[Tag("PatientName")] is elem
    assert rtplan["00100010"] is elem
    assert elem.tag == 0x00100010 and repr(elem.tag) == "(0010,0010)"
    assert elem.tag.group == 0x0010 and elem.tag.element == 0x0010
    assert (elem.VR, elem.keyword, elem.name) == ("PN", "PatientName", "Patient's Name")
    assert rtplan.PatientName == "Last^First^mid^pre"
    assert isinstance(rtplan.PatientName, PersonName)
    assert rtplan.PatientName.family_name == "Last"
    assert rtplan.get("PatientName") == "Last^First^mid^pre"
    assert rtplan.get(0x00100010) is elem
    assert rtplan.get("PatientWeight", 70) == 70
    assert rtplan.get(0x00101030) is None
    assert rtplan.data_element("PatientName") is elem
    with pytest.raises(KeyError):
        rtplan[0x00101030]
    with pytest.raises(AttributeError):
        rtplan.PatientWeight  # noqa: B018
    with pytest.raises(AttributeError):
        rtplan.not_an_attribute  # noqa: B018


def test_contains_len_iteration_and_mappings(rtplan: Dataset) -> None:
    assert "PatientName" in rtplan and 0x00100010 in rtplan and (0x10, 0x10) in rtplan
    assert "PatientWeight" not in rtplan and "NoSuchKeyword" not in rtplan
    assert 3.5 not in rtplan
    tags = [e.tag for e in rtplan]
    assert tags == sorted(tags) and len(tags) == len(rtplan)
    assert rtplan.keys() == tags
    assert rtplan.values() == list(rtplan)
    assert rtplan.items()[0] == (tags[0], rtplan[tags[0]])
    theirs = pydicom.dcmread(path_of("test_files/rtplan.dcm"))
    assert [int(t) for t in rtplan.keys()] == [int(t) for t in theirs.keys()]
    assert len(rtplan) == len(theirs)


def test_dir(rtplan: Dataset) -> None:
    assert rtplan.dir("setup") == ["PatientSetupSequence"]
    theirs = pydicom.dcmread(path_of("test_files/rtplan.dcm"))
    assert rtplan.dir("SETUP", "patient") == theirs.dir("SETUP", "patient")
    assert "PatientName" in rtplan.dir("SETUP", "patient")
    assert rtplan.dir() == theirs.dir()
    assert "PatientName" in dir(rtplan) and "save_as" in dir(rtplan)


def test_slices_and_groups(rtplan: Dataset) -> None:
    patient = rtplan[0x00100000:0x00110000]
    assert [e.keyword for e in patient] == ["PatientName", "PatientID", "PatientBirthDate",
                                            "PatientSex"]
    assert rtplan.group_dataset(0x0010) == patient
    del rtplan[0x00100020:0x00100040]
    assert [e.keyword for e in rtplan.group_dataset(0x0010)] == ["PatientName", "PatientSex"]


# -- modification ---------------------------------------------------------------------------


def test_set_create_and_delete_by_keyword(rtplan: Dataset) -> None:
    rtplan.PatientName = "Doe^John"
    assert rtplan.PatientName == "Doe^John" and isinstance(rtplan.PatientName, PersonName)
    rtplan.PatientWeight = 71.5
    assert rtplan["PatientWeight"].VR == "DS" and rtplan.PatientWeight == 71.5
    del rtplan.PatientWeight
    assert "PatientWeight" not in rtplan
    with pytest.raises(AttributeError):
        del rtplan.PatientWeight
    rtplan[0x00100030] = "19700101"
    assert rtplan.PatientBirthDate == "19700101" and isinstance(rtplan.PatientBirthDate, DA)
    rtplan["PatientSex"] = DataElement(0x00100040, "CS", "F")
    assert rtplan.PatientSex == "F"
    with pytest.raises(ValueError):
        rtplan["PatientSex"] = DataElement(0x00100010, "PN", "x")
    theirs = pydicom.dcmread(io.BytesIO(_saved(rtplan)))
    assert str(theirs.PatientName) == "Doe^John"
    assert theirs.PatientBirthDate == "19700101" and theirs.PatientSex == "F"
    assert "PatientWeight" not in theirs


def test_values_are_normalised_on_assignment() -> None:
    ds = Dataset()
    ds.SliceThickness = "2.50"
    assert isinstance(ds.SliceThickness, DSfloat) and ds.SliceThickness == 2.5
    assert str(ds.SliceThickness) == "2.50"
    ds.InstanceNumber = "12"
    assert isinstance(ds.InstanceNumber, IS) and ds.InstanceNumber == 12
    ds.ImageType = "ORIGINAL\\PRIMARY"
    assert ds.ImageType == ["ORIGINAL", "PRIMARY"]
    ds.ImagePositionPatient = (1, "2.0", 3.5)
    assert ds.ImagePositionPatient == [1.0, 2.0, 3.5]
    assert all(isinstance(v, DSfloat) for v in ds.ImagePositionPatient)
    ds.StudyDate = datetime.date(2024, 2, 29)
    assert ds.StudyDate == "20240229" and isinstance(ds.StudyDate, DA)
    ds.StudyTime = datetime.time(13, 5, 7)
    assert ds.StudyTime == "130507" and isinstance(ds.StudyTime, TM)
    ds.AcquisitionDateTime = "20240229130507"
    assert isinstance(ds.AcquisitionDateTime, DT)
    assert ds.AcquisitionDateTime.datetime() == datetime.datetime(2024, 2, 29, 13, 5, 7)
    ds.FrameIncrementPointer = (0x0018, 0x1063)
    assert ds.FrameIncrementPointer == 0x00181063
    ds.PixelData = bytearray(b"\x00\x01")
    assert type(ds.PixelData) is bytes
    with pytest.raises(InvalidValueError):
        ds.SliceThickness = "thick"


def test_values_decode_per_vr() -> None:
    ds = read_corpus("test_files/CT_small.dcm")
    assert ds.Rows == 128 and type(ds.Rows) is int
    assert ds.ImagePositionPatient == [-158.135803, -179.035797, -75.699997]
    assert str(ds.ImagePositionPatient[0]) == "-158.135803"  # original string kept
    assert ds.InstanceNumber == 1 and repr(ds.InstanceNumber) == "'1'"
    assert ds.SOPClassUID == "1.2.840.10008.5.1.4.1.1.2" and type(ds.SOPClassUID) is str
    assert isinstance(ds.StudyDate, DA) and ds.StudyDate.date() == datetime.date(2004, 1, 19)
    assert isinstance(ds.PixelData, bytes) and len(ds.PixelData) == 128 * 128 * 2
    assert ds.ImageType == ["ORIGINAL", "PRIMARY", "AXIAL"]
    assert ds["ImageType"].VM == 3 and ds["PatientName"].VM == 1
    rt = read_corpus("test_files/rtdose.dcm")
    assert rt.FrameIncrementPointer == 0x3004000C
    assert len(rt.GridFrameOffsetVector) == 15
    us = read_corpus("test_files/reportsi.dcm")
    assert us["ContentSequence"].VM == 1


def test_in_place_change_of_a_list_is_written() -> None:
    ds = read_corpus("test_files/CT_small.dcm")
    ds.ImageType.append("EXTRA")
    ds.ImagePositionPatient[0] = 1.5
    theirs = pydicom.dcmread(io.BytesIO(_saved(ds)))
    assert list(theirs.ImageType) == ["ORIGINAL", "PRIMARY", "AXIAL", "EXTRA"]
    assert theirs.ImagePositionPatient[0] == 1.5


def test_add_new_setdefault_pop_update_clear() -> None:
    ds = Dataset()
    ds.add_new(0x00100010, "PN", "A^B")
    ds.add_new("PatientID", "LO", "123")
    assert ds.setdefault("PatientSex", "O").value == "O"
    assert ds.setdefault("PatientSex", "F").value == "O"
    assert ds.pop("PatientSex").value == "O"
    assert ds.pop("PatientSex", None) is None
    with pytest.raises(KeyError):
        ds.pop("PatientSex")
    ds.update({"PatientAge": "042Y", 0x00101010: "043Y"})
    assert ds.PatientAge == "043Y"
    other = Dataset()
    other.Modality = "CT"
    ds.update(other)
    assert ds.Modality == "CT"
    with pytest.raises(KeyError):
        ds[0x00091001] = "private without a VR"
    with pytest.raises(TypeError):
        ds.add("not an element")  # type: ignore[arg-type]
    ds.clear()
    assert len(ds) == 0 and not ds


def test_plain_attributes_and_keyword_typos() -> None:
    ds = Dataset()
    ds.my_note = "kept"
    assert ds.my_note == "kept" and len(ds) == 0
    with pytest.warns(DicomStreamWarning, match="not a DICOM keyword"):
        ds.PatientNme = "typo"
    assert "PatientName" not in ds


# -- sequences ---------------------------------------------------------------------------------


def test_sequences_as_lists_of_datasets(rtplan: Dataset) -> None:
    seq = rtplan.PatientSetupSequence
    assert isinstance(seq, Sequence) and isinstance(seq, list) and len(seq) == 1
    assert repr(seq) == "<Sequence, length 1>"
    assert [item.PatientPosition for item in seq] == ["HFS"]
    item = Dataset()
    item.PatientPosition = "FFS"
    item.PatientSetupNumber = 2
    seq.append(item)
    seq.insert(0, copy.deepcopy(item))
    seq.extend([Dataset()])
    seq += [Dataset()]
    seq[3] = Dataset()
    assert len(seq) == 5 and seq[2] is item
    with pytest.raises(TypeError):
        seq.append({"PatientPosition": "HFS"})
    with pytest.raises(TypeError):
        Sequence([1])  # type: ignore[list-item]
    del seq[3:]
    theirs = pydicom.dcmread(io.BytesIO(_saved(rtplan)))
    assert [i.PatientPosition for i in theirs.PatientSetupSequence] == ["FFS", "HFS", "FFS"]
    rtplan.ReferencedStructureSetSequence = []
    rtplan.PatientSetupSequence = [Dataset()]
    theirs = pydicom.dcmread(io.BytesIO(_saved(rtplan)))
    assert len(theirs.ReferencedStructureSetSequence) == 0
    assert len(theirs.PatientSetupSequence) == 1


def test_nested_edit_in_defined_length_items_repairs_lengths(rtplan: Dataset,
                                                             tmp_path: Any,
                                                             dcmdump: str) -> None:
    import subprocess

    beam = rtplan.BeamSequence[0]
    beam.BeamName = "A much longer beam name"
    beam.ControlPointSequence[0].GantryAngle = "123.456"
    out = tmp_path / "edited.dcm"
    rtplan.save_as(out)
    theirs = pydicom.dcmread(out)
    assert theirs.BeamSequence[0].BeamName == "A much longer beam name"
    assert theirs.BeamSequence[0].ControlPointSequence[0].GantryAngle == 123.456
    done = subprocess.run([dcmdump, "-E", str(out)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "A much longer beam name" in done.stdout


# -- private blocks -------------------------------------------------------------------------------


def test_private_blocks() -> None:
    ds = read_corpus("test_files/CT_small.dcm")
    assert ds.private_creators(0x0043) == ["GEMS_PARM_01"]
    block = ds.private_block(0x0043, "GEMS_PARM_01")
    elem = block[0x29]
    assert elem.tag == 0x00431029 and elem.private_creator == "GEMS_PARM_01"
    assert elem.name == "[Histogram tables]"
    assert ds.get_private_item(0x0043, 0x29, "GEMS_PARM_01") is elem
    with pytest.raises(KeyError):
        ds.private_block(0x0043, "ACME")
    new = ds.private_block(0x0043, "ACME", create=True)
    new.add_new(0x01, "LO", "hello")
    assert new.get_tag(0x01) == 0x00431101
    assert 0x01 in new and [e.value for e in new] == ["hello"]
    with pytest.raises(ValueError):
        ds.private_block(0x0010, "ACME")
    theirs = pydicom.dcmread(io.BytesIO(_saved(ds)))
    assert theirs.private_block(0x0043, "ACME")[0x01].value == "hello"
    ds.remove_private_tags()
    assert not any(e.tag.is_private for e in ds.iterall())
    theirs.remove_private_tags()
    assert ds.keys() == list(theirs.keys())


# -- traversal, copies, equality ------------------------------------------------------------------


def test_walk_and_iterall(rtplan: Dataset) -> None:
    seen: list[int] = []
    rtplan.walk(lambda ds, elem: seen.append(elem.tag))
    assert seen == [e.tag for e in rtplan.iterall()]
    theirs = pydicom.dcmread(path_of("test_files/rtplan.dcm"))
    assert seen == [int(e.tag) for e in theirs.iterall()]

    def drop_dates(ds: Dataset, elem: DataElement) -> None:
        if elem.VR == "DA":
            del ds[elem.tag]

    rtplan.walk(drop_dates)
    assert not any(e.VR == "DA" for e in rtplan.iterall())


def test_equality_copies_and_pickle(rtplan: Dataset) -> None:
    same = read_corpus("test_files/rtplan.dcm")
    assert rtplan == same and rtplan != read_corpus("test_files/CT_small.dcm")
    assert rtplan != "not a dataset"
    shallow = rtplan.copy()
    assert shallow == rtplan and shallow["PatientName"] is rtplan["PatientName"]
    shallow.PatientID = "changed"  # the same element object: both see it
    assert rtplan.PatientID == "changed"
    deep = copy.deepcopy(rtplan)
    assert deep == rtplan
    deep.PatientSetupSequence[0].PatientPosition = "HFP"
    assert rtplan.PatientSetupSequence[0].PatientPosition == "HFS"
    assert deep != rtplan
    restored = pickle.loads(pickle.dumps(rtplan))
    assert restored == rtplan
    assert _saved(restored) == _saved(rtplan)
    assert restored.file_meta == rtplan.file_meta
    with pytest.raises(TypeError):
        hash(rtplan)


def test_element_equality_and_properties() -> None:
    a = DataElement(0x00100010, "PN", "Doe^Jane")
    assert a == DataElement("PatientName", "PN", "Doe^Jane")
    assert a != DataElement(0x00100010, "LO", "Doe^Jane")
    assert a != DataElement(0x00100010, "PN", "Doe^John")
    assert a.VM == 1 and not a.is_empty and not a.is_private and not a.is_retired
    assert DataElement(0x00100010, "PN", "").is_empty
    assert DataElement(0x00080008, "CS", ["A", "B"]).VM == 2
    assert DataElement(0x00080040, "US", 1).is_retired
    assert a.raw_value is None
    a.VR = "LO"
    assert a.VR == "LO" and a.value == "Doe^Jane"
    assert str(a) == "(0010, 0010) Patient's Name                      LO: 'Doe^Jane'"
    assert Tag(0x0010, 0x0010) == Tag((0x0010, 0x0010)) == Tag("PatientName")
    assert Tag("00100010") == 0x00100010
    with pytest.raises(ValueError):
        Tag("NoSuchKeyword")
    with pytest.raises(ValueError):
        Tag(1 << 33)


# -- display ---------------------------------------------------------------------------------------


def test_str_of_a_dataset_made_in_memory_matches_pydicom() -> None:
    """(Pixel Data is left out: pydicom shows a new one as ``OB or OW`` until it is
    written; dicomstream resolves the VR when the element is made.)"""
    ours, theirs = Dataset(), pydicom.Dataset()
    for ds in (ours, theirs):
        ds.PatientName = "Doe^Jane"
        ds.PatientID = "12345"
        ds.Rows = 2
        ds.PixelSpacing = [0.5, 0.5]
        ds.ImageType = ["ORIGINAL", "PRIMARY"]
        ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
        ds.StudyInstanceUID = "1.2.3.4"
        ds.FrameIncrementPointer = 0x00181063
        ds.OtherPatientNames = ["A^B", "C^D"]
        ds.RedPaletteColorLookupTableData = b"\x00" * 20
        item = type(ds)()
        item.CodeValue = "121"
        ds.ConceptNameCodeSequence = [item]
    assert normalise_tags(str(ours)) == normalise_tags(str(theirs))
    assert normalise_tags(ours.top()) == normalise_tags(theirs.top())
    assert repr(ours) == str(ours)


def test_file_meta_and_file_attributes(rtplan: Dataset) -> None:
    assert isinstance(rtplan.file_meta, FileMetaDataset)
    assert rtplan.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2"
    assert rtplan.preamble == b"\x00" * 128
    assert rtplan.filename == str(path_of("test_files/rtplan.dcm"))
    assert rtplan.is_little_endian and rtplan.is_implicit_VR
    assert rtplan.transfer_syntax is not None
    assert rtplan.transfer_syntax.uid == "1.2.840.10008.1.2"
    assert str(rtplan).startswith("Dataset.file_meta ---")
    with pytest.raises(ValueError):
        rtplan.file_meta.PatientName = "x"
    big = read_corpus("test_files/CT_small.dcm")
    assert big.is_implicit_VR is False
    assert not read_corpus("test_files/MR_small_bigendian.dcm").is_little_endian
    assert Dataset().is_implicit_VR is None


def test_new_values_are_encoded_in_the_dataset_byte_order() -> None:
    ds = read_corpus("test_files/MR_small_bigendian.dcm")
    ds.Rows = 513
    ds.SmallestImagePixelValue = -2
    out = _saved(ds)
    theirs = pydicom.dcmread(io.BytesIO(out))
    assert theirs.Rows == 513 and theirs.SmallestImagePixelValue == -2
    assert dicomstream.dcmread(out).Rows == 513


def test_ambiguous_vrs_of_new_elements() -> None:
    ds = Dataset()
    ds.PixelRepresentation = 1
    ds.SmallestImagePixelValue = -5
    assert ds["SmallestImagePixelValue"].VR == "SS"
    ds.BitsAllocated = 8
    ds.PixelData = b"\x01\x02"
    assert ds["PixelData"].VR == "OB"
    other = Dataset()
    other.BitsAllocated = 16
    other.PixelData = b"\x01\x02"
    assert other["PixelData"].VR == "OW"
    with pytest.raises(EncodeError):
        bad = Dataset()
        bad.Rows = "many"
        bad.save_as(io.BytesIO())
