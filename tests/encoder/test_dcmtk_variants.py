"""Encodings written by dcmtk round-trip byte for byte through parser and encoder.

dcmtk's ``dcmconv`` rewrites a representative subset of the corpus in every uncompressed
transfer syntax, with defined and undefined sequence/item lengths, with group length
elements and with trailing/item padding. Each variant must re-encode to its exact bytes
(the deflated one to the same inflated dataset, which pydicom reads equal).
"""

from __future__ import annotations

import io
import subprocess
import warnings
import zlib
from typing import TYPE_CHECKING, Any

import pydicom
import pytest
from corpus import corpus_events, feed, path_of, uncompressed_ids

from dicomstream.encoder import Encoder
from dicomstream.events import (
    UNDEFINED_LENGTH,
    DatasetStart,
    Element,
    FragmentsStart,
    ItemStart,
    SequenceStart,
)
from dicomstream.transfer_syntax import (
    DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
    EXPLICIT_VR_BIG_ENDIAN,
    EXPLICIT_VR_LITTLE_ENDIAN,
    IMPLICIT_VR_LITTLE_ENDIAN,
    lookup_transfer_syntax,
)

if TYPE_CHECKING:
    from pathlib import Path

    from dicomstream.events import Event

pytestmark = pytest.mark.dcmtk

SUBSET = [
    "test_files/rtplan.dcm",  # implicit VR, nested defined-length sequences
    "test_files/rtstruct.dcm",  # many sequences, Specific Character Set
    "test_files/rtdose.dcm",  # multi-frame, sequences
    "test_files/rtdose_expb.dcm",  # big endian source
    "test_files/CT_small.dcm",  # private tags (GE), explicit VR LE
    "test_files/MR_small.dcm",
    "test_files/MR_small_implicit.dcm",
    "test_files/MR_small_bigendian.dcm",  # big endian source
    "test_files/ExplVR_BigEnd.dcm",  # big endian source
    "test_files/ExplVR_BigEndNoMeta.dcm",  # big endian, no file meta
    "test_files/ExplVR_LitEndNoMeta.dcm",  # no file meta
    "test_files/priv_SQ.dcm",  # private sequence (implicit VR)
    "test_files/nested_priv_SQ.dcm",  # private sequences nested
    "test_files/UN_sequence.dcm",  # sequence written as UN (CP-246)
    "test_files/test-SR.dcm",  # deep structured report
    "test_files/reportsi.dcm",
    "test_files/waveform_ecg.dcm",  # waveform data, large values
    "test_files/examples_overlay.dcm",  # overlay data
    "test_files/image_dfl.dcm",  # deflated source
    "test_files/SC_rgb_small_odd_big_endian.dcm",  # odd-sized pixel data, big endian
    "test_files/dicomdirtests/DICOMDIR",  # directory records, offsets
    "test_files/dicomdirtests/DICOMDIR-bigEnd",
    "test_files/dicomdirtests/DICOMDIR-implicit",
    "test_files/dicomdirtests/77654033/CT2/17106",  # no file extension
    "charset_files/chrSQEncoding.dcm",  # charset inside sequences
    "charset_files/chrJapMulti.dcm",
    "palettes/hotiron.dcm",  # palette LUT data
]
"""A deterministic subset: all 150 uncompressed files x 10 variants take ~65 s."""

VARIANTS: dict[str, list[str]] = {
    "implicit": ["+ti"],
    "explicit": ["+te"],
    "big-endian": ["+tb"],
    "deflated": ["+td"],
    "defined-lengths": ["+e"],
    "undefined-lengths": ["-e"],
    "group-lengths": ["+g"],
    "big-undefined-group-lengths": ["+tb", "-e", "+g"],
    "implicit-undefined": ["+ti", "-e"],
    "padding": ["+p", "256", "16"],
}
"""dcmconv options per variant (see ``dcmconv --help``)."""

_SYNTAX = {"+ti": IMPLICIT_VR_LITTLE_ENDIAN.uid, "+te": EXPLICIT_VR_LITTLE_ENDIAN.uid,
           "+tb": EXPLICIT_VR_BIG_ENDIAN.uid, "+td": DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN.uid}


def _convert(dcmconv: str, source: Path, target: Path, options: list[str]) -> bytes:
    result = subprocess.run([dcmconv, *options, str(source), str(target)],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    return target.read_bytes()


def _inflate(deflated: bytes) -> bytes:
    inflater = zlib.decompressobj(-15)
    out = inflater.decompress(deflated)
    assert inflater.eof
    return out


def _check_variant_is_what_was_asked(options: list[str], events: list[Event]) -> None:
    """The variant really exercises what its options say (else the test proves little)."""
    start = next(e for e in events if isinstance(e, DatasetStart))
    for option, uid in _SYNTAX.items():
        if option in options:
            assert start.transfer_syntax == uid
    lengths = [e.length for e in events if isinstance(e, SequenceStart | ItemStart)]
    if "-e" in options:
        assert all(length == UNDEFINED_LENGTH for length in lengths)
    if "+e" in options:
        assert UNDEFINED_LENGTH not in lengths
    if "+g" in options:
        assert any(isinstance(e, Element) and e.tag & 0xFFFF == 0 and e.tag >> 16 > 2
                   for e in events)
    if "+p" in options:
        assert any(isinstance(e, Element) and e.tag == 0xFFFCFFFC for e in events)


def test_subset_has_no_fragments_and_covers_what_it_claims() -> None:
    """Every file of the subset parses and has native pixel data (if any) — UN_sequence.dcm
    names JPEG Lossless but holds no pixel data, so dcmtk re-encodes it in any syntax."""
    available = set(uncompressed_ids()) | {"test_files/UN_sequence.dcm"}
    assert set(SUBSET) <= available
    assert not any(isinstance(e, FragmentsStart) for e in
                   corpus_events("test_files/UN_sequence.dcm"))
    big = [n for n in SUBSET if any(
        isinstance(e, DatasetStart) and e.transfer_syntax == EXPLICIT_VR_BIG_ENDIAN.uid
        for e in corpus_events(n))]
    assert len(big) >= 4
    with_sequences = [n for n in SUBSET
                      if any(isinstance(e, SequenceStart) for e in corpus_events(n))]
    assert len(with_sequences) >= 12


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("name", SUBSET)
def test_dcmconv_variant_round_trips(dcmconv: str, tmp_path: Path, name: str,
                                     variant: str) -> None:
    options = VARIANTS[variant]
    data = _convert(dcmconv, path_of(name), tmp_path / "variant.dcm", options)
    events = feed([data])
    _check_variant_is_what_was_asked(options, events)
    out = Encoder().send_all(events)
    dataset_start = next(e for e in events if isinstance(e, DatasetStart))
    if not lookup_transfer_syntax(dataset_start.transfer_syntax).deflated:
        assert out == data
        return
    # Deflated: the same dataset, not necessarily the same compressed bytes (and dcmtk
    # 3.6.7 does not add the NUL that PS3.5 A.5 asks for after an odd-length stream).
    start = next(e for e in events if isinstance(e, DatasetStart)).offset
    assert out[:start] == data[:start]
    assert _inflate(out[start:]) == _inflate(data[start:])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydicom's remarks on values it decodes to compare
        theirs: Any = pydicom.dcmread(io.BytesIO(data), force=True)
        ours: Any = pydicom.dcmread(io.BytesIO(out), force=True)
        assert ours == theirs
