"""Dataset: elements by tag or keyword, as pydicom's ``Dataset`` offers them.

Why this shape: the familiar API (``ds.PatientName``, ``ds[0x0010, 0x0010]``,
``ds.dir("setup")``, sequences as lists of datasets, ``save_as``) over elements that keep
their raw bytes (see :mod:`~dicomstream.collector._element`). Elements live in a dict
keyed by tag, in the order they were read; iteration is in tag order, and a dataset
whose file order was not tag order is still written back in file order while nothing
was added. A tag read twice keeps the last element, as pydicom does (silently, too);
the shadowed one is written back where it was read while the last one is left alone
(not replaced, deleted or given another value), so such a file still saves as read.

Decoding state (byte order, character set) is kept per dataset — each sequence item has
its own :class:`~dicomstream.collector._element.Context` linked to its parent's — never
in global configuration, and setting (0008,0005) changes the character set new and
changed values of this dataset and the items inheriting it are written in (unchanged
text is transcoded on the way out).

File-level state lives on the top-level dataset: ``file_meta`` (a
:class:`FileMetaDataset`), ``preamble``, ``filename`` and the transfer syntax it was read
in.
"""

from __future__ import annotations

__all__ = ("Dataset", "FileMetaDataset", "Shadowed")

import warnings
from typing import TYPE_CHECKING, Any, overload

from dicomstream.collector._element import (
    SPECIFIC_CHARACTER_SET,
    UNSET,
    Context,
    DataElement,
    Tag,
    as_tag,
)
from dicomstream.collector._sequence import Sequence
from dicomstream.dictionary import keyword_for_tag, lookup, private_vr, tag_for_keyword
from dicomstream.errors import DicomStreamWarning
from dicomstream.events import UNDEFINED_LENGTH

if TYPE_CHECKING:
    import os
    from collections.abc import Callable, Iterator, Mapping
    from typing import BinaryIO

    from dicomstream.collector._private import PrivateBlock
    from dicomstream.events import DatasetStart, Event
    from dicomstream.transfer_syntax import TransferSyntax

# _order states: dict order is tag order / is file order, not tag order / must be sorted
_SORTED, _FILE_ORDER, _MUST_SORT = 0, 1, 2
_DICT_ATTRS = frozenset({"_dict", "_ctx", "_order", "_item_length", "_shadowed"})


class Shadowed:
    """Elements of a dataset read before a later one of the same tag, which won (see the
    module docstring), and the file order to write them back in.

    Attributes:
        earlier: tag → (the element that won, the elements it shadows).
        order: every element of the dataset as read, in file order, shadowed ones
            included.
    """

    __slots__ = ("earlier", "order")

    def __init__(self, order: list[DataElement],
                 earlier: dict[int, tuple[DataElement, list[DataElement]]] | None = None
                 ) -> None:
        self.order = order
        self.earlier = {} if earlier is None else earlier

    def live(self, d: dict[int, DataElement]) -> set[int]:
        """The ids of the shadowed elements to write back along with the elements ``d``
        holds: those whose winner is still there, unchanged."""
        return {id(e) for tag, (winner, earlier) in self.earlier.items()
                if d.get(tag) is winner and (winner._vr == "SQ" or winner.is_unchanged())
                for e in earlier}


class Dataset:
    """A DICOM dataset (or sequence item): a mapping of tags to :class:`DataElement`.

    ``Dataset()`` is empty; ``Dataset({tag: element, …})`` takes elements.
    """

    file_meta: FileMetaDataset
    preamble: bytes | None
    filename: str | None
    _dict: dict[int, DataElement]
    _ctx: Context
    _order: int
    _item_length: int
    _shadowed: Shadowed | None
    _start: DatasetStart | None

    def __init__(self, elements: Mapping[Any, DataElement] | None = None) -> None:
        init = self.__dict__
        init["_dict"] = {}
        init["_ctx"] = Context()
        init["_order"] = _SORTED
        init["_item_length"] = UNDEFINED_LENGTH
        init["_shadowed"] = None
        if elements:
            for elem in elements.values():
                self.add(elem)

    @classmethod
    def _new(cls, ctx: Context) -> Dataset:
        """An empty dataset on ``ctx`` (the collector's fast path)."""
        ds = cls.__new__(cls)
        ds.__dict__.update(_dict={}, _ctx=ctx, _order=_SORTED, _item_length=UNDEFINED_LENGTH,
                           _shadowed=None)
        return ds

    # -- attribute access by keyword ---------------------------------------------------

    def __getattr__(self, name: str) -> Any:
        if name[:1].isupper():
            tag = tag_for_keyword(name)
            if tag is not None:
                elem = self.__dict__.get("_dict", {}).get(tag)
                if elem is not None:
                    return elem.value
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        if name[:1].isupper():
            tag = tag_for_keyword(name)
            if tag is not None:
                self._set_value(tag, value)
                return
            if name not in type(self).__dict__:
                warnings.warn(f"{name!r} is not a DICOM keyword; set as a plain attribute",
                              DicomStreamWarning, stacklevel=2)
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        if name[:1].isupper():
            tag = tag_for_keyword(name)
            if tag is not None:
                if tag not in self._dict:
                    raise AttributeError(name)
                del self[tag]
                return
        object.__delattr__(self, name)

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(self.dir()))

    def dir(self, *filters: str) -> list[str]:
        """Keywords of the elements at this level, sorted; with ``filters``, only those
        containing one of them (case-insensitive)."""
        names = [kw for kw in (keyword_for_tag(tag) for tag in self._dict) if kw]
        if filters:
            wanted = [f.lower() for f in filters]
            names = [n for n in names if any(f in n.lower() for f in wanted)]
        return sorted(set(names))

    # -- mapping -----------------------------------------------------------------------

    @overload
    def __getitem__(self, key: slice) -> Dataset: ...

    @overload
    def __getitem__(self, key: int | str | tuple[int, int]) -> DataElement: ...

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, slice):
            return self._slice(key)
        return self._dict[as_tag(key)]

    def _slice(self, key: slice) -> Dataset:
        start = 0 if key.start is None else as_tag(key.start)
        stop = 0x100000000 if key.stop is None else as_tag(key.stop)
        if key.step not in (None, 1):
            raise ValueError("dataset slices take no step")
        out = Dataset._new(self._ctx)
        for tag in self._tags():
            if start <= tag < stop:
                out._dict[tag] = self._dict[tag]
        return out

    def __setitem__(self, key: Any, value: Any) -> None:
        tag = as_tag(key)
        if isinstance(value, DataElement):
            if value._tag != tag:
                raise ValueError(f"element {value.tag} cannot be stored under {Tag(tag)}")
            self.add(value)
        else:
            self._set_value(tag, value)

    def __delitem__(self, key: Any) -> None:
        if isinstance(key, slice):
            for tag in list(self._slice(key)._dict):
                del self[tag]
            return
        tag = as_tag(key)
        del self._dict[tag]
        if tag == SPECIFIC_CHARACTER_SET:
            self._ctx.charset_elem = None
        if self._shadowed is not None:
            self._shadowed.earlier.pop(tag, None)

    def __contains__(self, key: object) -> bool:
        try:
            return as_tag(key) in self._dict
        except (KeyError, TypeError, ValueError):
            return False

    def __len__(self) -> int:
        return len(self._dict)

    def __iter__(self) -> Iterator[DataElement]:
        d = self._dict
        for tag in self._tags():
            yield d[tag]

    def _tags(self) -> list[int] | Any:
        """Tags in tag order (sorting the dict once when insertions disordered it)."""
        order = self._order
        if order == _SORTED:
            return list(self._dict)
        if order == _FILE_ORDER:
            return sorted(self._dict)
        self._sort()
        return list(self._dict)

    def _sort(self) -> None:
        d = self._dict
        self.__dict__["_dict"] = {tag: d[tag] for tag in sorted(d)}
        self.__dict__["_order"] = _SORTED

    def keys(self) -> list[Tag]:
        """The tags, in tag order."""
        return [Tag(tag) for tag in self._tags()]

    def values(self) -> list[DataElement]:
        """The elements, in tag order."""
        return list(self)

    def items(self) -> list[tuple[Tag, DataElement]]:
        """``(tag, element)`` pairs, in tag order."""
        return [(Tag(elem._tag), elem) for elem in self]

    def get(self, key: Any, default: Any = None) -> Any:
        """A keyword gives the *value* (or ``default``); a tag gives the element."""
        if isinstance(key, str) and tag_for_keyword(key) is not None:
            elem = self._dict.get(tag_for_keyword(key))  # type: ignore[arg-type]
            return default if elem is None else elem.value
        try:
            return self._dict.get(as_tag(key), default)
        except KeyError:
            return default

    def data_element(self, keyword: str) -> DataElement | None:
        """The element of ``keyword``, or ``None``."""
        tag = tag_for_keyword(keyword)
        return None if tag is None else self._dict.get(tag)

    def setdefault(self, key: Any, default: Any = None) -> DataElement:
        """The element of ``key``; created with value ``default`` if absent."""
        tag = as_tag(key)
        elem = self._dict.get(tag)
        if elem is None:
            if isinstance(default, DataElement):
                elem = default
            else:
                elem = DataElement(tag, self._vr_for_new(tag), default)
            self.add(elem)
        return elem

    def pop(self, key: Any, *default: Any) -> Any:
        """Remove and return the element of ``key`` (or ``default``)."""
        try:
            tag = as_tag(key)
            elem = self._dict[tag]
        except KeyError:
            if default:
                return default[0]
            raise
        del self[tag]
        return elem

    def clear(self) -> None:
        """Remove every element."""
        self._dict.clear()
        self._ctx.charset_elem = None
        self.__dict__["_shadowed"] = None

    def update(self, other: Mapping[Any, Any] | Dataset) -> None:
        """Set elements (``DataElement`` values) or values from another mapping."""
        if isinstance(other, Dataset):
            for elem in other:
                self.add(elem)
            return
        for key, value in other.items():
            if isinstance(key, str) and tag_for_keyword(key) is not None:
                setattr(self, key, value)
            else:
                self[key] = value

    # -- adding elements ------------------------------------------------------------------

    def add(self, elem: DataElement) -> None:
        """Add (or replace) an element."""
        if not isinstance(elem, DataElement):
            raise TypeError(f"datasets hold DataElement instances, not {type(elem).__name__}")
        tag = elem._tag
        d = self._dict
        if tag not in d:
            if d and self._order != _MUST_SORT and tag < next(reversed(d)):
                self.__dict__["_order"] = _MUST_SORT
        elif self._shadowed is not None:
            self._shadowed.earlier.pop(tag, None)
        if elem._vr == "SQ":
            if elem._value is UNSET:
                elem.value  # noqa: B018 - decode a sequence written as UN before moving it
            elem._ctx = self._ctx
            if isinstance(elem._value, Sequence):
                elem._value._adopt_all(self._ctx)
        elif elem._ctx is None:
            elem._ctx = self._ctx
        d[tag] = elem
        if tag == SPECIFIC_CHARACTER_SET:
            self._ctx.charset_elem = elem

    def add_new(self, tag: int | str | tuple[int, int], VR: str, value: Any) -> None:  # noqa: N803
        """Add an element made from ``tag``, ``VR`` and ``value``."""
        self.add(DataElement(tag, VR, value))

    def _set_value(self, tag: int, value: Any) -> None:
        elem = self._dict.get(tag)
        if elem is not None:
            elem.value = value
            if elem._vr == "SQ":
                elem._value._adopt_all(self._ctx)
            return
        self.add(DataElement(tag, self._vr_for_new(tag), value))

    def _vr_for_new(self, tag: int) -> str:
        """The VR a new element gets: the dictionary's, ambiguity resolved as pydicom
        resolves it from this dataset."""
        from dicomstream.collector._private import creator_of

        group = tag >> 16
        if group & 1 and 7 < group < 0xFFFF:
            if 0x10 <= tag & 0xFFFF <= 0xFF:
                return "LO"
            creator = creator_of(self, tag)
            vr = private_vr(creator, tag) if creator else None
            if vr is None:
                raise KeyError(f"no VR known for private tag {Tag(tag)}; use add_new() or "
                               "a private block")
        else:
            entry = lookup(tag)
            if entry is None or entry.vr == "NONE":
                raise KeyError(f"{Tag(tag)} is not in the data dictionary; use add_new()")
            vr = entry.vr
        if " or " in vr:
            vr = self._resolve_ambiguous(tag, vr)
        return vr

    def _resolve_ambiguous(self, tag: int, vr: str) -> str:
        if "US or SS" in vr:
            rep = self.get("PixelRepresentation")
            return "SS" if rep == 1 else "US"
        if vr == "OB or OW":
            if tag == 0x7FE00010:
                bits = self.get("BitsAllocated")
                return "OW" if isinstance(bits, int) and bits > 8 else "OB"
            return "OW"
        if vr == "US or OW":
            desc = self.get("LUTDescriptor")
            first = desc[0] if isinstance(desc, list) and desc else None
            return "US" if first == 1 else "OW"
        return vr.split(" or ", 1)[0]

    # -- private blocks ---------------------------------------------------------------------

    def private_block(self, group: int, private_creator: str, create: bool = False
                      ) -> PrivateBlock:
        """The block of ``group`` reserved by ``private_creator`` (created on request)."""
        from dicomstream.collector._private import private_block

        return private_block(self, group, private_creator, create)

    def private_creators(self, group: int) -> list[str]:
        """The private creators of ``group``, in block order."""
        from dicomstream.collector._private import private_creators

        return private_creators(self, group)

    def get_private_item(self, group: int, element_offset: int, private_creator: str
                         ) -> DataElement:
        """The element at ``element_offset`` (00-FF) of the block of ``private_creator``."""
        return self.private_block(group, private_creator)[element_offset]

    def remove_private_tags(self) -> None:
        """Remove every element of an odd group, at every depth (as pydicom does)."""
        def drop(ds: Dataset, elem: DataElement) -> None:
            if elem._tag >> 16 & 1:
                del ds[elem._tag]

        self.walk(drop)

    # -- traversal -------------------------------------------------------------------------

    def walk(self, callback: Callable[[Dataset, DataElement], None],
             recursive: bool = True) -> None:
        """Call ``callback(dataset, element)`` for every element, in tag order, going into
        sequence items when ``recursive`` (the callback may delete the element)."""
        for tag in list(self._tags()):
            elem = self._dict.get(tag)
            if elem is None:
                continue
            callback(self, elem)
            if recursive and tag in self._dict:
                for item in elem._sequence() or ():
                    item.walk(callback, recursive)

    def iterall(self) -> Iterator[DataElement]:
        """Every element at every depth, depth first."""
        for elem in self:
            yield elem
            for item in elem._sequence() or ():
                yield from item.iterall()

    def group_dataset(self, group: int) -> Dataset:
        """The elements of ``group``."""
        return self[(group << 16):((group + 1) << 16)]

    # -- encoding state ------------------------------------------------------------------------

    @property
    def transfer_syntax(self) -> TransferSyntax | None:
        """The syntax the dataset was read in (``None`` for a dataset made in memory)."""
        from dicomstream.transfer_syntax import lookup_transfer_syntax

        start = self.__dict__.get("_start")
        return None if start is None else lookup_transfer_syntax(start.transfer_syntax)

    @property
    def is_little_endian(self) -> bool:
        """The byte order the values were read in."""
        return self._ctx.little

    @property
    def is_implicit_VR(self) -> bool | None:  # noqa: N802 - pydicom's spelling
        """Whether the dataset was read in implicit VR (``None`` if made in memory)."""
        ts = self.transfer_syntax
        return None if ts is None else ts.implicit_vr

    @property
    def original_character_set(self) -> list[str]:
        """The Specific Character Set terms the text was read in."""
        return list(self._ctx.origin.terms)

    # -- comparison, copies, display -------------------------------------------------------------

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        if not isinstance(other, Dataset):
            return NotImplemented
        if self._dict.keys() != other._dict.keys():
            return False
        return all(elem == other._dict[tag] for tag, elem in self._dict.items())

    __hash__ = None  # type: ignore[assignment]

    def copy(self) -> Dataset:
        """A shallow copy (the same element objects)."""
        import copy

        return copy.copy(self)

    def __copy__(self) -> Dataset:
        new = type(self).__new__(type(self))
        new.__dict__.update(self.__dict__)
        new.__dict__["_dict"] = dict(self._dict)
        shadowed = self._shadowed
        if shadowed is not None:  # its own: deleting a tag from the copy forgets it there
            new.__dict__["_shadowed"] = Shadowed(shadowed.order, dict(shadowed.earlier))
        return new

    def __deepcopy__(self, memo: dict[int, Any]) -> Dataset:
        import copy

        new = type(self).__new__(type(self))
        memo[id(self)] = new
        for key, value in self.__dict__.items():
            if key not in _DICT_ATTRS:
                new.__dict__[key] = copy.deepcopy(value, memo)
        ctx = self._ctx
        new_ctx = Context(ctx.little, ctx.origin, ctx.parent)
        new.__dict__.update(_dict={}, _ctx=new_ctx, _order=self._order,
                            _item_length=self._item_length, _shadowed=None)
        for tag, elem in self._dict.items():
            copied = copy.deepcopy(elem, memo)
            if copied._vr == "SQ":
                copied._ctx = new_ctx
                if isinstance(copied._value, Sequence):
                    copied._value._adopt_all(new_ctx)
            elif elem._ctx is ctx:
                copied._ctx = new_ctx
            new._dict[tag] = copied
            if tag == SPECIFIC_CHARACTER_SET:
                new_ctx.charset_elem = copied
        return new

    def __str__(self) -> str:
        from dicomstream.collector._pretty import format_dataset

        return format_dataset(self)

    __repr__ = __str__

    def top(self) -> str:
        """``str()`` of the top-level elements only."""
        from dicomstream.collector._pretty import format_dataset

        return format_dataset(self, top_level_only=True)

    # -- output ------------------------------------------------------------------------------

    def events(self, *, meta: bool = True, transfer_syntax: TransferSyntax | None = None
               ) -> Iterator[Event]:
        """The dataset as an event stream (see :func:`dicomstream.collector.dataset_events`)."""
        from dicomstream.collector._write import dataset_events

        return dataset_events(self, meta=meta, transfer_syntax=transfer_syntax)

    def save_as(self, filename: str | os.PathLike[str] | BinaryIO, *,
                transfer_syntax: str | None = None, enforce_file_format: bool = False,
                implicit_vr: bool | None = None, little_endian: bool | None = None,
                overwrite: bool = True) -> None:
        """Write the dataset (see :func:`dicomstream.collector.dcmwrite`)."""
        from dicomstream.collector._write import dcmwrite

        dcmwrite(filename, self, transfer_syntax=transfer_syntax,
                 enforce_file_format=enforce_file_format, implicit_vr=implicit_vr,
                 little_endian=little_endian, overwrite=overwrite)

    def to_json_dict(self, bulk_data_threshold: int = 1024,
                     bulk_data_element_handler: Callable[[DataElement], str] | None = None,
                     suppress_invalid_tags: bool = False) -> dict[str, Any]:
        """The DICOM JSON model of the dataset (PS3.18 Annex F), as pydicom builds it."""
        from dicomstream.collector._json import to_json_dict

        return to_json_dict(self, bulk_data_threshold, bulk_data_element_handler,
                            suppress_invalid_tags)

    def to_json(self, bulk_data_threshold: int = 1024,
                bulk_data_element_handler: Callable[[DataElement], str] | None = None,
                dump_handler: Callable[[dict[str, Any]], str] | None = None,
                suppress_invalid_tags: bool = False) -> str:
        """:meth:`to_json_dict` serialised (by ``json.dumps`` unless ``dump_handler``)."""
        import json

        data = self.to_json_dict(bulk_data_threshold, bulk_data_element_handler,
                                 suppress_invalid_tags)
        return dump_handler(data) if dump_handler is not None else json.dumps(data)

    @classmethod
    def from_json(cls, json_dataset: str | bytes | dict[str, Any],
                  bulk_data_uri_handler: Callable[..., Any] | None = None) -> Dataset:
        """A dataset from the DICOM JSON model (a ``str``/``bytes`` document or a dict)."""
        from dicomstream.collector._json import from_json

        return from_json(json_dataset, bulk_data_uri_handler, cls)


class FileMetaDataset(Dataset):
    """The file meta information group (0002,eeee) of a Part 10 file."""

    def add(self, elem: DataElement) -> None:
        if elem._tag >> 16 != 0x0002:
            raise ValueError(f"only group 0002 elements belong in file meta, not {elem.tag}")
        super().add(elem)
