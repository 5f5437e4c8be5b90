"""Streaming: the look-ahead is bounded, pixel data is never held, chunking does not
matter, every native transfer syntax works, and the Python entry points."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import anyio
import pydicom
import pytest
from deid_support import DATA_ROOT, KEY, REPO, deid_bytes, read, to_bytes
from pydicom.dataset import Dataset

from dicomstream.errors import StageError
from dicomstream.events import DatasetEnd, ValueChunk
from dicomstream.parser import Parser
from dicomstream_deid import DeidConfig, DeidStage, Keyring, ListAudit, anonymize_file

if TYPE_CHECKING:
    from pathlib import Path

CONFIG = DeidConfig.create(KEY)


def _events(data: bytes) -> list[object]:
    parser = Parser()
    parser.receive_data(data)
    events: list[object] = list(parser.events())
    parser.receive_data(b"")
    return events + list(parser.events())


def _drive(stage: DeidStage, batches: list[list[object]]) -> list[list[object]]:
    """Feed batches; return what came out of each (and of the flush, last)."""
    outputs: list[list[object]] = []

    async def go() -> None:
        for batch in batches:
            outputs.append(list(await stage.process(batch)))  # type: ignore[arg-type]
        outputs.append(list(await stage.flush()))

    anyio.run(go)
    return outputs


def test_lookahead_is_bounded() -> None:
    ds = Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    ds.SOPInstanceUID = "1.2.826.0.1.3680043.10.1.8.1"
    for group in (0x0009, 0x000B):  # 5,000 private elements before group 0010
        for n in range(10):
            block = ds.private_block(group, f"FLOOD {n}", create=True)
            for element in range(250):
                block.add_new(element, "LO", f"v{element}")
    ds.PatientID = "LATE"
    events = _events(to_bytes(ds))
    stage = DeidStage(CONFIG)
    outputs = _drive(stage, [[e] for e in events])
    bound = DeidStage.max_lookahead
    assert not any(outputs[:bound - 1])
    assert len(outputs[bound - 1]) > 2  # released at the bound, in one go
    patient_id = next(i for i, e in enumerate(events) if getattr(e, "tag", 0) == 0x00100020)
    assert patient_id > bound and outputs[patient_id]  # after that, nothing waits
    assert outputs[-1] == []  # nothing left for the flush
    report = stage.report()["deid"]
    assert report["lookahead_events"] == DeidStage.max_lookahead
    assert any("look-ahead" in w for w in report["warnings"])


def test_pixel_data_is_never_held(tmp_path: Path) -> None:
    sys.path.insert(0, str(REPO))
    try:
        from benchmarks._generate import write_ct_series
    finally:
        sys.path.remove(str(REPO))
    path = write_ct_series(tmp_path, 1, target_size=1024 * 1024)[0]
    events = _events(path.read_bytes())
    chunks = [i for i, e in enumerate(events) if type(e) is ValueChunk]
    assert len(chunks) > 2
    stage = DeidStage(CONFIG)
    batches = [events[:chunks[0]]] + [[e] for e in events[chunks[0]:]]
    outputs = _drive(stage, batches)
    for batch, out in zip(batches, outputs, strict=False):
        if type(batch[-1]) is ValueChunk:
            assert out == batch  # each chunk leaves with the call that brought it
    assert type(events[-1]) is DatasetEnd


@pytest.mark.parametrize("name", ["CT_small.dcm", "rtplan.dcm", "JPEG2000.dcm", "MR_small_RLE.dcm"])
def test_chunking_does_not_matter(name: str) -> None:
    data = (DATA_ROOT / "test_files" / name).read_bytes()
    outputs = {deid_bytes(data, CONFIG, chunk_size=size)[0] for size in (257, 4096, 1 << 20)}
    assert len(outputs) == 1


@pytest.mark.parametrize("syntax", ["implicit", "explicit", "big", "deflated"])
def test_native_transfer_syntaxes(syntax: str, tmp_path: Path) -> None:
    sys.path.insert(0, str(REPO))
    try:
        from benchmarks._generate import (
            DEFLATED_EXPLICIT_VR_LE,
            EXPLICIT_VR_BE,
            EXPLICIT_VR_LE,
            IMPLICIT_VR_LE,
            write_ct_series,
        )
    finally:
        sys.path.remove(str(REPO))
    uid = {"implicit": IMPLICIT_VR_LE, "explicit": EXPLICIT_VR_LE, "big": EXPLICIT_VR_BE,
           "deflated": DEFLATED_EXPLICIT_VR_LE}[syntax]
    path = write_ct_series(tmp_path, 1, target_size=4096, transfer_syntax=uid)[0]
    source = pydicom.dcmread(path)
    out = read(deid_bytes(path.read_bytes(), CONFIG)[0])
    keyring = Keyring(KEY)
    assert out.file_meta.TransferSyntaxUID == uid
    assert out.PatientID == keyring.patient_id(source.PatientID)
    assert out.SOPInstanceUID == keyring.uid(source.SOPInstanceUID)
    assert out.PatientBirthDate == "" and "OtherPatientIDsSequence" not in out
    assert out.Rows == source.Rows and out.PixelData == source.PixelData
    assert not any(e.tag.is_private for e in out)


def test_burned_in_fail_raises() -> None:
    ds = Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    ds.SOPInstanceUID = "1.2.826.0.1.3680043.10.1.8.2"
    ds.PatientID = "P"
    data = to_bytes(ds)
    _, report = deid_bytes(data, CONFIG)
    assert report["burned_in"] == "suspect"
    ds.BurnedInAnnotation = "NO"
    assert deid_bytes(to_bytes(ds), CONFIG)[1]["burned_in"] == "no"
    ds.BurnedInAnnotation = "YES"
    with pytest.raises(StageError, match="burned-in"):
        deid_bytes(to_bytes(ds), DeidConfig.create(KEY, burned_in="fail"))


def test_python_entry_points(tmp_path: Path) -> None:
    audit = ListAudit()
    config = DeidConfig.create(KEY, ["retain-long-modified-dates"], audit=audit)
    source = DATA_ROOT / "test_files" / "CT_small.dcm"
    result = anyio.run(anonymize_file, source, tmp_path / "out.dcm", config)
    out = pydicom.dcmread(tmp_path / "out.dcm")
    assert result.details["deid"]["sop_instance_uid"] == out.SOPInstanceUID
    assert out.LongitudinalTemporalInformationModified == "MODIFIED"
    assert audit.records and all("original" not in r for r in audit.records)
    stage = DeidStage(key=KEY, options={"retain-uids"})
    assert stage.config.options == frozenset({"retain-uids"})
    with pytest.raises(TypeError):
        DeidStage(config, key=KEY)
