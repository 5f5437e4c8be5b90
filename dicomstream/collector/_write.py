"""Writing a dataset: back into events (``Dataset.events()``), and through the encoder
into a file (``save_as`` / ``dcmwrite``).

Why through events: the encoder already does everything writing needs — headers for any
uncompressed syntax, byte swapping, deflate, lengths re-measured where content changed —
and an event stream can go through any stage on the way. So a dataset only has to say
what it holds, in the syntax it was read in: unchanged elements as the events they were
read from (so the output is the input's bytes), changed ones freshly encoded with the
character set and byte order in force where they sit, deferred values streamed back in
chunks without being held whole. Re-targeting (``transfer_syntax=``) is the encoder's.

Output files are written atomically: to a temporary file beside the target, renamed
over it when complete.
"""

from __future__ import annotations

__all__ = ("dataset_batches", "dataset_events", "dcmwrite", "split_encapsulated")

import os
from typing import IO, TYPE_CHECKING, Any

from dicomstream.collector._deferred import READ_CHUNK, DeferredValue
from dicomstream.collector._element import UNSET, DataElement
from dicomstream.encoder import Encoder
from dicomstream.errors import EncodeError
from dicomstream.events import (
    UNDEFINED_LENGTH,
    DatasetEnd,
    DatasetStart,
    Element,
    Fragment,
    FragmentsEnd,
    FragmentsStart,
    ItemEnd,
    ItemStart,
    Preamble,
    SequenceEnd,
    SequenceStart,
    ValueChunk,
    ValueEnd,
    ValueStart,
)
from dicomstream.tags import ITEM, PIXEL_DATA, format_tag
from dicomstream.transfer_syntax import (
    EXPLICIT_VR_BIG_ENDIAN,
    EXPLICIT_VR_LITTLE_ENDIAN,
    IMPLICIT_VR_LITTLE_ENDIAN,
    TransferSyntax,
    lookup_transfer_syntax,
)
from dicomstream.values import CUSTOMIZABLE_VRS, CharacterSet, decode_value, encode_value
from dicomstream.vr import SWAP_SIZES

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

    from dicomstream.collector._dataset import Dataset
    from dicomstream.events import Event
    from dicomstream.tags import TagPath

_new = tuple.__new__
_TRANSFER_SYNTAX_UID = 0x00020010
_BATCH = 512
IMPLEMENTATION_CLASS_UID = "1.2.826.0.1.3680043.8.498.1.1.7"
IMPLEMENTATION_VERSION_NAME = "DICOMSTREAM_010"


def _swap(data: bytes, unit: int) -> bytes:
    from array import array

    codes = {2: "H", 4: "L", 8: "Q"}
    usable = len(data) - len(data) % unit
    arr = array(codes[unit])
    if arr.itemsize != unit:  # pragma: no cover - platforms with 8-byte "L"
        arr = array("I" if unit == 4 else "Q")
    arr.frombytes(data[:usable])
    arr.byteswap()
    return arr.tobytes() + data[usable:]


def source_syntax(ds: Dataset) -> TransferSyntax:
    """The syntax the dataset's raw values are in: the one it was read in; for a dataset
    made in memory, the one its file meta names, else explicit VR little endian."""
    start = ds.__dict__.get("_start")
    if start is not None:
        return lookup_transfer_syntax(start.transfer_syntax)
    meta = ds.__dict__.get("file_meta")
    if meta is not None and _TRANSFER_SYNTAX_UID in meta._dict:
        uid = meta._dict[_TRANSFER_SYNTAX_UID].value
        if isinstance(uid, str) and uid:
            return lookup_transfer_syntax(uid)
    return EXPLICIT_VR_LITTLE_ENDIAN


def dataset_events(ds: Dataset, *, meta: bool = True,
                   transfer_syntax: TransferSyntax | None = None) -> Iterator[Event]:
    """The events of ``ds``, ``Preamble`` and file meta first (unless ``meta=False``),
    in the syntax it was read in (see the module docstring).

    ``transfer_syntax`` is the syntax the events are going to be encoded in, if known:
    when its byte order differs, an element written as UN whose VR is known (as
    pydicom reads it) is given that VR, so that the encoder swaps its bytes."""
    start: DatasetStart | None = ds.__dict__.get("_start")
    file_meta = ds.__dict__.get("file_meta") if meta else None
    meta_unchanged = True
    if meta:
        preamble = ds.__dict__.get("preamble")
        if preamble is not None:
            yield Preamble(bytes(preamble), 0)
        if file_meta:
            for elem in _emit_order(file_meta):
                meta_unchanged = meta_unchanged and elem.is_unchanged()
                yield from _element_events(elem, (), True, False, None)
    ts = source_syntax(ds)
    has_meta = bool(file_meta) or (meta and start is not None and start.has_meta)
    if start is not None and meta_unchanged and start.has_meta == has_meta:
        yield start
    else:  # (offset -1: the encoder then computes the meta group length afresh)
        yield DatasetStart(ts.uid, -1, has_meta)
    fix_un = transfer_syntax is not None and transfer_syntax.little_endian != ts.little_endian
    yield from _dataset_body(ds, (), ts.little_endian, ts.encapsulated, fix_un)
    yield DatasetEnd(-1)


def _emit_order(ds: Dataset) -> list[DataElement]:
    """Elements in the order to write them: file order while nothing was inserted."""
    if ds._order == 2:
        ds._sort()
    d = ds._dict
    shadowed = ds._shadowed
    live = shadowed.live(d) if shadowed is not None else None
    if not live:
        return list(d.values())
    assert shadowed is not None
    # the dataset's elements in their order, each shadowed one where it was read: before
    # the first element that followed it in the file and is still there
    order = shadowed.order
    where = {id(e): i for i, e in enumerate(order)}
    out: list[DataElement] = []
    done = 0
    for elem in d.values():
        i = where.get(id(elem), -1)
        if i >= done:
            out.extend(e for e in order[done:i] if id(e) in live)
            done = i + 1
        out.append(elem)
    out.extend(e for e in order[done:] if id(e) in live)
    return out


def _dataset_body(ds: Dataset, path: TagPath, little: bool, encapsulated: bool,
                  fix_un: bool) -> Iterator[Event]:
    charset = ds._ctx.charset
    for elem in _emit_order(ds):
        yield from _element_events(elem, path, little, not path and encapsulated, charset,
                                   fix_un)


def _element_events(elem: DataElement, path: TagPath, little: bool, encapsulated: bool,
                    charset: CharacterSet | None, fix_un: bool = False) -> Iterator[Event]:
    vr = elem._vr
    raw = elem._raw
    if vr == "SQ" and (elem._value is not UNSET or raw is None):
        yield from _sequence_events(elem, path, little, fix_un)
        return
    event = elem._event
    if event is not None:
        if isinstance(raw, list):  # fragments as read (setting the value drops them)
            yield from _fragment_events(elem, raw, path)
            return
        if isinstance(raw, DeferredValue | memoryview) and elem.is_unchanged():
            yield from _streamed_events(elem, raw, path, little)
            return
        if elem.is_unchanged():
            unchanged = _unchanged(elem, event, path, little, charset)  # type: ignore[arg-type]
            if fix_un and unchanged[1] == "UN" and vr not in ("UN", "SQ"):
                unchanged = unchanged._replace(vr=vr)
            yield unchanged
            return
    value = elem.value
    if encapsulated and elem._tag == PIXEL_DATA and isinstance(value, bytes):
        yield FragmentsStart(elem._tag, vr if vr in ("OB", "OW") else "OB", -1, path)
        for index, fragment in enumerate(split_encapsulated(value)):
            yield Fragment(index, len(fragment), fragment, -1)
        yield FragmentsEnd(elem._tag, -1)
        return
    try:
        data = encode_value(vr, value, little_endian=little, charset=charset)
    except EncodeError as exc:
        raise EncodeError(f"{format_tag(elem._tag)} {elem.keyword or elem.name}: {exc}"
                          ) from exc
    yield _new(Element, (elem._tag, vr, len(data), data, -1, path))


def _unchanged(elem: DataElement, event: Element, path: TagPath, little: bool,
               charset: CharacterSet | None) -> Element:
    """The element's own event, moved, byte-swapped or transcoded where it now sits."""
    ctx = elem._ctx
    raw = event[3]
    if ctx is not None:
        vr = event[1]
        if ctx.little != little and vr in SWAP_SIZES:
            raw = _swap(bytes(raw), SWAP_SIZES[vr])
        if charset is not None and elem._vr in CUSTOMIZABLE_VRS and charset != ctx.origin \
                and not bytes(raw).isascii():
            text = decode_value(elem._vr, raw, charset=ctx.origin)
            raw = encode_value(elem._vr, text, charset=charset)
        if raw is not event[3]:
            return _new(Element, (event[0], event[1], len(raw), raw, -1, path))
    if event[5] != path:
        return event._replace(path=path)
    return event


def _sequence_events(elem: DataElement, path: TagPath, little: bool, fix_un: bool
                     ) -> Iterator[Event]:
    tag = elem._tag
    start = elem._event
    if type(start) is SequenceStart:
        vr, length = start[1], start[2]
    else:
        vr, length = "SQ", UNDEFINED_LENGTH
    yield _new(SequenceStart, (tag, vr, length, -1, path))
    item_little = True if vr == "UN" else little
    for index, item in enumerate(elem.value):
        item_path = (*path, (tag, index))
        item_length = item._item_length
        yield _new(ItemStart, (index, item_length, -1, item_path))
        yield from _dataset_body(item, item_path, item_little, False, fix_un and vr != "UN")
        yield _new(ItemEnd, (index, item_length == UNDEFINED_LENGTH, -1, item_path))
    yield _new(SequenceEnd, (tag, length == UNDEFINED_LENGTH, -1, path))


def _fragment_events(elem: DataElement, fragments: list[Any], path: TagPath
                     ) -> Iterator[Event]:
    start = elem._event
    assert isinstance(start, FragmentsStart)
    yield start if start[3] == path else start._replace(path=path)
    for index, fragment in enumerate(fragments):
        if isinstance(fragment, DeferredValue | memoryview):
            yield _new(ValueStart, (ITEM, start[1], len(fragment), -1, path))
            chunks = fragment.chunks() if isinstance(fragment, DeferredValue) \
                else _view_chunks(fragment)
            for chunk in chunks:
                yield _new(ValueChunk, (chunk, -1))
            yield _new(ValueEnd, (ITEM, -1))
        else:
            yield _new(Fragment, (index, len(fragment), fragment, -1))
    yield FragmentsEnd(elem._tag, -1)


def _view_chunks(view: memoryview) -> Iterator[memoryview]:
    for start in range(0, len(view), READ_CHUNK):
        yield view[start:start + READ_CHUNK]


def _streamed_events(elem: DataElement, value: DeferredValue | memoryview, path: TagPath,
                     little: bool) -> Iterator[Event]:
    """A large value as the parser gave it: start, chunks (never held whole), end."""
    event = elem._event
    assert isinstance(event, ValueStart)
    vr = event[1]
    yield _new(ValueStart, (elem._tag, vr, len(value), -1, path))
    unit = SWAP_SIZES.get(vr, 0) if elem._ctx is not None and elem._ctx.little != little else 0
    chunks = value.chunks() if isinstance(value, DeferredValue) else _view_chunks(value)
    for chunk in chunks:
        yield _new(ValueChunk, (_swap(bytes(chunk), unit) if unit else chunk, -1))
    yield _new(ValueEnd, (elem._tag, -1))


def split_encapsulated(value: bytes) -> list[bytes]:
    """Fragments of encapsulated pixel data held as pydicom holds it (items with their
    headers, the Basic Offset Table first, the delimiter optional).

    Raises:
        EncodeError: the bytes are not a sequence of items.
    """
    out: list[bytes] = []
    pos, n = 0, len(value)
    while pos < n:
        if n - pos < 8:
            raise EncodeError("encapsulated pixel data ends inside an item header")
        group, element = int.from_bytes(value[pos:pos + 2], "little"), \
            int.from_bytes(value[pos + 2:pos + 4], "little")
        length = int.from_bytes(value[pos + 4:pos + 8], "little")
        if (group, element) == (0xFFFE, 0xE0DD):
            break
        if (group, element) != (0xFFFE, 0xE000) or pos + 8 + length > n:
            raise EncodeError("encapsulated pixel data must be items (FFFE,E000), the "
                              "Basic Offset Table first: encapsulate the frames first")
        out.append(value[pos + 8:pos + 8 + length])
        pos += 8 + length
    if not out:
        raise EncodeError("encapsulated pixel data needs at least a Basic Offset Table item")
    return out


# -- dcmwrite -------------------------------------------------------------------------


def _target(ds: Dataset, transfer_syntax: str | TransferSyntax | None,
            implicit_vr: bool | None, little_endian: bool | None) -> TransferSyntax | None:
    if transfer_syntax is not None:
        if isinstance(transfer_syntax, TransferSyntax):
            return transfer_syntax
        from dicomstream.transfer_syntax import resolve_transfer_syntax

        return resolve_transfer_syntax(transfer_syntax)
    if implicit_vr is not None or little_endian is not None:
        if implicit_vr and little_endian is False:
            raise EncodeError("implicit VR big endian is not a transfer syntax")
        if implicit_vr:
            return IMPLICIT_VR_LITTLE_ENDIAN
        return EXPLICIT_VR_BIG_ENDIAN if little_endian is False else EXPLICIT_VR_LITTLE_ENDIAN
    meta = ds.__dict__.get("file_meta")
    if meta is not None and _TRANSFER_SYNTAX_UID in meta._dict:
        elem = meta._dict[_TRANSFER_SYNTAX_UID]
        if not elem.is_unchanged() and isinstance(elem.value, str) and elem.value:
            return lookup_transfer_syntax(elem.value)  # set by the user: write that
    return None


def _file_format(ds: Dataset, target: TransferSyntax | None) -> Dataset:
    """A shallow copy of ``ds`` with a preamble and the required file meta elements."""
    from dicomstream.collector._dataset import FileMetaDataset

    out = ds.copy()
    if out.__dict__.get("preamble") is None:
        out.__dict__["preamble"] = b"\x00" * 128
    meta = ds.__dict__.get("file_meta")
    new_meta = FileMetaDataset()
    if meta is not None:
        for elem in _emit_order(meta):
            new_meta.add(elem)
    ts = (target or source_syntax(ds)).uid
    required: list[tuple[int, str, Any]] = [
        (0x00020001, "OB", b"\x00\x01"),
        (0x00020002, "UI", ds.get("SOPClassUID")),
        (0x00020003, "UI", ds.get("SOPInstanceUID")),
        (0x00020010, "UI", ts),
        (0x00020012, "UI", IMPLEMENTATION_CLASS_UID),
        (0x00020013, "SH", IMPLEMENTATION_VERSION_NAME),
    ]
    for tag, vr, value in required:
        if tag not in new_meta._dict and value is not None:
            new_meta.add(DataElement(tag, vr, value))
    if 0x00020000 not in new_meta._dict:
        new_meta.add(DataElement(0x00020000, "UL", 0))
    out.__dict__["file_meta"] = new_meta
    return out


def _batches(ds: Dataset, target: TransferSyntax | None, size: int = _BATCH
             ) -> Iterator[list[Event]]:
    """Events in batches of at most ``size``; a batch ends after each value chunk, so a
    large value never gathers in one batch."""
    batch: list[Event] = []
    for event in dataset_events(ds, transfer_syntax=target):
        batch.append(event)
        if len(batch) >= size or type(event) is ValueChunk:
            yield batch
            batch = []
    if batch:
        yield batch


async def dataset_batches(ds: Dataset, *, size: int = _BATCH,
                          transfer_syntax: TransferSyntax | None = None
                          ) -> AsyncIterator[list[Event]]:
    """The events of ``ds`` as the async stream of batches stages consume
    (``apply_stages(dataset_batches(ds), stages)``)."""
    for batch in _batches(ds, transfer_syntax, size):
        yield batch


def _write_to(out: IO[bytes], ds: Dataset, target: TransferSyntax | None) -> None:
    encoder = Encoder(target)
    for batch in _batches(ds, target):
        for part in encoder.send_all_parts(batch):
            out.write(part)
    if not encoder.finished:  # pragma: no cover - dataset_events always ends
        raise EncodeError("dataset events ended early")


def dcmwrite(filename: str | os.PathLike[str] | IO[bytes], dataset: Dataset,
             write_like_original: bool = True, *,
             transfer_syntax: str | TransferSyntax | None = None,
             enforce_file_format: bool = False, implicit_vr: bool | None = None,
             little_endian: bool | None = None, overwrite: bool = True) -> None:
    """Write ``dataset`` to a path (atomically) or a binary file object.

    An unchanged dataset is written as the bytes it was read from. The transfer syntax is
    ``transfer_syntax`` (UID, keyword or short name), else the one ``implicit_vr`` /
    ``little_endian`` name, else the file meta's Transfer Syntax UID if it was changed,
    else the one the dataset was read in. ``enforce_file_format`` adds a preamble and
    the required file meta elements when missing (as pydicom does);
    ``write_like_original`` is accepted for pydicom compatibility.

    Raises:
        EncodeError: a value cannot be encoded, or the syntax change is impossible
            (encapsulated pixel data to another syntax).
        FileExistsError: the file exists and ``overwrite`` is false.
    """
    del write_like_original
    target = _target(dataset, transfer_syntax, implicit_vr, little_endian)
    if enforce_file_format:
        dataset = _file_format(dataset, target)
    if not isinstance(filename, str | os.PathLike):
        _write_to(filename, dataset, target)
        return
    path = os.fspath(filename)
    if not overwrite and os.path.exists(path):
        raise FileExistsError(f"{path} exists")
    import secrets
    from pathlib import Path

    target_path = Path(path)
    tmp = target_path.with_name(f".{target_path.name}.{secrets.token_hex(4)}"
                                ".dicomstream-tmp")
    try:
        with open(tmp, "wb") as f:
            _write_to(f, dataset, target)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
