"""Re-targeting between the uncompressed syntaxes, length repair and encoder misuse.

Every uncompressed corpus file is written by ``Encoder(ts)`` in each uncompressed transfer
syntax; the direct output must parse (ours and dcmdump's), and converting it back to the
file's own syntax must give a dataset pydicom reads equal to the original — byte for
byte, except where the VR is inherently lost (see :data:`IMPLICIT_VR_LOSSES`).
"""

from __future__ import annotations

import io
import shutil
import subprocess
import warnings
from array import array
from typing import TYPE_CHECKING, Any

import pydicom
import pytest
from corpus import NOT_BYTE_EXACT, corpus_events, feed, read_bytes, uncompressed_ids
from pydicom.dataelem import RawDataElement

from dicomstream.encoder import Encoder
from dicomstream.errors import EncodeError
from dicomstream.events import (
    UNDEFINED_LENGTH,
    DatasetEnd,
    DatasetStart,
    Element,
    Fragment,
    ItemEnd,
    ItemStart,
    SequenceEnd,
    SequenceStart,
    ValueChunk,
    ValueEnd,
    ValueStart,
)
from dicomstream.transfer_syntax import (
    EXPLICIT_VR_LITTLE_ENDIAN,
    IMPLICIT_VR_LITTLE_ENDIAN,
    UNCOMPRESSED_TRANSFER_SYNTAXES,
    TransferSyntax,
    lookup_transfer_syntax,
)

if TYPE_CHECKING:
    from pathlib import Path

    from pydicom.dataset import Dataset

    from dicomstream.events import Event

TARGETS = {ts.name.replace(" ", "-"): ts for ts in UNCOMPRESSED_TRANSFER_SYNTAXES}

IMPLICIT_VR_LOSSES = (
    "Implicit VR keeps no VR: going through it, (1) Pixel Data written OB comes back OW "
    "(the dictionary's 'OB or OW' is OW in implicit VR, PS3.5 A.1) — in big endian the OW "
    "bytes are then swapped in 16-bit words; (2) private elements come back with the VR of "
    "the private dictionary (LO -> SH, UN -> US …) or UN when it does not know them — UN "
    "bytes are never swapped, so a big endian binary value keeps little endian order. Such "
    "elements are compared by raw bytes, modulo that swap."
)
"""Why an explicit VR file does not round-trip byte for byte through implicit VR."""

ADDS_TRANSFER_SYNTAX = {
    "test_files/meta_missing_tsyntax.dcm": (
        "its meta group lacks (0002,0010); a re-targeted file must name its syntax, so the "
        "encoder adds it, and it stays when converting back"),
}
"""Files whose meta group gains a Transfer Syntax UID when re-targeted."""

NO_META_CANNOT_DEFLATE = "a deflated file needs a meta group to name its syntax"

_DCMDUMP = shutil.which("dcmdump")


def _own_syntax(events: tuple[Event, ...] | list[Event]) -> DatasetStart:
    return next(e for e in events if isinstance(e, DatasetStart))


def _read(data: bytes) -> Any:
    return pydicom.dcmread(io.BytesIO(data), force=True)


_SWAP_UNIT = {"OW": 2, "US": 2, "SS": 2, "AT": 2, "UL": 4, "SL": 4, "FL": 4, "OF": 4,
              "OL": 4, "FD": 8, "OD": 8, "SV": 8, "UV": 8, "OV": 8}
_SWAP_CODE = {array(c).itemsize: c for c in "QLIH"}


def _swapped(data: bytes, unit: int) -> bytes:
    arr = array(_SWAP_CODE[unit])
    arr.frombytes(data[:len(data) - len(data) % unit])
    arr.byteswap()
    return arr.tobytes() + data[len(data) - len(data) % unit:]


def _raw(ds: Dataset, tag: int) -> bytes | None:
    """The raw bytes pydicom read, ``b""`` for an empty value it decoded while reading,
    None for other decoded values."""
    item = ds.get_item(tag)
    if isinstance(item, RawDataElement):
        return bytes(item.value)
    return b"" if item.is_empty else None


def unexplained_differences(original: Dataset, again: Dataset, *, little: bool,
                            vr_lost: bool, where: str = "") -> list[str]:
    """Differences between two pydicom datasets that :data:`IMPLICIT_VR_LOSSES` does not
    explain (all differences when ``vr_lost`` is False)."""
    problems: list[str] = []
    for tag in sorted(set(original.keys()) | set(again.keys())):
        here = f"{where}({tag >> 16:04X},{tag & 0xFFFF:04X})"
        if tag not in original or tag not in again:
            problems.append(f"{here} only in one")
            continue
        raw_a, raw_b = _raw(original, tag), _raw(again, tag)  # before pydicom decodes
        a, b = original[tag], again[tag]
        if a.VR == "SQ" and b.VR == "SQ":
            if len(a.value) != len(b.value):
                problems.append(f"{here}: {len(a.value)} items, then {len(b.value)}")
            for i, (x, y) in enumerate(zip(a.value, b.value, strict=False)):
                problems += unexplained_differences(x, y, little=little, vr_lost=vr_lost,
                                                    where=f"{here}[{i}] > ")
            continue
        if a == b:
            continue
        lost = {str(a.VR), str(b.VR)} == {"OB", "OW"} or (tag >> 16) & 1 or b.VR == "UN"
        if vr_lost and lost and raw_a is not None and raw_b is not None:
            unit = _SWAP_UNIT.get(str(a.VR)) or _SWAP_UNIT.get(str(b.VR)) or 1
            if raw_a == raw_b or (not little and _swapped(raw_a, unit) == raw_b):
                continue
        problems.append(f"{here}: {a.VR} {str(a.value)[:40]} != {b.VR} {str(b.value)[:40]}")
    return problems


def _meta_differences(original: Any, again: Any, name: str) -> list[str]:
    ignore = {0x00020000}  # group length: recomputed
    if name in ADDS_TRANSFER_SYNTAX:
        ignore.add(0x00020010)
    tags = (set(original.file_meta.keys()) | set(again.file_meta.keys())) - ignore
    return [f"{t:08X}" for t in sorted(tags)
            if original.file_meta.get(t) != again.file_meta.get(t)]


def _is_group_length_line(difference: str) -> bool:
    return difference.startswith("(") and difference[6:10] == "0000" and \
        not difference.startswith("(0002,")


@pytest.mark.parametrize("target", list(TARGETS))
@pytest.mark.parametrize("name", uncompressed_ids())
def test_transcode_and_back(name: str, target: str) -> None:
    ts = TARGETS[target]
    events = corpus_events(name)
    start = _own_syntax(events)
    own = lookup_transfer_syntax(start.transfer_syntax)
    if ts.deflated and not start.has_meta:
        with pytest.raises(EncodeError, match="meta"):
            Encoder(ts).send_all(events)
        return
    out = Encoder(ts).send_all(events)

    # The direct output: our parser reads it, in the target syntax (dcmdump: below).
    direct = feed([out])
    assert _own_syntax(direct).transfer_syntax == ts.uid
    assert isinstance(direct[-1], DatasetEnd)

    # Back to the file's own syntax.
    back = Encoder(own).send_all(direct)
    vr_lost = ts.implicit_vr and not own.implicit_vr
    data = read_bytes(name)
    if not vr_lost and name not in NOT_BYTE_EXACT and name not in ADDS_TRANSFER_SYNTAX:
        assert back == data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydicom's remarks on values it decodes to compare
        original, again = _read(data), _read(back)
        differences = unexplained_differences(original, again, little=own.little_endian,
                                              vr_lost=vr_lost)
        if ts.implicit_vr != own.implicit_vr:
            # Re-targeting between implicit and explicit VR drops the retired group
            # lengths of groups other than 0002 (their values would be wrong), as pydicom.
            differences = [d for d in differences if not _is_group_length_line(d)]
        assert differences == []
        if start.has_meta:
            assert _meta_differences(original, again, name) == []
        if not vr_lost:
            assert again == original


@pytest.mark.dcmtk
@pytest.mark.parametrize("target", list(TARGETS))
def test_dcmdump_reads_every_direct_output(dcmdump: str, tmp_path: Path, target: str) -> None:
    """dcmtk reads what the encoder writes in each target syntax (one dcmdump run over
    all files of a target: a process per file would take ~20 s)."""
    ts = TARGETS[target]
    written: list[str] = []
    for i, name in enumerate(uncompressed_ids()):
        events = corpus_events(name)
        if ts.deflated and not _own_syntax(events).has_meta:
            continue  # refused, see test_transcode_and_back
        path = tmp_path / f"{i:03d}.dcm"
        path.write_bytes(Encoder(ts).send_all(events))
        written.append(str(path))
    assert len(written) > 140
    result = subprocess.run([dcmdump, *written], capture_output=True, timeout=120,
                            check=False)
    assert result.returncode == 0, result.stderr.decode(errors="replace")[:2000]
    assert b"E: " not in result.stderr


_KIB_CHUNKS = {"value_threshold": 64, "chunk_size": 1024}
_TINY_CHUNKS = {"value_threshold": 0, "chunk_size": 8}


@pytest.mark.parametrize(("name", "chunking"), [
    pytest.param(name, chunking, id=f"{name.rsplit('/', 1)[-1]}-{label}")
    for name in ["test_files/MR_small_bigendian.dcm", "test_files/rtdose.dcm",
                 "test_files/SC_rgb_small_odd_big_endian.dcm",
                 "test_files/liver_expb_1frame.dcm", "test_files/waveform_ecg.dcm",
                 "test_files/examples_overlay.dcm"]
    for label, chunking in [("1KiB-chunks", _KIB_CHUNKS), ("8-byte-chunks", _TINY_CHUNKS)]
    if label == "1KiB-chunks" or len(read_bytes(name)) < 100_000  # 8-byte: ~1 s per 100 KB
])
def test_byte_swapping_does_not_depend_on_chunks(name: str, chunking: dict[str, Any]) -> None:
    """Values streamed in chunks whose boundaries cut 2-, 4- and 8-byte numbers in two
    swap to the same bytes as whole values (the encoder carries the remainder)."""
    data = read_bytes(name)
    chunked = feed([data], **chunking)
    assert any(isinstance(e, ValueChunk) for e in chunked)
    own = _own_syntax(chunked).transfer_syntax
    for ts in UNCOMPRESSED_TRANSFER_SYNTAXES:
        expected = Encoder(ts).send_all(corpus_events(name))
        assert Encoder(ts).send_all(chunked) == expected, ts.name
        back = Encoder(own).send_all(feed([expected], **chunking))
        assert back == Encoder(own).send_all(feed([expected]))


def test_implicit_vr_losses_do_occur() -> None:
    """The documented exception is real: an explicit VR file with OB pixel data is not
    byte-identical after a trip through implicit VR, but still reads equal enough."""
    name = "test_files/liver_expb_1frame.dcm"  # explicit big endian, OB pixel data
    events = corpus_events(name)
    back = Encoder(_own_syntax(events).transfer_syntax).send_all(
        feed([Encoder(IMPLICIT_VR_LITTLE_ENDIAN).send_all(events)]))
    assert back != read_bytes(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        original, again = _read(read_bytes(name)), _read(back)
        assert unexplained_differences(original, again, little=False, vr_lost=True) == []
        original, again = _read(read_bytes(name)), _read(back)
        assert unexplained_differences(original, again, little=False, vr_lost=False) != []
        assert (original[0x7FE00010].VR, again[0x7FE00010].VR) == ("OB", "OW")
        assert original.PixelData != again.PixelData  # OW in big endian: swapped words


def test_meta_transfer_syntax_follows_the_target() -> None:
    events = corpus_events("test_files/rtplan.dcm")
    for ts in UNCOMPRESSED_TRANSFER_SYNTAXES:
        out = Encoder(ts).send_all(events)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            meta = _read(out).file_meta
        assert meta.TransferSyntaxUID == ts.uid
        group = [e for e in feed([out]) if isinstance(e, Element) and e.tag >> 16 == 2]
        declared = int.from_bytes(group[0].value, "little")
        assert declared == sum(12 + e.length if e.vr in ("OB", "UN") else 8 + e.length
                               for e in group[1:])


def test_encapsulated_files_are_not_retargeted() -> None:
    events = corpus_events("test_files/JPEG2000.dcm")
    with pytest.raises(EncodeError, match="transcode"):
        Encoder(EXPLICIT_VR_LITTLE_ENDIAN).send_all(events)
    out = Encoder(_own_syntax(events).transfer_syntax).send_all(events)
    assert out == read_bytes("test_files/JPEG2000.dcm")


# --------------------------------------------------------------------------- length repair

RTPLAN = "test_files/rtplan.dcm"
MACHINE_NAME = 0x300A00B2  # BeamSequence[0] > Treatment Machine Name (SH)
BEAM_ENERGY = 0x300A0114  # BeamSequence[0] > ControlPointSequence[0] > Nominal Beam Energy
BEAM_SEQUENCE = 0x300A00B0


def _edited_rtplan() -> tuple[list[Event], dict[int, bytes]]:
    """rtplan.dcm's events with one value grown (2 levels deep) and one shrunk (4 levels
    deep), both inside defined-length sequences and items."""
    new_values = {MACHINE_NAME: b"A MUCH LONGER MACHINE NAME", BEAM_ENERGY: b"18"}
    events = list(corpus_events(RTPLAN))
    edited = 0
    for i, e in enumerate(events):
        if isinstance(e, Element) and e.tag in new_values and e.path[0] == (BEAM_SEQUENCE, 0):
            value = new_values[e.tag]
            if e.tag == BEAM_ENERGY and e.path[1][1] != 0:
                continue
            events[i] = e._replace(value=value, length=len(value))
            edited += 1
    assert edited == 2
    return events, new_values


def test_edited_values_get_true_container_lengths() -> None:
    events, new_values = _edited_rtplan()
    out = Encoder().send_all(events)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        original, edited = _read(read_bytes(RTPLAN)), _read(out)
        beam = edited.BeamSequence[0]
        assert beam.TreatmentMachineName == new_values[MACHINE_NAME].decode()
        assert beam.ControlPointSequence[0].NominalBeamEnergy == 18
        # Nothing else changed: put the original values back and compare.
        beam.TreatmentMachineName = original.BeamSequence[0].TreatmentMachineName
        beam.ControlPointSequence[0].NominalBeamEnergy = (
            original.BeamSequence[0].ControlPointSequence[0].NominalBeamEnergy)
        assert edited == original
    if _DCMDUMP is not None:
        result = subprocess.run([_DCMDUMP, "-"], input=out, capture_output=True, timeout=60,
                                check=False)
        assert result.returncode == 0
        assert b"E:" not in result.stderr and b"W:" not in result.stderr
    # Our parser agrees, and the lengths changed by exactly the edits.
    again = feed([out])
    assert len(out) - len(read_bytes(RTPLAN)) == 26 - 8 + 2 - 16
    found = {e.tag: e.value for e in again if isinstance(e, Element) and e.tag in new_values
             and e.path[:1] == ((BEAM_SEQUENCE, 0),) and e.path[1:2] in ((), ((0x300A0111,
                                                                               0),))}
    assert found == new_values
    before = [e.length for e in corpus_events(RTPLAN) if isinstance(e, SequenceStart)]
    after = [e.length for e in again if isinstance(e, SequenceStart)]
    assert before[0] == after[0]  # Dose Reference Sequence: untouched
    outer = [a - b for a, b in zip(after, before, strict=True) if a != b]
    assert 18 - 14 in outer  # BeamSequence: +18 and -14
    assert -14 in outer  # ControlPointSequence: -14
    assert UNDEFINED_LENGTH not in after


def test_small_buffer_switches_to_undefined_length() -> None:
    events, _ = _edited_rtplan()
    repaired = Encoder().send_all(events)
    out = Encoder(max_buffer=256).send_all(events)
    again = feed([out])
    starts = {e.tag: e for e in again if isinstance(e, SequenceStart) and not e.path}
    assert starts[BEAM_SEQUENCE].length == UNDEFINED_LENGTH
    ends = [e for e in again if isinstance(e, SequenceEnd) and e.tag == BEAM_SEQUENCE]
    assert ends[0].delimited
    # Small containers still fit and keep a (repaired) defined length.
    assert any(e.length != UNDEFINED_LENGTH for e in again if isinstance(e, ItemStart))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert _read(out) == _read(repaired)
    if _DCMDUMP is not None:
        result = subprocess.run([_DCMDUMP, "-"], input=out, capture_output=True, timeout=60,
                                check=False)
        assert result.returncode == 0


def test_unchanged_events_keep_defined_lengths_within_the_buffer() -> None:
    events = corpus_events(RTPLAN)
    assert Encoder(max_buffer=1 << 20).send_all(events) == read_bytes(RTPLAN)


def test_meta_group_length_is_recomputed() -> None:
    events = list(corpus_events(RTPLAN))
    uid = b"1.2.3.4.5.6.7.8.9.10.11.12.13.14\x00"
    uid += b"\x00" * (len(uid) & 1)
    i = next(i for i, e in enumerate(events) if isinstance(e, Element) and e.tag == 0x00020003)
    old = events[i]
    assert isinstance(old, Element)
    events[i] = old._replace(value=uid, length=len(uid))
    out = Encoder().send_all(events)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        meta = _read(out).file_meta
    assert meta.MediaStorageSOPInstanceUID == uid.rstrip(b"\x00").decode()
    assert meta.FileMetaInformationGroupLength == 156 + len(uid) - old.length
    assert _read(out).SOPInstanceUID == _read(read_bytes(RTPLAN)).SOPInstanceUID


# --------------------------------------------------------------------------- misuse

_START = DatasetStart(EXPLICIT_VR_LITTLE_ENDIAN.uid, 0, False)
_NAME = Element(0x00100010, "PN", 4, b"Doe ")


def _encode(events: list[Event]) -> bytes:
    return Encoder().send_all(events)


@pytest.mark.parametrize(("events", "match"), [
    pytest.param([_NAME], "before DatasetStart", id="element-before-dataset-start"),
    pytest.param([_START, ItemStart(0, UNDEFINED_LENGTH)], "item outside a sequence",
                 id="item-outside-sequence"),
    pytest.param([_START, ValueEnd(0x7FE00010)], "ValueEnd outside a value",
                 id="value-end-without-start"),
    pytest.param([_START, ValueChunk(b"x")], "ValueChunk outside a value",
                 id="chunk-without-start"),
    pytest.param([_START, ValueStart(0x7FE00010, "OW", 10), ValueChunk(b"x" * 12)],
                 "exceed the declared", id="chunks-longer-than-declared"),
    pytest.param([_START, ValueStart(0x7FE00010, "OW", 10), ValueChunk(b"x" * 4),
                   ValueEnd(0x7FE00010)], "declared length", id="chunks-shorter-than-declared"),
    pytest.param([_START, ValueStart(0x7FE00010, "OW", 10), ValueStart(0x7FE00010, "OW", 2)],
                 "inside another value", id="value-inside-value"),
    pytest.param([_START, SequenceStart(0x00081140, "SQ", UNDEFINED_LENGTH), _NAME],
                 "directly inside a sequence", id="element-directly-in-sequence"),
    pytest.param([_START, SequenceStart(0x00081140, "SQ", UNDEFINED_LENGTH),
                  ItemStart(0, UNDEFINED_LENGTH), SequenceEnd(0x00081140, True)],
                 "does not match", id="sequence-end-inside-item"),
    pytest.param([_START, SequenceStart(0x00081140, "SQ", UNDEFINED_LENGTH), DatasetEnd(0)],
                 "still open", id="dataset-end-with-open-sequence"),
    pytest.param([_START, Fragment(0, 0, b"")], "outside encapsulated",
                 id="fragment-outside-pixel-data"),
    pytest.param([_START, _START], "twice", id="dataset-start-twice"),
    pytest.param([_START, Element(0x00100010, "XX", 2, b"ab")], "cannot write VR",
                 id="unknown-vr"),
    pytest.param([_START, Element(0x00100010, "PN", 70000, b"a" * 70000)], "too long",
                 id="value-too-long-for-short-vr"),
])
def test_misuse_raises_encode_error(events: list[Event], match: str) -> None:
    with pytest.raises(EncodeError, match=match):
        _encode(events)


def test_retarget_to_unknown_syntax_is_refused() -> None:
    with pytest.raises((EncodeError, KeyError, ValueError)):
        Encoder("1.2.3.4.not.a.syntax").send_all(corpus_events(RTPLAN))


def test_targets_cover_every_uncompressed_syntax() -> None:
    assert {ts.uid for ts in TARGETS.values()} == {
        ts.uid for ts in UNCOMPRESSED_TRANSFER_SYNTAXES}
    assert all(isinstance(ts, TransferSyntax) for ts in TARGETS.values())
    assert sum(1 for e in corpus_events(RTPLAN) if isinstance(e, ItemEnd)) > 5
