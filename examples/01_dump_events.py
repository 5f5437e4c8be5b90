"""Print the events of a DICOM file as they stream: ``python 01_dump_events.py FILE``."""

from __future__ import annotations

import sys

import anyio

from dicomstream.events import Element
from dicomstream.io import FileSource
from dicomstream.streams import aiter_events


async def main(path: str) -> int:
    elements = 0
    async for batch in aiter_events(FileSource(path)):
        for event in batch:
            if isinstance(event, Element):
                elements += 1
            print(event.__class__.__name__, getattr(event, "tag", ""), getattr(event, "path", ""))
    print(f"{elements} elements", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(anyio.run(main, sys.argv[1]))
