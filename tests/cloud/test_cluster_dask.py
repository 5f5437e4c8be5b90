"""Bulk runs on a Dask LocalCluster of 2 workers on loopback, S3 (moto) to S3: the same
outputs and report as one process, and every input done exactly once when a worker is
killed mid-job."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
from typing import TYPE_CHECKING, Any

import anyio
import pytest

from cloud.cloud_servers import missing, read_report
from dicomstream.bulk import rewrite_many

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

pytest.importorskip("dicomstream_cloud", reason="plugins/cloud is not installed")

COUNT = 500


@pytest.fixture(scope="module")
def dask_installed() -> None:
    if importlib.util.find_spec("distributed") is None:
        missing("Dask distributed", "pip install 'dicomstream[dask]'")


@pytest.fixture(scope="module")
def series(s3: Any, moto_endpoint: str, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[tuple[str, dict[str, Any]]]:
    """500 generated CT files uploaded under ``s3://<bucket>/in/``; the bucket and the
    endpoint options."""
    from benchmarks._generate import write_ct_series

    bucket = "cluster-" + os.urandom(6).hex()
    s3.create_bucket(Bucket=bucket)
    folder = tmp_path_factory.mktemp("series")
    write_ct_series(folder, COUNT, target_size=2048, seed=7)
    options = {"endpoint_url": moto_endpoint}
    summary = anyio.run(lambda: rewrite_many(str(folder), f"s3://{bucket}/in",
                                             sink_options=options, jobs=16))
    assert summary.ok == COUNT
    yield bucket, options


def etags(s3: Any, bucket: str, prefix: str) -> dict[str, str]:
    """Relative key → ETag (the MD5 of a single-PUT object) of everything under prefix."""
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return {item["Key"][len(prefix):]: item["ETag"]
            for page in pages for item in page.get("Contents", ())}


def normalised(records: list[dict[str, Any]], out: str) -> list[str]:
    """Report lines without timings, with the output prefix made neutral; sorted."""
    lines = []
    for record in records:
        record = {k: v for k, v in record.items() if k != "seconds"}
        record["destination"] = str(record["destination"]).replace(out, "OUT/", 1)
        lines.append(json.dumps(record, sort_keys=True))
    return sorted(lines)


@pytest.fixture(scope="module")
def single_process(series: tuple[str, dict[str, Any]], s3: Any,
                   tmp_path_factory: pytest.TempPathFactory
                   ) -> tuple[list[str], dict[str, str]]:
    """The reference: the same job in this one process."""
    bucket, options = series
    report = tmp_path_factory.mktemp("single") / "report.jsonl"
    out = f"s3://{bucket}/single/"
    summary = anyio.run(lambda: rewrite_many(f"s3://{bucket}/in/", out, jobs=8,
                                             report=report, source_options=options,
                                             sink_options=options))
    assert (summary.ok, summary.failed) == (COUNT, 0)
    return normalised(read_report(report), out), etags(s3, bucket, "single/")


@pytest.mark.asyncio
async def test_cluster_run_matches_the_single_process_run(
        dask_installed: None, series: tuple[str, dict[str, Any]], s3: Any,
        single_process: tuple[list[str], dict[str, str]], tmp_path: Path) -> None:
    bucket, options = series
    report = tmp_path / "report.jsonl"
    out = f"s3://{bucket}/cluster/"
    summary = await rewrite_many(f"s3://{bucket}/in/", out, jobs=8, report=report,
                                 source_options=options, sink_options=options,
                                 cluster="local:2")
    assert (summary.ok, summary.failed) == (COUNT, 0)
    expected_report, expected_objects = single_process
    assert normalised(read_report(report), out) == expected_report
    assert etags(s3, bucket, "cluster/") == expected_objects
    assert len(expected_objects) == COUNT


@pytest.mark.asyncio
async def test_killed_worker_still_completes_every_input_exactly_once(
        dask_installed: None, series: tuple[str, dict[str, Any]], s3: Any,
        single_process: tuple[list[str], dict[str, str]], tmp_path: Path) -> None:
    from distributed import Client, LocalCluster

    bucket, options = series
    report = tmp_path / "report.jsonl"
    out = f"s3://{bucket}/killed/"
    done: list[dict[str, Any]] = []
    killed_at: list[int] = []
    async with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                            host="127.0.0.1", dashboard_address="127.0.0.1:0",
                            asynchronous=True) as cluster, \
            Client(cluster, asynchronous=True) as client:
        pids = await client.run(os.getpid)
        victim = sorted(pids.values())[0]

        def on_done(record: dict[str, Any]) -> None:
            done.append(record)
            if len(done) >= 16 and not killed_at:  # the first batch is back: kill one
                killed_at.append(len(done))
                os.kill(victim, signal.SIGKILL)

        summary = await rewrite_many(f"s3://{bucket}/in/", out, jobs=4, report=report,
                                     source_options=options, sink_options=options,
                                     cluster=client, on_done=on_done)
    assert killed_at and killed_at[0] < COUNT // 2, "the worker was not killed mid-job"
    assert (summary.ok, summary.failed) == (COUNT, 0)
    records = read_report(report)
    assert len(records) == COUNT  # one line per input …
    assert len({r["source"] for r in records}) == COUNT  # … each input once
    expected_report, expected_objects = single_process
    assert normalised(records, out) == expected_report
    assert etags(s3, bucket, "killed/") == expected_objects  # one complete object each
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_cli_cluster_option_on_a_local_tree(dask_installed: None, tmp_path: Path) -> None:
    from benchmarks._generate import write_ct_series
    from cloud.cloud_servers import run_cli

    src = tmp_path / "in"
    files = write_ct_series(src, 20, target_size=1024, seed=3)
    report = tmp_path / "report.jsonl"
    result = run_cli("rewrite", str(src), str(tmp_path / "out"), "--cluster", "local:2",
                     "--jobs", "2", "--report", str(report), timeout=120)
    assert result.returncode == 0, result.stderr
    for path in files:
        assert (tmp_path / "out" / path.name).read_bytes() == path.read_bytes()
    assert sorted(r["status"] for r in read_report(report)) == ["ok"] * len(files)
    # A re-run skips what is done, deciding here: nothing goes to the cluster.
    again = run_cli("rewrite", str(src), str(tmp_path / "out"), "--cluster", "local:2",
                    "--report", str(report), timeout=120)
    assert again.returncode == 0, again.stderr
    assert "0 written, 20 skipped" in again.stderr
