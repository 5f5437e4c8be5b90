"""Audit sinks: one record per element the stage acted on.

A record is a dict::

    {"sop_instance_uid": "2.25.…",      # the object's de-identified SOP Instance UID
     "path": "(0040,A730)[0] > (0040,A123)",
     "tag": "(0040,A123)", "keyword": "PersonName", "vr": "PN",
     "action": "D",                      # X Z D U C K(private kept) R H S
     "rule": "table:D",                  # where the action came from (table:<code>,
                                         # option:<name>, recipe:<file>, private, overlay…)
     "edition": "2026d"}

Original values are never recorded unless the sink was created with ``values=True``
(then ``"original"`` and ``"new"`` hold the decoded text). A non-zero 128-byte preamble,
which is always zeroed, gets a record of its own: ``"path"``/``"tag"`` ``"(preamble)"``,
``"keyword": "Preamble"``, ``"action": "Z"``, ``"rule": "preamble:executable:PE"`` (ELF,
Mach-O, script) or ``"preamble:non-zero"`` (values as hex). Records carry the *new* SOP
Instance UID, which the bulk report line of the same file also carries, so the two join.
"""

from __future__ import annotations

__all__ = ("AuditSink", "JsonLinesAudit", "ListAudit")

import json
import os
import threading
from typing import Any, Protocol


class AuditSink(Protocol):
    """Where audit records go. ``values`` says whether records may hold original values."""

    values: bool

    def write(self, records: list[dict[str, Any]]) -> None:
        """Take the records of one object (called once per object, at its end)."""


class ListAudit:
    """Keep records in memory (tests, notebooks)."""

    def __init__(self, *, values: bool = False) -> None:
        self.values = values
        self.records: list[dict[str, Any]] = []

    def write(self, records: list[dict[str, Any]]) -> None:
        self.records.extend(records)


class JsonLinesAudit:
    """Append records to a JSON-lines file (safe to share between concurrent stages).

    The records of one object are written with one ``write`` on a file opened for
    appending, so processes appending to the same local file (a cluster's workers on one
    machine) do not interleave them. Pickling keeps the path, not the open file: on a
    cluster, each worker appends to that path on its own file system.
    """

    def __init__(self, path: str | os.PathLike[str], *, values: bool = False) -> None:
        self.path = os.fspath(path)
        self.values = values
        self._lock = threading.Lock()
        self._fd: int | None = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT,
                                       0o600)
        self._closed = False

    def __reduce__(self) -> tuple[Any, ...]:
        return (JsonLinesAudit, (self.path,), {"values": self.values})

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.values = state["values"]

    def write(self, records: list[dict[str, Any]]) -> None:
        if not records:
            return
        data = "".join(json.dumps(r, sort_keys=True, ensure_ascii=False) + "\n"
                       for r in records).encode("utf-8")
        with self._lock:
            if self._closed or self._fd is None:
                raise ValueError("audit file is closed")
            view = memoryview(data)
            while view:
                view = view[os.write(self._fd, view):]

    def close(self) -> None:
        with self._lock:
            if self._fd is not None and not self._closed:
                os.close(self._fd)
            self._closed = True

    def __enter__(self) -> JsonLinesAudit:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
