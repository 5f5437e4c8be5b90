"""Validity: outputs read in pydicom and in dcmtk's ``dcmdump`` without errors, and
dicom3tools' ``dciodvfy`` reports no error for an output that it did not report for the
input (messages compared with their values — UIDs, names — normalised away).

``scripts/test.sh`` installs dcmtk and dicom3tools; without them these tests skip, saying
so.
"""

from __future__ import annotations

import functools
import warnings
from typing import TYPE_CHECKING

import pydicom
import pytest
from deid_support import (
    DATA_ROOT,
    UNREADABLE,
    corpus,
    dciodvfy_errors,
    dciodvfy_reads,
    dcmdump_problems,
    deid_bytes,
    tool,
    write_study,
)

if TYPE_CHECKING:
    from pathlib import Path

needs_dcmdump = pytest.mark.skipif(tool("dcmdump") is None,
                                   reason="dcmtk's dcmdump is not installed "
                                          "(scripts/test.sh installs it)")
needs_dciodvfy = pytest.mark.skipif(tool("dciodvfy") is None,
                                    reason="dicom3tools' dciodvfy is not installed "
                                           "(scripts/test.sh installs it)")

ALL_OPTIONS = frozenset({"retain-safe-private", "retain-device-identity",
                         "retain-institution-identity", "retain-patient-characteristics",
                         "retain-long-modified-dates", "clean-descriptors",
                         "clean-structured-content", "clean-graphics"})
CORPUS = [name for name in corpus() if name not in UNREADABLE]


def _pydicom_reads(path: Path) -> bool:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = pydicom.dcmread(path, force=True)
            for _ in ds.iterall():
                pass
    except Exception:
        return False
    return True


@functools.cache
def _input_checks(path: Path) -> tuple[bool, tuple[int, list[str]], frozenset[str]]:
    dump = dcmdump_problems(path) if tool("dcmdump") else (0, [])
    errors = frozenset(dciodvfy_errors(path)) if tool("dciodvfy") else frozenset()
    return _pydicom_reads(path), dump, errors


def check_output(source: Path, out: Path) -> None:
    reads, (code, dump_errors), errors = _input_checks(source)
    if reads:
        assert _pydicom_reads(out), "pydicom cannot read the output"
    if tool("dcmdump"):
        out_code, out_errors = dcmdump_problems(out)
        assert out_code == 0 or code != 0, f"dcmdump fails: {out_errors}"
        assert set(out_errors) <= set(dump_errors), f"dcmdump: {out_errors}"
    if tool("dciodvfy") and dciodvfy_reads(source):
        new = dciodvfy_errors(out) - errors
        assert not new, f"dciodvfy reports new errors: {sorted(new)}"


@needs_dcmdump
@needs_dciodvfy
@pytest.mark.parametrize("name", CORPUS)
def test_corpus_output_is_valid(name: str, tmp_path: Path) -> None:
    source = DATA_ROOT / name
    out = tmp_path / "out.dcm"
    out.write_bytes(deid_bytes(source.read_bytes())[0])
    check_output(source, out)


@needs_dcmdump
@needs_dciodvfy
@pytest.mark.parametrize("options", [frozenset(), ALL_OPTIONS,
                                     frozenset({"retain-uids", "retain-long-full-dates"})],
                         ids=["basic", "all-options", "uids-and-dates"])
def test_study_output_is_valid(options: frozenset[str], tmp_path: Path) -> None:
    files = write_study(tmp_path / "in", ct_count=3)
    for paths in files.values():
        for source in paths:
            out = tmp_path / f"out-{source.name}"
            out.write_bytes(deid_bytes(source.read_bytes(), options=options)[0])
            check_output(source, out)
