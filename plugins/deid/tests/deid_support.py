"""Helpers for the dicomstream-deid tests: the table read independently of the plugin,
synthetic datasets that hold every row of it, a generated multi-series study with
references between its objects, and a synchronous way to run the stage.

The table is parsed here with the ``csv`` module and the expectations are computed from
its columns directly, so the tests check the plugin against the TSV, not against itself.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import io
import shutil
import subprocess
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import pydicom
import pydicom.data
from pydicom.datadict import dictionary_VR, keyword_for_tag
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_dataset, write_file_meta_info
from pydicom.sequence import Sequence
from pydicom.uid import UID, ExplicitVRLittleEndian

from dicomstream.io import BytesSource, MemorySink
from dicomstream.pipeline import rewrite
from dicomstream.stages import MetaStage
from dicomstream_deid import DeidConfig, DeidStage

HERE = Path(__file__).resolve().parent
PLUGIN = HERE.parent
REPO = PLUGIN.parent.parent
TSV = PLUGIN / "src" / "dicomstream_deid" / "data" / "confidentiality-profile-2026d.tsv"
PYTHON = sys.executable
KEY = b"test key: dicomstream-deid 0123456789"
OTHER_KEY = b"another key: dicomstream-deid 9876543210"
UNKNOWN_SOP_CLASS = "1.2.826.0.1.3680043.10.1.999"  # no IOD: compound codes -> D/Z/U
CT_IMAGE = "1.2.840.10008.5.1.4.1.1.2"

OPTION_COLUMNS = {
    "retain-safe-private": "retain_safe_private",
    "retain-uids": "retain_uids",
    "retain-device-identity": "retain_device_identity",
    "retain-institution-identity": "retain_institution_identity",
    "retain-patient-characteristics": "retain_patient_characteristics",
    "retain-long-full-dates": "retain_long_full_dates",
    "retain-long-modified-dates": "retain_long_modified_dates",
    "clean-descriptors": "clean_descriptors",
    "clean-structured-content": "clean_structured_content",
    "clean-graphics": "clean_graphics",
}

# -- the table, read independently ------------------------------------------------------


@dataclass(frozen=True)
class Row:
    tag_text: str
    name: str
    basic: str
    options: dict[str, str]

    @property
    def tag(self) -> int | None:
        if "x" in self.tag_text or "g" in self.tag_text:
            return None
        return int(self.tag_text[1:5] + self.tag_text[6:10], 16)

    def code(self, options: set[str] | frozenset[str] = frozenset()) -> str:
        """The effective code: K from a selected option beats C; else the basic code."""
        codes = [self.options[o] for o in OPTION_COLUMNS if o in options and o in self.options]
        if "K" in codes:
            return "K"
        if codes:
            return "C"
        return self.basic


@functools.cache
def table_rows() -> tuple[Row, ...]:
    with TSV.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f, delimiter="\t")
        return tuple(Row(r["tag"], r["name"], r["basic"],
                         {o: r[c] for o, c in OPTION_COLUMNS.items() if r[c]})
                     for r in reader)


CONSERVATIVE = {"Z/D": "D", "X/Z": "Z", "X/D": "D", "X/Z/D": "D", "X/Z/U*": "U"}


def expected_code(row: Row, options: set[str] | frozenset[str] = frozenset(),
                  iod_type: str | None = None) -> str:
    """The action the standard asks for: compound codes by Type (None: unknown IOD)."""
    code = row.code(options)
    if "/" not in code:
        return code
    if iod_type is None:
        return CONSERVATIVE[code]
    choices = code.rstrip("*").split("/")
    if iod_type == "1":
        return choices[-1]
    if iod_type == "2":
        return "Z" if "Z" in choices else choices[-1]
    return "X"


# -- synthetic values -------------------------------------------------------------------

_NAME_VR = (("DateTime", "DT"), ("Timestamp", "DT"), ("Date", "DA"), ("Time", "TM"),
            ("UID", "UI"), ("Sequence", "SQ"), ("Name", "PN"))


def vr_of(tag: int, name: str) -> str:
    try:
        vr = dictionary_VR(tag)
    except KeyError:
        for word, guess in _NAME_VR:
            if word in name:
                return guess
        return "LO"
    return vr.split(" or ")[0]


def original_value(index: int, vr: str) -> Any:
    """A distinctive value for row ``index`` (searchable in output bytes where textual)."""
    day = dt.date(2001, 1, 1) + dt.timedelta(days=index)
    if vr == "DA":
        return day.strftime("%Y%m%d")
    if vr == "DT":
        return day.strftime("%Y%m%d") + f"{index % 24:02d}{index % 60:02d}17.123456"
    if vr == "TM":
        return f"{index % 24:02d}{(index * 7) % 60:02d}{(index * 13) % 60:02d}.4321"
    if vr == "UI":
        return f"1.2.826.0.1.3680043.10.1.777.{index}"
    if vr == "PN":
        return f"ORIGF{index:04d}^ORIGG{index:04d}"
    if vr in ("SH", "CS", "AE"):
        return f"ORIG{index:04d}"
    if vr in ("LO", "LT", "ST", "UT", "UC"):
        return f"Original text {index:04d} ORIG{index:04d}X"
    if vr == "UR":
        return f"http://orig{index:04d}.example.org/"
    if vr == "AS":
        return "045Y"
    if vr == "DS":
        return f"{index}.25"
    if vr == "IS":
        return str(1000 + index)
    if vr in ("US", "UL", "SS", "SL", "UV", "SV"):
        return index
    if vr in ("FL", "FD"):
        return float(index) + 0.5
    if vr == "AT":
        return 0x00100010
    return f"ORIGBIN{index:04d}".encode()  # OB, OW, UN, OD, OF, OL, OV


def every_row_dataset(sop_class: str = UNKNOWN_SOP_CLASS) -> Dataset:
    """One dataset holding every exact row of the table (the meta row aside), each with
    a distinctive value; sequences hold one item with a code and a text."""
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = "1.2.826.0.1.3680043.10.1.777.90000"
    for index, row in enumerate(table_rows()):
        tag = row.tag
        if tag is None or tag >> 16 == 0x0002:
            continue
        vr = vr_of(tag, row.name)
        if vr == "SQ":
            item = Dataset()
            item.CodeValue = f"SQ{index:04d}"
            item.CodingSchemeDesignator = "99TEST"
            item.CodeMeaning = f"Sequence item ORIG{index:04d}"
            item.ReferencedSOPInstanceUID = f"1.2.826.0.1.3680043.10.1.778.{index}"
            ds.add_new(tag, "SQ", Sequence([item]))
        else:
            ds.add_new(tag, vr, original_value(index, vr))
    return ds


def to_bytes(ds: Dataset, *, transfer_syntax: str = ExplicitVRLittleEndian,
             instance: str | None = None) -> bytes:
    """``ds`` as a Part 10 file (explicit VR little endian unless told); written with
    pydicom's low-level writers so that command-group rows of the table fit too."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = UID(ds.SOPClassUID)
    meta.MediaStorageSOPInstanceUID = UID(instance or ds.SOPInstanceUID)
    meta.TransferSyntaxUID = UID(transfer_syntax)
    meta.ImplementationClassUID = UID("1.2.826.0.1.3680043.10.1.1")
    head = DicomBytesIO()
    head.write(b"\0" * 128 + b"DICM")
    write_file_meta_info(head, meta, enforce_standard=True)
    body = DicomBytesIO()
    body.is_little_endian = transfer_syntax != "1.2.840.10008.1.2.2"
    body.is_implicit_VR = transfer_syntax == "1.2.840.10008.1.2"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        write_dataset(body, ds)
    return head.getvalue() + body.getvalue()


def deid_bytes(data: bytes, config: DeidConfig | None = None, *, chunk_size: int = 65536,
               **kwargs: Any) -> tuple[bytes, dict[str, Any]]:
    """Run the stage (and MetaStage, as the CLI does) over ``data``; (output, report)."""
    if config is None:
        config = DeidConfig.create(KEY, **kwargs)
    sink = MemorySink()

    async def run() -> Any:
        return await rewrite(BytesSource(data, chunk_size=chunk_size), sink,
                             stages=[DeidStage(config), MetaStage()])

    with warnings.catch_warnings():  # some corpus files are read with a warning
        warnings.simplefilter("ignore")
        result = anyio.run(run)
    assert sink.value is not None
    return sink.value, result.details.get("deid", {})


def read(data: bytes) -> Dataset:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pydicom.dcmread(io.BytesIO(data), force=True)


def keyword(tag: int) -> str:
    return keyword_for_tag(tag) or f"{tag:08X}"


# -- the pydicom corpus -----------------------------------------------------------------

DATA_ROOT = Path(pydicom.data.__file__).parent
_SKIP_SUFFIXES = {".py", ".pyc", ".json", ".txt", ".md", ".gz", ".icc", ".dump"}
UNREADABLE = {  # inputs dicomstream refuses (see the main suite's corpus.py)
    "test_files/MR_truncated.dcm", "test_files/rtplan_truncated.dcm",
    "test_files/no_meta.dcm", "test_files/dicomdirtests/DICOMDIR-nooffset",
}


@functools.cache
def corpus() -> tuple[str, ...]:
    """Relative paths of the DICOM files in the installed pydicom's data folder."""
    names = []
    for path in DATA_ROOT.rglob("*"):
        if not path.is_file() or path.suffix in _SKIP_SUFFIXES or \
                path.name.startswith("README") or "__pycache__" in path.parts:
            continue
        names.append(path.relative_to(DATA_ROOT).as_posix())
    return tuple(sorted(names))


def corpus_bytes(name: str) -> bytes:
    return (DATA_ROOT / name).read_bytes()


# -- external validators ----------------------------------------------------------------

def tool(name: str) -> str | None:
    return shutil.which(name)


def dciodvfy_errors(path: Path) -> set[str]:
    """dciodvfy's error lines with values (UIDs, names) normalised away."""
    import re

    result = subprocess.run(["dciodvfy", str(path)], capture_output=True, check=False)
    text = (result.stdout + result.stderr).decode("latin-1")
    errors = set()
    for line in text.splitlines():
        if line.startswith("Error"):
            line = re.sub(r"<[^>]*>", "<>", line)
            line = re.sub(r'"[^"]*"', '""', line)
            line = re.sub(r"\b\d+(?:\.\d+){2,}\b", "UID", line)
            line = re.sub(r"(SOPInstanceUID) \S+$", r"\1 UID", line)
            errors.add(line)
    return errors


def dciodvfy_reads(path: Path) -> bool:
    """Whether dciodvfy could read the whole dataset (else its later checks never ran,
    and an output it can read may show problems the input already had)."""
    result = subprocess.run(["dciodvfy", str(path)], capture_output=True, check=False)
    text = (result.stdout + result.stderr).decode("latin-1")
    return "Dicom dataset read failed" not in text and "Tags out of order" not in text


def dcmdump_problems(path: Path) -> tuple[int, list[str]]:
    result = subprocess.run(["dcmdump", "-q", str(path)], capture_output=True, check=False)
    text = result.stderr.decode("latin-1")
    return result.returncode, [line for line in text.splitlines() if line.startswith("E:")]


# -- a generated study: CT series plus RTSTRUCT, SR, GSPS and secondary captures ---------

SOP = {
    "ct": CT_IMAGE,
    "rtstruct": "1.2.840.10008.5.1.4.1.1.481.3",
    "sr": "1.2.840.10008.5.1.4.1.1.88.33",
    "gsps": "1.2.840.10008.5.1.4.1.1.11.1",
    "sc": "1.2.840.10008.5.1.4.1.1.7",
}
ROOT = "1.2.826.0.1.3680043.10.1.555"


def _code(value: str, scheme: str, meaning: str) -> Dataset:
    item = Dataset()
    item.CodeValue = value
    item.CodingSchemeDesignator = scheme
    item.CodeMeaning = meaning
    return item


def _patient_study(ds: Dataset, ct: Dataset, series: str, modality: str, number: int) -> None:
    for keyword in ("PatientName", "PatientID", "PatientBirthDate", "PatientSex",
                    "StudyInstanceUID", "StudyDate", "StudyTime", "ReferringPhysicianName",
                    "AccessionNumber", "StudyDescription", "IssuerOfPatientID"):
        setattr(ds, keyword, getattr(ct, keyword))
    ds.StudyID = "STUDY7731"
    ds.Modality = modality
    ds.SeriesInstanceUID = series
    ds.SeriesNumber = number
    ds.Manufacturer = "ACME Medical"
    ds.InstitutionName = "Hôpital Général de Test"
    ds.StationName = "WS-MUELLER-01"
    ds.InstanceNumber = 1


def _private_block(ds: Dataset, group: int, creator: str, text: str) -> None:
    block = ds.private_block(group, creator, create=True)
    block.add_new(0x01, "LO", text)
    block.add_new(0x02, "UI", f"{ROOT}.99.1")
    inner = Dataset()
    inner.add_new(0x00100010, "PN", "Hidden^Person")
    block.add_new(0x03, "SQ", Sequence([inner]))


def _image_ref(ct: Dataset) -> Dataset:
    ref = Dataset()
    ref.ReferencedSOPClassUID = ct.SOPClassUID
    ref.ReferencedSOPInstanceUID = ct.SOPInstanceUID
    return ref


def _rtstruct(cts: list[Dataset]) -> Dataset:
    ct = cts[0]
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.SOPClassUID = SOP["rtstruct"]
    ds.SOPInstanceUID = f"{ROOT}.2.1"
    _patient_study(ds, ct, f"{ROOT}.2", "RTSTRUCT", 20)
    ds.OperatorsName = "Tech^Müller"
    ds.StructureSetLabel = "GTV Müller"
    ds.StructureSetName = "Plan for Hans-Jürgen"
    ds.StructureSetDate = "20240313"
    ds.StructureSetTime = "120000"
    images = Dataset()
    images.SeriesInstanceUID = ct.SeriesInstanceUID
    images.ContourImageSequence = Sequence([_image_ref(c) for c in cts])
    study = Dataset()
    study.ReferencedSOPClassUID = "1.2.840.10008.3.1.2.3.1"
    study.ReferencedSOPInstanceUID = ct.StudyInstanceUID
    study.RTReferencedSeriesSequence = Sequence([images])
    frame = Dataset()
    frame.FrameOfReferenceUID = ct.FrameOfReferenceUID
    frame.RTReferencedStudySequence = Sequence([study])
    ds.ReferencedFrameOfReferenceSequence = Sequence([frame])
    roi = Dataset()
    roi.ROINumber = 1
    roi.ReferencedFrameOfReferenceUID = ct.FrameOfReferenceUID
    roi.ROIName = "GTV"
    roi.ROIDescription = "Tumour of Mr Müller"
    roi.ROIGenerationAlgorithm = "MANUAL"
    ds.StructureSetROISequence = Sequence([roi])
    contour = Dataset()
    contour.ContourImageSequence = Sequence([_image_ref(cts[1])])
    contour.ContourGeometricType = "CLOSED_PLANAR"
    contour.NumberOfContourPoints = 3
    contour.ContourData = [0.0, 0.0, -101.25, 10.0, 0.0, -101.25, 0.0, 10.0, -101.25]
    roi_contour = Dataset()
    roi_contour.ReferencedROINumber = 1
    roi_contour.ROIDisplayColor = [255, 0, 0]
    roi_contour.ContourSequence = Sequence([contour])
    ds.ROIContourSequence = Sequence([roi_contour])
    observation = Dataset()
    observation.ObservationNumber = 1
    observation.ReferencedROINumber = 1
    observation.RTROIInterpretedType = "GTV"
    observation.ROIInterpreter = "Interpreter^Ida"
    ds.RTROIObservationsSequence = Sequence([observation])
    ds.ApprovalStatus = "UNAPPROVED"
    _private_block(ds, 0x0011, "ACME RT 1.0", "Private note on Müller")
    return ds


def _sr(cts: list[Dataset]) -> Dataset:
    ct = cts[0]
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.SOPClassUID = SOP["sr"]
    ds.SOPInstanceUID = f"{ROOT}.3.1"
    _patient_study(ds, ct, f"{ROOT}.3", "SR", 30)
    ds.ContentDate = "20240314"
    ds.ContentTime = "090000"
    ds.CompletionFlag = "COMPLETE"
    ds.VerificationFlag = "VERIFIED"
    verifier = Dataset()
    verifier.VerifyingObserverName = "Verifier^Vera"
    verifier.VerifyingOrganization = "Radiology Partners of Springfield"
    verifier.VerificationDateTime = "20240314091500"
    verifier.VerifyingObserverIdentificationCodeSequence = Sequence(
        [_code("V123456", "99STAFF", "Vera Verifier")])
    ds.VerifyingObserverSequence = Sequence([verifier])
    ds.ReferencedPerformedProcedureStepSequence = Sequence()
    ds.PerformedProcedureCodeSequence = Sequence()
    instances = Dataset()
    instances.SeriesInstanceUID = ct.SeriesInstanceUID
    instances.ReferencedSOPSequence = Sequence([_image_ref(c) for c in cts])
    evidence = Dataset()
    evidence.StudyInstanceUID = ct.StudyInstanceUID
    evidence.ReferencedSeriesSequence = Sequence([instances])
    ds.CurrentRequestedProcedureEvidenceSequence = Sequence([evidence])
    ds.ValueType = "CONTAINER"
    ds.ConceptNameCodeSequence = Sequence([_code("126000", "DCM",
                                                 "Imaging Measurement Report")])
    ds.ContinuityOfContent = "SEPARATE"

    def item(value_type: str, relation: str, code: Dataset, **values: Any) -> Dataset:
        it = Dataset()
        it.RelationshipType = relation
        it.ValueType = value_type
        it.ConceptNameCodeSequence = Sequence([code])
        for key, value in values.items():
            setattr(it, key, value)
        return it

    text = item("TEXT", "CONTAINS", _code("121071", "DCM", "Finding"),
                TextValue=f"Lesion in Hans-Jürgen Müller ({ct.PatientID}), see prior "
                          "of 12/03/2023")
    name = item("PNAME", "HAS OBS CONTEXT", _code("121008", "DCM", "Person Observer Name"),
                PersonName="Observer^Olga")
    date = item("DATE", "CONTAINS", _code("111060", "DCM", "Study Date"), Date="20240312")
    uid = item("UIDREF", "CONTAINS", _code("121018", "DCM", "Procedure Study Instance UID"),
               UID=ct.StudyInstanceUID)
    image = item("IMAGE", "CONTAINS", _code("121112", "DCM", "Source of Measurement"))
    image.ReferencedSOPSequence = Sequence([_image_ref(cts[2])])
    inner = item("CONTAINER", "CONTAINS", _code("125007", "DCM", "Measurement Group"),
                 ContinuityOfContent="SEPARATE")
    inner.ContentSequence = Sequence([
        item("TEXT", "CONTAINS", _code("121106", "DCM", "Comment"),
             TextValue="Dictated by Dr Dupont for Müller"),
        item("DATETIME", "CONTAINS", _code("111526", "DCM", "DateTime Started"),
             DateTime="20240312101101")])
    ds.ContentSequence = Sequence([name, text, date, uid, image, inner])
    return ds


def _gsps(cts: list[Dataset]) -> Dataset:
    ct = cts[0]
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.SOPClassUID = SOP["gsps"]
    ds.SOPInstanceUID = f"{ROOT}.4.1"
    _patient_study(ds, ct, f"{ROOT}.4", "PR", 40)
    ds.PresentationCreationDate = "20240315"
    ds.PresentationCreationTime = "101010"
    ds.ContentLabel = "ANNOTATION"
    ds.ContentDescription = "Markup"  # (0070,0081) is not in Table E.1-1: kept
    ds.ContentCreatorName = "Creator^Carl"
    series = Dataset()
    series.SeriesInstanceUID = ct.SeriesInstanceUID
    series.ReferencedImageSequence = Sequence([_image_ref(c) for c in cts[:2]])
    ds.ReferencedSeriesSequence = Sequence([series])
    layer = Dataset()
    layer.GraphicLayer = "LAYER1"
    layer.GraphicLayerOrder = 1
    ds.GraphicLayerSequence = Sequence([layer])
    text = Dataset()
    text.UnformattedTextValue = "Müller Hans-Jürgen 1962"
    text.BoundingBoxAnnotationUnits = "PIXEL"
    text.BoundingBoxTopLeftHandCorner = [1.0, 1.0]
    text.BoundingBoxBottomRightHandCorner = [20.0, 10.0]
    text.BoundingBoxTextHorizontalJustification = "LEFT"
    annotation = Dataset()
    annotation.GraphicLayer = "LAYER1"
    annotation.ReferencedImageSequence = Sequence([_image_ref(cts[0])])
    annotation.TextObjectSequence = Sequence([text])
    ds.GraphicAnnotationSequence = Sequence([annotation])
    area = Dataset()
    area.ReferencedImageSequence = Sequence([_image_ref(cts[0])])
    area.DisplayedAreaTopLeftHandCorner = [1, 1]
    area.DisplayedAreaBottomRightHandCorner = [16, 16]
    area.PresentationSizeMode = "SCALE TO FIT"
    area.PresentationPixelSpacing = [1.0, 1.0]
    ds.DisplayedAreaSelectionSequence = Sequence([area])
    ds.PresentationLUTShape = "IDENTITY"
    return ds


def _sc(ct: Dataset, number: int, charset: str, name: str) -> Dataset:
    ds = Dataset()
    ds.SpecificCharacterSet = charset
    ds.SOPClassUID = SOP["sc"]
    ds.SOPInstanceUID = f"{ROOT}.{number}.1"
    _patient_study(ds, ct, f"{ROOT}.{number}", "OT", number * 10)
    ds.PatientName = name
    ds.ConversionType = "WSD"
    ds.BurnedInAnnotation = "YES"
    ds.PatientOrientation = ""
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = ds.Columns = 8
    ds.BitsAllocated = ds.BitsStored = 8
    ds.HighBit = 7
    ds.PixelRepresentation = 0
    ds.add_new(0x60000010, "US", 8)
    ds.add_new(0x60000011, "US", 8)
    ds.add_new(0x60000022, "LO", "Overlay of Müller")
    ds.add_new(0x60000040, "CS", "G")
    ds.add_new(0x60000050, "SS", [1, 1])
    ds.add_new(0x60000100, "US", 1)
    ds.add_new(0x60000102, "US", 0)
    ds.add_new(0x60003000, "OW", b"\x5a" * 8)
    ds.add_new(0x60004000, "LT", "Overlay comment about Müller")
    ds.add_new(0x50000005, "US", 1)
    ds.add_new(0x50000010, "US", 2)
    ds.add_new(0x50000020, "CS", "TAC")
    ds.add_new(0x50000022, "LO", "Curve of Müller")
    ds.add_new(0x50000103, "US", 0)
    ds.add_new(0x50003000, "OW", b"\x01\x00\x02\x00")
    item = Dataset()
    item.SpecificCharacterSet = charset
    item.add_new(0x00081150, "UI", SOP["ct"])
    item.add_new(0x00081155, "UI", ct.SOPInstanceUID)
    block = item.private_block(0x0029, "ACME SC 2.0", create=True)
    block.add_new(0x10, "LT", "Nested private note, Müller")
    ds.SourceImageSequence = Sequence([item])
    ds.PixelData = bytes(range(64))
    return ds


def write_study(directory: Path, ct_count: int = 6) -> dict[str, list[Path]]:
    """A one-patient study: a CT series (from the benchmark generator: private blocks,
    nested code sequences) and, referencing it, an RT Structure Set, a Comprehensive SR,
    a Grayscale Softcopy Presentation State, and two secondary captures with overlays,
    curves and burned-in annotation (one ISO_IR 100, one ISO 2022 IR 87)."""
    sys.path.insert(0, str(REPO))
    try:
        from benchmarks._generate import write_ct_series
    finally:
        sys.path.remove(str(REPO))
    files: dict[str, list[Path]] = {
        "ct": write_ct_series(directory / "ct", ct_count, target_size=8 * 1024, seed=7)}
    cts: list[Dataset] = [pydicom.dcmread(p, stop_before_pixels=True) for p in files["ct"]]
    others = {
        "rtstruct": _rtstruct(cts),
        "sr": _sr(cts),
        "gsps": _gsps(cts),
        "sc": _sc(cts[0], 5, "ISO_IR 100", "Müller^Hans-Jürgen^^Dr.^"),
        "sc-jis": _sc(cts[0], 6, "\\ISO 2022 IR 87", "Yamada^Tarou=山田^太郎=やまだ^たろう"),
    }
    for name, ds in others.items():
        path = directory / name / f"{name}.dcm"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(to_bytes(ds))
        files[name] = [path]
    return files
