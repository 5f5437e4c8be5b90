"""Consistency without shared state: one study, de-identified by two separate processes
(each given half of it), gives the same UIDs and pseudonyms as one process given all of
it — byte for byte — and every reference inside the study points at the remapped UID of
the object it references. A different key gives different outputs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from typing import TYPE_CHECKING

import pydicom
import pytest
from deid_support import KEY, OTHER_KEY, PYTHON, SOP, write_study

from dicomstream_deid import Keyring

if TYPE_CHECKING:
    from pathlib import Path

    from pydicom.dataset import Dataset

STUDY_CLASS = "1.2.840.10008.3.1.2.3.1"


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, list[Path]]]:
    root = tmp_path_factory.mktemp("study")
    return root, write_study(root / "all", ct_count=6)


def _anonymize(src: Path, dst: Path, key_file: Path, *extra: str) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    env.pop("DICOMSTREAM_DEID_KEY", None)
    env.pop("DICOMSTREAM_DEID_KEY_FILE", None)
    return subprocess.Popen([PYTHON, "-m", "dicomstream", "anonymize", str(src), str(dst),
                             "--key-file", str(key_file), "--jobs", "2", *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)


def _wait(*processes: subprocess.Popen[bytes]) -> None:
    for process in processes:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err.decode()


def _split(root: Path, files: dict[str, list[Path]]) -> tuple[Path, Path]:
    """Half A: three CT slices and the structure set; half B: the rest."""
    a, b = root / "half-a", root / "half-b"
    if a.exists():
        return a, b
    everything = [p for paths in files.values() for p in paths]
    first = set(files["ct"][:3]) | set(files["rtstruct"])
    for path in everything:
        rel = path.relative_to(root / "all")
        target = (a if path in first else b) / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    return a, b


def _read_tree(root: Path) -> dict[str, Dataset]:
    return {p.relative_to(root).as_posix(): pydicom.dcmread(p)
            for p in sorted(root.rglob("*.dcm"))}


def _walk(ds: Dataset):  # type: ignore[no-untyped-def]
    for element in ds:
        yield element
        if element.VR == "SQ":
            for item in element.value:
                yield from _walk(item)


def test_two_processes_agree_with_one(study: tuple[Path, dict[str, list[Path]]],
                                      tmp_path: Path) -> None:
    root, files = study
    key_file = tmp_path / "key"
    key_file.write_bytes(KEY)
    a, b = _split(root, files)
    out_a, out_b, out_all = tmp_path / "out-a", tmp_path / "out-b", tmp_path / "out-all"
    _wait(_anonymize(a, out_a, key_file), _anonymize(b, out_b, key_file))
    _wait(_anonymize(root / "all", out_all, key_file))
    merged = {**{k: (out_a / k).read_bytes() for k in _read_tree(out_a)},
              **{k: (out_b / k).read_bytes() for k in _read_tree(out_b)}}
    whole = {k: (out_all / k).read_bytes() for k in _read_tree(out_all)}
    assert merged.keys() == whole.keys() and len(whole) == sum(map(len, files.values()))
    for name in whole:
        assert merged[name] == whole[name], f"{name} differs between runs"


def test_references_point_at_remapped_objects(
        study: tuple[Path, dict[str, list[Path]]], tmp_path: Path) -> None:
    root, files = study
    key_file = tmp_path / "key"
    key_file.write_bytes(KEY)
    out = tmp_path / "out"
    _wait(_anonymize(root / "all", out, key_file))
    inputs = _read_tree(root / "all")
    outputs = _read_tree(out)
    keyring = Keyring(KEY)
    # one study, one patient, one frame of reference for the CT
    assert len({ds.StudyInstanceUID for ds in outputs.values()}) == 1
    assert len({ds.PatientID for ds in outputs.values()}) == 1
    assert len({str(ds.PatientName) for ds in outputs.values()}) == 1
    ct_in = [ds for name, ds in inputs.items() if name.startswith("ct/")]
    ct_out = {name: ds for name, ds in outputs.items() if name.startswith("ct/")}
    assert len({ds.SeriesInstanceUID for ds in ct_out.values()}) == 1
    assert len({ds.FrameOfReferenceUID for ds in ct_out.values()}) == 1
    # every object's UIDs are the keyed form of the input's
    for name, ds in outputs.items():
        source = inputs[name]
        assert ds.SOPInstanceUID == keyring.uid(source.SOPInstanceUID)
        assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
        assert ds.StudyInstanceUID == keyring.uid(source.StudyInstanceUID)
        assert ds.SeriesInstanceUID == keyring.uid(source.SeriesInstanceUID)
        assert ds.SOPInstanceUID != source.SOPInstanceUID
    instances = {ds.SOPInstanceUID for ds in ct_out.values()}
    series = {ds.SeriesInstanceUID for ds in ct_out.values()}
    study_uid = next(iter(outputs.values())).StudyInstanceUID
    frame = next(iter(ct_out.values())).FrameOfReferenceUID
    checked = 0
    for name, ds in outputs.items():
        if name.startswith("ct/"):
            continue
        for element in _walk(ds):
            keyword = element.keyword
            if keyword == "ReferencedSOPInstanceUID":
                checked += 1
                assert element.value in instances | {study_uid}, (name, element)
            elif keyword in ("FrameOfReferenceUID", "ReferencedFrameOfReferenceUID"):
                checked += 1
                assert element.value == frame, (name, element)
            elif keyword == "SeriesInstanceUID" and element.value != ds.SeriesInstanceUID:
                checked += 1
                assert element.value in series, (name, element)
            elif keyword == "UID":  # SR UIDREF content item
                checked += 1
                assert element.value == study_uid
    assert checked >= 20
    # the SR cites every CT image, the structure set contours them
    sr = outputs["sr/sr.dcm"]
    cited = {r.ReferencedSOPInstanceUID for s in sr.CurrentRequestedProcedureEvidenceSequence
             for r in s.ReferencedSeriesSequence[0].ReferencedSOPSequence}
    assert cited == instances
    rt = outputs["rtstruct/rtstruct.dcm"]
    contour_images = rt.ReferencedFrameOfReferenceSequence[0].RTReferencedStudySequence[0]
    assert {r.ReferencedSOPInstanceUID for r in
            contour_images.RTReferencedSeriesSequence[0].ContourImageSequence} == instances
    assert len(ct_in) == len(instances)
    assert outputs["gsps/gsps.dcm"].SOPClassUID == SOP["gsps"]


def test_different_keys_give_different_outputs(
        study: tuple[Path, dict[str, list[Path]]], tmp_path: Path) -> None:
    root, _ = study
    first, second = tmp_path / "k1", tmp_path / "k2"
    first.write_bytes(KEY)
    second.write_bytes(OTHER_KEY)
    _wait(_anonymize(root / "all", tmp_path / "o1", first),
          _anonymize(root / "all", tmp_path / "o2", second))
    one, two = _read_tree(tmp_path / "o1"), _read_tree(tmp_path / "o2")
    uids_one = {e.value for ds in one.values() for e in _walk(ds) if e.VR == "UI"}
    uids_two = {e.value for ds in two.values() for e in _walk(ds) if e.VR == "UI"}
    remapped = {u for u in uids_one if str(u).startswith("2.25.")}
    assert remapped and not remapped & uids_two
    for name in one:
        assert one[name].PatientID != two[name].PatientID
        assert one[name].SOPInstanceUID != two[name].SOPInstanceUID
