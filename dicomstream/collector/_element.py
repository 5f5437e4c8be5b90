"""One data element of a collected dataset: raw bytes kept, value decoded on demand.

Why the element keeps its event: a dataset read from a file and saved unchanged must
give the file's bytes back, and decoding then re-encoding a value does not always do
that (padding, spelling of numbers, redundant escape sequences). So a
:class:`DataElement` holds the :class:`~dicomstream.events.Element` it was read from and
decodes ``value`` only when asked (pydicom's ``RawDataElement`` plays the same role);
``Dataset.events()`` re-emits that event untouched unless the value was set — or, for a
multi-valued element, its list was changed in place (a copy taken when it was decoded
tells).

Decoding needs state that is not in the element: the byte order of the container it was
read in and the Specific Character Set in force there. That state lives in a small
:class:`Context` per dataset (sequence items included), which elements share, instead
of global configuration: the character set the raw bytes were *written* in
(:attr:`Context.origin`) is fixed when the item is read; the one they will be written in
(:attr:`Context.charset`) follows the dataset's current (0008,0005), or the enclosing
dataset's when the item has none.
"""

from __future__ import annotations

__all__ = ("Context", "DataElement", "Tag", "normalize_value")

import datetime as _dt
import math
import struct
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from dicomstream.dictionary import (
    keyword_for_tag,
    lookup,
    private_entry,
    private_vr,
    tag_for_keyword,
)
from dicomstream.events import Element, ValueStart
from dicomstream.values import (
    CUSTOMIZABLE_VRS,
    DA,
    DEFAULT_CHARSET,
    DT,
    IS,
    TM,
    CharacterSet,
    DSfloat,
    ISfloat,
    PersonName,
    decode_value,
)

if TYPE_CHECKING:
    from dicomstream.collector._deferred import DeferredValue
    from dicomstream.collector._sequence import Sequence
    from dicomstream.events import Event

SPECIFIC_CHARACTER_SET = 0x00080005
_LUT_DESCRIPTORS = frozenset((0x00281101, 0x00281102, 0x00281103, 0x00283002))
_MULTI_TEXT = frozenset(
    {"AE", "AS", "CS", "DA", "DS", "DT", "IS", "LO", "PN", "SH", "TM", "UC", "UI"})
_BYTES_VRS = frozenset({"OB", "OD", "OF", "OL", "OV", "OW", "UN"})


class _Unset:
    __slots__ = ()

    def __repr__(self) -> str:
        return "<unset>"

    def __reduce__(self) -> str:
        return "UNSET"  # pickles and copies as the one module-level instance


UNSET: Any = _Unset()
"""Marks a value not decoded yet."""


class Tag(int):
    """A tag: an ``int`` (``group << 16 | element``) that prints as ``(0010,0010)``.

    ``Tag(0x00100010)``, ``Tag(0x0010, 0x0010)``, ``Tag((0x0010, 0x0010))`` and
    ``Tag("PatientName")`` are the same tag (as pydicom's ``Tag()`` accepts them).

    Raises:
        ValueError: an unknown keyword or a number outside 32 bits.
    """

    __slots__ = ()

    def __new__(cls, arg: int | str | tuple[int, int], arg2: int | None = None) -> Tag:
        if arg2 is not None:
            value = (int(arg) << 16) | int(arg2)  # type: ignore[arg-type]
        elif isinstance(arg, tuple):
            value = (int(arg[0]) << 16) | int(arg[1])
        elif isinstance(arg, str):
            found = tag_for_keyword(arg)
            if found is None:
                try:
                    found = int(arg, 16)
                except ValueError:
                    raise ValueError(f"{arg!r} is neither a DICOM keyword nor a tag") from None
            value = found
        else:
            value = int(arg)
        if not 0 <= value <= 0xFFFFFFFF:
            raise ValueError(f"tags are 32-bit numbers, not {value:#x}")
        return super().__new__(cls, value)

    @property
    def group(self) -> int:
        """The group number."""
        return self >> 16

    @property
    def element(self) -> int:
        """The element number."""
        return self & 0xFFFF

    @property
    def is_private(self) -> bool:
        """In a private (odd, above 0007) group."""
        return bool(self >> 16 & 1) and 7 < self >> 16 < 0xFFFF

    @property
    def is_private_creator(self) -> bool:
        """A private creator element (gggg,0010-00FF)."""
        return self.is_private and 0x10 <= self & 0xFFFF <= 0xFF

    def __repr__(self) -> str:
        return f"({self >> 16:04X},{self & 0xFFFF:04X})"

    __str__ = __repr__


def as_tag(key: object) -> int:
    """A tag from an int, a ``(group, element)`` pair or a keyword (``TypeError`` else)."""
    if isinstance(key, int):
        return key
    if isinstance(key, tuple) and len(key) == 2:
        return (int(key[0]) << 16) | int(key[1])
    if isinstance(key, str):
        found = tag_for_keyword(key)
        if found is not None:
            return found
        try:
            return int(key, 16)
        except ValueError:
            raise KeyError(key) from None
    raise TypeError(f"not a tag: {key!r}")


class Context:
    """What decoding and encoding the elements of one dataset need (see module doc).

    Attributes:
        little: byte order of the raw values read in this dataset.
        origin: the character set the raw text of this dataset was written in.
        parent: the enclosing dataset's context (items), else ``None``.
        charset_elem: this dataset's (0008,0005) element, if it has one.
    """

    __slots__ = ("charset_elem", "little", "origin", "parent")

    def __init__(self, little: bool = True, origin: CharacterSet = DEFAULT_CHARSET,
                 parent: Context | None = None) -> None:
        self.little = little
        self.origin = origin
        self.parent = parent
        self.charset_elem: DataElement | None = None

    @property
    def charset(self) -> CharacterSet:
        """The character set values of this dataset are written in now."""
        ctx: Context | None = self
        while ctx is not None:
            elem = ctx.charset_elem
            if elem is not None:
                return charset_of(elem)
            ctx = ctx.parent
        return DEFAULT_CHARSET


def charset_of(elem: DataElement) -> CharacterSet:
    """The character set named by a (0008,0005) element."""
    event = elem._event
    if event is not None and type(elem._raw) is bytes and (
            elem._value is UNSET or elem.is_unchanged()):
        return CharacterSet.from_raw(elem._raw)  # the bytes as read, whatever the VR
    value = elem.value
    if not value:
        return DEFAULT_CHARSET
    if isinstance(value, str):
        terms = [value]
    elif isinstance(value, list | tuple):
        terms = [str(v) for v in value]
    else:  # set with a value of another VR (a number, bytes): its text names the charset
        terms = [str(value)]
    return CharacterSet.from_terms(terms)


def effective_vr(tag: int, vr: str, length: int, creator: str | None) -> str:
    """The VR to decode an element written as UN with, as pydicom chooses it.

    A private creator is LO; a private element whose creator's dictionary knows it takes
    that VR; a public element shorter than 64 KiB takes its dictionary VR.
    """
    group = tag >> 16
    if group & 1 and 7 < group < 0xFFFF:
        if 0x10 <= tag & 0xFFFF <= 0xFF:
            return "LO"
        if creator and tag & 0xFF00:
            found = private_vr(creator, tag)
            if found is not None and " or " not in found and found != "NONE":
                return found
        return vr
    if length >= 0xFFFF:
        return vr
    entry = lookup(tag)
    if entry is None or entry.vr == "NONE" or " or " in entry.vr:
        return vr
    return entry.vr


def _text_item(vr: str, value: Any) -> Any:
    """One value of a text VR as the decoded types (``DSfloat``, ``PersonName`` …)."""
    if vr == "PN":
        return value if isinstance(value, PersonName) or not isinstance(value, str) \
            else PersonName(value)
    if vr == "DS":
        if isinstance(value, DSfloat | ISfloat) or isinstance(value, bool):
            return value
        if isinstance(value, str):
            return DSfloat(value) if value.strip() else value
        if isinstance(value, float | int | Decimal):
            return DSfloat(value)
        return value
    if vr == "IS":
        if isinstance(value, IS | ISfloat) or isinstance(value, bool):
            return value
        if isinstance(value, str):
            return IS(value) if value.strip() else value
        if isinstance(value, int | float | Decimal):
            return IS(value)
        return value
    if vr == "DA" and isinstance(value, str | _dt.date) and not isinstance(value, DA):
        return DA(value)
    if vr == "TM" and isinstance(value, str | _dt.time) and not isinstance(value, TM):
        return TM(value)
    if vr == "DT" and isinstance(value, str | _dt.date) and not isinstance(value, DT):
        return DT(value)
    return value


def normalize_value(vr: str, value: Any) -> Any:
    """A value as given by a user, in the types reading would give (as pydicom converts
    on assignment): ``"1.5"`` for DS becomes a :class:`DSfloat`, a PN ``str`` a
    :class:`PersonName`, ``"A\\\\B"`` for a multi-valued VR a list, ``bytearray`` bytes.

    Raises:
        InvalidValueError: text that is not a valid DS or IS.
    """
    if value is None:
        return None
    if vr in _MULTI_TEXT:
        if isinstance(value, str) and "\\" in value and not isinstance(value, PersonName):
            value = value.split("\\")
        if isinstance(value, list | tuple):
            return [_text_item(vr, v) for v in value]
        return _text_item(vr, value)
    if vr in _BYTES_VRS and isinstance(value, bytearray | memoryview):
        return bytes(value)
    if vr == "AT":
        if isinstance(value, tuple) and len(value) == 2 and all(isinstance(v, int)
                                                                for v in value):
            return Tag(value)
        if isinstance(value, list | tuple):
            return [Tag(v) if isinstance(v, tuple | str) else v for v in value]
        if isinstance(value, str):
            return Tag(value)
    if isinstance(value, tuple):
        return list(value)
    return value


class DataElement:
    """A data element: tag, VR and value (decoded from raw bytes when first asked).

    ``DataElement(0x00100010, "PN", "Doe^John")`` makes a new element; elements read
    from a stream keep their raw bytes and event (see the module docstring).

    Attributes:
        private_creator: the creator of a private data element's block, if known.
    """

    __slots__ = ("_ctx", "_event", "_raw", "_snapshot", "_tag", "_value", "_vr",
                 "private_creator")

    _tag: int
    _vr: str
    _event: Event | None
    _raw: bytes | memoryview | DeferredValue | list[Any] | None
    _value: Any
    _snapshot: list[Any] | None
    _ctx: Context | None
    private_creator: str | None

    def __init__(self, tag: int | str | tuple[int, int], VR: str, value: Any,  # noqa: N803
                 *, private_creator: str | None = None) -> None:
        self._tag = int(Tag(tag))
        self._vr = str(VR)
        self._event = None
        self._raw = None
        self._snapshot = None
        self._ctx = None
        self.private_creator = private_creator
        self._value = UNSET
        self.value = value

    # -- identity --------------------------------------------------------------------

    @property
    def tag(self) -> Tag:
        """The tag (an ``int`` printing as ``(gggg,eeee)``)."""
        return Tag(self._tag)

    @property
    def VR(self) -> str:  # noqa: N802 - pydicom's spelling
        """The value representation (``"SQ"`` for sequences, also those written as UN;
        a value written as UN whose bytes turn out to be no sequence is ``"UN"``)."""
        if self._vr == "SQ":
            self._sequence()  # decides SQ or UN for a value written as UN
        return self._vr

    @VR.setter
    def VR(self, vr: str) -> None:  # noqa: N802
        if vr != self._vr:
            value = self.value
            self._vr = str(vr)
            self.value = value

    @property
    def keyword(self) -> str:
        """The dictionary keyword (``""`` for private and unknown elements)."""
        return keyword_for_tag(self._tag)

    @property
    def name(self) -> str:
        """The dictionary name, ``[vendor name]`` for a known private element."""
        from dicomstream.dictionary import name_for_tag

        tag = self._tag
        if tag >> 16 & 1:  # as pydicom names them: any odd group counts as private
            creator = self.private_creator
            if creator:
                entry = private_entry(creator, tag)
                if entry is not None:
                    return f"[{entry.name}]"
            elif tag & 0xFF00 == 0:
                return "Private Creator"
            return "Private tag data"
        return name_for_tag(tag)

    @property
    def is_private(self) -> bool:
        """In a private group."""
        return self.tag.is_private

    @property
    def is_retired(self) -> bool:
        """The standard retired this element."""
        if self.tag.is_private:
            entry = private_entry(self.private_creator, self._tag) \
                if self.private_creator else None
        else:
            entry = lookup(self._tag)
        return bool(entry and entry.retired)

    # -- value -----------------------------------------------------------------------

    @property
    def value(self) -> Any:
        """The decoded value (``Sequence`` for SQ; ``bytes`` for OB/OW/UN …)."""
        value = self._value
        if value is UNSET:
            return self._decode()
        return value

    @value.setter
    def value(self, value: Any) -> None:
        from dicomstream.collector._sequence import Sequence

        if self._vr == "SQ":
            if not isinstance(value, Sequence):
                value = Sequence(value if value is not None else [])
            if self._ctx is not None:
                value._adopt_all(self._ctx)
            self._value = value
            # keep _event: it records how the sequence was written (length, VR)
            return
        self._value = normalize_value(self._vr, value)
        self._event = None
        self._raw = None
        self._snapshot = None

    def _decode(self) -> Any:
        from dicomstream.collector._collect import parse_un_sequence
        from dicomstream.collector._deferred import DeferredValue

        raw = self._raw
        vr = self._vr
        ctx = self._ctx
        little = ctx.little if ctx is not None else True
        if isinstance(raw, list):  # encapsulated fragments, as pydicom holds them
            data = encapsulated_bytes(raw, little)
            if not any(isinstance(f, DeferredValue) for f in raw):
                self._value = data  # the fragments stay: they are what is written
            return data
        deferred = isinstance(raw, DeferredValue)
        if isinstance(raw, DeferredValue):
            raw = raw.read()
        elif raw is None:
            return None
        if vr == "SQ":  # written as UN with a defined length (CP-246)
            seq = parse_un_sequence(self, bytes(raw))
            self._value = seq
            return seq
        if vr in CUSTOMIZABLE_VRS:
            value = decode_value(vr, raw, little_endian=little,
                                 charset=ctx.origin if ctx is not None else None)
        else:
            value = decode_value(vr, raw, little_endian=little)
        if self._tag in _LUT_DESCRIPTORS and isinstance(value, list) and value \
                and isinstance(value[0], int) and value[0] < 0:
            value[0] += 65536  # pydicom reads a first SS value as unsigned
        if deferred:
            return value  # read again on every access: it stays out of memory
        if isinstance(raw, memoryview) and isinstance(value, bytes):
            self._own_bytes(value)
        if type(value) is list:
            self._snapshot = value.copy()
        self._value = value
        return value

    def _own_bytes(self, data: bytes) -> None:
        """Hold ``data`` (the bytes of a large value kept as a view of the input) instead
        of the view, so the input buffer can go once nothing else views it."""
        event = self._event
        if isinstance(event, ValueStart):
            self._event = tuple.__new__(Element, (event[0], event[1], event[2], data,
                                                  event[3], event[4]))
        self._raw = data

    @property
    def raw_value(self) -> bytes | None:
        """The value bytes as read (``None`` once the value was set)."""
        raw = self._raw
        if isinstance(raw, bytes | memoryview):
            return bytes(raw)
        if raw is None or isinstance(raw, list):
            return None
        return raw.read()

    @property
    def is_deferred(self) -> bool:
        """The value was left in its file (read on every access to ``value``)."""
        from dicomstream.collector._deferred import DeferredValue

        raw = self._raw
        return isinstance(raw, DeferredValue) or (
            isinstance(raw, list) and any(isinstance(f, DeferredValue) for f in raw))

    @property
    def is_undefined_length(self) -> bool:
        """Written with an undefined length (sequences, encapsulated pixel data)."""
        from dicomstream.events import UNDEFINED_LENGTH

        event = self._event
        if isinstance(self._raw, list):
            return True
        length = getattr(event, "length", None)
        return length == UNDEFINED_LENGTH

    def _sequence(self) -> Sequence | None:
        """The items if this is a sequence, else ``None``. A value written as UN whose
        dictionary VR is SQ is decoded first: when its bytes are no sequence it stays UN
        (so check this, not the VR, before iterating ``value``)."""
        if self._vr != "SQ":
            return None
        value = self.value
        return value if self._vr == "SQ" else None

    def is_unchanged(self) -> bool:
        """The raw bytes as read still hold the value.

        A multi-valued element decoded since is compared with the copy taken when it was
        decoded, item by item, floats bit for bit: a NaN left in place (or brought back
        by a pickle or a copy as another ``float``) is unchanged, a NaN with another
        payload or ``-0.0`` in place of ``0.0`` is a change.
        """
        if self._event is None:
            return False
        snapshot = self._snapshot
        return snapshot is None or _same_items(self._value, snapshot)

    def _raw_holds_value(self) -> bool:
        """The raw bytes as read are this element's value: read, not set since (a
        decoded sequence does not count: its items may have changed)."""
        if self._event is None or not isinstance(self._raw, bytes | memoryview):
            return False
        if self._value is UNSET:
            return True
        snapshot = self._snapshot
        return self._vr != "SQ" and (snapshot is None or _same_items(self._value, snapshot))

    @property
    def VM(self) -> int:  # noqa: N802 - pydicom's spelling
        """Value multiplicity, as pydicom counts it."""
        if self._vr == "SQ":
            return 1
        if self._value is UNSET and self._raw is not None \
                and not isinstance(self._raw, bytes | memoryview):
            return 1 if self.length_hint() else 0
        value = self.value
        if value is None:
            return 0
        if isinstance(value, str | bytes):
            return 1 if value else 0
        if isinstance(value, list):
            return len(value)
        return 1

    @property
    def is_empty(self) -> bool:
        """No value (an empty sequence for SQ)."""
        if self._vr == "SQ":
            return not self.value
        return self.VM == 0

    def length_hint(self) -> int:
        """Length of the value bytes as pydicom would hold them, without reading a
        deferred value."""
        raw = self._raw
        if isinstance(raw, list):
            return sum(8 + len(f) for f in raw)
        if raw is not None:
            return len(raw)
        value = self.value
        return len(value) if hasattr(value, "__len__") else 0

    # -- comparison and display ----------------------------------------------------------

    def __eq__(self, other: object) -> bool:
        """Same tag, same VR and equal values, as pydicom compares elements — except
        that a NaN equals a NaN (pydicom's ``float("nan") != float("nan")`` would make
        an element with a NaN value unequal to itself, and a dataset unequal to the same
        file read again).

        Two elements whose raw bytes as read still hold their values (see
        :meth:`is_unchanged`) are equal when those bytes are, in the same byte order and
        character set, without decoding; otherwise the values are compared: with ``==``,
        but two ``float`` NaNs (any sign or payload, also as items of a multi-valued
        element) count as equal, as with ``numpy.array_equal(..., equal_nan=True)``.
        So equal raw bytes always mean equal elements, decoded or not, and unequal raw
        bytes may still mean equal values (``"1.0"`` and ``"1"`` for DS).
        """
        if self is other:
            return True
        if not isinstance(other, DataElement):
            return NotImplemented
        if self._tag != other._tag:
            return False
        if self._vr != other._vr and (self.VR != other.VR):  # .VR settles SQ-or-UN
            return False
        if self._raw_holds_value() and other._raw_holds_value() \
                and self._raw == other._raw and self._same_context(other):
            return True
        return _values_equal(self.value, other.value)

    def _same_context(self, other: DataElement) -> bool:
        a, b = self._ctx, other._ctx
        if a is None or b is None:
            return a is b
        return a.little == b.little and a.origin == b.origin

    __hash__ = None  # type: ignore[assignment]

    def __str__(self) -> str:
        from dicomstream._format import element_line

        return element_line(self._tag, self.name, self._vr, self.repval)

    def __repr__(self) -> str:
        if self._vr == "SQ":
            return repr(self.value)
        return str(self)

    @property
    def repval(self) -> str:
        """The value as shown in ``str(dataset)``."""
        from dicomstream.collector._pretty import repval

        return repval(self)

    def __deepcopy__(self, memo: dict[int, Any]) -> DataElement:
        import copy

        new = DataElement.__new__(DataElement)
        new._tag = self._tag
        new._vr = self._vr
        new._event = self._event
        new._raw = self._raw
        new._snapshot = None if self._snapshot is None else list(self._snapshot)
        new._ctx = self._ctx
        new.private_creator = self.private_creator
        new._value = UNSET if self._value is UNSET else copy.deepcopy(self._value, memo)
        if isinstance(new._raw, list):
            new._raw = list(new._raw)
        return new

    def __getstate__(self) -> dict[str, Any]:
        state = {slot: getattr(self, slot) for slot in DataElement.__slots__}
        raw = state["_raw"]
        if isinstance(raw, memoryview):  # a view of the input buffer: pickle its bytes
            data = bytes(raw)
            state["_raw"] = data
            event = state["_event"]
            if isinstance(event, ValueStart):
                state["_event"] = tuple.__new__(Element, (event[0], event[1], event[2], data,
                                                          event[3], event[4]))
        elif isinstance(raw, list):
            state["_raw"] = [bytes(f) if isinstance(f, memoryview) else f for f in raw]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        for key, value in state.items():
            setattr(self, key, value)

    def __copy__(self) -> DataElement:
        new = DataElement.__new__(DataElement)
        for slot in DataElement.__slots__:
            setattr(new, slot, getattr(self, slot))
        return new


def _is_nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)


def _values_equal(a: Any, b: Any) -> bool:
    """``a == b`` for element values, but two ``float`` NaNs are equal (also as items
    of lists): what :meth:`DataElement.__eq__` compares values with."""
    if a == b:
        return True
    if isinstance(a, float):
        return _is_nan(a) and _is_nan(b)
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return all(x == y or (_is_nan(x) and _is_nan(y)) for x, y in zip(a, b, strict=True))
    return False


_DOUBLE = struct.Struct("<d")


def _same_items(value: Any, snapshot: list[Any]) -> bool:
    """A decoded list still the copy taken when it was decoded: each item the same
    object or equal to it — floats bit for bit (see :meth:`DataElement.is_unchanged`)."""
    if not isinstance(value, list) or len(value) != len(snapshot):
        return False
    for a, b in zip(value, snapshot, strict=True):
        if a is b:
            continue
        if isinstance(a, float) and isinstance(b, float):
            if _DOUBLE.pack(a) != _DOUBLE.pack(b):
                return False
        elif a != b:
            return False
    return True


def element_from_event(event: Element | ValueStart, vr: str, ctx: Context,
                       creator: str | None) -> DataElement:
    """A read element (the collector's fast path: no validation, value undecoded)."""
    elem = DataElement.__new__(DataElement)
    elem._tag = event[0]
    elem._vr = vr
    elem._event = event
    elem._raw = event[3] if type(event) is Element else None
    elem._value = UNSET
    elem._snapshot = None
    elem._ctx = ctx
    elem.private_creator = creator
    return elem


def encapsulated_bytes(fragments: list[Any], little: bool) -> bytes:
    """Encapsulated pixel data as pydicom holds it: each fragment (the Basic Offset
    Table first) as an item with its header, the sequence delimiter left out."""
    from dicomstream.collector._deferred import DeferredValue

    order: Literal["little", "big"] = "little" if little else "big"
    parts: list[bytes] = []
    head = (0xFFFE).to_bytes(2, order) + (0xE000).to_bytes(2, order)
    for fragment in fragments:
        data = fragment.read() if isinstance(fragment, DeferredValue) else fragment
        parts.append(head + len(data).to_bytes(4, order))
        parts.append(data)
    return b"".join(parts)
