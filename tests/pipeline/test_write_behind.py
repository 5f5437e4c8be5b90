"""Small outputs of inline sinks are written by the write-behind thread (asyncio): same
bytes, same atomicity, errors and cancellation as a write in line."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import textwrap
import threading
import time
from typing import TYPE_CHECKING

import anyio
import pytest
from corpus import read_bytes

from dicomstream.errors import SinkError
from dicomstream.io import FileSink, FileSource
from dicomstream.io import _local as files_module
from dicomstream.io.files import TEMP_SUFFIX
from dicomstream.pipeline import rewrite

if TYPE_CHECKING:
    from pathlib import Path

CT = "test_files/CT_small.dcm"


def _temporaries(directory: Path) -> list[Path]:
    return [p for p in directory.rglob("*") if p.name.endswith(TEMP_SUFFIX)]


@pytest.mark.asyncio
async def test_small_inline_output_is_written_by_the_writer_thread(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = tmp_path / "in.dcm"
    src.write_bytes(read_bytes(CT))
    threads: list[str] = []
    real = files_module._write_small

    def spy(*args: object) -> None:
        threads.append(threading.current_thread().name)
        real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(files_module, "_write_small", spy)
    outs = [tmp_path / "out" / f"{i}.dcm" for i in range(20)]
    async with anyio.create_task_group() as tg:
        for out in outs:
            tg.start_soon(rewrite, FileSource(src, inline=True),
                          FileSink(out, inline=True, make_parents=True))
    assert threads == ["dicomstream-write-behind"] * 20
    assert all(out.read_bytes() == src.read_bytes() for out in outs)
    assert _temporaries(tmp_path) == []


@pytest.mark.asyncio
async def test_write_error_in_the_writer_thread_is_the_sinks_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def full_disk(tmp: str, target: str, make_parents: bool) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(files_module, "_create_fd", full_disk)
    sink = FileSink(tmp_path / "out.dcm", inline=True)
    await sink.write(b"x" * 1000)
    with pytest.raises(SinkError, match="No space left on device"):
        await sink.commit()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.asyncio
async def test_cancelled_during_the_write_leaves_a_whole_output_or_none(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Cancellation reaches a task while the thread writes its output: the commit is
    shielded, so the file is complete (never a temporary) once the cancel lands."""
    real = files_module._write_small
    started = threading.Event()

    def slow(*args: object) -> None:
        started.set()
        time.sleep(0.3)
        real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(files_module, "_write_small", slow)
    out = tmp_path / "out.dcm"
    data = b"y" * 5000
    sink = FileSink(out, inline=True)
    await sink.write(data)
    with anyio.move_on_after(0.1):
        await sink.commit()
    assert started.is_set()
    assert out.read_bytes() == data
    assert _temporaries(tmp_path) == []


def test_writer_thread_restarts_in_a_forked_child(tmp_path: Path) -> None:
    """The thread does not survive fork(): a child makes its own."""
    script = textwrap.dedent(f"""
        import os, anyio
        from dicomstream.io import FileSink

        async def write(name):
            sink = FileSink({str(tmp_path)!r} + "/" + name, inline=True)
            await sink.write(b"z" * 100)
            await sink.commit()

        anyio.run(write, "parent.bin")  # the thread now exists in the parent
        pid = os.fork()
        if pid == 0:
            anyio.run(write, "child.bin")
            os._exit(0)
        _, status = os.waitpid(pid, 0)
        raise SystemExit(os.waitstatus_to_exitcode(status))
    """)
    subprocess.run([sys.executable, "-c", script], check=True, timeout=30)
    assert (tmp_path / "child.bin").read_bytes() == b"z" * 100
