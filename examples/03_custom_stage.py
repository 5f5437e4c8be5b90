"""A custom stage composed by hand into a pipeline: counts elements per sequence depth and
upper-cases the Study Description. ``python 03_custom_stage.py IN OUT``."""

from __future__ import annotations

import sys
from collections import Counter
from typing import ClassVar

import anyio

from dicomstream.encoder import Encoder
from dicomstream.events import Element, Event
from dicomstream.io import FileSink, FileSource
from dicomstream.pipeline import apply_stages
from dicomstream.stages import Stage
from dicomstream.streams import aiter_events, write_events

STUDY_DESCRIPTION = 0x00081030


class ShoutStage(Stage):
    """Upper-case (0008,1030) and count elements by depth, one batch at a time."""

    name: ClassVar[str] = "shout"

    def __init__(self) -> None:
        self.depths: Counter[int] = Counter()

    async def process(self, batch: list[Event]) -> list[Event]:
        out: list[Event] = []
        for event in batch:
            if isinstance(event, Element):
                self.depths[len(event.path)] += 1
                if event.tag == STUDY_DESCRIPTION:
                    # Latin letters only: upper-casing keeps the length, padding included.
                    event = event._replace(value=bytes(event.value).upper())
            out.append(event)
        return out


async def main(src: str, dst: str) -> None:
    shout = ShoutStage()
    events = apply_stages(aiter_events(FileSource(src)), [shout])
    written = await write_events(events, FileSink(dst), encoder=Encoder())
    print(f"{written} bytes written; elements by depth: {dict(sorted(shout.depths.items()))}")


if __name__ == "__main__":
    anyio.run(main, sys.argv[1], sys.argv[2])
