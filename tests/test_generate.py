"""The benchmark data generators and the hostile-file builders make what they claim.

Generated files are checked with pydicom at small sizes; hostile inputs are checked for
the exact structure they are meant to have (pydicom rejects most of them, or reads them
oddly, so it is only used where a file is meant to be valid).
"""

from __future__ import annotations

import struct
import sys
import zlib
from pathlib import Path

import pydicom
import pytest
from pydicom.filereader import read_file_meta_info

_ROOT = Path(__file__).resolve().parents[1]
if str(_ROOT) not in sys.path:  # benchmarks/ is imported from the repository root
    sys.path.insert(0, str(_ROOT))

import hostile_files as hostile  # noqa: E402

from benchmarks import _generate as gen  # noqa: E402

KiB, MiB, GiB = 1 << 10, 1 << 20, 1 << 30


def _le_header(tag: int, vr: str, length: int) -> bytes:
    return hostile.element_header(tag, vr, length)


# --------------------------------------------------------------------------- CT series


def test_ct_series_is_a_realistic_series(tmp_path: Path) -> None:
    paths = gen.write_ct_series(tmp_path, 3, target_size=64 * KiB)
    assert [p.name for p in paths] == ["CT000001.dcm", "CT000002.dcm", "CT000003.dcm"]
    datasets = [pydicom.dcmread(p) for p in paths]
    first = datasets[0]

    assert first.file_meta.TransferSyntaxUID == gen.EXPLICIT_VR_LE
    assert first.SOPClassUID == "1.2.840.10008.5.1.4.1.1.2"
    assert 150 <= sum(1 for _ in first.iterall()) <= 300
    # private blocks and their creators
    assert first[0x0009, 0x0010].value == "GEMS_IDEN_01"
    assert first[0x0029, 0x0010].value == "SIEMENS CSA HEADER"
    csa = first[0x0029, 0x1010]
    assert csa.VR == "OB" and csa.value.startswith(b"SV10") and 2 * KiB < len(csa.value)
    philips = first[0x2001, 0x105F]
    assert philips.VR == "SQ" and len(philips.value) == 2
    assert philips.value[0][0x2001, 0x0010].value == "Philips Imaging DD 001"
    # code sequences, nested, with defined and undefined lengths mixed
    assert first.ProcedureCodeSequence[0].CodeValue == "CTTAP"
    assert first["ProcedureCodeSequence"].is_undefined_length
    assert not first["ReferencedStudySequence"].is_undefined_length
    request = first.RequestAttributesSequence[0]
    protocol = request.ScheduledProtocolCodeSequence[0]
    assert protocol.ProtocolContextSequence[0].ConceptCodeSequence[0].CodeValue == "C-B0322"
    assert protocol.is_undefined_length_sequence_item
    assert not request.is_undefined_length_sequence_item
    # value types
    assert str(first.PatientName) == "Müller^Hans-Jürgen^^Dr.^"
    assert first.StudyDate == "20240312"
    assert list(first.WindowCenter) == [40, 400]
    assert first.CTDIvol == pytest.approx(12.3456789)
    assert first[0x0009, 0x10E7].value == 3735928559  # UL
    # per file vs. per series
    assert len({ds.SOPInstanceUID for ds in datasets}) == 3
    assert all(ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID for ds in datasets)
    for keyword in ("StudyInstanceUID", "SeriesInstanceUID", "FrameOfReferenceUID"):
        assert len({ds.data_element(keyword).value for ds in datasets}) == 1  # type: ignore[union-attr]
    assert [ds.InstanceNumber for ds in datasets] == [1, 2, 3]
    assert [float(ds.ImagePositionPatient[2]) for ds in datasets] == [-100.0, -101.25, -102.5]
    assert [float(ds.SliceLocation) for ds in datasets] == [-100.0, -101.25, -102.5]
    # pixel data fills the target, each file's differs
    assert len(first.PixelData) == first.Rows * first.Columns * 2 <= 64 * KiB
    assert 64 * KiB - 2 * KiB < len(first.PixelData)
    assert len({ds.PixelData for ds in datasets}) == 3
    assert 64 * KiB < paths[0].stat().st_size < 96 * KiB


@pytest.mark.parametrize("syntax", sorted(gen.NATIVE_SYNTAXES))
def test_ct_series_transfer_syntaxes(tmp_path: Path, syntax: str) -> None:
    (path,) = gen.write_ct_series(tmp_path, 1, target_size=8 * KiB, transfer_syntax=syntax)
    ds = pydicom.dcmread(path)
    assert ds.file_meta.TransferSyntaxUID == syntax
    assert ds.Rows == ds.Columns == 64
    assert ds.PixelPaddingValue == -2000
    assert ds[0x0019, 0x1002].value == 912  # a private SL, known to pydicom's dictionary
    order = ">" if syntax == gen.EXPLICIT_VR_BE else "<"
    corner = struct.unpack(order + "h", ds.PixelData[-2:])[0]
    assert corner == 24  # air: -1000 HU stored with intercept -1024


def test_ct_series_is_deterministic(tmp_path: Path) -> None:
    a = gen.write_ct_series(tmp_path / "a", 2, target_size=8 * KiB, seed=7)
    b = gen.write_ct_series(tmp_path / "b", 2, target_size=8 * KiB, seed=7)
    c = gen.write_ct_series(tmp_path / "c", 1, target_size=8 * KiB, seed=8)
    assert [p.read_bytes() for p in a] == [p.read_bytes() for p in b]
    assert pydicom.dcmread(a[0]).StudyInstanceUID != pydicom.dcmread(c[0]).StudyInstanceUID


def test_ct_series_rejects_encapsulated_syntax(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="native"):
        gen.write_ct_series(tmp_path, 1, transfer_syntax=gen.RLE_LOSSLESS)


# --------------------------------------------------------------------------- multi-frame


def test_multiframe_native(tmp_path: Path) -> None:
    path = gen.write_multiframe(tmp_path / "mf.dcm", 5 * MiB)
    frames = -(-5 * MiB // (512 * 512 * 2))
    assert path.stat().st_size >= 5 * MiB
    header = pydicom.dcmread(path, stop_before_pixels=True)
    assert header.NumberOfFrames == frames
    assert (header.Rows, header.Columns) == (512, 512)
    per_frame = header.PerFrameFunctionalGroupsSequence
    assert len(per_frame) == frames
    assert per_frame[-1].FrameContentSequence[0].InStackPositionNumber == frames
    assert list(per_frame[-1].FrameContentSequence[0].DimensionIndexValues) == [1, frames]
    assert float(per_frame[1].PlanePositionSequence[0].ImagePositionPatient[2]) == -101.25
    ds = pydicom.dcmread(path)
    assert len(ds.PixelData) == frames * 512 * 512 * 2
    frame = 512 * 512 * 2
    assert ds.PixelData[frame + 4 : 2 * frame] == ds.PixelData[4:frame]  # reused pattern
    assert ds.PixelData[frame : frame + 4] != ds.PixelData[:4]  # frame counter stamped


@pytest.mark.parametrize("syntax", sorted(gen.NATIVE_SYNTAXES))
def test_multiframe_transfer_syntaxes(tmp_path: Path, syntax: str) -> None:
    path = gen.write_multiframe(
        tmp_path / "mf.dcm", 100 * KiB, frame_bytes=64 * 48 * 2, transfer_syntax=syntax
    )
    ds = pydicom.dcmread(path)
    assert ds.file_meta.TransferSyntaxUID == syntax
    assert (ds.Rows, ds.Columns) == (48, 64)
    assert len(ds.PixelData) == ds.NumberOfFrames * 64 * 48 * 2 >= 100 * KiB


def test_multiframe_without_per_frame_groups(tmp_path: Path) -> None:
    path = gen.write_multiframe(tmp_path / "mf.dcm", 1 * MiB, per_frame_groups=False)
    ds = pydicom.dcmread(path, stop_before_pixels=True)
    assert "PerFrameFunctionalGroupsSequence" not in ds
    assert ds.NumberOfFrames == 2


def test_multiframe_refuses_native_over_4gib(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="4 GiB"):
        gen.write_multiframe(tmp_path / "mf.dcm", 5 * GiB)
    assert not (tmp_path / "mf.dcm").exists()


def _rle_segment(data: bytes) -> bytes:
    out, i = bytearray(), 0
    while i < len(data):
        n = data[i]
        i += 1
        if n < 128:
            out += data[i : i + n + 1]
            i += n + 1
        elif n > 128:
            out += data[i : i + 1] * (257 - n)
            i += 1
    return bytes(out)


def test_multiframe_encapsulated(tmp_path: Path) -> None:
    path = gen.write_multiframe(
        tmp_path / "rle.dcm", 2 * MiB, frame_bytes=128 * 128 * 2, encapsulated=True
    )
    ds = pydicom.dcmread(path)
    assert ds.file_meta.TransferSyntaxUID == gen.RLE_LOSSLESS
    frames = int(ds.NumberOfFrames)
    assert path.stat().st_size >= 2 * MiB
    data = ds.PixelData
    # Basic Offset Table, then one fragment per frame, then the pydicom-stripped delimiter
    tag, bot_length = struct.unpack_from("<II", data)
    assert tag == 0xE000FFFE and bot_length == 4 * frames
    offsets = struct.unpack_from(f"<{frames}I", data, 8)
    first = 8 + bot_length
    fragments = []
    for offset in offsets:
        tag, length = struct.unpack_from("<II", data, first + offset)
        assert tag == 0xE000FFFE and length % 2 == 0
        fragments.append(data[first + offset + 8 : first + offset + 8 + length])
    assert first + offsets[-1] + 8 + len(fragments[-1]) == len(data)
    decoded = []
    for fragment in fragments[:2]:
        count, high_at, low_at = struct.unpack_from("<3I", fragment)
        assert count == 2
        high = _rle_segment(fragment[high_at:low_at])
        low = _rle_segment(fragment[low_at:])
        assert len(high) == len(low) == 128 * 128
        decoded.append((high, low))
    assert decoded[0][0] == decoded[1][0] and decoded[0][1] != decoded[1][1]


# --------------------------------------------------------------------------- hostile files


def _meta_syntax(tmp_path: Path, data: bytes) -> str:
    path = tmp_path / "meta.dcm"
    path.write_bytes(data)
    return str(read_file_meta_info(path).TransferSyntaxUID)


@pytest.mark.parametrize(
    ("name", "syntax"),
    [
        ("huge_declared_length", hostile.EXPLICIT_VR_LE),
        ("item_longer_than_sequence", hostile.EXPLICIT_VR_LE),
        ("undefined_length_text", hostile.EXPLICIT_VR_LE),
        ("odd_length_values", hostile.EXPLICIT_VR_LE),
        ("unclosed_item", hostile.EXPLICIT_VR_LE),
        ("stray_delimiter", hostile.EXPLICIT_VR_LE),
        ("invalid_vr", hostile.EXPLICIT_VR_LE),
        ("garbage_after_meta", hostile.EXPLICIT_VR_LE),
        ("fragments_without_delimiter", hostile.JPEG_BASELINE),
        ("corrupt_deflate", hostile.DEFLATED_EXPLICIT_VR_LE),
    ],
)
def test_hostile_files_have_a_valid_meta_group(tmp_path: Path, name: str, syntax: str) -> None:
    data = getattr(hostile, name)()
    assert data[128:132] == b"DICM"
    assert _meta_syntax(tmp_path, data) == syntax
    assert "expect:" in (getattr(hostile, name).__doc__ or "")


def test_huge_declared_length() -> None:
    data = hostile.huge_declared_length()
    assert len(data) < KiB
    assert data.endswith(_le_header(0x00420011, "OB", 0xFFFFFFF0) + b"%PDF-1.7\n")


def test_deep_nesting() -> None:
    empty = len(hostile.deep_nesting(0))
    data = hostile.deep_nesting()
    assert len(data) == empty + 100_000 * 20
    level = _le_header(0x0040A730, "SQ", 0xFFFFFFFF) + _le_header(0xFFFEE000, "", 0xFFFFFFFF)
    assert data.count(level) == 100_000
    closed = hostile.deep_nesting(closed=True)
    assert len(closed) == empty + 100_000 * 36
    assert closed.endswith((_le_header(0xFFFEE00D, "", 0) + _le_header(0xFFFEE0DD, "", 0)) * 3)


def test_deep_nesting_shallow_and_closed_is_valid() -> None:
    ds = pydicom.dcmread(pydicom.filebase.DicomBytesIO(hostile.deep_nesting(5, closed=True)))
    depth, item = 0, ds
    while "ContentSequence" in item:
        (item,) = item.ContentSequence
        depth += 1
    assert depth == 5 and item.TextValue == "deepest"


def test_unclosed_item() -> None:
    data = hostile.unclosed_item()
    opened = _le_header(0x00081140, "SQ", 0xFFFFFFFF) + _le_header(0xFFFEE000, "", 0xFFFFFFFF)
    assert opened in data
    tail = data[data.index(opened) + len(opened) :]
    assert b"\xfe\xff\x0d\xe0" not in tail and b"\xfe\xff\xdd\xe0" not in tail


def test_item_longer_than_sequence() -> None:
    data = hostile.item_longer_than_sequence()
    at = data.index(struct.pack("<HH2s2x", 0x0008, 0x1110, b"SQ"))
    (sequence_length,) = struct.unpack_from("<I", data, at + 8)
    tag, item_length = struct.unpack_from("<II", data, at + 12)
    assert tag == 0xE000FFFE
    assert item_length == sequence_length - 8 + 16  # 16 bytes past the sequence's end
    assert len(data) > at + 12 + sequence_length + 16  # and the file goes on


def _inflate(deflated: bytes) -> tuple[int, bytes, bool]:
    inflater = zlib.decompressobj(-15)
    total, head = 0, b""
    for start in range(0, len(deflated), 64 * KiB):
        chunk = deflated[start : start + 64 * KiB]
        while chunk:
            out = inflater.decompress(chunk, 4 * MiB)
            head = head or out[:256]
            total += len(out)
            chunk = inflater.unconsumed_tail
    return total, head, inflater.eof


def test_deflate_bomb(tmp_path: Path) -> None:
    data = hostile.deflate_bomb(inflated_size=96 * MiB)
    assert isinstance(data, bytes)
    assert _meta_syntax(tmp_path, data) == hostile.DEFLATED_EXPLICIT_VR_LE
    (meta_length,) = struct.unpack_from("<I", data, 140)
    deflated = data[144 + meta_length :]
    total, head, finished = _inflate(deflated)
    assert finished
    assert 96 * MiB < total < 96 * MiB + KiB
    assert head.startswith(hostile.element(0x00080016, "UI", "1.2.840.10008.5.1.4.1.1.7"))
    assert total / len(deflated) > 900
    written = hostile.deflate_bomb(tmp_path / "bomb.dcm", inflated_size=96 * MiB)
    assert isinstance(written, Path) and written.read_bytes() == data


def test_deflate_bomb_default_size() -> None:
    data = hostile.deflate_bomb()
    assert isinstance(data, bytes)
    assert len(data) < 8 * MiB  # inflates to 8 GiB: ratio ~1028, near deflate's 1032 limit


def test_corrupt_deflate() -> None:
    data = hostile.corrupt_deflate()
    (meta_length,) = struct.unpack_from("<I", data, 140)
    with pytest.raises(zlib.error):
        zlib.decompressobj(-15).decompress(data[144 + meta_length :])


def test_garbage_after_meta() -> None:
    data = hostile.garbage_after_meta()
    assert data == hostile.garbage_after_meta(0)
    assert data != hostile.garbage_after_meta(1)
    assert len(data) == len(hostile.part10(b"")) + 4096


def test_fragments_without_delimiter() -> None:
    data = hostile.fragments_without_delimiter()
    at = data.index(_le_header(0x7FE00010, "OB", 0xFFFFFFFF)) + 12
    tag, bot_length = struct.unpack_from("<II", data, at)
    assert tag == 0xE000FFFE and bot_length == 8
    offsets = struct.unpack_from("<2I", data, at + 8)
    first = at + 16
    ends = []
    for offset in offsets:
        tag, length = struct.unpack_from("<II", data, first + offset)
        assert tag == 0xE000FFFE and length % 2 == 0
        assert data[first + offset + 8 : first + offset + 10] == b"\xff\xd8"
        ends.append(first + offset + 8 + length)
    assert ends[-1] == len(data)  # EOF right after the last fragment: no delimiter


def test_odd_length_values_parse() -> None:
    data = hostile.odd_length_values()
    assert struct.pack("<HH2sH", 0x0008, 0x0018, b"UI", 9) + b"1.2.3.4.5" in data
    ds = pydicom.dcmread(pydicom.filebase.DicomBytesIO(data))
    assert ds.SOPInstanceUID == "1.2.3.4.5"
    assert ds.Manufacturer == "ACM"
    assert ds[0x0009, 0x1001].value == bytes(range(1, 8))
    assert ds.Rows == 2


def test_small_structural_builders() -> None:
    assert struct.pack("<HH2sH", 0x0010, 0x0010, b"Q?", 8) in hostile.invalid_vr()
    assert _le_header(0xFFFEE0DD, "", 0) in hostile.stray_delimiter()
    assert _le_header(0x00324000, "UT", 0xFFFFFFFF) in hostile.undefined_length_text()
    data = hostile.unclosed_item()
    assert hostile.truncated(data, 200) == data[:200]
    assert hostile.truncated(data, -1) == data[:-1]
