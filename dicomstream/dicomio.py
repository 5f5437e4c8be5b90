"""The classic spelling: ``from dicomstream import dicomio; dicomio.read_file(path)``.

Why: code written for pydicom 1.x (``pydicom.dicomio.read_file`` / ``write_file``,
and ``dicom.read_file`` before it) runs with only its import changed. New code uses
:func:`dicomstream.dcmread` and ``Dataset.save_as``.
"""

from __future__ import annotations

__all__ = ("dcmread", "dcmwrite", "read_file", "write_file")

from typing import TYPE_CHECKING, Any

from dicomstream.collector import dcmread, dcmwrite

if TYPE_CHECKING:
    import os
    from collections.abc import Iterable
    from typing import IO

    from dicomstream.collector import Dataset


def read_file(fp: str | os.PathLike[str] | IO[bytes] | bytes, defer_size: Any = None,
              stop_before_pixels: bool = False, force: bool = False,
              specific_tags: Iterable[Any] | None = None) -> Dataset:
    """Read a DICOM file (pydicom 1.x's argument order); see :func:`dcmread`."""
    return dcmread(fp, defer_size=defer_size, stop_before_pixels=stop_before_pixels,
                   force=force, specific_tags=specific_tags)


def write_file(filename: str | os.PathLike[str] | IO[bytes], dataset: Dataset,
               write_like_original: bool = True) -> None:
    """Write ``dataset`` (pydicom 1.x's spelling); see :func:`dcmwrite`."""
    dcmwrite(filename, dataset, write_like_original)
