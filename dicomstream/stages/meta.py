"""The ``meta`` stage: keep the file meta group consistent with the dataset.

Media Storage SOP Class/Instance UID (0002,0002/0003) must equal SOP Class/Instance UID
(0008,0016/0018), which an edit or a de-identification may have changed. The meta group
comes first in the stream and those UIDs come a little later, so this stage holds the
meta group back until it has seen them — at most :attr:`MetaStage.max_lookahead` events,
in practice a few dozen — then fixes the meta and lets everything through. It changes
nothing when the meta is already consistent.
"""

from __future__ import annotations

__all__ = ("MetaStage",)

from typing import TYPE_CHECKING, ClassVar

from dicomstream.events import DatasetEnd, DatasetStart, Element
from dicomstream.stages._base import SyncStage

if TYPE_CHECKING:
    from collections.abc import Mapping

    from dicomstream.events import Event

_FOLLOWS = {0x00020002: 0x00080016, 0x00020003: 0x00080018}
_LAST_NEEDED = 0x00080018


def _uid_value(value: bytes) -> bytes:
    text = bytes(value).rstrip(b"\x00 ")
    return text + b"\x00" * (len(text) & 1)


class MetaStage(SyncStage):
    """Make (0002,0002)/(0002,0003) follow (0008,0016)/(0008,0018)."""

    name: ClassVar[str] = "meta"
    max_lookahead: ClassVar[int] = 10_000

    def __init__(self) -> None:
        self._held: list[Event] | None = []
        self._seen: dict[int, bytes] = {}
        self._in_dataset = False

    @classmethod
    def from_cli(cls, options: Mapping[str, str]) -> MetaStage:
        return cls()

    def _release(self) -> list[Event]:
        held = self._held or []
        self._held = None
        out: list[Event] = []
        for ev in held:
            if isinstance(ev, Element) and ev.tag in _FOLLOWS:
                wanted = self._seen.get(_FOLLOWS[ev.tag])
                if wanted is not None and _uid_value(ev.value) != wanted:
                    ev = ev._replace(value=wanted, length=len(wanted))
            out.append(ev)
        return out

    def transform(self, batch: list[Event]) -> list[Event]:
        if self._held is None:
            return batch
        held = self._held
        for i, ev in enumerate(batch):
            cls = type(ev)
            if cls is DatasetStart:
                self._in_dataset = True
            elif cls is Element and self._in_dataset and not ev.path:  # type: ignore[attr-defined]
                tag = ev.tag  # type: ignore[attr-defined]
                if tag in (0x00080016, 0x00080018):
                    self._seen[tag] = _uid_value(ev.value)  # type: ignore[attr-defined]
                if tag >= _LAST_NEEDED:
                    held.extend(batch[:i + 1])
                    return self._release() + batch[i + 1:]
            elif self._in_dataset and not getattr(ev, "path", True) and \
                    getattr(ev, "tag", 0) > _LAST_NEEDED:
                held.extend(batch[:i])
                return self._release() + batch[i:]
            if cls is DatasetEnd or len(held) + i >= self.max_lookahead:
                held.extend(batch[:i + 1])
                return self._release() + batch[i + 1:]
        held.extend(batch)
        return []

    def finish(self) -> list[Event]:
        return self._release() if self._held is not None else []
