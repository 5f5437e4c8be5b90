"""De-identify every DICOM object under one S3 prefix into another, streaming.

Run::

    export DICOMSTREAM_DEID_KEY=…        # the deid plugin's key (plugins/deid)
    python examples/10_s3_to_s3_deid.py s3://in-bucket/study/ s3://out-bucket/study/ \\
        [--endpoint-url http://127.0.0.1:9000] [--cluster local:2] [--report deid.jsonl]

Each object is read with a streamed GET, parsed, de-identified and encoded on the fly,
and written with a multipart upload that appears only when complete — nothing is held
whole in memory and nothing touches the local disk. Credentials come from the usual AWS
environment. With ``--cluster`` the objects are spread over Dask workers. The same job
from the command line::

    dicomstream rewrite s3://in-bucket/study/ s3://out-bucket/study/ --stage deid \\
        --endpoint-url http://127.0.0.1:9000 --report deid.jsonl

Uses the ``deid`` stage when the dicomstream-deid plugin is installed; otherwise a plain
edit (names blanked, birth date removed) and private tags removed.
"""

from __future__ import annotations

import argparse
from typing import Any

import anyio

from dicomstream.bulk import rewrite_many
from dicomstream.errors import DicomStreamError, PluginError
from dicomstream.plugin import STAGES, load
from dicomstream.stages import EditStage, FilterStage, MetaStage


def deid_stages() -> list[Any]:
    """Fresh stages for one object (a module-level function: it pickles to workers)."""
    try:
        deid = load(STAGES, "deid")
    except PluginError:
        return [EditStage(set={"PatientName": "", "ReferringPhysicianName": ""},
                          delete=["PatientBirthDate"]),
                FilterStage(remove_private=True), MetaStage()]
    return [deid(), MetaStage()]


async def main(args: argparse.Namespace) -> int:
    options = {"endpoint_url": args.endpoint_url} if args.endpoint_url else {}
    try:
        stages = deid_stages()  # fail now (e.g. no deid key) rather than once per object
    except DicomStreamError as exc:
        print(f"error: {exc}")
        return 2
    print("stages:", ", ".join(type(s).__name__ for s in stages))
    summary = await rewrite_many(
        args.source, args.destination, stages=deid_stages, jobs=args.jobs,
        report=args.report, source_options=options, sink_options=options,
        cluster=args.cluster,
        on_done=lambda r: print(f"{r['status']:7} {r['source']} -> {r['destination']}"))
    print(f"{summary.ok} written, {summary.failed} failed, {summary.bytes_read} bytes in, "
          f"{summary.seconds:.2f} s")
    return 1 if summary.failed else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", help="s3://bucket/prefix/")
    parser.add_argument("destination", help="s3://bucket/prefix/")
    parser.add_argument("--endpoint-url", help="an S3-compatible server")
    parser.add_argument("--cluster", help="tcp://scheduler:8786 or local[:N]")
    parser.add_argument("--jobs", type=int, default=8)
    parser.add_argument("--report", help="JSON-lines report")
    raise SystemExit(anyio.run(main, parser.parse_args()))
