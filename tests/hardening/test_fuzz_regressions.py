"""The fuzz harnesses' checks, run on the inputs they failed on and on real seeds.

Why: a crash the fuzzer found must stay fixed, and the checks the harnesses make
(``fuzz/_common.py``: only ``DicomStreamError`` escapes, one operation takes at most a
second, events never depend on chunking or on the source size being known, identity
re-encoding, the collector and the ``deid`` stage) must hold on real files too. So every
file in ``fuzz_regressions/`` goes through the check of each of the three targets,
uninstrumented, as does a handful of corpus seeds; a few tests make sure the checks
themselves notice what they are meant to notice.

A regression file is a fuzz input: 16 control bytes (all zero but for the
de-identification options of one file: the payload is fed one byte per chunk, events
pulled batch by batch, default options), then the payload.
:data:`REGRESSIONS` says what each one is about; they were reduced by hand from crashes
of the fuzz runs (see ``fuzz/README.md``).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from corpus import CORPUS_IDS

from fuzz import _common
from fuzz._common import (
    CHECKS,
    CONTROL_LEN,
    MAX_CHUNKS,
    Finding,
    SlowInput,
    corpus_files,
    read_input,
    seed_inputs,
)

HERE = Path(__file__).resolve().parent
REGRESSION_DIR = HERE / "fuzz_regressions"

REGRESSIONS: dict[str, str] = {
    # -- fixed by f45a1b9 (parser/encoder), 3ce6cf8 (collector/deid) and 1691181 --
    "parser-corrupt-deflate-depends-on-chunking.bin":
        "a deflated dataset whose compressed stream is corrupt halfway: the error (its "
        "type, offset and the events before it) depends on how the input is chunked "
        "(whole: InflateError at the dataset's start; byte by byte: InvalidVRError on the "
        "garbage zlib produced before it noticed)",
    "parser-implicit-vr-meta-warning-per-chunk.bin":
        "(0002,0010) written in implicit VR: the warning that says so is issued again "
        "each time a chunk arrives before the element is complete (41 times when fed "
        "byte by byte), so warnings depend on the chunking",
    "parser-short-input-judged-on-first-chunk.bin":
        "a 40-byte input starting with (0002,0010): whole, it is a meta group then a "
        "dataset; fed in chunks whose first is under 4 bytes, a dataset without meta "
        "holding (0002,0010) — Parser._parse_start looks only at _buf (the first chunk) "
        "when the input ends before 132 bytes, the rest still in _pending",
    "roundtrip-reserved-header-bytes-lost.bin":
        "an explicit VR SQ header whose two reserved bytes are 00 01: accepted without a "
        "warning, but the events did not keep them and the re-encoding wrote 00 00 (now "
        "with a warning, which allows the re-encoding to differ)",
    "roundtrip-short-meta-group-length-rewritten.bin":
        "(0002,0000) UL with a 2-byte value: accepted without a warning, but re-encoded "
        "as a 4-byte UL (the fuzzer found it as (0002,0000) written with VR SQ, "
        "swallowing the meta group, re-encoded as UL 0)",
    "roundtrip-meta-group-length-moved-first.bin":
        "file meta (0002,0010) then (0002,0000): accepted without a warning, but the "
        "encoder writes (0002,0000) first (the fuzzer's had (0002,FFFF) first and a "
        "(0002,0000) with VR UI later)",
    "collector-json-invalid-integer-string.bin":
        "(0028,0008) IS '1A': dcmread reads it (with a warning), to_json_dict raises a "
        "plain ValueError",
    "collector-nul-in-character-set.bin":
        "(0008,0005) CS 'A\\0B ': dcmread raises ValueError ('embedded null character') "
        "from codecs.lookup in dicomstream.values._charset._resolve_term, which only "
        "expects LookupError",
    "collector-non-adjacent-duplicate-tags-reordered.bin":
        "(0010,0020) '1', (0010,0030), (0010,0020) '2': save_as of the unchanged dataset "
        "writes (0010,0030) first, then both (0010,0020) — not the input's bytes (the "
        "fuzzer found it in the file meta group: (0002,0002) (0002,0003) (0002,0002))",
    "collector-meta-element-with-vr-sq.bin":
        "(0002,0001) written with VR SQ (value 00 01): the parser gives an Element with "
        "VR SQ, and str() of the dataset raises TypeError ('int' object is not "
        "iterable) in dicomstream.collector._pretty._lines",
    "collector-un-sequence-vr-settled-late.bin":
        "(300C,0002), an SQ in the dictionary, written as UN with bytes that are no "
        "sequence: dcmread and read_dataset gave equal elements, yet the datasets compared "
        "unequal while one had not decoded it yet (VR still SQ, the other already UN); "
        "DataElement.VR and == now settle SQ-or-UN first",
    "deid-non-ascii-time-shift.bin":
        "(0008,0032) TM '173' + three FF bytes, de-identified with "
        "retain-long-modified-dates (control bytes 13-14 select it): the date shift "
        "raises UnicodeEncodeError ('ascii' codec) in dicomstream_deid._transform.shift",
    "deid-private-creator-not-an-element.bin":
        "(0009,0010), a private creator's place, holding an empty SQ, de-identified with "
        "retain-safe-private: AttributeError ('SequenceStart' object has no attribute "
        "'value') in DeidStage._private (also with encapsulated fragments: FragmentsStart)",
    # -- fixed by 0b12f42 (parser fixes from the malformed corpus), found at the same time --
    "parser-no-syntax-after-meta-ends-silently.bin":
        "preamble, DICM, then 8 bytes that are neither meta elements nor a dataset "
        "header: the parser ended without an error, a DatasetStart or a DatasetEnd "
        "(now StructureError)",
    "roundtrip-delimiter-ends-defined-length-item.bin":
        "an item of defined length 100 closed after 12 bytes by an item delimiter: "
        "accepted from a source of unknown size (and re-encoded to other bytes), refused "
        "as LengthExceedsSourceError when the size is known (now StructureError)",
    "roundtrip-delimiter-ends-defined-length-sequence.bin":
        "the same for a sequence: defined length 100, closed after 28 bytes by a "
        "sequence delimiter (the fuzzer's had length FFFFFF00; now StructureError)",
    "roundtrip-delimiter-lengths-lost.bin":
        "an item delimiter with length 01000000 and a sequence delimiter with length 1 "
        "(both must be 0): accepted silently and re-encoded with length 0 (now with a "
        "warning, which allows the re-encoding to differ)",
    # -- an ambiguity of the format, accepted by the check (fuzz/_common.py) --
    "deid-output-dicm-at-offset-128.bin":
        "a headerless RT Plan whose SOP Class UID value holds 'DICM': de-identified, a "
        "longer (0008,0014) moves those bytes to offset 128, and the output then reads "
        "as a preamble + DICM (as in pydicom and dcmtk) and fails to parse; the output "
        "is right, and the check now accepts this case",
    # -- fixed in charset_of (collector/_element.py) --
    "collector-character-set-written-as-at.bin":
        "(0008,0005) written with VR AT (value (3004,000C)) before a PN: once the "
        "dataset's values were decoded, save_as raised TypeError ('int' object is not "
        "iterable) in dicomstream.collector._element.charset_of, which expected text "
        "(the fuzzer's file was 2 KB; reduced by hand)",
    # -- fixed in DataElement.__eq__ and is_unchanged (collector/_element.py) --
    "collector-nan-float-unequal-to-itself.bin":
        "(0027,0010) 'GEMS_IMAG_01' and a private (0027,1045) FL holding a NaN "
        "(00 00 C0 7F): dcmread and read_dataset read the same bytes, but the datasets "
        "compared unequal once dcmread's had decoded it (raw bytes were compared only "
        "while both were undecoded, then the values, and NaN != NaN); == now compares "
        "the raw bytes of unchanged elements even after decoding, and values with NaN "
        "equal to NaN",
    # -- fixed in remap_uids (dicomstream_deid/_transform.py) --
    "deid-non-ascii-registered-uid.bin":
        "a UI value starting with the DICOM root 1.2.840.10008. and holding a non-ASCII "
        "byte (B6), found by the CI's fuzz smoke run: it counted as a registered UID and "
        "was kept, and re-encoding it raised UnicodeEncodeError ('ascii' codec) in "
        "remap_uids; only ASCII values can be registered UIDs now, the rest get their "
        "keyed form (the fuzzer's 4 KB input, kept as found)",
    # -- fixed in EditStage._apply (stages/edit.py) --
    "stages-stale-skip-after-streamed-edit.bin":
        "value threshold 8: PatientName arrives streamed (ValueStart/chunk/ValueEnd); "
        "'edit' replaces it, which starts a skip to its ValueEnd, and then replaces "
        "PatientID, an Element — but _apply left the skip flag of the first edit on "
        "the stage, the walk read it back after the second and skipped the next "
        "streamed value, StudyInstanceUID, to its end: an element lost (also before "
        "this session's fast paths; found by the new 'stages' target within 34 runs)",
}
"""Regression files → what went wrong on them."""

SEEDS = (
    "test_files/CT_small.dcm",             # explicit VR little endian, pixel data
    "test_files/MR_small_bigendian.dcm",   # explicit VR big endian
    "test_files/image_dfl.dcm",            # deflated: equal dataset, not equal bytes
    "test_files/rtplan.dcm",               # nested sequences
    "test_files/JPEG2000.dcm",             # encapsulated pixel data
    "test_files/SC_rgb_jpeg.dcm",          # read with a warning (implicit VR body)
    "test_files/MR_truncated.dcm",         # a parse error
    "charset_files/chrH31.dcm",            # Japanese character sets
    "test_files/dicomdirtests/DICOMDIR",   # directory records
)
"""Corpus files that go through every check as seeds (control bytes from their names)."""


def _regression_files() -> list[Path]:
    return sorted(REGRESSION_DIR.glob("*.bin"))


def test_regression_files_are_documented() -> None:
    names = {p.name for p in _regression_files()}
    assert names == set(REGRESSIONS)
    for path in _regression_files():
        assert path.stat().st_size <= 64 * 1024  # small binary files only


@pytest.mark.parametrize("target", sorted(CHECKS))
@pytest.mark.parametrize("name", sorted(REGRESSIONS))
def test_regression(name: str, target: str) -> None:
    """Each saved crasher passes the check of every target."""
    CHECKS[target]((REGRESSION_DIR / name).read_bytes())


@pytest.fixture(scope="module")
def seeds() -> dict[str, bytes]:
    wanted = {name.replace("/", "__") for name in SEEDS}
    return {name: data for name, data in seed_inputs() if name in wanted}


@pytest.mark.parametrize("target", sorted(CHECKS))
@pytest.mark.parametrize("name", SEEDS)
def test_seed(seeds: dict[str, bytes], name: str, target: str) -> None:
    """Real files pass every check, chunked as the seed's control bytes say."""
    CHECKS[target](seeds[name.replace("/", "__")])


def test_seeds_are_the_test_corpus() -> None:
    """The fuzzers start from exactly the files the tests call the corpus."""
    assert [name for name, _path in corpus_files()] == CORPUS_IDS
    assert set(SEEDS) <= set(CORPUS_IDS)


def test_seeds_are_capped() -> None:
    seeds = seed_inputs(max_len=4096)
    assert len(seeds) == len(CORPUS_IDS)
    assert all(CONTROL_LEN < len(data) <= 4096 for _name, data in seeds)


@pytest.mark.parametrize("data", [b"", bytes(CONTROL_LEN), bytes(range(256)) * 40,
                                  b"\xff" * CONTROL_LEN + b"x" * 100_000])
def test_plans_cut_the_whole_payload(data: bytes) -> None:
    plan, payload = read_input(data)
    chunks = plan.chunks(payload)
    assert b"".join(chunks) == payload
    assert all(chunks) and len(chunks) <= MAX_CHUNKS
    assert read_input(data) == (plan, payload)  # deterministic


def test_control_bytes_choose_the_options() -> None:
    plan, _ = read_input(bytes(CONTROL_LEN))
    assert (plan.pull, plan.parser_options, plan.sizes[0]) == ("events", {}, 1)
    # FuzzedDataProvider takes integers from the end: the flags are the last byte.
    plan, _ = read_input(bytes(CONTROL_LEN - 1) + bytes([4 | 8 | 1]))
    assert plan.pull == "next_event"
    assert plan.parser_options["lenient"] is True
    assert "value_threshold" in plan.parser_options


def test_slow_operations_are_findings() -> None:
    with pytest.raises(SlowInput, match="took"):
        _common._timed("sleeping", 0.01, lambda: time.sleep(0.05))
    assert _common._timed("quick", 1.0, lambda: 42) == 42


def test_checks_notice_a_wrong_encoding(monkeypatch: pytest.MonkeyPatch) -> None:
    """An encoder that loses a byte is a finding of the round-trip check."""
    data = dict(seed_inputs())["test_files__CT_small.dcm"]
    real = _common.encode
    monkeypatch.setattr(_common, "encode", lambda batches, **kw: real(batches, **kw)[:-1])
    with pytest.raises(Finding, match="differ"):
        _common.check_roundtrip(data)


def test_checks_notice_chunk_dependence(monkeypatch: pytest.MonkeyPatch) -> None:
    """A parser whose events depend on the chunking is a finding of the parser check."""
    data = bytes(CONTROL_LEN) + dict(corpus_files())["test_files/rtplan.dcm"].read_bytes()
    real = _common.parse

    def parse(chunks: list[bytes], **options: Any) -> _common.Parsed:
        parsed = real(chunks, **options)
        if len(chunks) > 1:
            parsed.batches = parsed.batches[:-1]
        return parsed

    monkeypatch.setattr(_common, "parse", parse)
    with pytest.raises(Finding, match="events differ"):
        _common.check_parser(data)


def test_only_dicomstream_errors_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    """A foreign exception inside dicomstream is not swallowed by a check."""
    data = dict(seed_inputs())["test_files__CT_small.dcm"]

    def broken(*args: object, **kwargs: object) -> None:
        raise KeyError("boom")

    monkeypatch.setattr(_common, "dcmread", broken)
    with pytest.raises(KeyError):
        _common.check_collector_deid(data)
