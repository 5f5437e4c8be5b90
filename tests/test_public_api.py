"""The curated public surface: every public module has a tuple ``__all__`` whose names
exist, and no public-looking name is left out of it."""

from __future__ import annotations

import importlib
import inspect

import pytest

PUBLIC_MODULES = [
    "dicomstream", "dicomstream.errors", "dicomstream.events", "dicomstream.tags",
    "dicomstream.vr", "dicomstream.transfer_syntax", "dicomstream.parser",
    "dicomstream.encoder", "dicomstream.values", "dicomstream.dictionary",
    "dicomstream.io", "dicomstream.streams", "dicomstream.pipeline", "dicomstream.bulk",
    "dicomstream.stages", "dicomstream.plugin", "dicomstream.context", "dicomstream.cli",
    "dicomstream.local",
]


@pytest.mark.parametrize("name", PUBLIC_MODULES)
def test_all_is_a_tuple_of_existing_names(name: str) -> None:
    module = importlib.import_module(name)
    assert isinstance(module.__all__, tuple), name
    for attr in module.__all__:
        assert hasattr(module, attr), f"{name}.{attr} in __all__ but missing"


@pytest.mark.parametrize("name", PUBLIC_MODULES)
def test_public_names_are_in_all(name: str) -> None:
    module = importlib.import_module(name)
    for attr, value in vars(module).items():
        if attr.startswith("_") or inspect.ismodule(value):
            continue
        defined_here = getattr(value, "__module__", name) in (name, None)
        if (inspect.isclass(value) or inspect.isfunction(value)) and defined_here:
            assert attr in module.__all__, f"{name}.{attr} is public but not in __all__"


def test_root_exception_is_exported() -> None:
    import dicomstream
    from dicomstream.errors import ParseError

    assert issubclass(ParseError, dicomstream.DicomStreamError)
