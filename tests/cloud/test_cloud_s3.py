"""s3:// against a real moto S3 server: the corpus round trip through the CLI, a 200 MiB
object in flat memory, aborted uploads, prefix listing with a JSON-lines report."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import textwrap
from typing import TYPE_CHECKING, Any

import pytest
from corpus import NOT_BYTE_EXACT, PARSEABLE_IDS, path_of

from cloud.cloud_servers import raises_through_groups, read_report, run_cli
from dicomstream.errors import SourceError
from dicomstream.io import FileSource
from dicomstream.pipeline import rewrite

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
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


_RSS_SCRIPT = textwrap.dedent("""
    import json, resource, sys, time
    import anyio
    from dicomstream.bulk import rewrite_many

    endpoint, warm_src, big_src, big_dst = sys.argv[1:5]
    options = {"endpoint_url": endpoint}

    def peak():
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

    async def main():
        # Warm up on a small object: imports, the S3 client and its service model.
        await rewrite_many(warm_src, warm_src + ".copy", source_options=options,
                           sink_options=options)
        base = peak()
        started = time.perf_counter()
        summary = await rewrite_many(big_src, big_dst, source_options=options,
                                     sink_options=options)
        print(json.dumps({"base": base, "peak": peak(), "ok": summary.ok,
                          "failed": summary.failures,
                          "seconds": time.perf_counter() - started}))

    anyio.run(main)
""")


@pytest.mark.asyncio
async def test_200_mib_object_streams_in_flat_memory(tmp_path: Path, bucket: str,
                                                     moto_endpoint: str, s3: Any) -> None:
    from benchmarks._generate import write_multiframe

    big = write_multiframe(tmp_path / "big.dcm", 200 * MiB)
    expected = file_digest(big)
    assert expected[0] >= 200 * MiB
    sink = await upload_file(big, f"s3://{bucket}/in/big.dcm", moto_endpoint)
    assert sink.parts_uploaded >= 25  # a streamed multipart upload, 8 MiB parts
    big.unlink()
    s3.put_object(Bucket=bucket, Key="warm.dcm",
                  Body=path_of("test_files/CT_small.dcm").read_bytes())

    child = subprocess.run(
        [sys.executable, "-c", _RSS_SCRIPT, moto_endpoint, f"s3://{bucket}/warm.dcm",
         f"s3://{bucket}/in/big.dcm", f"s3://{bucket}/out/big.dcm"],
        capture_output=True, text=True, timeout=240, check=False)
    assert child.returncode == 0, child.stderr
    figures = json.loads(child.stdout.strip().splitlines()[-1])
    assert figures["ok"] == 1, figures
    growth = figures["peak"] - figures["base"]
    # The process's own baseline (interpreter, botocore's S3 model: ~60 MiB) is measured
    # first; streaming the 200 MiB object may add at most 64 MiB on top of it.
    assert growth < 64 * MiB, f"peak RSS grew by {growth / MiB:.1f} MiB ({figures})"
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
