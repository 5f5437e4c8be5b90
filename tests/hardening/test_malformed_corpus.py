"""The malformed-input corpus (``scripts/malformed_corpus.py``) as a test.

Why: the parser promises that bad input raises a typed error with an offset and a tag
path, and that truncated input is never accepted silently (DESIGN.md §1). The script
derives several hundred malformed inputs from the real corpus, each with the outcome its
generator declares from the original's structure, and runs each in four parser modes,
whole, in random splits and byte by byte. This test runs the full set for one seed and
asserts what the script's exit status stands for; the focused tests below pin each kind
of failure the corpus has found to a minimal input (see their docstrings).
"""

from __future__ import annotations

import struct
import sys
import zlib
from pathlib import Path
from typing import TYPE_CHECKING

import hostile_files as hostile
import pytest

from dicomstream.errors import ParseError

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

import malformed_corpus as mc  # noqa: E402

if TYPE_CHECKING:
    from collections.abc import Sequence

    from dicomstream.events import Event

SEED = 0


@pytest.fixture(scope="module")
def results() -> list[mc.CaseResult]:
    return mc.run_cases(mc.generate_cases(SEED), SEED)


def _failures(results: Sequence[mc.CaseResult], category: str) -> list[str]:
    return [f"{res.case.id} [{run.mode}]: {run.outcome}: {run.detail}"
            for res in results for run in res.runs if run.category == category]


def test_hundreds_of_cases_of_every_kind(results: list[mc.CaseResult]) -> None:
    kinds = {res.case.kind for res in results}
    assert len(results) >= 200
    assert {"truncate", "truncate-deflate", "bitflip-header", "length-off-by-one",
            "vr-garbled", "delimiter-missing", "delimiter-duplicated", "meta-group-length",
            "value-bitflip (control)", "hostile (tests/hostile_files.py)"} <= kinds
    subs = {res.case.sub for res in results if res.case.kind == "truncate"}
    assert {"preamble", "meta-header", "meta-value", "header", "value", "pixel",
            "inner-boundary", "delimiter", "boundary"} <= subs
    assert all(len(res.runs) == len(mc.MODES) for res in results)


def test_no_unexpected_exceptions(results: list[mc.CaseResult]) -> None:
    assert _failures(results, "unexpected-exception") == []


def test_no_silent_truncations(results: list[mc.CaseResult]) -> None:
    assert _failures(results, "SILENT-TRUNCATION") == []


def test_no_unexpected_outcomes(results: list[mc.CaseResult]) -> None:
    assert _failures(results, "unexpected-outcome") == []


def test_typed_errors_carry_offset_and_path(results: list[mc.CaseResult]) -> None:
    errors = [run.error for res in results for run in res.runs
              if run.category == "typed-error"]
    assert len(errors) > 500
    for error in errors:
        assert error is not None
        assert isinstance(error["offset"], int) and error["offset"] >= 0, error
        assert isinstance(error["path"], str), error
        assert f"at offset {error['offset']}" in error["message"], error
    assert any(" > " in error["path"] for error in errors if error is not None)


def test_report_and_json(results: list[mc.CaseResult], tmp_path: Path,
                         capsys: pytest.CaptureFixture[str]) -> None:
    summary = mc.summarize(results)
    mc.print_report(summary, results[:3], verbose=True, seed=SEED, seconds=0.0)
    out = capsys.readouterr().out
    assert "SILENT-TRUNC" in out and "truncate" in out
    assert summary["runs"] == sum(summary["totals"].values())
    document = mc.to_json(summary, results, SEED)
    assert len(document["cases"]) == len(results)


def test_deterministic_by_seed() -> None:
    first = [(c.id, c.data) for c in mc.generate_cases(7)]
    assert first == [(c.id, c.data) for c in mc.generate_cases(7)]
    assert first != [(c.id, c.data) for c in mc.generate_cases(8)]


# --------------------------------------------------------------------------- repros
# Minimal inputs for each kind of failure the corpus found. Each asserts the correct
# behaviour: a ParseError, or (where the input is tolerable) success with a
# DicomStreamWarning; never a silent success.


def _outcome(data: bytes, **options: object) -> tuple[list[Event], list[str], Exception | None]:
    outcome = mc.feed(data, dict(options))
    return outcome.events, outcome.warnings, outcome.error


def _assert_not_silent(data: bytes, *, warning_allowed: bool = True) -> None:
    events, warned, error = _outcome(data)
    if error is not None:
        assert isinstance(error, ParseError), repr(error)
        return
    assert warning_allowed and warned, (
        f"parsed silently: {len(events)} events, last {events[-1] if events else None}")


def _deflated(dataset: bytes) -> tuple[bytes, int]:
    body = zlib.compressobj(6, zlib.DEFLATED, -15)
    stream = body.compress(dataset) + body.flush()
    data = hostile.part10(stream, hostile.DEFLATED_EXPLICIT_VR_LE)
    return data, len(data) - len(stream)


_DATASET = hostile.element(0x00100010, "PN", "Doe^John") + hostile.element(
    0x00100020, "LO", "123456")


_LONG_DATASET = b"".join(hostile.element(0x00100010 + i, "LO", f"value number {i} of many")
                         for i in range(0, 200, 2))


@pytest.mark.parametrize("cut", ["last byte", "first 64 bytes", "everything"])
def test_deflate_stream_cut_short_is_an_error(cut: str) -> None:
    """A deflated dataset whose deflate stream is cut short parses as complete whenever
    what inflated so far ends between two elements: without the last byte of the stream
    (the end of its final block); after the first 64 bytes of a 479-byte stream (its
    Huffman tables: nothing inflated yet, so an *empty* dataset); with nothing after the
    meta group at all."""
    data, start = _deflated(_DATASET if cut == "last byte" else _LONG_DATASET)
    end = {"last byte": len(data) - 1, "first 64 bytes": start + 64,
           "everything": start}[cut]
    _assert_not_silent(data[:end], warning_allowed=False)


@pytest.mark.parametrize("cut", [158, 192])
def test_meta_group_cut_between_elements_is_truncated(cut: int) -> None:
    """A file cut between two meta elements, before the end its (0002,0000) group length
    declares, parses as a complete file with an empty dataset."""
    data = hostile.part10(_DATASET)
    assert struct.unpack_from("<L", data, 140)[0] + 144 > cut
    _assert_not_silent(data[:cut], warning_allowed=False)


@pytest.mark.parametrize("size", [8, 64, 128])
def test_zero_bytes_are_not_a_dataset(size: int) -> None:
    """Zeros (a preamble cut before DICM) parse as a raw implicit VR dataset of repeated
    empty (0000,0000) elements; a command group element never starts a stored dataset."""
    _assert_not_silent(bytes(size), warning_allowed=False)


def test_unrecognisable_dataset_after_meta_is_an_error() -> None:
    """After a meta group without (0002,0010), a first dataset header whose syntax cannot
    be detected makes the parser wait for more input forever: at the end of input it
    gives neither DatasetStart nor an error."""
    meta = hostile.element(0x00020001, "OB", b"\x00\x01")
    data = (b"\0" * 128 + b"DICM" + hostile.element(0x00020000, "UL",
            struct.pack("<L", len(meta))) + meta + hostile.element(0x08080010, "LO", "x"))
    _assert_not_silent(data, warning_allowed=False)


def _sequence(item_length: int, seq_length: int = hostile.UNDEFINED,
              delimiter: bytes = hostile.element_header(hostile.ITEM_DELIMITER, "", 0)) -> bytes:
    content = hostile.element(0x00081150, "UI", "1.2.3")
    return hostile.part10(
        hostile.element_header(0x00081140, "SQ", seq_length)
        + hostile.element_header(hostile.ITEM, "", item_length) + content + delimiter
        + hostile.element_header(hostile.SEQUENCE_DELIMITER, "", 0))


@pytest.mark.parametrize("container", ["item", "sequence"])
def test_delimiter_inside_defined_length_container(container: str) -> None:
    """An item (sequence) with a defined length of 1000 bytes, closed after 14 bytes by an
    item (sequence) delimiter, parses silently as ItemStart(length=1000) … ItemEnd(
    delimited=True), which re-encodes to other bytes (pydicom and dcmtk read by length)."""
    if container == "item":
        data = _sequence(1000)
    else:
        data = _sequence(hostile.UNDEFINED, seq_length=1000)
    _assert_not_silent(data)


def test_nonzero_delimiter_length() -> None:
    """An item delimiter whose length is 4, not 0 (PS3.5 7.5.2): accepted silently and
    lost from the events (the event-by-event re-encoding writes 0)."""
    data = _sequence(hostile.UNDEFINED, delimiter=struct.pack("<HHL", 0xFFFE, 0xE00D, 4))
    _assert_not_silent(data)


def test_meta_element_in_implicit_vr() -> None:
    """A meta element whose VR bytes name no VR is read as implicit VR (as some writers
    put it) without a warning, and the events re-encode it in explicit VR: reading it is
    fine, silently changing it is not."""
    data = bytearray(hostile.part10(_DATASET))
    data[158 + 4:158 + 8] = struct.pack("<L", struct.unpack_from("<H", data, 164)[0])
    _assert_not_silent(bytes(data))
