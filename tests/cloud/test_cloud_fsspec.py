"""Object stores through fsspec, with its in-memory filesystem (``memory://``): the
same listing, bulk runs and commit-or-nothing writes as S3."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

import pytest
from corpus import path_of

from cloud.cloud_servers import raises_through_groups
from dicomstream.bulk import rewrite_many
from dicomstream.errors import StageError
from dicomstream.stages import Stage

if TYPE_CHECKING:
    from dicomstream.events import Event

pytest.importorskip("dicomstream_cloud", reason="plugins/cloud is not installed")
fsspec = pytest.importorskip("fsspec")

NAMES = ("CT_small.dcm", "MR_small.dcm", "rtplan.dcm")


@pytest.fixture
def memory_root() -> str:
    root = f"memory://t{uuid.uuid4().hex[:12]}"
    fs = fsspec.filesystem("memory")
    for i, name in enumerate(NAMES):
        fs.pipe(f"{root}/in/sub{i % 2}/{name}",
                path_of(f"test_files/{name}").read_bytes())
    return root


@pytest.mark.asyncio
async def test_prefix_listing_and_byte_exact_bulk_run(memory_root: str) -> None:
    done: list[dict[str, object]] = []
    summary = await rewrite_many(f"{memory_root}/in/", f"{memory_root}/out/",
                                 on_done=done.append)
    assert summary.ok == 3 and summary.failed == 0
    fs = fsspec.filesystem("memory")
    for i, name in enumerate(NAMES):
        out = fs.cat(f"{memory_root}/out/sub{i % 2}/{name}")
        assert out == path_of(f"test_files/{name}").read_bytes()
    assert sorted(str(r["source"]) for r in done) == sorted(
        f"{memory_root}/in/sub{i % 2}/{name}" for i, name in enumerate(NAMES))


class Explode(Stage):
    """Fails after the first batch has gone through."""

    name = "explode"

    def __init__(self) -> None:
        self.batches = 0

    async def process(self, batch: list[Event]) -> list[Event]:
        self.batches += 1
        if self.batches > 1:
            raise StageError("boom (test)")
        return batch


@pytest.mark.asyncio
async def test_failed_write_leaves_nothing(memory_root: str) -> None:
    from dicomstream.io import BytesSource
    from dicomstream.pipeline import rewrite
    from dicomstream_cloud import FsspecSink

    data = path_of("test_files/rtplan.dcm").read_bytes()
    sink = FsspecSink(f"{memory_root}/fail/rtplan.dcm")
    with raises_through_groups(StageError, "boom"):
        await rewrite(BytesSource(data, chunk_size=512), sink, stages=[Explode()])
    assert sink.bytes_written > 0
    assert not fsspec.filesystem("memory").exists(f"{memory_root}/fail/rtplan.dcm")
