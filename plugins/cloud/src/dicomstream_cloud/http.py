"""``http(s)://`` reads: streamed, and resumed with a Range request after a dropped
connection.

:class:`HttpSource` streams the response body in chunks (``Accept-Encoding: identity``,
so the bytes are the resource's own). When the connection breaks off mid-body it asks
again with ``Range: bytes=N-`` and ``If-Range`` (the first response's strong ETag, else
its Last-Modified): a ``206`` whose Content-Range starts at N continues the stream; a
``200`` means the server ignored the range, and the first N bytes of the new body are
skipped if it is provably the same resource (same validator), else the read fails —
never silently mixing two versions. Up to ``max_retries`` resumptions, with backoff;
``5xx`` answers and refused connections are retried the same way.

Sessions (aiohttp, one connection pool per event loop) are shared by every source of a
loop. Headers (e.g. ``Authorization``) come from the ``headers`` option; user and
password in the URL are sent as basic auth by aiohttp.
"""

from __future__ import annotations

__all__ = ("DEFAULT_MAX_RETRIES", "HttpSource", "source")

import re
from typing import TYPE_CHECKING, Any

import aiohttp
import anyio

from dicomstream.errors import SourceError
from dicomstream.io import DEFAULT_READ_SIZE
from dicomstream_cloud._loop_pool import shared

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Mapping

DEFAULT_MAX_RETRIES = 3
"""Resumptions after a dropped connection or a 5xx answer (as urllib3's default 3)."""

DEFAULT_TIMEOUT = aiohttp.ClientTimeout(total=None, connect=30, sock_read=60)
"""No limit on a whole (possibly huge) download; 60 s without a byte is a dead peer."""

_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")


def _session_factory() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(timeout=DEFAULT_TIMEOUT, auto_decompress=False)


async def http_session() -> aiohttp.ClientSession:
    """The aiohttp session shared on the running event loop."""
    session: aiohttp.ClientSession = await shared(("http",), _session_factory)
    return session


class _Retry(Exception):
    """A transient failure worth another request."""


def _validator(response: aiohttp.ClientResponse) -> str | None:
    etag = response.headers.get("ETag")
    if etag and not etag.startswith("W/"):
        return etag
    return response.headers.get("Last-Modified")


class HttpSource:
    """Stream ``url`` (http or https), resuming with Range requests.

    Args:
        url: the resource.
        headers: extra request headers.
        chunk_size: bytes per chunk handed on.
        max_retries: resumptions after a dropped connection or a 5xx answer.
        **options: options of other plugins, ignored.
    """

    def __init__(self, url: str, *, headers: Mapping[str, str] | None = None,
                 chunk_size: int = DEFAULT_READ_SIZE, max_retries: int = DEFAULT_MAX_RETRIES,
                 **options: Any) -> None:
        self.url = url
        self.name = url
        self.size: int | None = None
        self.headers = dict(headers or {})
        self.chunk_size = int(chunk_size)
        self.max_retries = int(max_retries)
        self.resumptions = 0
        """How many extra requests the read needed."""

    async def __aiter__(self) -> AsyncIterator[bytes]:
        session = await http_session()
        offset = 0
        validator: str | None = None
        while True:
            headers = {"Accept-Encoding": "identity", **self.headers}
            if offset:
                headers["Range"] = f"bytes={offset}-"
                if validator:
                    headers["If-Range"] = validator
            try:
                async with session.get(self.url, headers=headers) as response:
                    skip = self._check(response, offset, validator)
                    if validator is None:
                        validator = _validator(response)
                    async for chunk in response.content.iter_chunked(self.chunk_size):
                        if skip:
                            drop = min(skip, len(chunk))
                            chunk, skip = chunk[drop:], skip - drop
                            if not chunk:
                                continue
                        offset += len(chunk)
                        yield chunk
                    if self.size is not None and offset < self.size:
                        raise _Retry(f"body ended at byte {offset} of {self.size}")
                    return
            except (TimeoutError, _Retry, aiohttp.ClientPayloadError,
                    aiohttp.ClientConnectionError) as exc:
                if self.resumptions >= self.max_retries:
                    raise SourceError(f"cannot read {self.name}: {type(exc).__name__}: "
                                      f"{exc} (at byte {offset}, after {self.resumptions} "
                                      "retries)") from exc
                self.resumptions += 1
                await anyio.sleep(0.1 * 2 ** (self.resumptions - 1))

    def _check(self, response: aiohttp.ClientResponse, offset: int,
               validator: str | None) -> int:
        """Validate an answer; returns how many leading body bytes to skip."""
        status = response.status
        if status >= 500:
            raise _Retry(f"HTTP {status} {response.reason}")
        if offset == 0:
            if status != 200:
                raise SourceError(f"cannot read {self.name}: HTTP {status} {response.reason}")
            self.size = response.content_length
            return 0
        if status == 206:
            match = _CONTENT_RANGE.fullmatch(response.headers.get("Content-Range", ""))
            if match is None or int(match.group(1)) != offset:
                raise SourceError(f"cannot resume {self.name}: bad Content-Range "
                                  f"{response.headers.get('Content-Range')!r} for byte "
                                  f"{offset}")
            return 0
        if status == 200 and validator is not None and _validator(response) == validator:
            return offset  # no range support: same resource, skip what was delivered
        if status == 200:
            raise SourceError(f"cannot resume {self.name}: it changed, or the server "
                              "allows no ranges and gives no validator to prove it did not")
        raise SourceError(f"cannot resume {self.name}: HTTP {status} {response.reason}")


def source(url: str, **options: Any) -> HttpSource:
    """The ``http`` / ``https`` entry point of ``dicomstream.sources``."""
    return HttpSource(url, **options)
