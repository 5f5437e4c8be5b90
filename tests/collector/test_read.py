"""Reading: ``dcmread`` from paths, files and bytes; ``read_dataset`` from any source;
the collector as a function, an async consumer and a stage; deferred values."""

from __future__ import annotations

import array
import io
import os
from typing import TYPE_CHECKING, Any

import anyio
import pydicom
import pytest
from corpus import PARSEABLE_IDS, path_of, read_bytes

import dicomstream
from collector.helpers import differences, pydicom_read, read_corpus
from dicomstream.collector import (
    CollectStage,
    DeferredReadError,
    collect,
    collect_async,
    read_dataset,
)
from dicomstream.io import BytesSource, IterableSource, MemorySink
from dicomstream.parser import parse_bytes
from dicomstream.pipeline import rewrite
from dicomstream.streams import events_from_bytes

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

CT = path_of("test_files/CT_small.dcm")


class Unseekable(io.RawIOBase):
    """A pipe-like file: read only, counting what was read."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)
        self.consumed = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        chunk = self._data.read(size)
        self.consumed += len(chunk)
        return chunk


async def _chunks(data: bytes, size: int = 1000, seen: list[int] | None = None
                  ) -> AsyncIterator[bytes]:
    for i in range(0, len(data), size):
        if seen is not None:
            seen.append(i)
        yield data[i:i + size]


# -- sources ---------------------------------------------------------------------------------


def test_dcmread_from_path_file_and_bytes() -> None:
    from_path = dicomstream.dcmread(CT)
    with open(CT, "rb") as f:
        from_file = dicomstream.dcmread(f)
    from_bytes = dicomstream.dcmread(CT.read_bytes())
    from_pipe = dicomstream.dcmread(Unseekable(CT.read_bytes()))  # type: ignore[arg-type]
    assert from_path == from_file == from_bytes == from_pipe
    assert from_file.filename == str(CT) and from_bytes.filename is None
    assert differences(from_pipe, pydicom_read(CT)) == []


def test_dcmread_from_the_middle_of_a_file(tmp_path: Path) -> None:
    path = tmp_path / "prefixed.bin"
    path.write_bytes(b"HEADER--" + CT.read_bytes())
    with open(path, "rb") as f:
        f.read(8)
        ds = dicomstream.dcmread(f, defer_size=1024)
    assert ds["PixelData"].is_deferred
    assert ds.PixelData == pydicom_read(CT).PixelData


def test_missing_file_is_a_source_error(tmp_path: Path) -> None:
    from dicomstream.errors import SourceError

    with pytest.raises(SourceError):
        dicomstream.dcmread(tmp_path / "nope.dcm")


@pytest.mark.asyncio
async def test_read_dataset_from_any_source() -> None:
    data = CT.read_bytes()
    expected = dicomstream.dcmread(data)
    assert await read_dataset(CT) == expected
    assert await read_dataset(str(CT)) == expected
    assert await read_dataset(f"file://{CT}") == expected
    assert await read_dataset(data) == expected
    assert await read_dataset(BytesSource(data, chunk_size=777)) == expected
    assert await read_dataset(IterableSource(_chunks(data))) == expected


def test_read_dataset_runs_on_trio_too() -> None:
    pytest.importorskip("trio")
    ds = anyio.run(read_dataset, CT, backend="trio")
    assert ds == dicomstream.dcmread(CT)


# -- specific tags, stop before pixels ---------------------------------------------------------


def test_specific_tags_as_pydicom() -> None:
    wanted: list[Any] = ["PatientName", 0x00080016, (0x0028, 0x0010), "PixelData"]
    ours = dicomstream.dcmread(CT, specific_tags=wanted)
    theirs = pydicom_read(CT, specific_tags=wanted)
    assert differences(ours, theirs) == []
    assert [e.keyword for e in ours] == ["SpecificCharacterSet", "SOPClassUID",
                                         "PatientName", "Rows", "PixelData"]


def test_specific_tags_leave_out_sequences() -> None:
    ds = dicomstream.dcmread(path_of("test_files/rtplan.dcm"),
                             specific_tags=["PatientID", "BeamSequence"])
    assert [e.keyword for e in ds] == ["PatientID", "BeamSequence"]
    assert len(ds.BeamSequence) == 1


@pytest.mark.parametrize("name", PARSEABLE_IDS)
def test_stop_before_pixels_as_pydicom(name: str) -> None:
    ours = read_corpus(name, stop_before_pixels=True)
    theirs = pydicom_read(path_of(name), stop_before_pixels=True)
    assert differences(ours, theirs) == []


def test_stop_before_pixels_stops_reading(tmp_path: Path) -> None:
    from benchmarks._generate import write_ct_series

    (path,) = write_ct_series(tmp_path, 1)
    data = path.read_bytes()
    pipe = Unseekable(data)
    ds = dicomstream.dcmread(pipe, stop_before_pixels=True)  # type: ignore[arg-type]
    assert "PixelData" not in ds and "Rows" in ds
    assert pipe.consumed < len(data) // 4
    seen: list[int] = []
    ds = anyio.run(lambda: read_dataset(IterableSource(_chunks(data, 4096, seen)),
                                        stop_before_pixels=True))
    assert "PixelData" not in ds
    assert len(seen) * 4096 < len(data) // 4


# -- the collector as function, async consumer and stage --------------------------------------


def test_collect_events_and_batches() -> None:
    data = read_bytes("test_files/rtplan.dcm")
    expected = dicomstream.dcmread(data)
    events = parse_bytes(data)
    assert collect(events) == expected
    assert collect([events[:10], events[10:]]) == expected
    assert collect(events, specific_tags=["PatientName"]).keys() == [0x00100010]


@pytest.mark.asyncio
async def test_collect_async_and_collect_stage() -> None:
    data = read_bytes("test_files/rtplan.dcm")
    expected = dicomstream.dcmread(data)
    assert await collect_async(events_from_bytes(data)) == expected
    stage = CollectStage()
    sink = MemorySink()
    await rewrite(BytesSource(data, chunk_size=1000), sink, stages=[stage])
    assert sink.value == data
    assert stage.dataset == expected
    assert stage.dataset is not None
    assert stage.dataset.events is not None


# -- deferred values ------------------------------------------------------------------------------


def test_deferred_from_a_path(tmp_path: Path) -> None:
    path = tmp_path / "ct.dcm"
    path.write_bytes(CT.read_bytes())
    ds = dicomstream.dcmread(path, defer_size="1 KB")
    elem = ds["PixelData"]
    assert elem.is_deferred and elem.raw_value == pydicom_read(CT).PixelData
    assert ds.PixelData == pydicom_read(CT).PixelData
    assert "Array of 32768 elements" in str(ds)
    out = io.BytesIO()
    ds.save_as(out)
    assert out.getvalue() == CT.read_bytes()
    assert not ds["Rows"].is_deferred
    ds.save_as(path)  # over the file its deferred values come from
    assert path.read_bytes() == CT.read_bytes()
    os.utime(path, ns=(0, 0))  # the file "changed": its deferred values are gone
    with pytest.raises(DeferredReadError):
        ds.PixelData  # noqa: B018


def test_str_never_reads_a_deferred_value(monkeypatch: pytest.MonkeyPatch) -> None:
    from dicomstream.collector import DeferredValue

    ds = dicomstream.dcmread(CT, defer_size=1024)

    def boom(self: object) -> bytes:
        raise AssertionError("read for display")

    monkeypatch.setattr(DeferredValue, "read", boom)
    text = str(ds)
    assert "(7fe0, 0010) Pixel Data                          OW: Array of 32768 elements" \
        in text


def test_deferred_spilled_from_a_pipe_and_an_async_source() -> None:
    data = CT.read_bytes()
    pipe_ds = dicomstream.dcmread(Unseekable(data), defer_size=1024)  # type: ignore[arg-type]
    async_ds = anyio.run(lambda: read_dataset(IterableSource(_chunks(data)), defer_size=1024))
    pixels = pydicom_read(CT).PixelData
    for ds in (pipe_ds, async_ds):
        assert ds["PixelData"].is_deferred
        assert "spill" in repr(ds["PixelData"]._raw)
        assert ds.PixelData == pixels
        out = io.BytesIO()
        ds.save_as(out)
        assert out.getvalue() == data


def test_bytes_input_keeps_values_in_memory() -> None:
    ds = dicomstream.dcmread(CT.read_bytes(), defer_size=10)
    assert not ds["PixelData"].is_deferred


def test_deferred_in_a_deflated_file_is_spilled() -> None:
    name = "test_files/image_dfl.dcm"
    ds = dicomstream.dcmread(path_of(name), defer_size=256)
    assert ds["PixelData"].is_deferred and "spill" in repr(ds["PixelData"]._raw)
    theirs = pydicom_read(path_of(name))
    assert differences(ds, theirs) == []
    out = io.BytesIO()
    ds.save_as(out)
    assert dicomstream.dcmread(out.getvalue()) == dicomstream.dcmread(path_of(name))


def test_deferred_fragments_of_encapsulated_pixel_data() -> None:
    name = "test_files/JPEG2000.dcm"
    ds = dicomstream.dcmread(path_of(name), defer_size=100)
    elem = ds["PixelData"]
    assert elem.is_deferred and elem.is_undefined_length
    assert ds.PixelData == pydicom_read(path_of(name)).PixelData
    out = io.BytesIO()
    ds.save_as(out)
    assert out.getvalue() == read_bytes(name)


def test_deferred_big_endian_value_converts(tmp_path: Path) -> None:
    name = "test_files/MR_small_bigendian.dcm"
    deferred = dicomstream.dcmread(path_of(name), defer_size=1024)
    assert deferred["PixelData"].is_deferred
    kept = dicomstream.dcmread(path_of(name))
    a, b = io.BytesIO(), io.BytesIO()
    deferred.save_as(a, transfer_syntax="explicit")
    kept.save_as(b, transfer_syntax="explicit")
    assert a.getvalue() == b.getvalue()
    theirs = pydicom.dcmread(io.BytesIO(a.getvalue()))
    assert theirs.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.1"
    words = array.array("H", pydicom.dcmread(path_of(name)).PixelData)
    words.byteswap()
    assert theirs.PixelData == words.tobytes()


def test_defer_size_spellings() -> None:
    from dicomstream.collector._read import size_in_bytes

    assert size_in_bytes("512 KB") == 512 * 1024
    assert size_in_bytes("1MB") == 1 << 20
    assert size_in_bytes(2.5) == 2
    assert size_in_bytes(None) is None
    with pytest.raises(ValueError):
        size_in_bytes("lots")


def test_every_corpus_file_reads_deferred_alike() -> None:
    for name in PARSEABLE_IDS:
        deferred = read_corpus(name, defer_size=256)
        assert deferred == read_corpus(name), name
