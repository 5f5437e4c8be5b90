"""``dicomstream anonymize`` and ``--stage deid``: keys, options, reports, audits, the
burned-in policy, stdin/stdout, and the plugin's registration."""

from __future__ import annotations

import json
import os
import subprocess
from typing import TYPE_CHECKING

import pydicom
import pytest
from deid_support import DATA_ROOT, KEY, PYTHON, write_study

from dicomstream.plugin import COMMANDS, STAGES, discover
from dicomstream_deid import Keyring

if TYPE_CHECKING:
    from pathlib import Path

CT = DATA_ROOT / "test_files" / "CT_small.dcm"


def run(*args: str, key: bytes | None = None, stdin: bytes | None = None,
        cwd: Path | None = None) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DICOMSTREAM_DEID")}
    if key is not None:
        env["DICOMSTREAM_DEID_KEY"] = key.decode()
    return subprocess.run([PYTHON, "-m", "dicomstream", *args], capture_output=True,
                          env=env, input=stdin, cwd=cwd, timeout=120, check=False)


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "project.key"
    path.write_bytes(KEY + b"\n")
    return path


def test_registered_as_plugin() -> None:
    found = {(p.group, p.name): p for p in discover((STAGES, COMMANDS))}
    assert found[(STAGES, "deid")].distribution == "dicomstream-deid"
    assert found[(COMMANDS, "anonymize")].error is None


def test_refuses_to_run_without_a_key(tmp_path: Path) -> None:
    result = run("anonymize", str(CT), str(tmp_path / "out.dcm"))
    assert result.returncode == 2
    assert b"no key" in result.stderr and b"--key-file" in result.stderr
    assert not (tmp_path / "out.dcm").exists()


def test_short_key_and_bad_option_are_usage_errors(tmp_path: Path, key_file: Path) -> None:
    short = tmp_path / "short.key"
    short.write_bytes(b"tiny")
    result = run("anonymize", str(CT), str(tmp_path / "o.dcm"), "--key-file", str(short))
    assert result.returncode == 2 and b"at least 16 bytes" in result.stderr
    result = run("anonymize", str(CT), str(tmp_path / "o.dcm"), "--key-file", str(key_file),
                 "--option", "retain-everything")
    assert result.returncode == 2 and b"unknown option" in result.stderr
    result = run("anonymize", str(CT), str(tmp_path / "o.dcm"), "--key-file", str(key_file),
                 "--option", "retain-long-full-dates", "--option", "retain-long-modified-dates")
    assert result.returncode == 2 and b"exclude each other" in result.stderr


def test_key_file_environment_and_random_key(tmp_path: Path, key_file: Path) -> None:
    a = run("anonymize", str(CT), str(tmp_path / "a.dcm"), "--key-file", str(key_file))
    b = run("anonymize", str(CT), str(tmp_path / "b.dcm"), key=KEY)
    assert a.returncode == b.returncode == 0, a.stderr + b.stderr
    assert (tmp_path / "a.dcm").read_bytes() == (tmp_path / "b.dcm").read_bytes()
    c = run("anonymize", str(CT), str(tmp_path / "c.dcm"), "--random-key")
    assert c.returncode == 0 and b"random key" in c.stderr
    uid_a = pydicom.dcmread(tmp_path / "a.dcm").SOPInstanceUID
    assert uid_a == Keyring(KEY).uid(pydicom.dcmread(CT).SOPInstanceUID)
    assert pydicom.dcmread(tmp_path / "c.dcm").SOPInstanceUID != uid_a


def test_options_report_and_audit(tmp_path: Path, key_file: Path) -> None:
    report, audit = tmp_path / "report.jsonl", tmp_path / "audit.jsonl"
    result = run("anonymize", str(CT), str(tmp_path / "o.dcm"), "--key-file", str(key_file),
                 "--option", "retain-uids", "-O", "retain_long_full_dates",
                 "--report", str(report), "--audit", str(audit))
    assert result.returncode == 0, result.stderr
    out = pydicom.dcmread(tmp_path / "o.dcm")
    source = pydicom.dcmread(CT)
    assert out.SOPInstanceUID == source.SOPInstanceUID
    assert out.StudyDate == source.StudyDate
    assert out.LongitudinalTemporalInformationModified == "UNMODIFIED"
    line = json.loads(report.read_text())
    deid = line["details"]["deid"]
    assert deid["options"] == ["retain-uids", "retain-long-full-dates"]
    assert deid["edition"] == "2026d" and deid["sop_instance_uid"] == out.SOPInstanceUID
    records = [json.loads(x) for x in audit.read_text().splitlines()]
    assert records and all(r["sop_instance_uid"] == out.SOPInstanceUID for r in records)
    assert all("original" not in r and "new" not in r for r in records)
    by_keyword = {r["keyword"]: r for r in records}
    assert by_keyword["PatientBirthDate"]["action"] == "Z"
    assert by_keyword["PatientBirthDate"]["rule"] == "table:Z"
    assert by_keyword["InstitutionName"]["path"] == "(0008,0080)"
    # values only when asked for
    audit2 = tmp_path / "audit2.jsonl"
    run("anonymize", str(CT), str(tmp_path / "o2.dcm"), "--key-file", str(key_file),
        "--audit", str(audit2), "--audit-values")
    keyed = {r["keyword"]: r for r in map(json.loads, audit2.read_text().splitlines())}
    assert keyed["PatientName"]["original"] == str(source.PatientName)


def test_burned_in_policy(tmp_path: Path, key_file: Path) -> None:
    files = write_study(tmp_path / "in", ct_count=3)
    args = ["anonymize", str(tmp_path / "in"), "--key-file", str(key_file)]
    warn = run(*args[:2], str(tmp_path / "warn"), *args[2:])
    assert warn.returncode == 0
    assert warn.stderr.count(b"burned-in annotation present") == 2
    fail = run(*args[:2], str(tmp_path / "fail"), *args[2:], "--burned-in", "fail",
               "--report", str(tmp_path / "fail.jsonl"))
    assert fail.returncode == 1
    assert b"burned-in annotation" in fail.stderr
    assert not (tmp_path / "fail" / "sc" / "sc.dcm").exists()
    assert (tmp_path / "fail" / "ct" / files["ct"][0].name).exists()
    statuses = [json.loads(x)["status"] for x in (tmp_path / "fail.jsonl").read_text()
                .splitlines()]
    assert statuses.count("error") == 2
    quiet = run(*args[:2], str(tmp_path / "pass"), *args[2:], "--burned-in", "pass")
    assert quiet.returncode == 0 and b"burned-in" not in quiet.stderr


def test_stdin_to_stdout(key_file: Path) -> None:
    result = run("anonymize", "-", "-", "--key-file", str(key_file), stdin=CT.read_bytes())
    assert result.returncode == 0, result.stderr
    assert result.stdout[128:132] == b"DICM"
    assert b"CompressedSamples" not in result.stdout


def test_stage_in_rewrite(tmp_path: Path, key_file: Path) -> None:
    out = tmp_path / "o.dcm"
    result = run("rewrite", str(CT), str(out), "--stage",
                 f"deid:option=retain-device-identity,key_file={key_file}")
    assert result.returncode == 0, result.stderr
    ds = pydicom.dcmread(out)
    assert ds.PatientIdentityRemoved == "YES"
    assert ds.StationName == pydicom.dcmread(CT).StationName  # retained device identity
    assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
    missing = run("rewrite", str(CT), str(tmp_path / "x.dcm"), "--stage", "deid")
    assert missing.returncode != 0 and b"key" in missing.stderr
