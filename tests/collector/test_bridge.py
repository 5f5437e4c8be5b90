"""The optional pydicom bridge: to and from ``pydicom.Dataset`` through Part 10 bytes."""

from __future__ import annotations

import pydicom
import pytest
from corpus import path_of

from collector.helpers import differences, pydicom_quiet, pydicom_read, read_corpus
from dicomstream import Dataset
from dicomstream.collector import from_pydicom, to_pydicom

SAMPLE = [
    "test_files/rtplan.dcm",
    "test_files/CT_small.dcm",
    "test_files/MR_small_bigendian.dcm",
    "test_files/JPEG2000.dcm",
    "test_files/image_dfl.dcm",
    "test_files/UN_sequence.dcm",
    "test_files/ExplVR_LitEndNoMeta.dcm",
    "charset_files/chrSQEncoding.dcm",
    "charset_files/chrH32.dcm",
]


@pytest.mark.parametrize("name", SAMPLE)
def test_round_trip_through_pydicom(name: str) -> None:
    ours = read_corpus(name)
    theirs = to_pydicom(ours)
    assert isinstance(theirs, pydicom.Dataset)
    with pydicom_quiet():
        assert theirs == pydicom_read(path_of(name))
    back = from_pydicom(theirs)
    assert back == ours
    assert differences(back, pydicom_read(path_of(name))) == []


def test_from_a_pydicom_dataset_made_in_memory() -> None:
    theirs = pydicom.Dataset()
    theirs.PatientName = "Doe^Jane"
    theirs.Rows = 4
    ours = from_pydicom(theirs)
    assert isinstance(ours, Dataset)
    assert ours.PatientName == "Doe^Jane" and ours.Rows == 4
    assert to_pydicom(ours) == theirs


def test_pydicom_features_on_a_converted_dataset() -> None:
    ds = read_corpus("test_files/rtplan.dcm")
    theirs = to_pydicom(ds)
    assert theirs.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2"
    assert theirs.PatientSetupSequence[0].PatientPosition == "HFS"
