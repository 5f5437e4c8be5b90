"""The DICOM JSON model (PS3.18 Annex F), out and in, as pydicom writes and reads it.

Why pydicom's reading of the standard: the JSON is exchanged with DICOMweb servers and
with pydicom users, so the same document must come out for the same dataset. Numbers
are JSON numbers (DS and IS too), person names are ``{"Alphabetic": …}`` objects, tags
in AT values are 8 hex digits, and binary values are ``InlineBinary`` (base64) — or,
when a ``bulk_data_element_handler`` is given and the value is above the threshold, a
``BulkDataURI`` the handler returns. Reading takes a ``bulk_data_uri_handler`` that
fetches such values (called with ``(tag, vr, uri)`` or just ``(uri)``).
"""

from __future__ import annotations

__all__ = ("from_json", "to_json_dict")

import base64
import inspect
import json
import warnings
from typing import TYPE_CHECKING, Any

from dicomstream.collector._element import DataElement
from dicomstream.errors import DicomStreamWarning, InvalidValueError
from dicomstream.values import CODECS

if TYPE_CHECKING:
    from collections.abc import Callable

    from dicomstream.collector._dataset import Dataset

_BYTES_VRS = frozenset({"OB", "OD", "OF", "OL", "OV", "OW", "UN"})
_INT_VRS = frozenset({"IS", "SL", "SS", "SV", "UL", "US", "UV"})
_FLOAT_VRS = frozenset({"DS", "FD", "FL"})
_VALUE_KEYS = ("Value", "InlineBinary", "BulkDataURI")


def _number(vr: str, value: Any, key: str) -> Any:
    """A JSON number. An IS or DS read as text that is no number ('1A', as ``dcmread``
    keeps it, with a warning) has none: like pydicom, refuse it — with an
    :class:`InvalidValueError` (a ``ValueError``) naming the element."""
    try:
        if vr in _INT_VRS:
            return int(value)
        if vr in _FLOAT_VRS:
            return float(value)
    except (TypeError, ValueError, OverflowError) as exc:
        raise InvalidValueError(f"{key}: {vr} value {value!r} is not a number, as DICOM "
                                "JSON needs one") from exc
    return value


def _plain(value: Any) -> Any:
    """Text as plain ``str`` (not ``DA``/``PersonName``…), numbers as they are."""
    if isinstance(value, str):
        return str(value)
    return value


def element_json(elem: DataElement, handler: Callable[[DataElement], str] | None,
                 threshold: int) -> dict[str, Any]:
    """One element's JSON object."""
    items = elem._sequence()  # first: a value written as UN may turn out to be no sequence
    vr = elem.VR
    out: dict[str, Any] = {"vr": vr}
    if vr in _BYTES_VRS:
        if not elem.is_empty:
            if handler is not None and elem.length_hint() > (threshold // 4) * 3:
                out["BulkDataURI"] = handler(elem)
            else:
                out["InlineBinary"] = base64.b64encode(elem.value).decode("ascii")
        return out
    if items is not None:
        out["Value"] = [to_json_dict(item, threshold, handler) for item in items]
        return out
    if elem.is_empty:
        return out
    value = elem.value
    values = value if isinstance(value, list) else [value]
    if vr == "PN":
        names = []
        for name in values:
            groups = name.split("=") if name else [""]
            comps = {"Alphabetic": groups[0]}
            if len(groups) > 1:
                comps["Ideographic"] = groups[1]
            if len(groups) > 2:
                comps["Phonetic"] = groups[2]
            names.append(comps)
        out["Value"] = names
    elif vr == "AT":
        out["Value"] = [format(int(v), "08X") for v in values]
    elif vr in _INT_VRS or vr in _FLOAT_VRS:
        key = f"{elem._tag:08X}"
        out["Value"] = [None if v is None else _number(vr, v, key) for v in values]
    else:
        out["Value"] = [_plain(v) for v in values]
    return out


def to_json_dict(ds: Dataset, bulk_data_threshold: int = 1024,
                 bulk_data_element_handler: Callable[[DataElement], str] | None = None,
                 suppress_invalid_tags: bool = False) -> dict[str, Any]:
    """The JSON model of ``ds`` (file meta excluded), keys in tag order.

    With ``suppress_invalid_tags``, an element whose value cannot be converted is left
    out (with a warning) instead of raising.

    Raises:
        InvalidValueError: an IS or DS value that is not a number (as pydicom refuses it).
    """
    out: dict[str, Any] = {}
    for elem in ds:
        key = f"{elem._tag:08X}"
        try:
            out[key] = element_json(elem, bulk_data_element_handler, bulk_data_threshold)
        except Exception as exc:
            if not suppress_invalid_tags:
                raise
            warnings.warn(f"{key} left out of the JSON: {exc}", DicomStreamWarning,
                          stacklevel=2)
    return out


def _empty(vr: str) -> Any:
    if vr == "SQ":
        return []
    codec = CODECS.get(vr)
    return None if codec is None else codec.empty


class _Reader:
    def __init__(self, handler: Callable[..., Any] | None, cls: type[Dataset]) -> None:
        self.cls = cls
        self.handler: Callable[[str, str, str], Any] | None
        if handler is not None and len(inspect.signature(handler).parameters) == 1:
            one = handler
            self.handler = lambda _tag, _vr, uri: one(uri)
        else:
            self.handler = handler

    def dataset(self, data: dict[str, Any]) -> Dataset:
        ds = self.cls()
        for key, attr in (data or {}).items():
            if "vr" not in attr:
                raise KeyError(f"data element {key!r} must have key 'vr'")
            ds.add(self.element(key, attr))
        return ds

    def element(self, key: str, attr: dict[str, Any]) -> DataElement:
        vr = attr["vr"]
        found = [k for k in _VALUE_KEYS if k in attr]
        value = _empty(vr) if not found else self.value(key, vr, found[0], attr[found[0]])
        try:
            return DataElement(int(key, 16), vr, value)
        except Exception as exc:
            raise ValueError(f"data element {key!r} could not be loaded from JSON: "
                             f"{value!r}") from exc

    def value(self, key: str, vr: str, kind: str, value: Any) -> Any:
        if kind == "Value":
            if not isinstance(value, list):
                raise TypeError(f"'Value' of data element {key!r} must be a list")
            if not value:
                return _empty(vr)
            if vr == "SQ":
                return [self.dataset(item) for item in value]
            items = [self.one(key, vr, v) for v in value]
            return items[0] if len(items) == 1 else items
        if isinstance(value, list):
            value = value[0]
        if not isinstance(value, str):
            raise TypeError(f"the {kind!r} of data element {key!r} must be a str, not "
                            f"{type(value).__name__}")
        if kind == "InlineBinary":
            return base64.b64decode(value)
        if self.handler is None:
            warnings.warn(f"no bulk data URI handler for data element {key!r}; "
                          "its value is left empty", DicomStreamWarning, stacklevel=4)
            return _empty(vr)
        return self.handler(key, vr, value)

    def one(self, key: str, vr: str, value: Any) -> Any:
        if value is None:
            return _empty(vr) if vr not in _INT_VRS | _FLOAT_VRS else None
        if vr == "PN":
            if not isinstance(value, dict):
                warnings.warn(f"PN value of data element {key!r} is not an object",
                              DicomStreamWarning, stacklevel=4)
                return value
            groups = [value.get("Alphabetic", "")]
            if "Ideographic" in value or "Phonetic" in value:
                groups.append(value.get("Ideographic", ""))
            if "Phonetic" in value:
                groups.append(value["Phonetic"])
            return "=".join(groups)
        if vr == "AT":
            try:
                return int(value, 16)
            except (TypeError, ValueError):
                warnings.warn(f"invalid AT value {value!r} in {key!r}; ignored",
                              DicomStreamWarning, stacklevel=4)
                return None
        if vr in _INT_VRS or vr in _FLOAT_VRS:
            return _number(vr, value, key)
        return value


def from_json(data: str | bytes | dict[str, Any],
              bulk_data_uri_handler: Callable[..., Any] | None = None,
              cls: type[Dataset] | None = None) -> Dataset:
    """A dataset from its JSON model (a document or the parsed dict)."""
    if cls is None:
        from dicomstream.collector._dataset import Dataset

        cls = Dataset
    if isinstance(data, str | bytes):
        data = json.loads(data)
    if not isinstance(data, dict):
        raise TypeError("a DICOM JSON dataset is an object")
    return _Reader(bulk_data_uri_handler, cls).dataset(data)
