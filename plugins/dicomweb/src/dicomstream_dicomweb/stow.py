"""STOW-RS as a sink: each instance streamed up as a ``multipart/related;
type="application/dicom"`` body while the pipeline produces it.

:class:`StowSink` opens the POST on its first write and feeds the encoder's output into
the request body (chunked) through a small buffer, so an instance is never held whole.
:meth:`StowSink.commit` closes the body with the final boundary and checks the answer:
the instance is stored only then, and a server that lists it under Failed SOP Sequence
(0008,1198) — or answers anything but success — makes the commit fail.
:meth:`StowSink.abort` drops the connection mid-body, so the server sees a truncated
request and stores nothing.

The URL is the service's ``…/studies`` (or ``…/studies/<StudyUID>``); anything after
that — the relative path a bulk run appends when it mirrors a directory tree — is
ignored, since a server files instances by their own UIDs.
"""

from __future__ import annotations

__all__ = ("StowSink", "sink")

import asyncio
import json
import secrets
from typing import TYPE_CHECKING, Any

import aiohttp
import anyio

from dicomstream.errors import SinkError
from dicomstream_dicomweb._urls import auth_headers, parse_url

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

BUFFER_SIZE = 256 * 1024
"""Bytes gathered before they go to the request body (the encoder writes small pieces)."""

QUEUE_DEPTH = 4
"""Buffers waiting for the connection: the sink's memory bound is about
``BUFFER_SIZE * (QUEUE_DEPTH + 1)``."""

_FAILED_SOP_SEQUENCE = "00081198"
_REFERENCED_SOP_SEQUENCE = "00081199"
_FAILURE_REASON = "00081197"

TIMEOUT = aiohttp.ClientTimeout(total=None, connect=30, sock_read=300)
"""The answer comes after the whole body: allow the server time to store it."""


class StowSink:
    """Store one instance with STOW-RS, streaming it up.

    Args:
        url: ``dicomweb+http(s)://host/root/studies[/<StudyUID>][/anything]``.
        **options: ``token``, ``username``, ``password``, ``headers``; options of other
            plugins are ignored.

    Attributes:
        result: the server's DICOM JSON answer once committed.
    """

    def __init__(self, url: str, **options: Any) -> None:
        resource = parse_url(url, ignore_tail=True)
        if resource.level != "studies" or resource.series:
            raise SinkError(f"{url}: STOW-RS stores to …/studies[/<StudyUID>]")
        self.name = url
        self.endpoint = resource.http_url(resource.path(study=resource.study)
                                          if resource.study else "/studies")
        self.headers = auth_headers(resource, options)
        self.bytes_written = 0
        self.result: dict[str, Any] | None = None
        self._boundary = "dicomstream-" + secrets.token_hex(16)
        self._pending: list[bytes] = []
        self._buffered = 0
        self._send: Any = None
        self._receive: Any = None
        self._request: asyncio.Task[dict[str, Any]] | None = None
        self._finished = False

    async def _body(self, receive: Any) -> AsyncIterator[bytes]:
        yield (f"--{self._boundary}\r\nContent-Type: application/dicom\r\n\r\n").encode()
        async with receive:
            async for data in receive:
                yield data
        yield f"\r\n--{self._boundary}--\r\n".encode()

    async def _post(self, receive: Any) -> dict[str, Any]:
        headers = {**self.headers, "Accept": "application/dicom+json",
                   "Content-Type": (f'multipart/related; type="application/dicom"; '
                                    f"boundary={self._boundary}")}
        async with aiohttp.ClientSession(timeout=TIMEOUT) as session, \
                session.post(self.endpoint, data=self._body(receive),
                             headers=headers) as response:
            text = await response.read()
            try:
                answer: dict[str, Any] = json.loads(text) if text.strip() else {}
            except ValueError:
                answer = {}
            if response.status not in (200, 202):
                raise SinkError(f"STOW-RS {self.endpoint}: HTTP {response.status} "
                                f"{response.reason}{_failure(answer)}")
            return answer

    def _start(self) -> None:
        send, receive = anyio.create_memory_object_stream[bytes](QUEUE_DEPTH)
        self._send, self._receive = send, receive
        self._request = asyncio.ensure_future(self._post(receive))

    async def _push(self) -> None:
        """Hand the gathered bytes to the request body (waits while it is full)."""
        data = b"".join(self._pending)
        self._pending, self._buffered = [], 0
        if self._request is None:
            self._start()
        assert self._request is not None
        try:
            self._send.send_nowait(data)
            return
        except anyio.WouldBlock:
            pass
        except (anyio.BrokenResourceError, anyio.ClosedResourceError):
            await self._raise_from_request()
        send = asyncio.ensure_future(self._send.send(data))
        await asyncio.wait({send, self._request}, return_when=asyncio.FIRST_COMPLETED)
        if not send.done():
            send.cancel()
            await self._raise_from_request()
        elif send.exception() is not None:
            await self._raise_from_request()

    async def _raise_from_request(self) -> None:
        """The request ended before its body did: raise why."""
        assert self._request is not None
        try:
            await self._request
        except SinkError:
            raise
        except (aiohttp.ClientError, OSError) as exc:
            raise SinkError(f"STOW-RS {self.endpoint}: {exc}") from exc
        raise SinkError(f"STOW-RS {self.endpoint}: the server answered before the "
                        "instance was sent")

    async def write(self, data: bytes | memoryview) -> None:
        if self._finished:
            raise SinkError(f"{self.name}: write after commit/abort")
        if not data:
            return
        self._pending.append(bytes(data))
        self._buffered += len(data)
        self.bytes_written += len(data)
        if self._buffered >= BUFFER_SIZE:
            try:
                await self._push()
            except BaseException:
                await self.abort()
                raise

    async def commit(self) -> None:
        if self._finished:
            return
        try:
            if self._pending or self._request is None:
                if self.bytes_written == 0:
                    raise SinkError(f"{self.name}: nothing to store")
                await self._push()
            assert self._request is not None
            await self._send.aclose()
            try:
                answer = await self._request
            except (aiohttp.ClientError, OSError) as exc:
                raise SinkError(f"STOW-RS {self.endpoint}: {exc}") from exc
        except BaseException:
            await self.abort()
            raise
        self._finished = True
        self.result = answer
        stored = answer.get(_REFERENCED_SOP_SEQUENCE, {}).get("Value") or []
        if _failure(answer) or not stored:
            raise SinkError(f"STOW-RS {self.endpoint}: the server did not store the "
                            f"instance{_failure(answer) or ' (none acknowledged)'}")

    async def abort(self) -> None:
        if self._finished:
            return
        self._finished = True
        self._pending, self._buffered = [], 0
        request, self._request = self._request, None
        if request is None:
            return
        request.cancel()  # drop the connection mid-body: nothing is stored
        with anyio.CancelScope(shield=True):
            await asyncio.gather(request, return_exceptions=True)
        self._send.close()
        self._receive.close()


def _failure(answer: dict[str, Any]) -> str:
    """`` (failure reason N)`` from a STOW-RS answer's Failed SOP Sequence, or ``""``."""
    failed = answer.get(_FAILED_SOP_SEQUENCE, {}).get("Value") or []
    if not failed:
        return ""
    reasons = failed[0].get(_FAILURE_REASON, {}).get("Value") or ["?"]
    return f" (failure reason {reasons[0]})"


def sink(url: str, **options: Any) -> StowSink:
    """The ``dicomweb+http(s)`` entry point of ``dicomstream.sinks``."""
    return StowSink(url, **options)
