"""The cloud examples run as documented against the real servers of the test run: an S3
server (moto) for ``examples/10_s3_to_s3_deid.py`` and Orthanc for
``examples/11_dicomweb_to_directory.py``."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pydicom
import pytest
from corpus import path_of

from cloud.cloud_servers import run_cli

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
FILES = ("test_files/CT_small.dcm", "test_files/rtplan.dcm")


def run(script: str, *args: str, env: dict[str, str] | None = None
        ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(EXAMPLES / script), *args], capture_output=True,
                          text=True, timeout=300, env={**os.environ, **(env or {})},
                          check=False)


def test_s3_to_s3_deid(bucket: str, moto_endpoint: str, s3: Any, tmp_path: Path) -> None:
    pytest.importorskip("dicomstream_cloud", reason="plugins/cloud is not installed")
    pytest.importorskip("dicomstream_deid", reason="plugins/deid is not installed")
    for name in FILES:
        s3.put_object(Bucket=bucket, Key=f"study/{Path(name).name}",
                      Body=path_of(name).read_bytes())
    report = tmp_path / "deid.jsonl"
    done = run("10_s3_to_s3_deid.py", f"s3://{bucket}/study/", f"s3://{bucket}/deid/",
               "--endpoint-url", moto_endpoint, "--report", str(report),
               env={"DICOMSTREAM_DEID_KEY": "example test key 0123456789"})
    assert done.returncode == 0, done.stdout + done.stderr
    assert "stages: DeidStage, MetaStage" in done.stdout
    assert "2 written, 0 failed" in done.stdout
    for name in FILES:
        original = pydicom.dcmread(path_of(name))
        body = s3.get_object(Bucket=bucket, Key=f"deid/{Path(name).name}")["Body"].read()
        ds = pydicom.dcmread(io.BytesIO(body))
        assert ds.SOPInstanceUID != original.SOPInstanceUID
        assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
        assert str(ds.get("PatientName", "")) != str(original.PatientName)
        assert ds.PatientIdentityRemoved == "YES"
    assert len(report.read_text().splitlines()) == 2


def test_dicomweb_study_to_directory(orthanc: str, tmp_path: Path) -> None:
    pytest.importorskip("dicomstream_dicomweb", reason="plugins/dicomweb is not installed")
    src = tmp_path / "in"
    src.mkdir()
    original = pydicom.dcmread(path_of("test_files/rtplan.dcm"))
    (src / "rtplan.dcm").write_bytes(path_of("test_files/rtplan.dcm").read_bytes())
    stow = run_cli("rewrite", str(src), f"dicomweb+{orthanc}/studies")
    assert stow.returncode == 0, stow.stderr
    study = f"dicomweb+{orthanc}/studies/{original.StudyInstanceUID}"

    done = run("11_dicomweb_to_directory.py", study, str(tmp_path / "out"))
    assert done.returncode == 0, done.stdout + done.stderr
    (got,) = [p for p in (tmp_path / "out").rglob("*") if p.is_file()]
    assert got.read_bytes() == path_of("test_files/rtplan.dcm").read_bytes()

    anonymized = run("11_dicomweb_to_directory.py", study, str(tmp_path / "anon"),
                     "--anonymize", env={"DICOMSTREAM_DEID_KEY": "example test key 0123456789"})
    assert anonymized.returncode == 0, anonymized.stdout + anonymized.stderr
    (anon,) = [p for p in (tmp_path / "anon").rglob("*") if p.is_file()]
    ds = pydicom.dcmread(anon)
    assert ds.SOPInstanceUID != original.SOPInstanceUID
    assert anon.name == f"{ds.SOPInstanceUID}.dcm"  # named from the de-identified header
    assert str(original.SOPInstanceUID) not in str(anon)
