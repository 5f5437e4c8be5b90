"""DICOMweb against a real Orthanc with its DICOMweb plugin: STOW-RS up, QIDO-RS finds,
WADO-RS streams back byte-identical, and an anonymizing pipeline from Orthanc to disk."""

from __future__ import annotations

import json
import shutil
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pydicom
import pytest
from corpus import path_of

from cloud.cloud_servers import raises_through_groups, read_report, run_cli
from dicomstream.bulk import rewrite_many
from dicomstream.errors import SinkError, SourceError
from dicomstream.io import BytesSource, FileSource
from dicomstream.pipeline import rewrite
from dicomstream.stages import EditStage, FilterStage, MetaStage

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

pytest.importorskip("dicomstream_dicomweb", reason="plugins/dicomweb is not installed")

import aiohttp  # noqa: E402

from dicomstream_dicomweb import StowSink, WadoInstances, parse_url, search  # noqa: E402
from dicomstream_dicomweb._urls import auth_headers  # noqa: E402

# Corpus files with distinct SOP Instance UIDs that Orthanc accepts, across transfer
# syntaxes: explicit/implicit LE, big endian, JPEG, JPEG 2000, SR, waveform, charsets.
STORED = (
    "test_files/CT_small.dcm", "test_files/ExplVR_BigEnd.dcm", "test_files/rtplan.dcm",
    "test_files/SC_rgb_jpeg_dcmd.dcm", "test_files/examples_jpeg2k.dcm",
    "test_files/examples_ybr_color.dcm", "test_files/examples_palette.dcm",
    "test_files/waveform_ecg.dcm", "test_files/test-SR.dcm", "test_files/693_J2KI.dcm",
    "test_files/GDCMJ2K_TextGBR.dcm", "test_files/SC_rgb_small_odd_jpeg.dcm",
    "charset_files/chrH31.dcm", "charset_files/chrKoreanMulti.dcm",
)


def sop_uid(data: bytes | Path) -> str:
    ds = pydicom.dcmread(data if isinstance(data, Path) else pydicom.filebase.DicomBytesIO(
        data), stop_before_pixels=True)
    return str(ds.SOPInstanceUID)


def dicomweb(root: str) -> str:
    return "dicomweb+" + root


@pytest.fixture(scope="module")
def stored(orthanc: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The :data:`STORED` files, sent with STOW-RS through the CLI; by SOP UID."""
    tree = tmp_path_factory.mktemp("stow-in")
    for name in STORED:
        target = tree / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path_of(name), target)
    report = tree.parent / "stow.jsonl"
    result = run_cli("rewrite", str(tree), dicomweb(orthanc) + "/studies",
                     "--report", str(report))
    assert result.returncode == 0, result.stderr
    assert [r["status"] for r in read_report(report)] == ["ok"] * len(STORED)
    return {sop_uid(path_of(name)): path_of(name) for name in STORED}


@pytest.mark.asyncio
async def test_qido_finds_what_was_stored(orthanc: str, stored: dict[str, Path]) -> None:
    resource = parse_url(dicomweb(orthanc) + "/instances")
    async with aiohttp.ClientSession() as session:
        found = {m["00080018"]["Value"][0]
                 async for m in search(session, resource, "/instances", page_size=5)}
    assert set(stored) <= found  # paged 5 at a time


def test_wado_streams_back_byte_identical(orthanc: str, stored: dict[str, Path],
                                          tmp_path: Path) -> None:
    # A search URL: every study found, each retrieved as one multipart answer.
    out = tmp_path / "out"
    report = tmp_path / "wado.jsonl"
    result = run_cli("rewrite", dicomweb(orthanc) + "/studies", str(out),
                     "--report", str(report))
    assert result.returncode == 0, result.stderr
    files = {p.stem: p for p in out.rglob("*.dcm")}
    assert set(stored) <= set(files)
    for uid, original in stored.items():
        assert files[uid].read_bytes() == original.read_bytes(), original.name
        # laid out as <study>/<series>/<sop>.dcm
        ds = pydicom.dcmread(original, stop_before_pixels=True)
        assert files[uid].relative_to(out).parts == (
            str(ds.StudyInstanceUID), str(ds.SeriesInstanceUID), f"{uid}.dcm")
    # What Orthanc stored is what came back (its REST API serves the stored file).
    rest = orthanc.rsplit("/dicom-web", 1)[0]
    ct_uid = sop_uid(path_of("test_files/CT_small.dcm"))
    request = urllib.request.Request(f"{rest}/tools/lookup", data=ct_uid.encode(),
                                     method="POST")
    with urllib.request.urlopen(request, timeout=10) as r:  # noqa: S310 - loopback
        orthanc_id = json.load(r)[0]["ID"]
    with urllib.request.urlopen(f"{rest}/instances/{orthanc_id}/file",  # noqa: S310
                                timeout=10) as r:
        assert r.read() == files[ct_uid].read_bytes()


def test_prefix_listing_retrieves_instance_by_instance(orthanc: str, stored: dict[str, Path],
                                                       tmp_path: Path) -> None:
    ds = pydicom.dcmread(path_of("test_files/examples_jpeg2k.dcm"), stop_before_pixels=True)
    prefix = f"{dicomweb(orthanc)}/studies/{ds.StudyInstanceUID}/"
    result = run_cli("rewrite", prefix, str(tmp_path / "out"), "--jobs", "4")
    assert result.returncode == 0, result.stderr
    got = tmp_path / "out" / "series" / str(ds.SeriesInstanceUID) / "instances" / str(
        ds.SOPInstanceUID)
    assert got.read_bytes() == path_of("test_files/examples_jpeg2k.dcm").read_bytes()


@pytest.mark.asyncio
async def test_multipart_answer_is_read_part_by_part(orthanc: str,
                                                     stored: dict[str, Path]) -> None:
    source = WadoInstances(dicomweb(orthanc) + "/studies", chunk_size=4096)
    seen = 0
    async for instance in source.instances():
        chunks = [chunk async for chunk in instance]
        assert max(len(c) for c in chunks) <= 64 * 1024  # never a whole file at once
        data = b"".join(chunks)
        assert instance.size == len(data)  # from the part's Content-Length
        uid = instance.uids["sop"]
        if uid in stored:
            assert data == stored[uid].read_bytes()
            seen += 1
    assert seen == len(stored)


@pytest.mark.asyncio
async def test_anonymizing_pipeline_from_orthanc_to_a_directory(
        orthanc: str, stored: dict[str, Path], tmp_path: Path) -> None:
    original = path_of("test_files/CT_small.dcm")
    ds = pydicom.dcmread(original)
    assert any(e.tag.is_private for e in ds) and str(ds.PatientName)

    def stages() -> list[Any]:
        return [EditStage(set={"PatientName": "", "PatientID": "ANON",
                               "ReferringPhysicianName": ""}, delete=["PatientBirthDate"]),
                FilterStage(remove_private=True), MetaStage()]

    summary = await rewrite_many(f"{dicomweb(orthanc)}/studies/{ds.StudyInstanceUID}",
                                 str(tmp_path / "anon"), stages=stages)
    assert (summary.ok, summary.failed) == (1, 0)
    (out,) = (tmp_path / "anon").rglob("*.dcm")
    anon = pydicom.dcmread(out)
    assert str(anon.PatientName) == "" and anon.PatientID == "ANON"
    assert "PatientBirthDate" not in anon
    assert not any(e.tag.is_private for e in anon)
    assert anon.SOPInstanceUID == ds.SOPInstanceUID
    assert anon.PixelData == ds.PixelData


class HalfSource:
    """The first half of ``data``, then an error."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.name = "half"
        self.size: int | None = None

    async def __aiter__(self) -> AsyncIterator[bytes]:
        half = len(self.data) // 2
        for i in range(0, half, 32 * 1024):
            yield self.data[i:min(i + 32 * 1024, half)]
        raise SourceError("the source broke off (test)")


@pytest.mark.asyncio
async def test_failed_stow_stores_nothing(orthanc: str, tmp_path: Path) -> None:
    from benchmarks._generate import write_ct_series

    (path,) = write_ct_series(tmp_path, 1, target_size=1024 * 1024, seed=4242)
    uid = sop_uid(path)
    sink = StowSink(dicomweb(orthanc) + "/studies")
    with raises_through_groups(SourceError, "broke off"):
        await rewrite(HalfSource(path.read_bytes()), sink)
    assert sink.bytes_written > 256 * 1024  # part of the body had gone up
    resource = parse_url(dicomweb(orthanc) + "/instances")
    async with aiohttp.ClientSession() as session:
        matches = [m async for m in search(session, resource, "/instances",
                                           [("SOPInstanceUID", uid)])]
    assert matches == []
    # The same instance, sent whole, is stored.
    await rewrite(FileSource(path), StowSink(dicomweb(orthanc) + "/studies"))
    async with aiohttp.ClientSession() as session:
        matches = [m async for m in search(session, resource, "/instances",
                                           [("SOPInstanceUID", uid)])]
    assert len(matches) == 1


@pytest.mark.asyncio
async def test_rejected_instance_is_a_sink_error(orthanc: str) -> None:
    data = path_of("test_files/meta_missing_tsyntax.dcm").read_bytes()
    with raises_through_groups(SinkError, "STOW-RS .*HTTP 400"):
        await rewrite(BytesSource(data), StowSink(dicomweb(orthanc) + "/studies"))


def test_auth_from_options_url_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DICOMWEB_TOKEN", raising=False)
    monkeypatch.delenv("DICOMWEB_USERNAME", raising=False)
    plain = parse_url("dicomweb+https://host/dw/studies/1.2")
    assert "Authorization" not in auth_headers(plain, {})
    assert auth_headers(plain, {"token": "t0k"})["Authorization"] == "Bearer t0k"
    in_url = parse_url("dicomweb+https://ann:s%40cret@host:8443/dw/studies/1.2")
    assert in_url.root == "https://host:8443/dw" and in_url.study == "1.2"
    assert auth_headers(in_url, {})["Authorization"] == "Basic YW5uOnNAY3JldA=="
    monkeypatch.setenv("DICOMWEB_TOKEN", "envtok")
    assert auth_headers(plain, {})["Authorization"] == "Bearer envtok"
    assert auth_headers(plain, {"username": "u", "password": "p", "token": None}
                        )["Authorization"] == "Bearer envtok"


def test_url_forms() -> None:
    r = parse_url("dicomweb+http://h/dicom-web/studies/1.2/series/3.4/instances/5.6")
    assert (r.root, r.study, r.series, r.instance, r.is_search) == (
        "http://h/dicom-web", "1.2", "3.4", "5.6", False)
    q = parse_url("dicomweb+http://h/dicom-web/studies?PatientID=X&limit=3")
    assert q.is_search and q.query == (("PatientID", "X"), ("limit", "3"))
    assert parse_url("dicomweb+http://h/dw/studies/1.2/series").is_search
    with pytest.raises(SourceError, match="not a UID"):
        parse_url("dicomweb+http://h/dw/studies/CT_small.dcm")
    tail = parse_url("dicomweb+http://h/dw/studies/sub/CT_small.dcm", ignore_tail=True)
    assert (tail.level, tail.study) == ("studies", None)
