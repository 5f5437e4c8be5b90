"""Rewrite one file through stages: ``python 02_rewrite_file.py IN OUT``."""

from __future__ import annotations

import sys

import anyio

from dicomstream.pipeline import rewrite_file
from dicomstream.stages import EditStage, FilterStage, MetaStage


async def main(src: str, dst: str) -> None:
    result = await rewrite_file(src, dst, stages=[
        EditStage(set={"PatientName": "ANON", "PatientID": "ANON"},
                  delete=["PatientBirthDate"]),
        FilterStage(remove_private=True),
        MetaStage(),
    ])
    print(f"{result.bytes_read} bytes in, {result.bytes_written} bytes out")


if __name__ == "__main__":
    anyio.run(main, sys.argv[1], sys.argv[2])
