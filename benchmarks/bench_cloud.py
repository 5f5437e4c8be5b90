"""S3 → S3 streaming rewrites vs. download + pydicom + upload; Dask (2 workers) vs. one
process — against a local moto S3 server started (and stopped) by this script.

Run: ``python benchmarks/bench_cloud.py [--runs 3] [--big-files 6] [--big-mib 32]
[--small-files 500]`` (needs ``moto[s3]``, flask, boto3, ``dask[distributed]`` and the
dicomstream-cloud plugin; see ``scripts/test.sh``).

In one run, on the same objects, it times (median of ``--runs``):

* **throughput**, ``--big-files`` multi-frame objects of ``--big-mib`` MiB, the edit job
  (PatientName=ANON, private tags removed), 4 inputs at a time both ways:
  - dicomstream: ``rewrite_many(s3://…/big/, s3://…/out/)`` — GET streamed into the
    parser, events through the stages, encoder output fed to a multipart upload;
  - baseline: per object ``download_file`` to disk, ``pydicom.dcmread``, edit,
    ``save_as`` to disk, ``upload_file`` (boto3's managed transfers, 4 threads);
* **files/s**, ``--small-files`` CT slices (~14 KiB), identity rewrite S3 → S3:
  one process (``jobs=8``) vs. a Dask LocalCluster of 2 worker processes (``jobs=8``
  each; the cluster is started before the clock starts).

The S3 server is moto (Python, single process), on the same 2 cores as the clients, so
absolute figures are moto's more than S3's; the comparisons are what matters.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import anyio  # noqa: E402

from benchmarks._generate import write_ct_series, write_multiframe  # noqa: E402
from dicomstream.bulk import rewrite_many  # noqa: E402
from dicomstream.stages import EditStage, FilterStage  # noqa: E402

MiB = 1024 * 1024
JOBS = 4


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_moto(log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1",
                                 "-p", str(port)], stdout=out, stderr=subprocess.STDOUT)
    for _ in range(200):
        try:
            urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1)  # noqa: S310
            return proc, endpoint
        except OSError:
            if proc.poll() is not None:
                raise SystemExit(f"moto_server exited:\n{log.read_text()}") from None
            time.sleep(0.1)
    proc.terminate()
    raise SystemExit("moto_server did not start")


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def edit_stages() -> list[Any]:
    return [EditStage(set={"PatientName": "ANON"}), FilterStage(remove_private=True)]


def pydicom_baseline(s3: Any, bucket: str, keys: list[str], prefix: str,
                     work: Path) -> None:
    """Download to disk, pydicom read + edit + save, upload; ``JOBS`` at a time."""
    import pydicom

    def one(key: str) -> None:
        local = work / (key.replace("/", "_") + ".in")
        edited = work / (key.replace("/", "_") + ".out")
        s3.download_file(bucket, key, str(local))
        ds = pydicom.dcmread(local)
        ds.PatientName = "ANON"
        ds.remove_private_tags()
        ds.save_as(edited)
        s3.upload_file(str(edited), bucket, prefix + key.rsplit("/", 1)[1])
        local.unlink()
        edited.unlink()

    with ThreadPoolExecutor(JOBS) as pool:
        list(pool.map(one, keys))


def median_time(runs: int, job: Any) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        job()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--big-files", type=int, default=6)
    parser.add_argument("--big-mib", type=int, default=32)
    parser.add_argument("--small-files", type=int, default=500)
    args = parser.parse_args()

    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    import boto3
    from boto3.s3.transfer import TransferConfig

    with tempfile.TemporaryDirectory(prefix="bench-cloud-") as tmp:
        work = Path(tmp)
        proc, endpoint = start_moto(work / "moto.log")
        try:
            options = {"endpoint_url": endpoint}
            s3 = boto3.client("s3", endpoint_url=endpoint)
            s3.create_bucket(Bucket="bench")
            config = TransferConfig(multipart_chunksize=8 * MiB)
            s3.upload_file = _with_config(s3.upload_file, config)  # type: ignore[method-assign]

            # Inputs.
            (work / "big").mkdir()
            for i in range(args.big_files):
                write_multiframe(work / "big" / f"mf{i:02d}.dcm", args.big_mib * MiB, seed=i)
            small = work / "small"
            write_ct_series(small, args.small_files, target_size=2048)
            anyio.run(lambda: rewrite_many(str(work / "big"), "s3://bench/big",
                                           sink_options=options, jobs=JOBS))
            anyio.run(lambda: rewrite_many(str(small), "s3://bench/small",
                                           sink_options=options, jobs=16))
            for path in (work / "big").iterdir():
                path.unlink()
            big_keys = [f"big/mf{i:02d}.dcm" for i in range(args.big_files)]
            total = sum(s3.head_object(Bucket="bench", Key=k)["ContentLength"]
                        for k in big_keys)

            streaming = median_time(args.runs, lambda: anyio.run(lambda: rewrite_many(
                "s3://bench/big/", "s3://bench/out-stream/", stages=edit_stages, jobs=JOBS,
                source_options=options, sink_options=options)))
            baseline = median_time(args.runs, lambda: pydicom_baseline(
                s3, "bench", big_keys, "out-pydicom/", work))

            single = median_time(args.runs, lambda: anyio.run(lambda: rewrite_many(
                "s3://bench/small/", "s3://bench/out-single/", jobs=8,
                source_options=options, sink_options=options)))
            clustered = anyio.run(_cluster_median, args.runs, options)
        finally:
            stop(proc)

    mb = total / 1e6
    n = args.small_files
    print(f"S3 (moto) -> S3, {args.big_files} x {args.big_mib} MiB multi-frame, "
          f"edit + remove private, {JOBS} at a time, median of {args.runs}:")
    print(f"  dicomstream streaming           {streaming:7.2f} s  {mb / streaming:7.1f} MB/s")
    print(f"  download + pydicom + upload     {baseline:7.2f} s  {mb / baseline:7.1f} MB/s")
    print(f"S3 -> S3 identity, {n} CT files (~14 KiB), median of {args.runs}:")
    print(f"  one process (jobs=8)            {single:7.2f} s  {n / single:7.1f} files/s")
    print(f"  Dask LocalCluster, 2 workers    {clustered:7.2f} s  {n / clustered:7.1f} files/s")


def _with_config(upload: Any, config: Any) -> Any:
    def wrapped(*a: Any, **k: Any) -> Any:
        return upload(*a, Config=config, **k)

    return wrapped


async def _cluster_median(runs: int, options: dict[str, str]) -> float:
    from distributed import Client, LocalCluster

    async with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                            host="127.0.0.1", dashboard_address="127.0.0.1:0",
                            asynchronous=True) as cluster, \
            Client(cluster, asynchronous=True) as client:
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            await rewrite_many("s3://bench/small/", "s3://bench/out-cluster/", jobs=8,
                               source_options=options, sink_options=options,
                               cluster=client)
            times.append(time.perf_counter() - started)
    return statistics.median(times)


if __name__ == "__main__":
    main()
