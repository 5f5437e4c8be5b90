"""The ``transcode`` stage: re-express the stream in another uncompressed transfer syntax.

Values are byte-swapped per VR when the byte order changes (inside sequences written
as UN, CP-246, values stay little endian), ``DatasetStart`` and the meta group's
Transfer Syntax UID name the target, and the encoder then writes that syntax. (The
encoder can do the same by itself — ``Encoder(transfer_syntax=…)`` — which is what the
CLI uses; this stage is for pipelines whose later stages want the target's values.)
"""

from __future__ import annotations

__all__ = ("TranscodeStage",)

from typing import TYPE_CHECKING, ClassVar

from dicomstream.encoder._encoder import _swap
from dicomstream.errors import StageError
from dicomstream.events import (
    DatasetStart,
    Element,
    ItemEnd,
    ItemStart,
    SequenceEnd,
    SequenceStart,
    ValueChunk,
    ValueEnd,
    ValueStart,
)
from dicomstream.stages._base import SyncStage
from dicomstream.transfer_syntax import (
    TransferSyntax,
    lookup_transfer_syntax,
    resolve_transfer_syntax,
)
from dicomstream.vr import SWAP_SIZES

if TYPE_CHECKING:
    from collections.abc import Mapping

    from dicomstream.events import Event

_TRANSFER_SYNTAX_UID = 0x00020010


class TranscodeStage(SyncStage):
    """Convert values and headers' syntax to ``transfer_syntax`` (uncompressed only)."""

    name: ClassVar[str] = "transcode"

    def __init__(self, transfer_syntax: str | TransferSyntax) -> None:
        if isinstance(transfer_syntax, str):
            transfer_syntax = resolve_transfer_syntax(transfer_syntax)
        if transfer_syntax.encapsulated:
            raise StageError(f"cannot transcode to {transfer_syntax.name}: compression is "
                             "not supported")
        self.target = transfer_syntax
        self._swap_stack: list[bool] = []  # per open container: values need swapping
        self._unit = 0
        self._carry = b""

    @classmethod
    def from_cli(cls, options: Mapping[str, str]) -> TranscodeStage:
        """``--stage transcode:syntax=big``"""
        return cls(options.get("syntax") or options.get("transfer_syntax") or "explicit")

    def transform(self, batch: list[Event]) -> list[Event]:  # noqa: C901 - flat dispatch
        out: list[Event] = []
        target = self.target
        uid = target.uid.encode()
        for ev in batch:
            cls = type(ev)
            if cls is Element:
                assert isinstance(ev, Element)
                if ev.tag == _TRANSFER_SYNTAX_UID and not self._swap_stack:
                    value = uid + b"\x00" * (len(uid) & 1)
                    ev = ev._replace(value=value, length=len(value))
                elif self._swap_stack and self._swap_stack[-1]:
                    unit = SWAP_SIZES.get(ev.vr)
                    if unit:
                        ev = ev._replace(value=_swap(ev.value, unit))
            elif cls is DatasetStart:
                assert isinstance(ev, DatasetStart)
                source = lookup_transfer_syntax(ev.transfer_syntax)
                if source.encapsulated and source.uid != target.uid:
                    raise StageError(f"cannot transcode {source.name}: pixel data is "
                                     "compressed")
                self._swap_stack = [source.little_endian != target.little_endian]
                ev = ev._replace(transfer_syntax=target.uid)
            elif cls is SequenceStart:
                un = ev.vr == "UN"  # type: ignore[attr-defined]
                self._swap_stack.append(False if un else self._swap_stack[-1])
            elif cls is ItemStart:
                self._swap_stack.append(self._swap_stack[-1])
            elif cls is SequenceEnd or cls is ItemEnd:
                self._swap_stack.pop()
            elif cls is ValueStart:
                self._unit = SWAP_SIZES.get(ev.vr, 0) if self._swap_stack[-1] else 0  # type: ignore[attr-defined]
                self._carry = b""
            elif cls is ValueChunk and self._unit:
                assert isinstance(ev, ValueChunk)
                data = self._carry + bytes(ev.data)
                keep = len(data) % self._unit
                self._carry = data[len(data) - keep:] if keep else b""
                ev = ev._replace(data=_swap(data[:len(data) - keep], self._unit))
            elif cls is ValueEnd and self._carry:
                out.append(ValueChunk(self._carry, -1))
                self._carry = b""
            out.append(ev)
        return out
