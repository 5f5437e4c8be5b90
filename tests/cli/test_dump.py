"""``dicomstream dump``: pydicom's layout, JSON events, stdin, and streaming big files.

The text layout is pydicom's: each top-level, non-sequence element prints as pydicom's
``str(elem)`` — up to the tag spelling (pydicom 3 prints ``(300A,0182)``, dump prints
pydicom 2's ``(300a, 0182)``), the VR as written where pydicom re-types a ``UN`` element,
and pydicom's own quirks in naming private group lengths and creators (see
:func:`explained`). Nothing else may differ.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import warnings
from typing import TYPE_CHECKING, Any

import pydicom
import pytest
from corpus import PARSEABLE_IDS, corpus_events, path_of

from dicomstream.cli import main
from dicomstream.events import Element, ValueStart

if TYPE_CHECKING:
    from pathlib import Path

    from pydicom.dataelem import DataElement

_TAG = re.compile(r"^\(([0-9a-f]{4}), ([0-9a-f]{4})\)")
_VR_AT = 48  # column of the VR in a pydicom line: "(gggg,eeee) " + 35-char name + " "


def run_dump(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    """``dicomstream dump ARGS`` in this process; returns stdout (exit status must be 0)."""
    assert main(["dump", *args]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    return out


def our_top_level_lines(output: str) -> dict[str, str]:
    """Top-level element lines of dump's text output, tag respelled as pydicom 3 does,
    keyed by that tag (the first line of each tag)."""
    lines: dict[str, str] = {}
    for line in output.splitlines():
        match = _TAG.match(line)
        if match:
            spelled = f"({match.group(1).upper()},{match.group(2).upper()})"
            lines.setdefault(spelled, spelled + line[match.end():])
    return lines


def pydicom_lines(name: str) -> list[tuple[DataElement, str]]:
    """pydicom's ``str(elem)`` for each top-level non-sequence element (meta first)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydicom's remarks on the values it decodes
        ds = pydicom.dcmread(path_of(name), force=True)
        elems = [*ds.file_meta, *ds]
        return [(e, str(e)) for e in elems if e.VR != "SQ"]


def _written_vr(name: str, tag: int) -> str | None:
    """The VR of top-level element ``tag`` as our parser read it (as written)."""
    return next((e.vr for e in corpus_events(name)
                 if isinstance(e, Element | ValueStart) and e.tag == tag and not e.path), None)


def explained(name: str, elem: DataElement, ours: str, theirs: str) -> str | None:
    """Why ``ours`` may differ from pydicom's line ``theirs``, or None."""
    tag = int(elem.tag)
    if _written_vr(name, tag) == "UN" and ours[_VR_AT:].startswith("UN:") and elem.VR != "UN":
        return "written as UN: dump shows the VR as written (as dcmdump does); pydicom " \
            "re-types it from its dictionaries (replace_un_with_known_vr)"
    if tag >> 16 & 1 and tag & 0xFFFF < 0x100 and ours[12:47] != theirs[12:47] \
            and ours[47:] == theirs[47:]:
        return "pydicom names private group lengths 'Private Creator' and creators it has " \
            "no entry for 'Private tag data'; dump names them by what they are"
    return None


@pytest.mark.parametrize("name", PARSEABLE_IDS)
def test_dump_lines_match_pydicom(capsys: pytest.CaptureFixture[str], name: str) -> None:
    ours = our_top_level_lines(run_dump(capsys, str(path_of(name))))
    unexplained: list[tuple[str | None, str]] = []
    compared = 0
    for elem, theirs in pydicom_lines(name):
        line = ours.get(theirs[:11])
        compared += 1
        if line == theirs:
            continue
        if line is not None and explained(name, elem, line, theirs):
            continue
        unexplained.append((line, theirs))
    assert compared > 0
    assert unexplained == []


@pytest.mark.parametrize(("name", "tag"), [
    pytest.param("test_files/MR_small.dcm", 0x00101020, id="empty-DS"),
    pytest.param("test_files/reportsi_with_empty_number_tags.dcm", 0x00189219, id="empty-SS"),
    pytest.param("charset_files/chrFrenMulti.dcm", 0x00101001, id="multi-valued-PN"),
    pytest.param("test_files/rtdose.dcm", 0x00280009, id="AT"),
    pytest.param("test_files/JPEG2000.dcm", 0x00280009, id="multi-valued-AT"),
])
def test_values_pydicom_prints_its_own_way(capsys: pytest.CaptureFixture[str], name: str,
                                           tag: int) -> None:
    """Cases dump once printed differently (empty numbers as nothing instead of None,
    person names quoted in lists, AT values as ints): now exactly pydicom's line."""
    ours = our_top_level_lines(run_dump(capsys, str(path_of(name))))
    theirs = dict((int(e.tag), line) for e, line in pydicom_lines(name))[tag]
    assert ours[theirs[:11]] == theirs


def test_rtplan_dump_matches_pydicom_exactly(capsys: pytest.CaptureFixture[str]) -> None:
    """The seed file: every top-level line equal to pydicom's, no exception needed."""
    name = "test_files/rtplan.dcm"
    ours = our_top_level_lines(run_dump(capsys, str(path_of(name))))
    theirs = pydicom_lines(name)
    assert len(theirs) > 30
    assert [ours.get(line[:11]) for _, line in theirs] == [line for _, line in theirs]


# --------------------------------------------------------------------------- --json


@pytest.mark.parametrize("name", ["test_files/rtplan.dcm", "test_files/image_dfl.dcm",
                                  "test_files/waveform_ecg.dcm", "test_files/JPEG2000.dcm",
                                  "test_files/UN_sequence.dcm", "test_files/ExplVR_BigEnd.dcm"])
def test_json_is_one_object_per_event(capsys: pytest.CaptureFixture[str], name: str) -> None:
    lines = run_dump(capsys, "--json", str(path_of(name))).splitlines()
    events = corpus_events(name)
    assert len(lines) == len(events)
    objects = [json.loads(line) for line in lines]
    assert all(isinstance(o, dict) for o in objects)
    assert [o["event"] for o in objects] == [type(e).__name__ for e in events]
    assert [o.get("offset") for o in objects] == [getattr(e, "offset", None) for e in events]


def test_cli_subprocess_json_and_stdin(tmp_path: Path) -> None:
    """The real command: ``dump --json FILE`` and ``dump --json -`` print the same lines."""
    path = path_of("test_files/rtplan.dcm")
    command = [sys.executable, "-m", "dicomstream", "dump", "--json"]
    by_path = subprocess.run([*command, str(path)], capture_output=True, timeout=60,
                             check=False)
    with path.open("rb") as stdin:
        by_stdin = subprocess.run([*command, "-"], stdin=stdin, capture_output=True,
                                  timeout=60, check=False)
    assert by_path.returncode == 0 and by_stdin.returncode == 0
    assert by_path.stderr == by_stdin.stderr == b""
    assert by_stdin.stdout == by_path.stdout
    assert len(by_path.stdout.splitlines()) == len(corpus_events("test_files/rtplan.dcm"))


def test_text_dump_from_stdin(capsys: pytest.CaptureFixture[str],
                              monkeypatch: pytest.MonkeyPatch) -> None:
    path = path_of("test_files/CT_small.dcm")
    expected = run_dump(capsys, str(path))

    class _Stdin:
        buffer: Any = None

    fake = _Stdin()
    with path.open("rb") as stream:
        fake.buffer = stream
        monkeypatch.setattr(sys, "stdin", fake)
        assert run_dump(capsys, "-") == expected


# --------------------------------------------------------------------------- big files


def _peak_rss(pid: int) -> int | None:
    """VmHWM of a running process (its peak resident memory since exec), in bytes.

    Not ``ru_maxrss`` from ``wait4``/``RUSAGE_CHILDREN``: Linux carries the parent's peak
    over into a child at exec, so a child of a 150 MiB pytest process reports 150 MiB.
    """
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def test_big_file_streams(tmp_path: Path) -> None:
    """A 200 MiB multi-frame file: the first JSON line comes at once, while the dump has
    read only a few MiB of it (it then blocks on the full pipe: backpressure), and the
    whole run stays far below the file's size in memory."""
    from benchmarks._generate import write_multiframe

    path = write_multiframe(tmp_path / "big.dcm", 200 << 20)
    size = path.stat().st_size
    assert size >= 200 << 20
    started = time.perf_counter()
    peaks: list[int] = []
    with subprocess.Popen([sys.executable, "-m", "dicomstream", "dump", "--json", str(path)],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        try:
            first = proc.stdout.readline()
            first_after = time.perf_counter() - started
            assert json.loads(first)["event"] == "Preamble"
            time.sleep(0.5)  # let it run into the full pipe
            io_path = f"/proc/{proc.pid}/io"
            if os.path.exists(io_path):  # Linux: bytes read so far, Python start-up included
                with open(io_path) as stats:
                    read = int(next(ln for ln in stats if ln.startswith("rchar:")).split()[1])
                assert read < size // 4, f"read {read} of {size} bytes before the first line"
            count = 1
            last = ""
            for line in proc.stdout:
                count += 1
                last = line.decode()
                if count % 250 == 0:
                    peak = _peak_rss(proc.pid)
                    if peak is not None:
                        peaks.append(peak)
            errors = proc.stderr.read()
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == 0
    assert errors == b""
    assert json.loads(last)["event"] == "DatasetEnd"
    assert first_after < 10
    assert count > 1000
    if os.path.exists("/proc/self/status"):
        assert len(peaks) > 5
        assert max(peaks) < 100 << 20, f"peak {max(peaks) >> 20} MiB"


def test_local_dump_runs_without_an_event_loop() -> None:
    """A dump of a local file or stdin (often interactive) needs no asyncio: it starts
    in about half the time."""
    code = ("import sys, io, contextlib\n"
            "from dicomstream.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
            "    status = main(['dump', sys.argv[1]])\n"
            "print(status, len(out.getvalue().splitlines()), sorted(m for m in sys.modules\n"
            "      if m.split('.')[0] in ('asyncio', 'anyio')))\n")
    path = path_of("test_files/rtplan.dcm")
    done = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True,
                          text=True, check=True)
    status, lines, loaded = done.stdout.split(" ", 2)
    assert (status, loaded.strip()) == ("0", "[]") and int(lines) > 100
