"""Private blocks: elements addressed by creator and offset, as pydicom's ``PrivateBlock``.

Why: a private element's tag depends on which block its creator happened to reserve in
each file ((0029,0010) "SIEMENS CSA HEADER" makes its elements (0029,10xx); in another
file the same creator may own (0029,11xx)). Code that reads or writes private data
names the creator and the offset, and the block finds the tag.
"""

from __future__ import annotations

__all__ = ("PrivateBlock", "creator_of", "private_block", "private_creators")

from typing import TYPE_CHECKING, Any

from dicomstream.collector._element import DataElement

if TYPE_CHECKING:
    from collections.abc import Iterator

    from dicomstream.collector._dataset import Dataset


def _is_private_group(group: int) -> bool:
    return bool(group & 1) and 7 < group < 0xFFFF


def creator_of(ds: Dataset, tag: int) -> str | None:
    """The creator value reserving the block of private element ``tag`` in ``ds``."""
    elem = ds._dict.get((tag >> 16 << 16) | (tag >> 8 & 0xFF))
    if elem is None:
        return None
    value = elem.value
    if isinstance(value, list):
        value = value[0] if value else ""
    return str(value).strip(" \x00") if value is not None else None


def private_creators(ds: Dataset, group: int) -> list[str]:
    """The creators of ``group`` in ``ds``, in block order."""
    if not _is_private_group(group):
        raise ValueError(f"group {group:04X} is not private")
    out = []
    for element in range(0x10, 0x100):
        creator = creator_of(ds, (group << 16) | (element << 8))
        if creator is not None:
            out.append(creator)
    return out


class PrivateBlock:
    """The elements of one private block: ``block[0x01]`` is (gggg,xx01).

    Attributes:
        group: the private group.
        private_creator: the creator that reserved the block.
        block_start: the first element number of the block (``xx00``).
    """

    def __init__(self, group: int, private_creator: str, dataset: Dataset,
                 block: int) -> None:
        self.group = group
        self.private_creator = private_creator
        self.dataset = dataset
        self.block_start = block << 8

    def get_tag(self, element_offset: int) -> int:
        """The tag of the element at ``element_offset`` (00-FF) of this block."""
        if not 0 <= element_offset <= 0xFF:
            raise ValueError("private element offsets are 00-FF")
        return (self.group << 16) | self.block_start | element_offset

    def __contains__(self, element_offset: int) -> bool:
        return self.get_tag(element_offset) in self.dataset._dict

    def __getitem__(self, element_offset: int) -> DataElement:
        return self.dataset._dict[self.get_tag(element_offset)]

    def __delitem__(self, element_offset: int) -> None:
        del self.dataset[self.get_tag(element_offset)]

    def __iter__(self) -> Iterator[DataElement]:
        low = (self.group << 16) | self.block_start
        yield from self.dataset[low:low + 0x100]

    def add_new(self, element_offset: int, VR: str, value: Any) -> None:  # noqa: N803
        """Add an element at ``element_offset`` of this block."""
        elem = DataElement(self.get_tag(element_offset), VR, value,
                           private_creator=self.private_creator)
        self.dataset.add(elem)


def private_block(ds: Dataset, group: int, creator: str, create: bool) -> PrivateBlock:
    """The block of ``group`` that ``creator`` reserved in ``ds`` (reserved now, in the
    first free slot, if ``create``).

    Raises:
        KeyError: the creator has no block there and ``create`` is false.
        ValueError: ``group`` is not private, or all 240 blocks are taken.
    """
    if not _is_private_group(group):
        raise ValueError(f"group {group:04X} is not private")
    free = None
    for block in range(0x10, 0x100):
        found = creator_of(ds, (group << 16) | (block << 8))
        if found == creator:
            return PrivateBlock(group, creator, ds, block)
        if found is None and free is None:
            free = block
    if not create:
        raise KeyError(f"private creator {creator!r} has no block in group {group:04X}")
    if free is None:
        raise ValueError(f"group {group:04X} has no free private block")
    ds.add(DataElement((group << 16) | free, "LO", creator))
    return PrivateBlock(group, creator, ds, free)
