"""The async pipeline: cancellation leaves nothing behind, sockets work, memory stays flat."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

import anyio
import anyio.lowlevel
import pytest
from conftest import PEAK_RSS_END, PEAK_RSS_START
from corpus import read_bytes

from dicomstream.errors import SinkError, SourceError, StageError
from dicomstream.io import BytesSource, FileSink, FileSource, IterableSource, MemorySink
from dicomstream.parser import parse_bytes
from dicomstream.pipeline import rewrite, rewrite_file
from dicomstream.stages import Stage
from dicomstream.streams import aiter_events

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from dicomstream.events import Event

REPO = Path(__file__).resolve().parents[2]


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


@pytest.fixture
def big_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 24 MiB multi-frame file: large enough for many chunks and several sink flushes."""
    from benchmarks._generate import write_multiframe

    path = tmp_path_factory.mktemp("big") / "mf.dcm"
    return write_multiframe(path, 24 * 1024 * 1024, per_frame_groups=False)


@pytest.mark.asyncio
async def test_rewrite_file_identity(big_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "sub" / "out.dcm"
    result = await rewrite_file(big_file, out)
    assert out.read_bytes() == big_file.read_bytes()
    assert result.bytes_read == result.bytes_written == big_file.stat().st_size
    assert leftovers(tmp_path / "sub") == ["out.dcm"]


@pytest.mark.asyncio
async def test_cancelled_task_group_leaves_no_file(big_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.dcm"
    started = anyio.Event()

    class Slow(Stage):
        async def process(self, batch: list[Event]) -> list[Event]:
            started.set()
            await anyio.sleep(0.01)
            return batch

    async with anyio.create_task_group() as tg:
        tg.start_soon(lambda: rewrite_file(big_file, out, stages=[Slow()]))
        await started.wait()
        await anyio.sleep(0.05)  # some chunks are written to the temporary file by now
        tg.cancel_scope.cancel()
    assert leftovers(tmp_path) == []


@pytest.mark.asyncio
async def test_inline_file_io_streams_identically(big_file: Path, tmp_path: Path) -> None:
    """Reads and writes in the loop's thread (the CLI's ``--io inline``), many of each."""
    out = tmp_path / "out.dcm"
    sink = FileSink(out, inline=True, buffer_size=256 * 1024)
    result = await rewrite(FileSource(big_file, inline=True, chunk_size=64 * 1024), sink)
    assert out.read_bytes() == big_file.read_bytes()
    assert result.bytes_written == big_file.stat().st_size
    assert leftovers(tmp_path) == ["out.dcm"]


@pytest.mark.asyncio
async def test_inline_file_io_stays_cancellable(big_file: Path, tmp_path: Path) -> None:
    """Inline reads never await a thread, yet a cancel lands between two chunks and the
    temporary file goes."""
    out = tmp_path / "out.dcm"
    chunks = 0

    class Counting(Stage):
        async def process(self, batch: list[Event]) -> list[Event]:
            nonlocal chunks
            chunks += 1
            return batch

    with anyio.move_on_after(0.02) as scope:
        for _ in range(50):  # rewrite again and again until the deadline cuts one
            await rewrite(FileSource(big_file, inline=True, chunk_size=64 * 1024),
                          FileSink(out, inline=True, buffer_size=128 * 1024),
                          stages=[Counting()])
            out.unlink()
    assert scope.cancelled_caught and chunks > 0
    assert leftovers(tmp_path) == []


def _open_descriptors_of(path: Path) -> int:
    fds = Path("/proc/self/fd")
    return sum(1 for fd in fds.iterdir() if os.path.realpath(fd) == str(path.resolve()))


@pytest.mark.asyncio
@pytest.mark.parametrize("inline", [True, False])
async def test_source_abandoned_after_its_first_chunk_closes_its_file(
        big_file: Path, inline: bool) -> None:
    """A consumer cancelled right after the first chunk (the file is open, no later read
    has started): closing the iterator closes the file, not the garbage collector."""
    chunks = aiter(FileSource(big_file, inline=inline, chunk_size=64 * 1024))
    await anext(chunks)
    assert _open_descriptors_of(big_file) == 1
    await chunks.aclose()  # type: ignore[attr-defined]
    assert _open_descriptors_of(big_file) == 0


@pytest.mark.asyncio
async def test_failing_inline_sink_leaves_no_file(big_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.dcm"

    class Failing(FileSink):
        async def write(self, data: bytes | memoryview) -> None:
            await super().write(data)
            if self.bytes_written > 3 * 1024 * 1024:  # after flushes to disk
                raise SinkError("disk full")

    with pytest.raises(SinkError, match="disk full"):
        await rewrite(FileSource(big_file, inline=True),
                      Failing(out, inline=True, buffer_size=1024 * 1024))
    assert leftovers(tmp_path) == []


@pytest.mark.asyncio
async def test_failing_source_leaves_no_file(tmp_path: Path) -> None:
    data = read_bytes("test_files/CT_small.dcm")

    async def chunks() -> AsyncIterator[bytes]:
        yield data[:10_000]
        raise SourceError("connection reset by peer")

    out = tmp_path / "out.dcm"
    with pytest.raises(SourceError, match="connection reset"):
        await rewrite(IterableSource(chunks()), FileSink(out))
    assert leftovers(tmp_path) == []


@pytest.mark.asyncio
async def test_failing_sink_leaves_no_file(big_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.dcm"

    class Failing(FileSink):
        writes = 0

        async def write(self, data: bytes | memoryview) -> None:
            self.writes += 1
            await super().write(data)
            if self.bytes_written > 3 * 1024 * 1024:  # after the first flush to disk
                raise SinkError("disk full")

    with pytest.raises(SinkError, match="disk full"):
        await rewrite(FileSource(big_file), Failing(out, buffer_size=1024 * 1024))
    assert leftovers(tmp_path) == []


@pytest.mark.asyncio
async def test_failing_stage_leaves_no_file(tmp_path: Path) -> None:
    class Boom(Stage):
        name = "boom"

        async def process(self, batch: list[Event]) -> list[Event]:
            raise RuntimeError("bug in a stage")

    src = tmp_path / "in.dcm"
    src.write_bytes(read_bytes("test_files/rtplan.dcm"))
    with pytest.raises(StageError, match="boom"):
        await rewrite_file(src, tmp_path / "out.dcm", stages=[Boom()])
    assert leftovers(tmp_path) == ["in.dcm"]


@pytest.mark.asyncio
async def test_memory_source_and_sink() -> None:
    data = read_bytes("test_files/rtstruct.dcm")
    sink = MemorySink()
    await rewrite(BytesSource(data, chunk_size=7), sink)
    assert sink.value == data


@pytest.mark.asyncio
async def test_events_from_a_tcp_socket() -> None:
    """A sender streams a file over a real TCP connection on 127.0.0.1; the receiver
    parses the anyio byte stream as it arrives."""
    data = read_bytes("test_files/MR_small.dcm")
    received: list[Event] = []

    async with await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0) as lst:
        port = lst.extra(anyio.abc.SocketAttribute.local_port)

        async def serve() -> None:
            async def handle(stream: anyio.abc.SocketStream) -> None:
                async with stream:
                    async for batch in aiter_events(IterableSource(stream, name="tcp")):
                        received.extend(batch)
                tg.cancel_scope.cancel()

            await lst.serve(handle)

        async with anyio.create_task_group() as tg:
            tg.start_soon(serve)
            async with await anyio.connect_tcp("127.0.0.1", port) as client:
                for i in range(0, len(data), 4093):  # odd-sized writes
                    await client.send(data[i:i + 4093])
                    await anyio.lowlevel.checkpoint()

    expected = parse_bytes(data)
    assert [type(e) for e in received] == [type(e) for e in expected]
    assert received == expected


@pytest.mark.asyncio
async def test_runs_on_trio_too(tmp_path: Path) -> None:
    """Library code is written against anyio: the same rewrite runs under trio."""
    src = tmp_path / "in.dcm"
    src.write_bytes(read_bytes("test_files/CT_small.dcm"))
    script = textwrap.dedent(f"""
        import anyio
        from dicomstream.pipeline import rewrite_file
        anyio.run(rewrite_file, {str(src)!r}, {str(tmp_path / 'out.dcm')!r}, backend="trio")
    """)
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
    assert (tmp_path / "out.dcm").read_bytes() == src.read_bytes()


def test_gigabyte_through_edit_filter_transcode_in_bounded_memory(tmp_path: Path) -> None:
    """A ≥1 GiB multi-frame file streams through edit + filter + transcode with peak RSS
    under 64 MiB (measured in a subprocess, interpreter included)."""
    from benchmarks._generate import write_multiframe

    src = write_multiframe(tmp_path / "mf.dcm", 1024 * 1024 * 1024 + 1, per_frame_groups=False)
    out = tmp_path / "out.dcm"
    script = PEAK_RSS_START + PEAK_RSS_END + textwrap.dedent(f"""
        import anyio
        from dicomstream.pipeline import rewrite_file
        from dicomstream.stages import EditStage, FilterStage, TranscodeStage
        result = anyio.run(lambda: rewrite_file({str(src)!r}, {str(out)!r}, stages=[
            EditStage(set={{"PatientName": "ANON"}}), FilterStage(remove_private=True),
            TranscodeStage("big")]))
        print(result.bytes_read, result.bytes_written, peak_rss_kib())
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=600, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    read, written, rss_kib = map(int, proc.stdout.split())
    assert read == src.stat().st_size >= 1024 ** 3
    assert written >= 1024 ** 3
    assert rss_kib < 64 * 1024, f"peak RSS {rss_kib / 1024:.1f} MiB"
    with open(out, "rb") as f:
        head = f.read(4096)
    assert b"1.2.840.10008.1.2.2" in head  # explicit VR big endian
    os.unlink(out)
