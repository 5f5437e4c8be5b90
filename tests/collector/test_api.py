"""The public surface of the collector, and that ``import dicomstream`` stays cheap."""

from __future__ import annotations

import subprocess
import sys

import dicomstream
import dicomstream.collector as collector
from dicomstream import dicomio


def test_every_public_name_is_exported_and_documented() -> None:
    import inspect

    for module in (collector, dicomio):
        assert isinstance(module.__all__, tuple)
        for attr, value in vars(module).items():
            if attr.startswith("_") or inspect.ismodule(value):
                continue
            defined_here = getattr(value, "__module__", "").startswith("dicomstream.")
            if (inspect.isclass(value) or inspect.isfunction(value)) and defined_here:
                assert attr in module.__all__, (module.__name__, attr)
    for name in collector.__all__:
        obj = getattr(collector, name)
        assert obj.__doc__, name
        if hasattr(obj, "__module__"):
            assert obj.__module__ == "dicomstream.collector", name
    for name in ("dcmread", "dcmwrite", "read_dataset", "Dataset", "DataElement",
                 "Sequence", "FileMetaDataset", "Tag"):
        assert name in dicomstream.__all__
        assert getattr(dicomstream, name) is getattr(collector, name)
    assert dicomio.read_file.__doc__ and dicomio.write_file.__doc__


def test_import_dicomstream_does_not_load_the_collector() -> None:
    code = ("import sys, dicomstream; "
            "print('dicomstream.collector' in sys.modules); "
            "dicomstream.Dataset; print('dicomstream.collector' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.split() == ["False", "True"]


def test_unknown_attribute_of_the_package() -> None:
    import pytest

    with pytest.raises(AttributeError):
        dicomstream.no_such_thing  # noqa: B018
