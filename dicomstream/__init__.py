"""dicomstream: streaming DICOM for asyncio/anyio.

A sans-IO push parser turns byte chunks into element events, async stages transform
event streams, and a streaming encoder turns events back into bytes — byte-identical
when nothing changed. See README.md for a tour.

The pydicom-style object model (:func:`dcmread`, :class:`Dataset` …) lives in
:mod:`dicomstream.collector`; its names are re-exported here but imported only when
first used, so ``import dicomstream`` stays cheap.
"""

from __future__ import annotations

__all__ = (
    "DataElement",
    "Dataset",
    "DicomStreamError",
    "Encoder",
    "FileMetaDataset",
    "Parser",
    "Sequence",
    "Tag",
    "__version__",
    "dcmread",
    "dcmwrite",
    "read_dataset",
)

from typing import TYPE_CHECKING, Any

from dicomstream.encoder import Encoder
from dicomstream.errors import DicomStreamError
from dicomstream.parser import Parser

if TYPE_CHECKING:
    from dicomstream.collector import (
        DataElement,
        Dataset,
        FileMetaDataset,
        Sequence,
        Tag,
        dcmread,
        dcmwrite,
        read_dataset,
    )

__version__ = "0.1.0"

_LAZY = frozenset({"DataElement", "Dataset", "FileMetaDataset", "Sequence", "Tag",
                   "dcmread", "dcmwrite", "read_dataset"})


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from dicomstream import collector

        value = getattr(collector, name)
        globals()[name] = value
        return value
    if name == "dicomio":
        import importlib

        return importlib.import_module("dicomstream.dicomio")
    raise AttributeError(f"module 'dicomstream' has no attribute {name!r}")
