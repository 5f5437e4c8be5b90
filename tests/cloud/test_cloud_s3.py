"""s3:// against a real moto S3 server: the corpus round trip through the CLI, a 200 MiB
object streamed by a process whose peak RSS stays under 64 MiB, aborted uploads, prefix
listing with a JSON-lines report."""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
import textwrap
import time
from typing import TYPE_CHECKING, Any

import anyio
import pytest
from corpus import NOT_BYTE_EXACT, PARSEABLE_IDS, path_of

from cloud.cloud_servers import raises_through_groups, read_report, run_cli
from dicomstream.errors import SourceError
from dicomstream.io import FileSource
from dicomstream.pipeline import rewrite

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable
    from pathlib import Path

pytest.importorskip("dicomstream_cloud", reason="plugins/cloud is not installed")

from dicomstream_cloud import S3Sink, S3Source  # noqa: E402

MiB = 1024 * 1024
BYTE_EXACT = [name for name in PARSEABLE_IDS if name not in NOT_BYTE_EXACT]


def object_digest(s3: Any, bucket: str, key: str) -> tuple[int, str]:
    """Size and SHA-256 of an object, streamed."""
    body = s3.get_object(Bucket=bucket, Key=key)["Body"]
    digest, size = hashlib.sha256(), 0
    for chunk in body.iter_chunks(4 * MiB):
        digest.update(chunk)
        size += len(chunk)
    return size, digest.hexdigest()


def file_digest(path: Path) -> tuple[int, str]:
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as f:
        while chunk := f.read(4 * MiB):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def keys(s3: Any, bucket: str, prefix: str = "") -> list[str]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return sorted(item["Key"] for page in pages for item in page.get("Contents", ()))


@pytest.fixture
def corpus_tree(tmp_path: Path) -> Path:
    """The byte-exact part of the pydicom corpus, as a tree under ``tmp_path/in``."""
    root = tmp_path / "in"
    for name in BYTE_EXACT:
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(path_of(name).read_bytes())
    return root


def test_corpus_round_trip_through_the_cli(corpus_tree: Path, tmp_path: Path, bucket: str,
                                           moto_endpoint: str, s3: Any) -> None:
    ep = ["--endpoint-url", moto_endpoint]
    up = run_cli("rewrite", str(corpus_tree), f"s3://{bucket}/in", *ep)
    assert up.returncode == 0, up.stderr
    assert len(keys(s3, bucket, "in/")) == len(BYTE_EXACT)

    report = tmp_path / "report.jsonl"
    across = run_cli("rewrite", f"s3://{bucket}/in/", f"s3://{bucket}/out/", *ep,
                     "--jobs", "8", "--report", str(report))
    assert across.returncode == 0, across.stderr
    lines = read_report(report)
    assert sorted(str(r["source"]) for r in lines) == sorted(
        f"s3://{bucket}/in/{name}" for name in BYTE_EXACT)
    for line in lines:
        assert line["status"] == "ok"
        assert str(line["destination"]) == str(line["source"]).replace("/in/", "/out/", 1)
        assert line["bytes_in"] == line["bytes_out"]

    down = run_cli("rewrite", f"s3://{bucket}/out/", str(tmp_path / "back"), *ep)
    assert down.returncode == 0, down.stderr
    for name in BYTE_EXACT:
        assert (tmp_path / "back" / name).read_bytes() == path_of(name).read_bytes(), name


def test_listing_run_reports_bad_objects_and_goes_on(tmp_path: Path, bucket: str,
                                                      moto_endpoint: str, s3: Any) -> None:
    good = path_of("test_files/CT_small.dcm").read_bytes()
    for i in range(3):
        s3.put_object(Bucket=bucket, Key=f"in/ok{i}.dcm", Body=good)
    s3.put_object(Bucket=bucket, Key="in/bad.dcm", Body=b"not dicom at all" * 20)
    s3.put_object(Bucket=bucket, Key="in/folder/", Body=b"")  # a folder marker
    report = tmp_path / "report.jsonl"
    result = run_cli("rewrite", f"s3://{bucket}/in/", f"s3://{bucket}/out/",
                     "--endpoint-url", moto_endpoint, "--report", str(report))
    assert result.returncode == 1
    assert "bad.dcm: NotDicomError" in result.stderr
    status = {str(r["source"]).rsplit("/", 1)[1]: r["status"] for r in read_report(report)}
    assert status == {"ok0.dcm": "ok", "ok1.dcm": "ok", "ok2.dcm": "ok", "bad.dcm": "error"}
    assert keys(s3, bucket, "out/") == ["out/ok0.dcm", "out/ok1.dcm", "out/ok2.dcm"]


def test_single_file_to_a_prefix_keeps_its_name(bucket: str, moto_endpoint: str,
                                                s3: Any) -> None:
    src = path_of("test_files/MR_small.dcm")
    result = run_cli("rewrite", str(src), f"s3://{bucket}/dir/", "--endpoint-url",
                     moto_endpoint)
    assert result.returncode == 0, result.stderr
    assert s3.get_object(Bucket=bucket, Key="dir/MR_small.dcm")["Body"].read() == \
        src.read_bytes()


def test_missing_object_is_one_clear_line(bucket: str, moto_endpoint: str,
                                          tmp_path: Path) -> None:
    result = run_cli("rewrite", f"s3://{bucket}/nope.dcm", str(tmp_path / "x.dcm"),
                     "--endpoint-url", moto_endpoint)
    assert result.returncode == 1
    assert f"SourceError: s3://{bucket}/nope.dcm: no such object" in result.stderr
    assert "Traceback" not in result.stderr


async def upload_file(path: Path, url: str, endpoint: str) -> S3Sink:
    """Stream a local file up with a multipart upload, as it is read."""
    sink = S3Sink(url, endpoint_url=endpoint)
    async for chunk in FileSource(path):
        await sink.write(chunk)
    await sink.commit()
    return sink


RSS_LIMIT = 64 * MiB
"""Issue 6: a 200 MiB object streamed S3 -> S3 with peak RSS under 64 MiB."""


_MEASURED_CLI = textwrap.dedent("""
    import atexit, sys

    def report_peak():
        with open("/proc/self/status") as status:
            sys.stderr.write("\\n" + next(l for l in status if l.startswith("VmHWM:")))
        heavy = {m.partition(".")[0] for m in sys.modules} & {"aiobotocore", "botocore",
                                                              "boto3", "fsspec"}
        sys.stderr.write("Imported: " + ",".join(sorted(heavy)) + "\\n")

    atexit.register(report_peak)
    from dicomstream.cli import main
    sys.exit(main())
""")
"""The ``dicomstream`` console script, reporting on exit its peak RSS (``VmHWM``) and
which heavy libraries it imported (none should be: S3 goes through aiohttp alone).

Measured inside the process: the ``ru_maxrss`` that ``wait4`` returns for a child also
counts the parent's memory at fork (Linux records the forked copy's high-water mark at
``exec``), so it would report pytest's size, not the command's."""

_HWM = re.compile(r"^VmHWM:\s+(\d+) kB$", re.MULTILINE)


def run_measured(*args: str, timeout: float = 240.0) -> tuple[int, str, int]:
    """``dicomstream ARGS`` in a child process: its exit status, stderr and peak
    resident set size in bytes — the kernel's high-water mark for the whole process,
    interpreter start to exit, imports included, nothing subtracted."""
    child = subprocess.run([sys.executable, "-c", _MEASURED_CLI, *args],
                           capture_output=True, text=True, timeout=timeout, check=False)
    found = _HWM.findall(child.stderr)
    assert found, child.stderr
    assert "Imported: \n" in child.stderr, child.stderr
    return child.returncode, child.stderr, int(found[-1]) * 1024


def test_200_mib_object_streams_under_64_mib_peak_rss(
        tmp_path: Path, bucket: str, moto_endpoint: str, s3: Any,
        record_property: Callable[[str, object], None]) -> None:
    from benchmarks._generate import write_multiframe

    big = write_multiframe(tmp_path / "big.dcm", 200 * MiB)
    expected = file_digest(big)
    assert expected[0] >= 200 * MiB
    sink = anyio.run(upload_file, big, f"s3://{bucket}/in/big.dcm", moto_endpoint)
    assert sink.parts_uploaded >= 40  # a streamed multipart upload, 5 MiB parts
    big.unlink()
    s3.put_object(Bucket=bucket, Key="warm.dcm",
                  Body=path_of("test_files/CT_small.dcm").read_bytes())

    cli = ["rewrite", "--endpoint-url", moto_endpoint]
    # The same command on a 39 KB object: the process's baseline (interpreter, package,
    # plugins, aiohttp, one S3 client), to report what streaming 200 MiB adds to it.
    status, errors, base = run_measured(*cli, f"s3://{bucket}/warm.dcm",
                                        f"s3://{bucket}/warm.copy.dcm")
    assert status == 0, errors
    started = time.perf_counter()
    status, errors, peak = run_measured(*cli, f"s3://{bucket}/in/big.dcm",
                                        f"s3://{bucket}/out/big.dcm")
    seconds = time.perf_counter() - started
    assert status == 0, errors
    figures = (f"{expected[0] / MiB:.0f} MiB object in {seconds:.1f} s: peak RSS "
               f"{peak / MiB:.1f} MiB (baseline {base / MiB:.1f} MiB, growth "
               f"{(peak - base) / MiB:.1f} MiB)")
    record_property("rss", figures)
    print(figures)
    assert peak < RSS_LIMIT, figures
    assert object_digest(s3, bucket, "out/big.dcm") == expected


class FailingSource:
    """Chunks of ``path``, then an error once ``fail_after`` bytes have gone by."""

    def __init__(self, path: Path, fail_after: int) -> None:
        self.inner = FileSource(path)
        self.name = str(path)
        self.size: int | None = None
        self.fail_after = fail_after

    async def __aiter__(self) -> AsyncIterator[bytes]:
        sent = 0
        async for chunk in self.inner:
            yield chunk
            sent += len(chunk)
            if sent >= self.fail_after:
                raise SourceError("the source broke off (test)")


@pytest.mark.asyncio
async def test_failure_mid_upload_aborts_it_and_leaves_no_object(
        tmp_path: Path, bucket: str, moto_endpoint: str, s3: Any) -> None:
    from benchmarks._generate import write_multiframe

    big = write_multiframe(tmp_path / "mid.dcm", 40 * MiB)
    sink = S3Sink(f"s3://{bucket}/out/mid.dcm", endpoint_url=moto_endpoint)
    with raises_through_groups(SourceError, "broke off"):
        await rewrite(FailingSource(big, 30 * MiB), sink)
    assert sink.multipart and sink.bytes_written > 16 * MiB  # under way when it failed
    assert keys(s3, bucket) == []
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


@pytest.mark.asyncio
async def test_source_reads_in_chunks_and_knows_its_size(bucket: str, moto_endpoint: str,
                                                         s3: Any) -> None:
    data = path_of("test_files/rtplan.dcm").read_bytes()
    s3.put_object(Bucket=bucket, Key="rt.dcm", Body=data)
    source = S3Source(f"s3://{bucket}/rt.dcm", endpoint_url=moto_endpoint, chunk_size=1000)
    chunks = [chunk async for chunk in source]
    assert b"".join(chunks) == data
    assert source.size == len(data)
    assert max(len(c) for c in chunks) <= 1000
