"""Data as an attacker: values that become file names never leave the output root.

Real corpus files get hostile SOP Instance UIDs, Patient IDs and Referenced File IDs
(``../../etc/passwd``, absolute paths, backslashes, NUL, 600 characters, U+2215 and
fullwidth solidus, ``.``/``..``, ``CON``), then the real command line names its outputs
after them with ``--name-template``. Every output must resolve under DST, a sibling
``outside`` folder (also the target of a symlink planted inside DST) must stay empty,
and every input must end as an output or a report failure line. Then the naming
functions one by one, collisions, resuming and the sink's clean-up.
"""

from __future__ import annotations

import functools
import io
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import pydicom
import pytest
from corpus import DATA_ROOT
from pydicom.datadict import dictionary_VR, tag_for_keyword
from pydicom.dataelem import RawDataElement
from pydicom.multival import MultiValue
from pydicom.tag import Tag

from dicomstream.errors import SinkError
from dicomstream.io import BytesSource
from dicomstream.io.templated import (
    MAX_SUFFIX,
    TemplatedFileSink,
    place_without_overwrite,
)
from dicomstream.naming import (
    EMPTY_VALUE,
    MAX_COMPONENT_BYTES,
    NameCaptureStage,
    file_id_parts,
    parse_template,
    referenced_file_path,
    safe_join,
    sanitize_component,
    sanitize_value,
)
from dicomstream.pipeline import rewrite
from dicomstream.stages import EditStage

if TYPE_CHECKING:
    from collections.abc import Iterator

REPO = Path(__file__).resolve().parents[2]
CT = DATA_ROOT / "test_files" / "CT_small.dcm"
MR = DATA_ROOT / "test_files" / "MR_small.dcm"
WINDOWS_DEVICES = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(10)),
                   *(f"LPT{i}" for i in range(10))}

HOSTILE: dict[str, dict[str, Any]] = {
    "traversal": {"SOPInstanceUID": "../../etc/passwd", "PatientID": "../../../outside",
                  "ReferencedFileID": ["..", "..", "outside"]},
    "absolute": {"SOPInstanceUID": "/etc/passwd", "PatientID": "/tmp/x",
                 "ReferencedFileID": ["/", "etc", "passwd"]},
    "backslash": {"SOPInstanceUID": "..\\..\\x", "PatientID": "..\\..\\outside",
                  "ReferencedFileID": ["..\\..", "x"]},
    "nul": {"SOPInstanceUID": "1.2\x00/../../x", "PatientID": "a\x00b/../../outside",
            "ReferencedFileID": ["A\x00/", ".."]},
    "long": {"SOPInstanceUID": "1." * 300 + "9", "PatientID": "P" * 5000,
             "ReferencedFileID": ["D" * 300] * 12},
    "unicode": {"SOPInstanceUID": "..\u2215..\u2215outside", "SpecificCharacterSet": "ISO_IR 192",
                "PatientID": "\uff0e\uff0e\uff0f\uff0e\uff0e\uff0foutside",
                "ReferencedFileID": ["\u2024\u2024", "outside"]},
    "dots": {"SOPInstanceUID": "..", "PatientID": ".", "ReferencedFileID": [".", ".."]},
    "windows": {"SOPInstanceUID": "CON", "PatientID": "nul.txt",
                "ReferencedFileID": ["COM1", "LPT9", "AUX"]},
    "control": {"SOPInstanceUID": "1.2\n3\r\t\x1b[31m", "PatientID": "\u202eexe.dcm",
                "ReferencedFileID": ["x:y", "a*b?"]},
    "empty": {"SOPInstanceUID": "", "PatientID": "", "ReferencedFileID": [""]},
    "symlink": {"SOPInstanceUID": "1.2.3.4", "PatientID": "evil",
                "ReferencedFileID": ["evil"]},
}
"""Hostile values per file; 'evil' is the name of a symlink planted in DST."""


def hostile_bytes(values: dict[str, Any], base: Path = CT) -> bytes:
    """A corpus file with ``values`` set as raw UTF-8 bytes (VR rules ignored), written
    by pydicom."""
    ds = pydicom.dcmread(base)
    for keyword, value in values.items():
        if keyword == "SpecificCharacterSet":
            continue  # see below
        number = tag_for_keyword(keyword)
        assert number is not None
        tag = Tag(number)
        raw = ("\\".join(value) if isinstance(value, list) else value).encode("utf-8")
        vr = dictionary_VR(tag)
        raw += (b"\0" if vr == "UI" else b" ") * (len(raw) & 1)
        ds._dict[tag] = RawDataElement(tag, vr, len(raw), raw, 0, False, True)
    out = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydicom's remarks on the invalid values
        ds.save_as(out)
    data = out.getvalue()
    if "SpecificCharacterSet" in values:
        # Patched in the bytes: told of a new character set, pydicom would re-encode the
        # raw values above (read in the old one), which are meant as UTF-8 already.
        new = b"CS\n\x00" + values["SpecificCharacterSet"].encode().ljust(10)
        assert data.count(b"CS\n\x00ISO_IR 100") == 1 and len(new) == 14
        data = data.replace(b"CS\n\x00ISO_IR 100", new)
    return data


def dicomstream(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "dicomstream", *args], capture_output=True,
                          text=True, timeout=120, cwd=REPO)


def report_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def walk_all(root: Path) -> Iterator[Path]:
    """Everything under ``root`` (symlinks listed, never followed)."""
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for name in [*dirnames, *filenames]:
            yield Path(dirpath) / name


@pytest.fixture(scope="module")
def hostile_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("attack")
    src = root / "in"
    src.mkdir()
    for name, values in HOSTILE.items():
        (src / f"{name}.dcm").write_bytes(hostile_bytes(values))
    return root


def prepare(hostile_tree: Path, tmp_path: Path) -> tuple[Path, Path, Path]:
    """``tmp/out`` (with ``out/evil`` → ``../outside``) and an empty ``tmp/outside``."""
    dst, outside = tmp_path / "out", tmp_path / "outside"
    dst.mkdir()
    outside.mkdir()
    (dst / "evil").symlink_to(Path("..") / "outside", target_is_directory=True)
    return hostile_tree / "in", dst, outside


def check_contained(src: Path, dst: Path, outside: Path, report: Path) -> list[dict[str, Any]]:
    """Every output under DST, nothing outside, one outcome per input."""
    assert list(outside.iterdir()) == [], "something was written outside DST"
    real_dst = dst.resolve()
    for path in walk_all(dst):
        if path.is_symlink():
            assert path == dst / "evil"  # the one we planted
            continue
        assert path.resolve().is_relative_to(real_dst), path
        rel = path.relative_to(dst)
        for part in rel.parts:
            assert part not in (".", "..") and not part.startswith(".")
            assert "\0" not in part and "\\" not in part and "\u2215" not in part
            assert part.split(".")[0].upper() not in WINDOWS_DEVICES, rel
            assert len(part.encode()) <= MAX_COMPONENT_BYTES + 8, rel
    lines = report_lines(report)
    assert sorted(line["source"] for line in lines) == sorted(str(p) for p in src.iterdir())
    for line in lines:
        if line["status"] == "ok":
            out = Path(line["destination"])
            assert out.is_file() and out.resolve().is_relative_to(real_dst)
            assert out.read_bytes() == Path(line["source"]).read_bytes()  # identity rewrite
        else:
            assert line["status"] == "error" and line["error"]
    return lines


@pytest.mark.parametrize("template", [
    "{PatientID}/{StudyInstanceUID}/{SOPInstanceUID}.dcm",
    "{ReferencedFileID}/{SOPInstanceUID}",
    "{PatientID}{SOPInstanceUID}/{ReferencedFileID}/{stem}.dcm",
])
def test_hostile_values_never_leave_dst(hostile_tree: Path, tmp_path: Path,
                                        template: str) -> None:
    src, dst, outside = prepare(hostile_tree, tmp_path)
    report = tmp_path / "report.jsonl"
    result = dicomstream("rewrite", str(src), str(dst), "--name-template", template,
                         "--report", str(report), "--jobs", "4")
    assert "Traceback" not in result.stderr
    lines = check_contained(src, dst, outside, report)
    by_name = {Path(line["source"]).stem: line for line in lines}
    # only the file naming itself into the planted symlink fails, with a clear line
    failed = {name for name, line in by_name.items() if line["status"] != "ok"}
    if template.startswith(("{PatientID}/", "{ReferencedFileID}/")):
        assert failed == {"symlink"}
        assert "unsafe output path" in by_name["symlink"]["error"]
        assert result.returncode == 1
    else:
        assert failed == set() and result.returncode == 0, result.stderr
    assert "dicomstream-tmp" not in " ".join(p.name for p in walk_all(dst))


def test_every_hostile_value_has_a_distinct_output(hostile_tree: Path, tmp_path: Path
                                                   ) -> None:
    src, dst, outside = prepare(hostile_tree, tmp_path)
    report = tmp_path / "r.jsonl"
    result = dicomstream("rewrite", str(src), str(dst), "--name-template",
                         "{SOPInstanceUID}.dcm", "--report", str(report))
    assert result.returncode == 0, result.stderr
    lines = check_contained(src, dst, outside, report)
    outputs = {line["destination"] for line in lines}
    assert len(outputs) == len(HOSTILE)
    names = {Path(o).name for o in outputs}
    assert "______etc_passwd.dcm" in names and "_CON.dcm" in names
    assert any("~" in n and len(n.encode()) <= MAX_COMPONENT_BYTES for n in names)


def test_de_identified_values_name_the_outputs(hostile_tree: Path, tmp_path: Path) -> None:
    """anonymize shares the option; names come from the output, so no PHI in paths."""
    pytest.importorskip("dicomstream_deid")
    src, dst, outside = prepare(hostile_tree, tmp_path)
    report = tmp_path / "r.jsonl"
    result = dicomstream("anonymize", str(src), str(dst), "--random-key", "--name-template",
                         "{PatientID}/{SOPInstanceUID}.dcm", "--report", str(report))
    assert result.returncode == 0, result.stderr
    assert list(outside.iterdir()) == []
    lines = report_lines(report)
    assert all(line["status"] == "ok" for line in lines)
    for line in lines:
        out = Path(line["destination"])
        assert out.resolve().is_relative_to(dst.resolve())
        ds = pydicom.dcmread(out)
        uid, pid = ds["SOPInstanceUID"].value, ds.PatientID
        uid = "\\".join(uid) if isinstance(uid, list | MultiValue) else uid
        assert out.name == f"{sanitize_value(uid)}.dcm" and out.parent.name == pid
        original = HOSTILE[Path(line["source"]).stem]
        for keyword in ("SOPInstanceUID", "PatientID"):
            if len(original[keyword]) > 3:
                assert sanitize_value(original[keyword]) not in str(out.relative_to(dst))


def test_bad_templates_are_usage_errors(tmp_path: Path) -> None:
    for template in ("{NoSuchKeyword}.dcm", "../{SOPInstanceUID}", "/abs/{PatientID}",
                     "{PixelData}", "{PatientID.__class__}", "{PatientID:>99}", "static.dcm"):
        result = dicomstream("rewrite", str(CT), str(tmp_path / "out"), "--name-template",
                             template)
        assert result.returncode == 2, (template, result.stderr)
        assert "Traceback" not in result.stderr and "--name-template" in result.stderr
    result = dicomstream("rewrite", str(CT), "-", "--name-template", "{PatientID}")
    assert result.returncode == 2 and "local directory" in result.stderr
    assert not (tmp_path / "out").exists()


# -- collisions and resuming -----------------------------------------------------------

def test_collisions_get_suffixes_and_duplicates_are_kept_once(tmp_path: Path) -> None:
    src, dst = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    for i in range(6):  # six different files, one Patient ID
        (src / f"f{i}.dcm").write_bytes(hostile_bytes({"PatientID": "SAME",
                                                       "SeriesNumber": str(i)}))
    (src / "f0copy.dcm").write_bytes((src / "f0.dcm").read_bytes())  # a true duplicate
    report = tmp_path / "r.jsonl"
    result = dicomstream("rewrite", str(src), str(dst), "--name-template", "{PatientID}.dcm",
                         "--report", str(report), "--jobs", "8")
    assert result.returncode == 0, result.stderr
    outputs = sorted(p.name for p in dst.iterdir())
    assert outputs == ["SAME-1.dcm", "SAME-2.dcm", "SAME-3.dcm", "SAME-4.dcm", "SAME-5.dcm",
                       "SAME.dcm"]
    contents = {p.read_bytes() for p in dst.iterdir()}
    assert contents == {p.read_bytes() for p in src.iterdir()}  # nothing overwritten
    lines = report_lines(report)
    assert len(lines) == 7 and all(line["status"] == "ok" for line in lines)
    outcomes = [line.get("details", {}).get("naming", {}).get("outcome") for line in lines]
    assert outcomes.count("identical") == 1 and outcomes.count("suffixed") == 5


def test_resume_with_report_skips_done_inputs(tmp_path: Path) -> None:
    src, dst = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    for base in (CT, MR):
        (src / base.name).write_bytes(base.read_bytes())
    report = tmp_path / "r.jsonl"
    args = ("rewrite", str(src), str(dst), "--name-template", "{Modality}/{SOPInstanceUID}",
            "--report", str(report))
    assert dicomstream(*args).returncode == 0
    first = {line["source"]: line["destination"] for line in report_lines(report)}
    assert all(Path(d).is_file() for d in first.values())
    Path(first[str(src / "MR_small.dcm")]).unlink()  # lost since
    leftover = dst / ".output.123-abc-0.dicomstream-tmp"  # a killed run's staging file
    leftover.write_bytes(b"half")
    assert dicomstream(*args).returncode == 0
    second = report_lines(report)[2:]
    status = {Path(line["source"]).name: line for line in second}
    assert status["CT_small.dcm"]["status"] == "skipped"
    assert status["CT_small.dcm"]["destination"] == first[str(src / "CT_small.dcm")]
    assert status["MR_small.dcm"]["status"] == "ok"
    assert Path(first[str(src / "MR_small.dcm")]).is_file()
    assert not leftover.exists()
    # --overwrite ignores the report, and an identical output is kept, not duplicated
    before = sorted(walk_all(dst))
    assert dicomstream(*args, "--overwrite").returncode == 0
    third = report_lines(report)[4:]
    assert [line["status"] for line in third] == ["ok", "ok"]
    assert {line["details"]["naming"]["outcome"] for line in third} == {"identical"}
    assert sorted(walk_all(dst)) == before


def test_resume_without_report_adds_nothing(tmp_path: Path) -> None:
    src, dst = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    (src / "a.dcm").write_bytes(CT.read_bytes())
    args = ("rewrite", str(src), str(dst), "--name-template", "{relpath}")
    assert dicomstream(*args).returncode == 0
    assert dicomstream(*args).returncode == 0
    assert [p.name for p in dst.iterdir()] == ["a.dcm"]


def test_single_file_and_stdin(tmp_path: Path) -> None:
    dst = tmp_path / "out"  # created as the root
    template = "{Modality}/{stem}-{InstanceNumber:04}.dcm"
    assert dicomstream("rewrite", str(CT), str(dst), "--name-template", template
                       ).returncode == 0
    piped = subprocess.run([sys.executable, "-m", "dicomstream", "rewrite", "-", str(dst),
                            "--name-template", template], input=MR.read_bytes(),
                           capture_output=True, timeout=120, cwd=REPO)
    assert piped.returncode == 0, piped.stderr
    assert sorted(p.relative_to(dst).as_posix() for p in dst.rglob("*.dcm")) == [
        "CT/CT_small-0001.dcm", "MR/stdin-0001.dcm"]
    (tmp_path / "file").write_bytes(b"")
    result = dicomstream("rewrite", str(CT), str(tmp_path / "file"), "--name-template",
                         template)
    assert result.returncode == 1 and "DST is a directory" in result.stderr


# -- units -------------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "expected"), [
    ("1.2.840.10008", "1.2.840.10008"),
    ("../../etc/passwd", "______etc_passwd"),
    ("/etc/passwd", "_etc_passwd"),
    ("..\\..\\x", "______x"),
    ("a\0b", "a_b"),
    ("", EMPTY_VALUE),
    ("  ", EMPTY_VALUE),
    (".", "_"),
    ("..", "__"),
    (".hidden", "_hidden"),
    ("a\u2215b", "a_b"),
    ("\uff0e\uff0e\uff0f", "___"),
    ("\u2024\u2024", "__"),
    ("Doe^John", "Doe_John"),
    ("山田^太郎", "山田_太郎"),
    ("\u202eexe", "_exe"),
    ("C:\\x", "C__x"),
])
def test_sanitize_value(value: str, expected: str) -> None:
    assert sanitize_value(value) == expected


def test_sanitize_component() -> None:
    assert sanitize_component("CON") == "_CON"
    assert sanitize_component("con.dcm") == "_con.dcm"
    assert sanitize_component("COM1.tar.gz") == "_COM1.tar.gz"
    assert sanitize_component("CONSOLE") == "CONSOLE"
    assert sanitize_component("x.") == "x._"
    assert sanitize_component("..") == "_" and sanitize_component("") == "_"
    long = sanitize_component("é" * 300 + ".dcm")
    assert len(long.encode()) <= MAX_COMPONENT_BYTES and long.endswith(".dcm")
    assert long != sanitize_component("é" * 301 + ".dcm")  # distinct values stay distinct
    uid = sanitize_component("1." * 150 + "55")
    assert len(uid.encode()) <= MAX_COMPONENT_BYTES and "~" in uid


def test_parse_template_errors() -> None:
    for bad in ("{Foo}", "/x/{PatientID}", "{PatientID}/../x", "./{PatientID}",
                "{PatientID}//x", "{PatientID}/", "{PatientID!r}", "{PatientID:x}",
                "{PatientID:{SOPInstanceUID}}", "{0}", "{}", "{PatientID", "x.dcm",
                "a\\{PatientID}", "a\n{PatientID}", "{relpath:.3}", "{PixelData}",
                "{ReferencedImageSequence}", "C:{PatientID}", ""):
        with pytest.raises(ValueError):
            parse_template(bad)


def test_template_render() -> None:
    t = parse_template("{PatientID}/{InstanceNumber:05}-{PatientName:.3}-{PatientID:hash}"
                       "/{ReferencedFileID}/{relpath}/{stem}.dcm")
    rendered = t.render({"PatientID": "../p", "InstanceNumber": "7",
                         "PatientName": "Doe^John", "ReferencedFileID": "..\\D1\\/x"},
                        relpath="a/../b/c.dcm")
    parts = rendered.split("/")
    assert parts[0] == "___p" and parts[1].startswith("00007-Doe-")
    assert len(parts[1].split("-")[2]) == 16
    assert parts[2:5] == ["__", "D1", "_x"]
    assert parts[5:] == ["a", "__", "b", "c.dcm", "c.dcm"]
    assert parse_template("{SOPInstanceUID}").render({}) == EMPTY_VALUE
    assert dict(parse_template("{PatientID}/{SOPInstanceUID}").tags) == {
        0x00100020: "PatientID", 0x00080018: "SOPInstanceUID"}


def test_safe_join(tmp_path: Path) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "inner").mkdir(parents=True)
    outside.mkdir()
    assert safe_join(root, "a/b.dcm") == root / "a" / "b.dcm"
    assert safe_join(root, ["a", "b.dcm"]) == root / "a" / "b.dcm"
    for bad in ("../x", "a/../../x", "/etc/passwd", "a//b", "./a", "a\0b", "a\\..\\b", ""):
        with pytest.raises(SinkError, match="unsafe output path"):
            safe_join(root, bad)
    (root / "out").symlink_to(outside, target_is_directory=True)
    (root / "in").symlink_to(root / "inner", target_is_directory=True)
    (root / "file").symlink_to(outside / "f")
    with pytest.raises(SinkError, match="outside"):
        safe_join(root, "out/x.dcm")
    with pytest.raises(SinkError, match="outside"):
        safe_join(root, "file")
    assert safe_join(root, "in/x.dcm") == root / "in" / "x.dcm"  # stays inside: fine


def test_referenced_file_ids(tmp_path: Path) -> None:
    assert file_id_parts("DIR1\\SUB\\IMG0001 ") == ["DIR1", "SUB", "IMG0001"]  # valid: as is
    assert file_id_parts("..\\..\\etc\\passwd") == ["__", "__", "etc", "passwd"]
    assert len(file_id_parts("\\".join("A" * 12))) == 8
    assert referenced_file_path(tmp_path, "..\\..\\x") == tmp_path / "__" / "__" / "x"
    assert referenced_file_path(tmp_path, "/\\etc") == tmp_path / "_" / "etc"


def test_place_without_overwrite(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()

    def staged(data: bytes) -> Path:
        path = root / f".s{len(list(root.iterdir()))}.dicomstream-tmp"
        path.write_bytes(data)
        return path

    assert place_without_overwrite(staged(b"one"), root, "d/x.dcm") == (root / "d/x.dcm", "new")
    assert place_without_overwrite(staged(b"one"), root, "d/x.dcm") == (
        root / "d/x.dcm", "identical")
    assert place_without_overwrite(staged(b"two"), root, "d/x.dcm") == (
        root / "d/x-1.dcm", "suffixed")
    assert place_without_overwrite(staged(b"two"), root, "d/x.dcm") == (
        root / "d/x-1.dcm", "identical")
    assert place_without_overwrite(staged(b"3"), root, "d/1.2.55") == (root / "d/1.2.55", "new")
    assert place_without_overwrite(staged(b"4"), root, "d/1.2.55")[0] == root / "d/1.2.55-1"
    (root / "link.dcm").symlink_to(tmp_path / "elsewhere")  # never written through
    with pytest.raises(SinkError):
        place_without_overwrite(staged(b"5"), root, "link.dcm")
    assert not (tmp_path / "elsewhere").exists()
    assert [p.name for p in root.iterdir() if p.name.endswith("tmp")] == []
    assert MAX_SUFFIX >= 100


async def _run_capture(template: str, data: bytes, root: Path, **edits: str
                       ) -> tuple[NameCaptureStage, TemplatedFileSink]:
    capture = NameCaptureStage(parse_template(template), relpath="in/ct.dcm")
    sink = TemplatedFileSink(root, capture.render, on_placed=capture.on_placed)
    stages = [EditStage(set=dict(edits.items())), capture] if edits else [capture]
    await rewrite(BytesSource(data), sink, stages=stages)
    return capture, sink


def test_capture_takes_values_of_the_output(tmp_path: Path) -> None:
    data = CT.read_bytes()
    capture, sink = anyio.run(functools.partial(
        _run_capture, "{PatientID}/{Modality}/{stem}.dcm", data, tmp_path,
        PatientID="../EDITED"))
    assert capture.values["PatientID"] == "../EDITED"
    assert sink.path == tmp_path / "___EDITED" / "CT" / "ct.dcm"
    assert pydicom.dcmread(sink.path).PatientID == "../EDITED"
    assert capture.report() == {}  # a plain new file: nothing to say


async def _aborted(root: Path) -> None:
    capture = NameCaptureStage(parse_template("{SOPInstanceUID}"))
    sink = TemplatedFileSink(root, capture.render)
    await sink.write(b"x" * (2 * 1024 * 1024))  # past the buffer: a staging file exists
    await sink.abort()


def test_abort_leaves_nothing(tmp_path: Path) -> None:
    anyio.run(_aborted, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_truncated_input_leaves_nothing(tmp_path: Path) -> None:
    data = CT.read_bytes()[:5000]

    async def main() -> None:
        with pytest.raises(Exception, match="runs past|truncated|Truncated|exceeds"):
            await _run_capture("{SOPInstanceUID}", data, tmp_path)

    anyio.run(main)
    assert list(tmp_path.iterdir()) == []
