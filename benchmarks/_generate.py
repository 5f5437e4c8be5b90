"""Generators of large, realistic DICOM test data for benchmarks and tests.

Two writers, both deterministic for a given ``seed`` and both streaming (memory use does
not grow with the amount written):

* :func:`write_ct_series` — a directory of single-frame CT files with a realistic header
  (patient/study/series/equipment/image-plane/pixel modules, code sequences nested two
  levels, defined and undefined lengths mixed, GE-, Siemens- and Philips-like private
  blocks with an OB blob and a private sequence, PN/DA/TM, multi-valued DS/IS, US/UL/SS/
  FL/FD values) and native 16-bit pixel data.
* :func:`write_multiframe` — one Enhanced CT file of any size up to the 4 GiB limit of a
  native Pixel Data element (or, encapsulated, of any size: RLE Lossless fragments, one per
  frame, with a Basic or Extended Offset Table).

How it stays fast: the header is built once with pydicom using *sentinel* values of the
final width for the few per-file / per-frame values; the byte offsets of those values are
located once, then every file/frame is the template with those bytes overwritten, followed
by pixel bytes generated once and reused (a frame counter is stamped into each copy).
pydicom is only used to encode the template, so the only dependency is pydicom (a dev
dependency) and the standard library.

The transfer syntaxes written are Implicit VR LE, Explicit VR LE, Explicit VR BE and
Deflated Explicit VR LE (native pixel data), plus any encapsulated syntax for
``write_multiframe(..., encapsulated=True)`` (RLE Lossless by default; the fragments are
valid RLE).
"""

from __future__ import annotations

__all__ = (
    "DEFLATED_EXPLICIT_VR_LE",
    "ENCAPSULATED_SYNTAXES",
    "EXPLICIT_VR_BE",
    "EXPLICIT_VR_LE",
    "IMPLICIT_VR_LE",
    "NATIVE_SYNTAXES",
    "RLE_LOSSLESS",
    "write_ct_series",
    "write_multiframe",
)

import math
import random
import struct
import sys
import zlib
from array import array
from dataclasses import dataclass
from io import BytesIO
from typing import TYPE_CHECKING, BinaryIO

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_dataset, write_file_meta_info
from pydicom.sequence import Sequence
from pydicom.uid import UID

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from pathlib import Path

IMPLICIT_VR_LE = "1.2.840.10008.1.2"
EXPLICIT_VR_LE = "1.2.840.10008.1.2.1"
DEFLATED_EXPLICIT_VR_LE = "1.2.840.10008.1.2.1.99"
EXPLICIT_VR_BE = "1.2.840.10008.1.2.2"
RLE_LOSSLESS = "1.2.840.10008.1.2.5"
NATIVE_SYNTAXES = frozenset(
    {IMPLICIT_VR_LE, EXPLICIT_VR_LE, DEFLATED_EXPLICIT_VR_LE, EXPLICIT_VR_BE}
)
#: Encapsulated syntaxes accepted by ``write_multiframe(encapsulated=True)``; the fragment
#: bytes are valid RLE whatever the syntax named (they are not JPEG for a JPEG syntax).
ENCAPSULATED_SYNTAXES = frozenset(
    {
        RLE_LOSSLESS,
        "1.2.840.10008.1.2.4.50",  # JPEG Baseline
        "1.2.840.10008.1.2.4.70",  # JPEG Lossless SV1
        "1.2.840.10008.1.2.4.80",  # JPEG-LS Lossless
        "1.2.840.10008.1.2.4.90",  # JPEG 2000 Lossless
        "1.2.840.10008.1.2.4.201",  # HTJ2K Lossless
    }
)

CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2"
ENHANCED_CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2.1"
#: pydicom's UID root: the UIDs written are "generated with pydicom"-style UIDs.
_UID_ROOT = "1.2.826.0.1.3680043.8.498"
_IMPLEMENTATION_CLASS_UID = _UID_ROOT + ".1.1.7"
_IMPLEMENTATION_VERSION = "DICOMSTREAM_GEN"

#: Largest defined length a native Pixel Data element can declare (PS3.5 7.1.1).
_MAX_DEFINED_LENGTH = 0xFFFFFFFE
#: Size of the pixel chunks written by the multi-frame writer.
_CHUNK_BYTES = 4 * 1024 * 1024
_LONG_VRS = frozenset("OB OD OF OL OV OW SQ SV UC UN UR UT UV".split())


# --------------------------------------------------------------------------- encoding


@dataclass(frozen=True, slots=True)
class _Encoding:
    implicit: bool
    little: bool
    deflated: bool


_META_ENCODING = _Encoding(implicit=False, little=True, deflated=False)


def _encoding(transfer_syntax: str) -> _Encoding:
    if transfer_syntax == IMPLICIT_VR_LE:
        return _Encoding(implicit=True, little=True, deflated=False)
    if transfer_syntax == EXPLICIT_VR_BE:
        return _Encoding(implicit=False, little=False, deflated=False)
    if transfer_syntax == DEFLATED_EXPLICIT_VR_LE:
        return _Encoding(implicit=False, little=True, deflated=True)
    # Explicit VR LE and every encapsulated syntax.
    return _Encoding(implicit=False, little=True, deflated=False)


def _element_header(tag: int, vr: str, length: int, enc: _Encoding) -> bytes:
    """The tag, VR (explicit syntaxes) and length of one element, as written."""
    order = "<" if enc.little else ">"
    group, elem = tag >> 16, tag & 0xFFFF
    if enc.implicit or group == 0xFFFE:
        return struct.pack(order + "HHI", group, elem, length)
    if vr in _LONG_VRS:
        return struct.pack(order + "HH2s2xI", group, elem, vr.encode("ascii"), length)
    return struct.pack(order + "HH2sH", group, elem, vr.encode("ascii"), length)


def _part10_prefix(sop_class: str, sop_instance: str, transfer_syntax: str) -> bytes:
    """Preamble, ``DICM`` and the file meta group, encoded by pydicom."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = UID(sop_class)
    meta.MediaStorageSOPInstanceUID = UID(sop_instance)
    meta.TransferSyntaxUID = UID(transfer_syntax)
    meta.ImplementationClassUID = UID(_IMPLEMENTATION_CLASS_UID)
    meta.ImplementationVersionName = _IMPLEMENTATION_VERSION
    meta.SourceApplicationEntityTitle = "CT_SCANNER_01"
    fp = DicomBytesIO()
    fp.write(b"\0" * 128 + b"DICM")
    write_file_meta_info(fp, meta, enforce_standard=True)
    return fp.getvalue()


def _encode_dataset(ds: Dataset, enc: _Encoding) -> bytes:
    """The dataset encoded without preamble or meta (not deflated)."""
    fp = DicomBytesIO()
    fp.is_little_endian = enc.little
    fp.is_implicit_VR = enc.implicit
    write_dataset(fp, ds)
    return fp.getvalue()


@dataclass(frozen=True, slots=True)
class _Slot:
    """Where one per-file value sits in a template, and how to render it."""

    offset: int
    width: int
    render: Callable[[int], bytes]


def _locate(buf: bytes, header: bytes, sentinel: bytes) -> int:
    """Offset of the value ``sentinel`` that follows ``header``; it must occur once."""
    needle = header + sentinel
    at = buf.find(needle)
    if at < 0 or buf.find(needle, at + 1) >= 0:
        raise AssertionError(f"sentinel {sentinel!r} not found exactly once in the template")
    return at + len(header)


def _padded_len(raw: bytes) -> int:
    return len(raw) + (len(raw) & 1)


def _text_slot(
    buf: bytes,
    tag: int,
    vr: str,
    sentinel: str,
    render: Callable[[int], str],
    enc: _Encoding,
) -> _Slot:
    raw = sentinel.encode("ascii")
    header = _element_header(tag, vr, _padded_len(raw), enc)
    offset = _locate(buf, header, raw)

    def rendered(i: int) -> bytes:
        value = render(i).encode("ascii")
        if len(value) != len(raw):
            raise AssertionError(f"rendered {value!r} is not {len(raw)} bytes wide")
        return value

    return _Slot(offset, len(raw), rendered)


def _patch(template: bytes | bytearray, slots: Iterable[_Slot], i: int) -> bytearray:
    buf = bytearray(template)
    for slot in slots:
        buf[slot.offset : slot.offset + slot.width] = slot.render(i)
    return buf


def _fixed_ds(values: Iterable[float], places: int = 3) -> tuple[list[str], int]:
    """Decimal strings of one width: trailing spaces make up the difference (allowed in DS)."""
    texts = [f"{v:.{places}f}" for v in values]
    width = max(map(len, texts), default=1)
    return [t.ljust(width) for t in texts], width


# --------------------------------------------------------------------------- pixels


def _pixel_values(rows: int, cols: int, seed: int) -> array[int]:
    """A CT-like slice: -1000 HU air around a water disc with some noise (stored = HU+1024)."""
    rng = random.Random(seed)
    noise = array("h", (1024 + rng.randrange(-24, 25) for _ in range(2 * cols)))
    air = array("h", [24]) * cols
    out = array("h")
    cy, cx, radius = rows / 2, cols / 2, 0.45 * min(rows, cols)
    for y in range(rows):
        dy = y + 0.5 - cy
        if abs(dy) >= radius:
            out.extend(air)
            continue
        half = int(math.sqrt(radius * radius - dy * dy))
        x0, x1 = max(0, int(cx) - half), min(cols, int(cx) + half)
        shift = (y * 7) % cols
        out.extend(air[:x0])
        out.extend(noise[shift + x0 : shift + x1])
        out.extend(air[x1:])
    return out


def _pixel_bytes(values: array[int], little: bool) -> bytes:
    if (sys.byteorder == "little") != little:
        values = array(values.typecode, values)
        values.byteswap()
    return values.tobytes()


def _frame_shape(frame_bytes: int) -> tuple[int, int]:
    """Rows and columns of a 16-bit frame of ``frame_bytes`` (as square as it divides)."""
    if frame_bytes < 2 or frame_bytes % 2:
        raise ValueError(f"frame_bytes must be even and positive, not {frame_bytes}")
    pixels = frame_bytes // 2
    rows = math.isqrt(pixels)
    while pixels % rows:
        rows -= 1
    cols = pixels // rows
    if rows > 0xFFFF or cols > 0xFFFF:
        raise ValueError(f"frame_bytes={frame_bytes} cannot be a Rows x Columns (US) frame")
    return rows, cols


def _stamp(order: str, i: int) -> bytes:
    """Two 16-bit pixels holding ``i``: makes every frame/file's pixel data unique."""
    return struct.pack(order + "HH", (i >> 16) & 0xFFFF, i & 0xFFFF)


# --------------------------------------------------------------------------- headers


def _code(value: str, scheme: str, meaning: str, *, undefined: bool = False) -> Dataset:
    item = Dataset()
    item.CodeValue = value
    item.CodingSchemeDesignator = scheme
    item.CodeMeaning = meaning
    item.is_undefined_length_sequence_item = undefined
    return item


def _sequence(ds: Dataset, keyword: str, items: list[Dataset], *, undefined: bool) -> None:
    setattr(ds, keyword, Sequence(items))
    ds[keyword].is_undefined_length = undefined


def _csa_blob(n_tags: int, seed: int) -> bytes:
    """A Siemens CSA2-like header ("SV10"): ``n_tags`` named entries of a few items each."""
    rng = random.Random(seed)
    out = BytesIO()
    out.write(b"SV10\x04\x03\x02\x01" + struct.pack("<II", n_tags, 77))
    names = (
        "EchoLinePosition ImaCoilString SliceMeasurementDuration ProtocolSliceNumber "
        "RealDwellTime ImaAbsTablePosition NonPlanarImage MosaicRefAcqTimes SlicePosition_PCS "
        "BandwidthPerPixelPhaseEncode GSWDDataType SliceResolution"
    ).split()
    for k in range(n_tags):
        name = f"{names[k % len(names)]}{k // len(names) or ''}".encode()
        vm = rng.randrange(1, 4)
        out.write(name.ljust(64, b"\0") + struct.pack("<i4sii", vm, b"DS\0\0", 3, vm))
        out.write(struct.pack("<i", 77))
        for _ in range(vm):
            text = f"{rng.uniform(-500, 500):.8f}".encode() + b"\0"
            padded = text.ljust((len(text) + 3) // 4 * 4, b"\0")
            out.write(struct.pack("<4i", len(text), len(text), 77, len(text)) + padded)
    blob = out.getvalue()
    return blob + b"\0" * (len(blob) & 1)


def _common_modules(ds: Dataset, uids: dict[str, str], rng: random.Random) -> None:
    """Patient, study, series, equipment and frame-of-reference modules (shared per series)."""
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.InstanceCreationDate = "20240312"
    ds.InstanceCreationTime = "101502.123456"
    ds.InstanceCreatorUID = _IMPLEMENTATION_CLASS_UID
    ds.StudyDate = ds.SeriesDate = ds.AcquisitionDate = ds.ContentDate = "20240312"
    ds.StudyTime = "100944"
    ds.SeriesTime = "101055.250000"
    ds.AcquisitionTime = "101101.500000"
    ds.ContentTime = "101101.500000"
    ds.AccessionNumber = f"A{rng.randrange(10**9, 10**10)}"
    ds.Modality = "CT"
    ds.Manufacturer = "GE MEDICAL SYSTEMS"
    ds.InstitutionName = "Hôpital Général de Test"
    ds.InstitutionAddress = "1 Rue de l'Exemple\r\n75000 Paris"
    ds.ReferringPhysicianName = "Dupont^Jean^^Dr."
    ds.StationName = "CTAWP00001"
    ds.StudyDescription = "CT THORAX ABDOMEN PELVIS W CONTRAST"
    procedure = _code("CTTAP", "99LOCAL", "CT thorax abdomen pelvis with contrast")
    _sequence(ds, "ProcedureCodeSequence", [procedure], undefined=True)
    ds.SeriesDescription = "ABD/PEL 1.25mm STD"
    ds.InstitutionalDepartmentName = "Radiologie"
    ds.PhysiciansOfRecord = ["Martin^Claire", "Bernard^Luc"]
    ds.PerformingPhysicianName = "Petit^Anne"
    ds.OperatorsName = ["Tech^One", "Tech^Two"]
    ds.ManufacturerModelName = "LightSpeed VCT"
    ref_study = Dataset()
    ref_study.ReferencedSOPClassUID = "1.2.840.10008.3.1.2.3.1"
    ref_study.ReferencedSOPInstanceUID = uids["study"]
    _sequence(ds, "ReferencedStudySequence", [ref_study], undefined=False)
    ref_pps = Dataset()
    ref_pps.ReferencedSOPClassUID = "1.2.840.10008.3.1.2.3.3"
    ref_pps.ReferencedSOPInstanceUID = uids["pps"]
    ref_pps.is_undefined_length_sequence_item = True
    _sequence(ds, "ReferencedPerformedProcedureStepSequence", [ref_pps], undefined=True)
    region = _code("818981001", "SCT", "Abdomen", undefined=True)
    _sequence(ds, "AnatomicRegionSequence", [region], undefined=False)

    ds.PatientName = "Müller^Hans-Jürgen^^Dr.^"
    ds.PatientID = f"PID{rng.randrange(10**7, 10**8)}"
    ds.IssuerOfPatientID = "HOSPITAL_A"
    ds.TypeOfPatientID = "TEXT"
    ds.PatientBirthDate = "19620418"
    ds.PatientSex = "M"
    other_id = Dataset()
    other_id.PatientID = f"NHS{rng.randrange(10**9, 10**10)}"
    other_id.IssuerOfPatientID = "NHS"
    other_id.TypeOfPatientID = "TEXT"
    _sequence(ds, "OtherPatientIDsSequence", [other_id], undefined=False)
    ds.PatientAge = "061Y"
    ds.PatientSize = "1.78"
    ds.PatientWeight = "82.5"
    ds.AdditionalPatientHistory = "Follow-up. Known hepatic lesion, rule out progression."
    ds.PatientComments = "Allergy: none known"

    ds.ContrastBolusAgent = "OMNIPAQUE 350"
    ds.ContrastBolusRoute = "IV"
    ds.ContrastBolusVolume = "100"
    ds.ContrastBolusStartTime = "101030"
    ds.ContrastBolusTotalDose = "35"
    ds.ContrastFlowRate = ["3.5", "3.5"]
    ds.ContrastFlowDuration = ["28.6", "28.6"]
    ds.ContrastBolusIngredient = "IODINE"
    ds.ContrastBolusIngredientConcentration = "350"
    ds.BodyPartExamined = "ABDOMEN"
    ds.DeviceSerialNumber = "*"
    ds.SoftwareVersions = ["gmp_vct.42", "LightSpeedverrel", "07MW18.4"]
    ds.ProtocolName = "5.5 ABD/PEL W CONTRAST"
    ds.DateOfLastCalibration = "20240311"
    ds.TimeOfLastCalibration = "071215"
    ds.PatientPosition = "FFS"

    ds.StudyInstanceUID = uids["study"]
    ds.SeriesInstanceUID = uids["series"]
    ds.StudyID = "48213"
    ds.SeriesNumber = 3
    ds.AcquisitionNumber = 1
    ds.FrameOfReferenceUID = uids["for"]
    ds.PositionReferenceIndicator = "SN"
    ds.ImageComments = "Generated by dicomstream benchmarks"

    request = Dataset()
    request.RequestedProcedureID = "RP48213"
    request.ScheduledProcedureStepID = "SPS48213"
    request.ScheduledProcedureStepDescription = "CT TAP W"
    protocol = _code("P5.5", "GEHC", "ABD/PEL W CONTRAST", undefined=True)
    context = Dataset()
    context.ValueType = "CODE"
    context.ConceptNameCodeSequence = Sequence([_code("G-C0E8", "SRT", "Contrast agent")])
    context.ConceptCodeSequence = Sequence([_code("C-B0322", "SRT", "Iohexol")])
    protocol.ProtocolContextSequence = Sequence([context])  # three levels deep
    request.ScheduledProtocolCodeSequence = Sequence([protocol])
    request2 = Dataset()
    request2.RequestedProcedureID = "RP48214"
    request2.ScheduledProcedureStepID = "SPS48214"
    request2.is_undefined_length_sequence_item = True
    _sequence(ds, "RequestAttributesSequence", [request, request2], undefined=True)
    ds.PerformedProcedureStepStartDate = "20240312"
    ds.PerformedProcedureStepStartTime = "100944"
    ds.PerformedProcedureStepID = "PPS48213"
    ds.PerformedProcedureStepDescription = "CT TAP W"


def _ge_private(ds: Dataset, rng: random.Random) -> None:
    iden = ds.private_block(0x0009, "GEMS_IDEN_01", create=True)
    iden.add_new(0x01, "LO", "CT_LIGHTSPEED")
    iden.add_new(0x02, "SH", "CT01")
    iden.add_new(0x04, "SH", "LightSpeed VCT")
    iden.add_new(0x27, "SL", 1710234661)
    iden.add_new(0xE3, "UI", _UID_ROOT + ".9.3.1")
    iden.add_new(0xE7, "UL", 3735928559)
    acqu = ds.private_block(0x0019, "GEMS_ACQU_01", create=True)
    acqu.add_new(0x02, "SL", 912)
    acqu.add_new(0x03, "DS", "1131.25")
    acqu.add_new(0x04, "DS", "1.0")
    acqu.add_new(0x0F, "DS", "1078.5")
    acqu.add_new(0x11, "SS", 2)
    acqu.add_new(0x18, "LO", "I")
    acqu.add_new(0x19, "DS", "-112.25")
    acqu.add_new(0x23, "DS", "39.375")
    acqu.add_new(0x24, "DS", "2.1524")
    acqu.add_new(0x26, "SL", 288)
    acqu.add_new(0x27, "DS", "0.5")
    parm = ds.private_block(0x0043, "GEMS_PARM_01", create=True)
    parm.add_new(0x10, "US", 3)
    parm.add_new(0x11, "US", 512)
    parm.add_new(0x12, "SS", [14, 1, 3])
    parm.add_new(0x1E, "DS", "0.95")
    parm.add_new(0x1F, "SL", 1)
    parm.add_new(0x29, "OB", rng.randbytes(1024))


def _siemens_private(ds: Dataset, seed: int) -> None:
    csa = ds.private_block(0x0029, "SIEMENS CSA HEADER", create=True)
    csa.add_new(0x08, "CS", "IMAGE NUM 4")
    csa.add_new(0x09, "LO", "20050723")
    csa.add_new(0x10, "OB", _csa_blob(32, seed))
    csa.add_new(0x18, "CS", "SERIES NUM 4")
    csa.add_new(0x19, "LO", "20050723")
    csa.add_new(0x20, "OB", _csa_blob(12, seed + 1))


def _philips_private(ds: Dataset) -> None:
    """A private sequence whose items carry their own private block (as Philips writes)."""
    block = ds.private_block(0x2001, "Philips Imaging DD 001", create=True)
    block.add_new(0x0B, "CS", "TRANSVERSAL")
    block.add_new(0x2D, "SS", 1)
    items = []
    for k in range(2):
        item = Dataset()
        inner = item.private_block(0x2001, "Philips Imaging DD 001", create=True)
        inner.add_new(0x2D, "SS", 40 + k)
        inner.add_new(0x32, "FL", [0.0, 12.5])
        item.is_undefined_length_sequence_item = k == 1
        items.append(item)
    block.add_new(0x5F, "SQ", Sequence(items))
    ds[block.get_tag(0x5F)].is_undefined_length = True


def _ct_image_modules(ds: Dataset, rows: int, cols: int) -> None:
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.ScanOptions = "HELICAL MODE"
    ds.SliceThickness = "1.25"
    ds.KVP = "120"
    ds.SpacingBetweenSlices = "1.25"
    ds.DataCollectionDiameter = "500.000000"
    ds.ReconstructionDiameter = "380.000000"
    ds.DistanceSourceToDetector = "949.075012"
    ds.DistanceSourceToPatient = "541.000000"
    ds.GantryDetectorTilt = "0.000000"
    ds.TableHeight = "157.000000"
    ds.RotationDirection = "CW"
    ds.ExposureTime = 500
    ds.XRayTubeCurrent = 315
    ds.Exposure = 7
    ds.FilterType = "BODY FILTER"
    ds.GeneratorPower = 37800
    ds.FocalSpots = "0.700000"
    ds.ConvolutionKernel = "STANDARD"
    ds.RevolutionTime = 0.5
    ds.SingleCollimationWidth = 0.625
    ds.TotalCollimationWidth = 40.0
    ds.TableSpeed = 78.75
    ds.TableFeedPerRotation = 39.375
    ds.SpiralPitchFactor = 0.984375
    ds.ExposureModulationType = "Z_EC"
    ds.CTDIvol = 12.3456789
    phantom = _code("113691", "DCM", "IEC Body Dosimetry Phantom")
    _sequence(ds, "CTDIPhantomTypeCodeSequence", [phantom], undefined=False)
    ds.DataCollectionCenterPatient = [0.0, -157.0, -245.5]
    ds.ReconstructionTargetCenterPatient = [0.0, -157.0, -245.5]
    ds.TriggerSamplePosition = 0  # UL
    ds.IrradiationEventUID = _UID_ROOT + ".5.77.1"
    ds.ImageOrientationPatient = "1.000000\\0.000000\\0.000000\\0.000000\\1.000000\\0.000000"
    ds.ImagesInAcquisition = 512
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = rows
    ds.Columns = cols
    ds.PixelSpacing = ["0.742188", "0.742188"]
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 1
    ds.add_new(0x00280120, "SS", -2000)  # Pixel Padding Value ("US or SS": SS as signed)
    ds.LossyImageCompression = "00"
    ds.WindowCenter = ["40", "400"]
    ds.WindowWidth = ["400", "1500"]
    ds.RescaleIntercept = "-1024"
    ds.RescaleSlope = "1"
    ds.RescaleType = "HU"
    ds.WindowCenterWidthExplanation = ["ABDOMEN", "BONE"]


def _series_uids(seed: int) -> dict[str, str]:
    rng = random.Random(f"dicomstream-series-{seed}")
    stem = f"{_UID_ROOT}.{rng.randrange(10**11, 10**12)}"
    return {name: f"{stem}.{k}" for k, name in enumerate(("study", "series", "for", "pps"), 1)}


# --------------------------------------------------------------------------- CT series


def write_ct_series(
    directory: Path,
    count: int = 500,
    *,
    target_size: int = 512 * 1024,
    seed: int = 0,
    transfer_syntax: str = EXPLICIT_VR_LE,
) -> list[Path]:
    """Write ``count`` CT slices of one series as ``directory/CT000001.dcm`` … and list them.

    Every file is a valid Part 10 file (preamble, ``DICM``, meta group) with a ~250-element
    CT header and native signed 16-bit pixel data; files share the Study, Series and Frame
    of Reference UIDs and differ in SOP Instance UID, Instance Number, Image Position
    (Patient), Slice Location and the first two pixels. The pixel data takes
    ``target_size`` bytes rounded down to a square 16-bit image (512 KiB → 512 x 512), so a
    file is ``target_size`` plus its header (~12 KiB). ``transfer_syntax`` is one of
    :data:`NATIVE_SYNTAXES`. Deterministic for a given ``seed``.
    """
    if transfer_syntax not in NATIVE_SYNTAXES:
        raise ValueError(f"write_ct_series needs a native transfer syntax, not {transfer_syntax}")
    if count < 1:
        raise ValueError("count must be at least 1")
    enc = _encoding(transfer_syntax)
    side = max(1, math.isqrt(target_size // 2))
    rows = cols = min(side, 0xFFFF)
    rng = random.Random(seed)
    uids = _series_uids(seed)
    digits = max(6, len(str(count)) + 1)
    first = 10 ** (digits - 1)

    def sop_uid(i: int) -> str:
        return f"{uids['series']}.{first + i}"

    z_values, z_width = _fixed_ds(-100.0 - 1.25 * i for i in range(count))
    in_width = len(str(count)) + (len(str(count)) & 1)
    sentinel_uid = f"{uids['series']}.{'9' * digits}"
    sentinel_z = "9" * z_width
    sentinel_in = "9" * in_width
    ipp_xy = "-190.000000\\-347.000000\\"

    ds = Dataset()
    _common_modules(ds, uids, rng)
    _ct_image_modules(ds, rows, cols)
    ds.SOPClassUID = CT_IMAGE_STORAGE
    ds.SOPInstanceUID = sentinel_uid
    ds.InstanceNumber = sentinel_in
    ds.ImagePositionPatient = ipp_xy + sentinel_z
    ds.SliceLocation = sentinel_z
    _ge_private(ds, rng)
    _siemens_private(ds, seed)
    _philips_private(ds)

    prefix = _part10_prefix(CT_IMAGE_STORAGE, sentinel_uid, transfer_syntax)
    body = _encode_dataset(ds, enc)
    pixels = _pixel_bytes(_pixel_values(rows, cols, seed), enc.little)
    body += _element_header(0x7FE00010, "OW", len(pixels), enc)

    prefix_slots = [_text_slot(prefix, 0x00020003, "UI", sentinel_uid, sop_uid, _META_ENCODING)]
    body_slots = [
        _text_slot(body, 0x00080018, "UI", sentinel_uid, sop_uid, enc),
        _text_slot(body, 0x00200013, "IS", sentinel_in, lambda i: str(i + 1).ljust(in_width), enc),
        _text_slot(
            body, 0x00200032, "DS", ipp_xy + sentinel_z, lambda i: ipp_xy + z_values[i], enc
        ),
        _text_slot(body, 0x00201041, "DS", sentinel_z, lambda i: z_values[i], enc),
    ]
    order = "<" if enc.little else ">"
    rest = memoryview(pixels)[4:]

    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        path = directory / f"CT{i + 1:06d}.dcm"
        head = _patch(prefix, prefix_slots, i)
        dataset = _patch(body, body_slots, i)
        with path.open("wb") as f:
            f.write(head)
            if enc.deflated:
                deflater = zlib.compressobj(1, zlib.DEFLATED, -15)
                f.write(deflater.compress(dataset))
                f.write(deflater.compress(_stamp(order, i)))
                f.write(deflater.compress(rest))
                f.write(deflater.flush())
            else:
                f.write(dataset)
                f.write(_stamp(order, i))
                f.write(rest)
        paths.append(path)
    return paths


# --------------------------------------------------------------------------- multi-frame


def _enhanced_ct_header(
    rows: int, cols: int, frames: int, uids: dict[str, str], sop_uid: str, rng: random.Random
) -> Dataset:
    ds = Dataset()
    _common_modules(ds, uids, rng)
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL", "NONE"]
    ds.SOPClassUID = ENHANCED_CT_IMAGE_STORAGE
    ds.SOPInstanceUID = sop_uid
    ds.InstanceNumber = 1
    ds.ContentQualification = "PRODUCT"
    ds.AcquisitionDateTime = "20240312101101.500000"
    ds.KVP = "120"
    ds.ImageComments = "Generated by dicomstream benchmarks (multi-frame)"
    dim_org = Dataset()
    dim_org.DimensionOrganizationUID = uids["series"] + ".7"
    ds.DimensionOrganizationSequence = Sequence([dim_org])
    dims = []
    for pointer, group in ((0x00209056, 0x00209111), (0x00209057, 0x00209111)):
        dim = Dataset()
        dim.DimensionOrganizationUID = dim_org.DimensionOrganizationUID
        dim.DimensionIndexPointer = pointer
        dim.FunctionalGroupPointer = group
        dims.append(dim)
    ds.DimensionIndexSequence = Sequence(dims)
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.NumberOfFrames = frames
    ds.Rows = rows
    ds.Columns = cols
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 1
    ds.LossyImageCompression = "00"
    ds.PresentationLUTShape = "IDENTITY"
    ds.BurnedInAnnotation = "NO"

    shared = Dataset()
    measures = Dataset()
    measures.PixelSpacing = ["0.742188", "0.742188"]
    measures.SliceThickness = "1.25"
    shared.PixelMeasuresSequence = Sequence([measures])
    orientation = Dataset()
    orientation.ImageOrientationPatient = ["1", "0", "0", "0", "1", "0"]
    shared.PlaneOrientationSequence = Sequence([orientation])
    transform = Dataset()
    transform.RescaleIntercept = "-1024"
    transform.RescaleSlope = "1"
    transform.RescaleType = "HU"
    shared.PixelValueTransformationSequence = Sequence([transform])
    voi = Dataset()
    voi.WindowCenter = ["40", "400"]
    voi.WindowWidth = ["400", "1500"]
    shared.FrameVOILUTSequence = Sequence([voi])
    frame_type = Dataset()
    frame_type.FrameType = ["ORIGINAL", "PRIMARY", "AXIAL", "NONE"]
    frame_type.PixelPresentation = "MONOCHROME"
    frame_type.VolumetricProperties = "VOLUME"
    frame_type.VolumeBasedCalculationTechnique = "NONE"
    shared.CTImageFrameTypeSequence = Sequence([frame_type])
    ds.SharedFunctionalGroupsSequence = Sequence([shared])
    _ge_private(ds, rng)
    return ds


def _per_frame_item(frames: int, enc: _Encoding) -> tuple[bytes, list[_Slot]]:
    """One encoded Per-frame Functional Groups item (with its item header) and its slots."""
    z_values, z_width = _fixed_ds(-100.0 - 1.25 * i for i in range(frames))
    sentinel_z = "9" * z_width
    ipp_xy = "-190\\-347\\"
    sentinel_ul = 0xFEEDFACE
    item = Dataset()
    content = Dataset()
    content.StackID = "1"
    content.InStackPositionNumber = sentinel_ul
    content.DimensionIndexValues = [1, sentinel_ul]
    content.FrameAcquisitionDateTime = "20240312101101.500000"
    item.FrameContentSequence = Sequence([content])
    position = Dataset()
    position.ImagePositionPatient = ipp_xy + sentinel_z
    item.PlanePositionSequence = Sequence([position])
    body = _encode_dataset(item, enc)
    encoded = _element_header(0xFFFEE000, "", len(body), enc) + body
    order = "<" if enc.little else ">"
    sentinel_raw = struct.pack(order + "I", sentinel_ul)
    stack_header = _element_header(0x00209057, "UL", 4, enc)
    index_header = _element_header(0x00209157, "UL", 8, enc) + struct.pack(order + "I", 1)

    def ul(i: int) -> bytes:
        return struct.pack(order + "I", i + 1)

    slots = [
        _Slot(_locate(encoded, stack_header, sentinel_raw), 4, ul),
        _Slot(_locate(encoded, index_header, sentinel_raw), 4, ul),
        _text_slot(
            encoded, 0x00200032, "DS", ipp_xy + sentinel_z, lambda i: ipp_xy + z_values[i], enc
        ),
    ]
    return encoded, slots


def _rle_fragment(values: array[int], rows: int, cols: int) -> tuple[bytes, slice]:
    """A valid RLE Lossless frame (two byte-plane segments of literal runs).

    Returns the fragment and where a frame counter may be stamped: the first (up to 4)
    literal bytes of the low-byte segment's first run.
    """
    raw = _pixel_bytes(values, little=False)  # big-endian: high bytes at even offsets
    segments = []
    for plane in (raw[0::2], raw[1::2]):
        out = bytearray()
        for r in range(rows):
            row = plane[r * cols : (r + 1) * cols]
            for start in range(0, cols, 128):
                run = row[start : start + 128]
                out.append(len(run) - 1)
                out += run
        if len(out) & 1:
            out.append(0x80)  # no-op run code pads the segment to even length
        segments.append(bytes(out))
    header = struct.pack("<16I", 2, 64, 64 + len(segments[0]), *([0] * 13))
    first_literal = 64 + len(segments[0]) + 1
    return header + segments[0] + segments[1], slice(first_literal, first_literal + min(4, cols))


def write_multiframe(
    path: Path,
    size: int,
    *,
    frame_bytes: int = 512 * 512 * 2,
    transfer_syntax: str | None = None,
    encapsulated: bool = False,
    per_frame_groups: bool = True,
    seed: int = 0,
) -> Path:
    """Write an Enhanced CT file of at least ``size`` bytes to ``path`` and return ``path``.

    Native (default): ``ceil(size / frame_bytes)`` signed 16-bit frames of ``frame_bytes``
    each (Rows x Columns as square as ``frame_bytes / 2`` divides), in a defined-length OW
    Pixel Data element, so at most 4 GiB - 2 of pixel data; ``transfer_syntax`` is one of
    :data:`NATIVE_SYNTAXES` (default Explicit VR LE).

    ``encapsulated=True``: one valid RLE fragment per frame (~``frame_bytes`` x 1.008) in an
    undefined-length Pixel Data element closed by a Sequence Delimiter; the Basic Offset
    Table lists the frames, or, past 4 GiB, is empty and an Extended Offset Table
    (7FE0,0001)/(7FE0,0002) is written instead. ``transfer_syntax`` is one of
    :data:`ENCAPSULATED_SYNTAXES` (default RLE Lossless).

    ``per_frame_groups`` writes a Per-frame Functional Groups Sequence (frame content and
    plane position per frame, ~200 bytes a frame). The writer streams: pixels go out in
    chunks of 4 MiB and memory stays far below 64 MiB whatever ``size`` (for frames of up
    to a few MiB: one frame is always held). With the deflated syntax ``size`` counts
    inflated bytes.
    """
    if transfer_syntax is None:
        transfer_syntax = RLE_LOSSLESS if encapsulated else EXPLICIT_VR_LE
    allowed = ENCAPSULATED_SYNTAXES if encapsulated else NATIVE_SYNTAXES
    if transfer_syntax not in allowed:
        kind = "an encapsulated" if encapsulated else "a native"
        raise ValueError(f"{transfer_syntax} is not {kind} transfer syntax this writer supports")
    enc = _encoding(transfer_syntax)
    rows, cols = _frame_shape(frame_bytes)
    values = _pixel_values(rows, cols, seed)
    order = "<" if enc.little else ">"

    if encapsulated:
        fragment, stamp_at = _rle_fragment(values, rows, cols)
        frames = max(1, -(-size // (len(fragment) + 8)))
    else:
        frames = max(1, -(-size // frame_bytes))
        if frames * frame_bytes > _MAX_DEFINED_LENGTH:
            raise ValueError(
                f"{frames} frames of {frame_bytes} bytes exceed the 4 GiB limit of native pixel "
                "data; use encapsulated=True for larger files"
            )

    rng = random.Random(seed)
    uids = _series_uids(seed)
    sop_uid = uids["series"] + ".100001"
    header = _enhanced_ct_header(rows, cols, frames, uids, sop_uid, rng)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as raw_file:
        raw_file.write(_part10_prefix(ENHANCED_CT_IMAGE_STORAGE, sop_uid, transfer_syntax))
        out: _Sink = _DeflateSink(raw_file) if enc.deflated else _Sink(raw_file)
        out.write(_encode_dataset(header, enc))
        if per_frame_groups:
            item, slots = _per_frame_item(frames, enc)
            out.write(_element_header(0x52009230, "SQ", frames * len(item), enc))
            for i in range(frames):
                out.write(_patch(item, slots, i))
        if encapsulated:
            _write_fragments(out, fragment, stamp_at, frames)
        else:
            _write_native(out, _pixel_bytes(values, enc.little), frames, order, enc)
        out.close()
    return path


class _Sink:
    """A file seen as a byte sink (so deflating is one subclass away)."""

    def __init__(self, f: BinaryIO) -> None:
        self._f = f

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self._f.write(data)

    def close(self) -> None:
        self._f.flush()


class _DeflateSink(_Sink):
    def __init__(self, f: BinaryIO) -> None:
        super().__init__(f)
        self._deflater = zlib.compressobj(1, zlib.DEFLATED, -15)

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self._f.write(self._deflater.compress(data))

    def close(self) -> None:
        self._f.write(self._deflater.flush())
        super().close()


def _write_native(out: _Sink, frame: bytes, frames: int, order: str, enc: _Encoding) -> None:
    frame_bytes = len(frame)
    out.write(_element_header(0x7FE00010, "OW", frames * frame_bytes, enc))
    per_chunk = max(1, _CHUNK_BYTES // frame_bytes)
    chunk = bytearray(frame * min(per_chunk, frames))
    for first in range(0, frames, per_chunk):
        n = min(per_chunk, frames - first)
        for k in range(n):
            chunk[k * frame_bytes : k * frame_bytes + 4] = _stamp(order, first + k)
        out.write(memoryview(chunk)[: n * frame_bytes])


def _write_fragments(out: _Sink, fragment: bytes, stamp_at: slice, frames: int) -> None:
    enc = _META_ENCODING  # encapsulated syntaxes are all explicit VR little endian
    step = 8 + len(fragment)
    if (frames - 1) * step <= 0xFFFFFFFF:
        table = struct.pack(f"<{frames}I", *range(0, frames * step, step))
        pixel_items = _element_header(0xFFFEE000, "", len(table), enc) + table
    else:  # offsets overflow 32 bits: empty BOT plus an Extended Offset Table (PS3.5 A.4)
        offsets = struct.pack(f"<{frames}Q", *range(0, frames * step, step))
        lengths = struct.pack("<Q", len(fragment)) * frames
        out.write(_element_header(0x7FE00001, "OV", len(offsets), enc) + offsets)
        out.write(_element_header(0x7FE00002, "OV", len(lengths), enc) + lengths)
        pixel_items = _element_header(0xFFFEE000, "", 0, enc)
    out.write(_element_header(0x7FE00010, "OB", 0xFFFFFFFF, enc) + pixel_items)
    item_header = _element_header(0xFFFEE000, "", len(fragment), enc)
    per_chunk = max(1, _CHUNK_BYTES // step)
    chunk = bytearray((item_header + fragment) * min(per_chunk, frames))
    width = stamp_at.stop - stamp_at.start
    for first in range(0, frames, per_chunk):
        n = min(per_chunk, frames - first)
        for k in range(n):
            at = k * step + 8 + stamp_at.start
            chunk[at : at + width] = struct.pack(">I", first + k)[-width:]
        out.write(memoryview(chunk)[: n * step])
    out.write(_element_header(0xFFFEE0DD, "", 0, enc))
