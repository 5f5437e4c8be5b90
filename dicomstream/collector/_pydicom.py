"""Bridge to pydicom (optional: ``pip install dicomstream[pydicom]``).

Why through bytes: a dataset's Part 10 encoding is the one representation both
libraries read and write exactly, so converting through it loses nothing — private
elements, character sets, undefined lengths and encapsulated pixel data included — and
needs no mapping of one object model onto the other. pydicom is imported only when a
conversion is asked for; it is never a dependency of dicomstream itself.
"""

from __future__ import annotations

__all__ = ("from_pydicom", "to_pydicom")

import io
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dicomstream.collector._dataset import Dataset


def _pydicom() -> Any:
    try:
        import pydicom
    except ImportError as exc:  # pragma: no cover - pydicom is a test dependency
        raise ImportError("the pydicom bridge needs pydicom: "
                          "pip install 'dicomstream[pydicom]'") from exc
    return pydicom


def to_pydicom(ds: Dataset) -> Any:
    """A ``pydicom.dataset.FileDataset`` equal to ``ds`` (for pixel handling, highdicom
    and the rest of the pydicom ecosystem)."""
    pydicom = _pydicom()
    from dicomstream.collector._write import dcmwrite

    buffer = io.BytesIO()
    dcmwrite(buffer, ds)
    buffer.seek(0)
    return pydicom.dcmread(buffer, force=True)


def from_pydicom(dataset: Any) -> Dataset:
    """A dicomstream :class:`~dicomstream.collector.Dataset` equal to a pydicom dataset.

    The encoding is the dataset's file meta Transfer Syntax UID, else the one it was
    read in, else explicit VR little endian.
    """
    _pydicom()
    from pydicom.filewriter import dcmwrite

    from dicomstream.collector._read import dcmread

    options: dict[str, Any] = {}
    meta = getattr(dataset, "file_meta", None)
    has_syntax = meta is not None and "TransferSyntaxUID" in meta
    if not has_syntax:
        implicit, little = getattr(dataset, "original_encoding", (None, None))
        options["implicit_vr"] = bool(implicit) if implicit is not None else False
        options["little_endian"] = bool(little) if little is not None else True
    buffer = io.BytesIO()
    dcmwrite(buffer, dataset, **options)
    return dcmread(buffer.getvalue())
