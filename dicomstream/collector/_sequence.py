"""A sequence (SQ) value: a list of :class:`~dicomstream.collector.Dataset` items.

Why a ``list`` subclass: users index, slice, iterate, append and extend sequences as
lists, and that must cost what a list costs. What a list does not do is done on the way
in: only datasets are accepted, and an item put into a sequence is attached to the
dataset that holds the sequence, so it inherits that dataset's character set (an item
without its own (0008,0005) uses its parent's, PS3.5 §7.5).

How the sequence and each item were written (defined or undefined length) is kept on
the owning element's event and on each item (``Dataset._item_length``), so an unchanged
structure encodes to the same bytes; the encoder re-measures defined lengths whose
content changed.
"""

from __future__ import annotations

__all__ = ("Sequence",)

from typing import TYPE_CHECKING, Any, SupportsIndex, overload

if TYPE_CHECKING:
    from collections.abc import Iterable

    from dicomstream.collector._dataset import Dataset
    from dicomstream.collector._element import Context


def _check(item: object) -> Dataset:
    from dicomstream.collector._dataset import Dataset

    if not isinstance(item, Dataset):
        raise TypeError(f"sequence items must be Dataset instances, not "
                        f"{type(item).__name__}")
    return item


class Sequence(list["Dataset"]):
    """A list of datasets that knows the dataset holding it (see the module docstring)."""

    __slots__ = ("_parent_ctx", "_vr_written")

    def __init__(self, iterable: Iterable[Dataset] = ()) -> None:
        self._parent_ctx: Context | None = None
        self._vr_written = "SQ"  # "UN" for a sequence written as UN (CP-246)
        super().__init__(_check(item) for item in iterable)

    def _adopt_all(self, ctx: Context) -> None:
        """Attach every item to the dataset whose context is ``ctx``."""
        self._parent_ctx = ctx
        for item in self:
            item._ctx.parent = ctx

    def _adopt(self, item: object) -> Dataset:
        ds = _check(item)
        if self._parent_ctx is not None and ds._ctx is not self._parent_ctx:
            ds._ctx.parent = self._parent_ctx
        return ds

    def append(self, item: Dataset) -> None:
        super().append(self._adopt(item))

    def insert(self, index: SupportsIndex, item: Dataset) -> None:
        super().insert(index, self._adopt(item))

    def extend(self, items: Iterable[Dataset]) -> None:
        super().extend(self._adopt(item) for item in items)

    def __iadd__(self, items: Iterable[Dataset]) -> Sequence:  # type: ignore[override, misc]
        self.extend(items)
        return self

    @overload
    def __setitem__(self, index: SupportsIndex, item: Dataset) -> None: ...

    @overload
    def __setitem__(self, index: slice, item: Iterable[Dataset]) -> None: ...

    def __setitem__(self, index: Any, item: Any) -> None:
        if isinstance(index, slice):
            super().__setitem__(index, [self._adopt(i) for i in item])
        else:
            super().__setitem__(index, self._adopt(item))

    def __str__(self) -> str:
        return f"[{''.join(str(item) for item in self)}]"

    def __repr__(self) -> str:
        return f"<Sequence, length {len(self)}>"

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (list(self), self._parent_ctx, self._vr_written))

    def __deepcopy__(self, memo: dict[int, Any]) -> Sequence:
        import copy

        new = Sequence(copy.deepcopy(item, memo) for item in self)
        new._parent_ctx = self._parent_ctx
        new._vr_written = self._vr_written
        return new

    def __copy__(self) -> Sequence:
        new = Sequence(self)
        new._parent_ctx = self._parent_ctx
        new._vr_written = self._vr_written
        return new


def _rebuild(items: list[Dataset], parent_ctx: Context | None, vr_written: str) -> Sequence:
    seq = Sequence(items)
    seq._parent_ctx = parent_ctx
    seq._vr_written = vr_written
    return seq
