"""http(s):// reads against a real local aiohttp server, including connections that
drop halfway: resumed with Range, byte-exact, never splicing two versions."""

from __future__ import annotations

import json
import shutil
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from corpus import path_of

from cloud.cloud_servers import raises_through_groups, run_cli
from dicomstream.errors import SourceError
from dicomstream.io import MemorySink
from dicomstream.pipeline import rewrite

if TYPE_CHECKING:
    from collections.abc import Iterator

pytest.importorskip("dicomstream_cloud", reason="plugins/cloud is not installed")

from dicomstream_cloud import HttpSource  # noqa: E402


@pytest.fixture(scope="module")
def served(http_files: tuple[str, Path]) -> Iterator[tuple[str, dict[str, bytes]]]:
    """The server URL and the files it serves, by name."""
    url, root = http_files
    files = {}
    for name in ("test_files/rtplan.dcm", "test_files/MR_small.dcm",
                 "test_files/CT_small.dcm", "test_files/JPEG2000.dcm"):
        data = path_of(name).read_bytes()
        base = Path(name).name
        shutil.copyfile(path_of(name), root / base)
        files[base] = data
    yield url, files


def requests_seen(url: str) -> list[list[str | None]]:
    with urllib.request.urlopen(f"{url}/requests", timeout=5) as r:  # noqa: S310 - loopback
        seen: list[list[str | None]] = json.load(r)
    return seen


def test_cli_reads_over_http_byte_exact(served: tuple[str, dict[str, bytes]],
                                        tmp_path: Path) -> None:
    url, files = served
    out = tmp_path / "out.dcm"
    result = run_cli("rewrite", f"{url}/files/rtplan.dcm", str(out))
    assert result.returncode == 0, result.stderr
    assert out.read_bytes() == files["rtplan.dcm"]


def test_dropped_connection_resumes_with_range(served: tuple[str, dict[str, bytes]],
                                               tmp_path: Path) -> None:
    url, files = served
    out = tmp_path / "mr.dcm"
    result = run_cli("rewrite", f"{url}/drop/MR_small.dcm", str(out))
    assert result.returncode == 0, result.stderr
    assert out.read_bytes() == files["MR_small.dcm"]
    seen = [r for r in requests_seen(url) if r[0] == "/drop/MR_small.dcm"]
    half = len(files["MR_small.dcm"]) // 2
    # One request cut halfway, then one resumed exactly where the bytes stopped.
    assert seen == [["/drop/MR_small.dcm", None],
                    ["/drop/MR_small.dcm", f"bytes={half}-"]]


@pytest.mark.asyncio
async def test_resume_without_range_support_skips_what_was_read(
        served: tuple[str, dict[str, bytes]]) -> None:
    url, files = served
    source = HttpSource(f"{url}/drop-norange/CT_small.dcm", chunk_size=4096)
    sink = MemorySink()
    await rewrite(source, sink)
    assert sink.value == files["CT_small.dcm"]
    assert source.resumptions == 1
    assert source.size == len(files["CT_small.dcm"])


@pytest.mark.asyncio
async def test_resource_changed_mid_read_fails_instead_of_splicing(
        served: tuple[str, dict[str, bytes]]) -> None:
    url, _ = served
    sink = MemorySink()
    with raises_through_groups(SourceError, "changed"):
        await rewrite(HttpSource(f"{url}/changed/JPEG2000.dcm"), sink)
    assert sink.value is None and sink.aborted


@pytest.mark.asyncio
async def test_http_errors_are_source_errors(served: tuple[str, dict[str, bytes]]) -> None:
    url, _ = served
    with raises_through_groups(SourceError, "HTTP 404"):
        await rewrite(HttpSource(f"{url}/files/absent.dcm"), MemorySink())
