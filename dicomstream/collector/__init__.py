"""Collect an event stream into a :class:`Dataset`; read, inspect, modify and save DICOM
as pydicom does, from any stream.

>>> from dicomstream.collector import dcmread
>>> ds = dcmread("rtplan.dcm")                                    # doctest: +SKIP
>>> ds.PatientSetupSequence[0].PatientPosition = "HFP"             # doctest: +SKIP
>>> ds.save_as("out.dcm")                                          # doctest: +SKIP

The pieces: :class:`Collector` (events → dataset, also as :func:`collect`,
:func:`collect_async` and :class:`CollectStage`), :func:`dcmread` / :func:`read_dataset`
(file or any source → dataset), :class:`Dataset` / :class:`DataElement` /
:class:`Sequence` (the object model, values decoded on demand), ``Dataset.events()`` /
:func:`dataset_batches` (dataset → events, for any stage or encoder) and :func:`dcmwrite`
(→ encoder → bytes, byte-exact when unchanged), DICOM
JSON (:func:`to_json_dict`, :func:`from_json`) and the pydicom bridge
(:func:`to_pydicom`, :func:`from_pydicom`).
"""

from __future__ import annotations

__all__ = (
    "CollectStage",
    "Collector",
    "DataElement",
    "Dataset",
    "DeferredReadError",
    "DeferredValue",
    "FileMetaDataset",
    "PrivateBlock",
    "Sequence",
    "Tag",
    "collect",
    "collect_async",
    "dataset_batches",
    "dataset_events",
    "dcmread",
    "dcmwrite",
    "from_json",
    "from_pydicom",
    "read_dataset",
    "to_json_dict",
    "to_pydicom",
)

from dicomstream.collector._collect import Collector, CollectStage, collect, collect_async
from dicomstream.collector._dataset import Dataset, FileMetaDataset
from dicomstream.collector._deferred import DeferredReadError, DeferredValue
from dicomstream.collector._element import DataElement, Tag
from dicomstream.collector._json import from_json, to_json_dict
from dicomstream.collector._private import PrivateBlock
from dicomstream.collector._pydicom import from_pydicom, to_pydicom
from dicomstream.collector._read import dcmread, read_dataset
from dicomstream.collector._sequence import Sequence
from dicomstream.collector._write import dataset_batches, dataset_events, dcmwrite

for _name in __all__:
    _obj = globals()[_name]
    if getattr(_obj, "__module__", "").startswith("dicomstream.collector._"):
        try:
            _obj.__module__ = __name__
        except (AttributeError, TypeError):
            pass
del _name, _obj
