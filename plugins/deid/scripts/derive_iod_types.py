"""Derive ``iod-types.tsv``: the Type (1, 2 or 3) that each storage IOD gives the
attributes of Table E.1-1 at the top level of the dataset.

PS3.15 resolves a compound code (``Z/D``, ``X/Z``, ``X/D``, ``X/Z/D``, ``X/Z/U*``) by the
attribute's Type in the IOD at hand ("X unless Z is required to maintain IOD conformance
(Type 3 versus Type 2)", …), and the stage uses the same Types to keep a removal from
breaking the IOD (a Type 1 attribute the table removes gets a dummy instead). Those Types live in
PS3.3's module tables; this script asks an independent implementation of them, dciodvfy
(dicom3tools), instead of transcribing PS3.3. For every storage SOP Class in the data
dictionary it writes two probe files with pydicom:

* *present*: SOP Class/Instance UID and every attribute of the table, empty;
* *absent*:  SOP Class/Instance UID only;

and reads dciodvfy's complaints: "Missing attribute Type 1…" / "Empty attribute (no
value) Type 1…" make an attribute Type 1 for that IOD, "Missing attribute Type 2…"
Type 2; an attribute dciodvfy does not ask for is Type 3 (or not in the IOD). Conditional
types count as their unconditional type (the conservative reading: the condition may
hold for the object at hand). SOP Classes dciodvfy does not know are left out, and the
stage resolves compound codes for them conservatively (D over Z over X, U for ``X/Z/U*``).

Usage: ``python derive_iod_types.py [OUTPUT]`` (default: the package's data file).
Needs pydicom and dciodvfy; takes about a minute.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

from pydicom._uid_dict import UID_dictionary
from pydicom.datadict import dictionary_VR, tag_for_keyword
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import UID

HERE = Path(__file__).resolve().parent
DATA = HERE.parent / "src" / "dicomstream_deid" / "data"
TABLE = DATA / "confidentiality-profile-2026d.tsv"
OUTPUT = DATA / "iod-types.tsv"

_COMPLAINT = re.compile(
    r"(?:Missing attribute|Empty attribute \(no value\)) Type (1|1C|2|2C) "
    r"(?:Required|Conditional) Element=<(\w+)>"
)
_IOD = re.compile(r"^(\w+)$", re.M)


def table_tags() -> list[int]:
    """Exact tags of the table's rows that pydicom's dictionary knows (outside groups
    0000 and 0002)."""
    tags = []
    for line in TABLE.read_text(encoding="utf-8").splitlines()[1:]:
        cells = line.split("\t")
        if "x" in cells[0] or "g" in cells[0] or cells[0][1:5] in ("0000", "0002"):
            continue
        tag = int(cells[0][1:5] + cells[0][6:10], 16)
        try:
            dictionary_VR(tag)
        except KeyError:
            continue
        tags.append(tag)
    return tags


def probe(sop_class: str, tags: list[int], present: bool, work: Path) -> str:
    ds = Dataset()
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = "1.2.3.4"
    if present:
        for tag in tags:
            vr = dictionary_VR(tag)
            ds.add_new(tag, vr, Sequence([]) if vr == "SQ" else None)
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = UID("1.2.840.10008.1.2.1")
    ds.file_meta.MediaStorageSOPClassUID = UID(sop_class)
    ds.file_meta.MediaStorageSOPInstanceUID = UID("1.2.3.4")
    path = work / "probe.dcm"
    ds.save_as(path, enforce_file_format=True)
    result = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True,
                            check=False)
    return result.stderr + result.stdout


def main(argv: list[str]) -> int:
    output = Path(argv[1]) if len(argv) > 1 else OUTPUT
    tags = table_tags()
    wanted = set(tags)
    classes = sorted(uid for uid, entry in UID_dictionary.items()
                     if entry[1] == "SOP Class" and "Storage" in entry[0])
    lines = ["sop_class_uid\ttag\ttype"]
    known = 0
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for uid in classes:
            absent = probe(uid, tags, False, work)
            if "Information Object Not found" in absent or "Error - Unrecognized" in absent:
                continue
            iod = _IOD.search(absent)
            present = probe(uid, tags, True, work)
            types: dict[int, str] = {}
            for text in (absent, present):
                for kind, keyword in _COMPLAINT.findall(text):
                    tag = tag_for_keyword(keyword)
                    if tag is None or tag not in wanted:
                        continue
                    level = kind[0]
                    types[tag] = min(types.get(tag, "3"), level)
            known += 1
            lines.append(f"{uid}\t*\t{iod.group(1) if iod else ''}")
            for tag in sorted(types):
                lines.append(f"{uid}\t({tag >> 16:04X},{tag & 0xFFFF:04X})\t{types[tag]}")
    output.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{known} SOP classes with an IOD in dciodvfy; {len(lines) - 1 - known} "
          f"type 1/2 entries -> {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
