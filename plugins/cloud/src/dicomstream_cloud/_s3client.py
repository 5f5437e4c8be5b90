"""A small S3 client on aiohttp: exactly the calls the ``s3://`` source and sink make.

Why not aiobotocore: importing it and loading botocore's S3 service model adds ~25 MiB
and put the ``dicomstream rewrite`` process near 63 MiB of RSS before any data moved,
so a streaming rewrite of a 200 MiB object could not stay under 64 MiB (issue 6)
however little it buffered; with this client the same process starts at ~41 MiB. The plugin needs
eight calls, each a plain HTTP request signed with SigV4 (:mod:`._sigv4`):

=============================  ===========================================================
call                           request
=============================  ===========================================================
:meth:`S3Client.get_object`    ``GET /key`` (``Range: bytes=N-``, ``If-Match``), streamed
:meth:`S3Client.head_object`   ``HEAD /key``
:meth:`S3Client.list_keys`     ``GET /?list-type=2&prefix=…`` page by page
                               (``continuation-token``), keys URL-encoded on the wire
:meth:`S3Client.put_object`    ``PUT /key``
multipart upload               ``POST /key?uploads``, ``PUT /key?partNumber=N&uploadId=…``,
                               ``POST /key?uploadId=…`` (XML part list),
                               ``DELETE /key?uploadId=…``
=============================  ===========================================================

Addressing: path style (``http://endpoint/bucket/key``) with an ``endpoint_url``;
virtual-hosted (``https://bucket.s3.REGION.amazonaws.com/key``) on AWS when the bucket
name is DNS-compatible, else path style (:mod:`._aws_config`). Request bodies are sent
from the caller's buffer in slices with an exact ``Content-Length`` (S3 takes no chunked
uploads), so the socket layer never holds a second copy of a part.

Failures: an S3 error answer becomes :class:`S3Error` with its XML ``Code`` and
``Message`` (a ``200`` whose body is an ``<Error>``, as CompleteMultipartUpload may
send, too). Calls are retried — up to :data:`DEFAULT_MAX_ATTEMPTS` attempts with
jittered exponential backoff — on connection failures, timeouts, ``5xx`` answers and
S3's throttling codes, as botocore does. A request sent to the wrong region is re-sent
once to the region S3 names (``x-amz-bucket-region``), and the bucket's region
remembered. A body that breaks off mid-stream is the caller's to resume
(:class:`~dicomstream_cloud.s3.S3Source` does, with a ranged GET).
"""

from __future__ import annotations

__all__ = (
    "DEFAULT_MAX_ATTEMPTS",
    "TRANSIENT_ERRORS",
    "ObjectInfo",
    "ObjectStream",
    "S3Client",
    "S3Error",
)

import contextlib
import functools
import hashlib
import random
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus, urlsplit
from xml.sax.saxutils import escape

import aiohttp
import anyio
import anyio.to_thread
from yarl import URL

from dicomstream_cloud._aws_config import resolve
from dicomstream_cloud._sigv4 import EMPTY_SHA256, canonical_query, encode_key, sign

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Mapping
    from types import TracebackType

    from multidict import CIMultiDictProxy

    from dicomstream_cloud._aws_config import S3Config

DEFAULT_MAX_ATTEMPTS = 5
"""Attempts per call (botocore's "legacy" retry mode, aiobotocore's default, makes 5)."""

MAX_BACKOFF = 20.0
"""Longest wait between attempts, seconds (as botocore's retry handler)."""

DEFAULT_TIMEOUT = aiohttp.ClientTimeout(total=None, connect=60, sock_read=60)
"""botocore's defaults: 60 s to connect, 60 s without a byte; no limit on a whole
(possibly huge) transfer."""

MAX_CONNECTIONS = 64
"""HTTP connections per client: a bulk run holds one per open source and sink."""

SEND_SLICE = 256 * 1024
"""Bytes handed to the socket at a time when sending a body from a buffer."""

MAX_ERROR_BODY = 1024 * 1024
"""Bytes of an error answer read to find its code (they are a few hundred)."""

_NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"
_RETRY_CODES = frozenset({
    "InternalError", "RequestTimeout", "RequestTimeoutException", "ServiceUnavailable",
    "SlowDown", "Throttling", "ThrottlingException", "RequestThrottled",
    "RequestLimitExceeded", "BandwidthLimitExceeded", "PriorRequestNotComplete",
})
"""Error codes worth another attempt (botocore's ``_retry.json`` for S3, and
transient codes of the general list)."""

_DNS_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_IP_ADDRESS = re.compile(r"\d+\.\d+\.\d+\.\d+")

TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    aiohttp.ClientConnectionError, aiohttp.ClientPayloadError, TimeoutError,
    ConnectionError)
"""Exceptions of a request or a body read that another attempt may not meet."""


class S3Error(Exception):
    """S3 refused a request (or could not be reached).

    Attributes:
        code: S3's error code (``NoSuchKey``, ``SlowDown`` …); for an answer without
            an error document (a HEAD), ``NotFound`` for a 404, else the HTTP status.
        message: S3's message (the HTTP reason without an error document).
        status: the HTTP status.
        region: the bucket's region when S3 named it (wrong-region answers).
    """

    def __init__(self, code: str, message: str, status: int = 0,
                 region: str | None = None) -> None:
        super().__init__(f"{code}: {message}" if message else code)
        self.code = code
        self.message = message
        self.status = status
        self.region = region

    @property
    def retryable(self) -> bool:
        return self.status >= 500 or self.code in _RETRY_CODES


@dataclass(frozen=True)
class ObjectInfo:
    """What HEAD says about an object."""

    size: int
    etag: str | None
    content_type: str | None
    last_modified: str | None


@dataclass
class ObjectStream:
    """An object's body being received (from :meth:`S3Client.get_object`).

    Attributes:
        size: the whole object's size (also when a range was asked for).
        etag: its ETag.
        start: the offset of the body's first byte in the object.
    """

    size: int
    etag: str | None
    start: int
    response: aiohttp.ClientResponse

    async def iter_chunks(self, chunk_size: int) -> AsyncIterator[bytes]:
        """The body in chunks that end at object offsets multiple of ``chunk_size``
        (the last one excepted): the parser then takes large values as views of these
        chunks, never joining pieces of them (the network delivers a few KiB at a
        time, so one join happens here in any case)."""
        content = self.response.content
        want = chunk_size - self.start % chunk_size
        while True:
            block = await content.read(want)
            if not block:
                return
            if len(block) < want:
                blocks = [block]
                have = len(block)
                while have < want:
                    block = await content.read(want - have)
                    if not block:
                        break
                    blocks.append(block)
                    have += len(block)
                block = b"".join(blocks)
                del blocks
            yield block
            want = chunk_size


Buffer = bytes | bytearray | memoryview
Body = Buffer | Sequence[Buffer]
"""A request body: one buffer, or the chunks that make it up (sent without joining)."""


def _pieces(body: Body) -> Sequence[Buffer]:
    return [body] if isinstance(body, (bytes, bytearray, memoryview)) else body


def _digest(body: Body) -> tuple[int, str]:
    """Length and hex SHA-256 of a body."""
    digest, size = hashlib.sha256(), 0
    for piece in _pieces(body):
        digest.update(piece)
        size += memoryview(piece).nbytes
    return size, digest.hexdigest()


class _Slices:
    """A body as an async iterable of ``memoryview`` slices: aiohttp writes and drains
    each before taking the next, so no second copy of the body builds up below."""

    def __init__(self, body: Body) -> None:
        self._pieces = iter(_pieces(body))
        self._view = memoryview(b"")
        self._pos = 0

    def __aiter__(self) -> _Slices:
        return self

    async def __anext__(self) -> memoryview:
        while self._pos >= len(self._view):
            piece = next(self._pieces, None)
            if piece is None:
                raise StopAsyncIteration
            self._view, self._pos = memoryview(piece).cast("B"), 0
        piece = self._view[self._pos:self._pos + SEND_SLICE]
        self._pos += len(piece)
        return piece


def _dns_compatible(bucket: str) -> bool:
    return (_DNS_BUCKET.fullmatch(bucket) is not None and ".." not in bucket
            and _IP_ADDRESS.fullmatch(bucket) is None)


def _text(element: ET.Element | None, name: str) -> str | None:
    if element is None:
        return None
    found = element.find(_NS + name)
    if found is None:
        found = element.find(name)
    return found.text if found is not None else None


def _parse_error(body: bytes, status: int, reason: str,
                 headers: CIMultiDictProxy[str] | None) -> S3Error:
    region = headers.get("x-amz-bucket-region") if headers is not None else None
    code = message = None
    if body.strip():
        try:
            root = ET.fromstring(body)
        except ET.ParseError:
            root = None
        if root is not None and root.tag.rpartition("}")[2] == "Error":
            code, message = _text(root, "Code"), _text(root, "Message")
            region = region or _text(root, "Region")
    if not code:
        code = "NotFound" if status == 404 else str(status)
        message = message or reason
    return S3Error(code, message or "", status, region)


async def _backoff(attempt: int) -> None:
    """Full jitter: a random wait up to ``0.1 * 2**attempt`` seconds, capped."""
    await anyio.sleep(random.uniform(0, min(MAX_BACKOFF, 0.1 * 2 ** attempt)))


class S3Client:
    """Signed S3 requests over one aiohttp session; an async context manager.

    Args:
        endpoint_url, region_name, profile, addressing_style: see
            :func:`~dicomstream_cloud._aws_config.resolve`; ``None`` defers to the
            environment and the shared AWS files.
        max_attempts: attempts per call (transient failures only).
    """

    def __init__(self, *, endpoint_url: str | None = None, region_name: str | None = None,
                 profile: str | None = None, addressing_style: str | None = None,
                 max_attempts: int = DEFAULT_MAX_ATTEMPTS,
                 config: S3Config | None = None) -> None:
        self._resolve = functools.partial(resolve, endpoint_url=endpoint_url,
                                          region_name=region_name, profile=profile,
                                          addressing_style=addressing_style)
        self.config = config
        self.max_attempts = max_attempts
        self._session: aiohttp.ClientSession | None = None
        self._regions: dict[str, str] = {}

    async def __aenter__(self) -> S3Client:
        if self.config is None:
            self.config = await anyio.to_thread.run_sync(self._resolve)
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=MAX_CONNECTIONS),
            timeout=DEFAULT_TIMEOUT, auto_decompress=False, trust_env=True)
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    # -- addressing ---------------------------------------------------------------

    def location(self, bucket: str, key: str = "") -> tuple[str, str, str]:
        """``(scheme, host, path)`` of ``bucket``/``key``, the path encoded as sent."""
        assert self.config is not None
        region = self._regions.get(bucket, self.config.region)
        if self.config.endpoint_url:
            parts = urlsplit(self.config.endpoint_url)
            scheme, netloc, base = parts.scheme or "https", parts.netloc, parts.path
            base = base.rstrip("/")
        else:
            suffix = ".amazonaws.com.cn" if region.startswith("cn-") else ".amazonaws.com"
            scheme, netloc, base = "https", f"s3.{region}{suffix}", ""
        style = self.config.addressing_style
        virtual = style == "virtual" or (style == "auto" and _dns_compatible(bucket) and
                                         not (scheme == "https" and "." in bucket))
        if virtual:
            return scheme, f"{bucket}.{netloc}", f"{base}/{encode_key(key)}"
        path = f"{base}/{bucket}" + (f"/{encode_key(key)}" if key else "")
        return scheme, netloc, path

    # -- requests -----------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _request(self, method: str, bucket: str, key: str = "", *,
                       params: Mapping[str, str] | None = None,
                       headers: Mapping[str, str] | None = None,
                       body: Body | None = None,
                       ok: tuple[int, ...] = (200,)
                       ) -> AsyncIterator[aiohttp.ClientResponse]:
        """Send a signed request, retrying transient failures; yields the response
        (status in ``ok``) with its body unread."""
        if self._session is None or self.config is None:
            raise RuntimeError("S3Client used outside 'async with'")
        params = params or {}
        size, payload_hash = _digest(body) if body is not None else (0, EMPTY_SHA256)
        redirected = False
        attempt = 0
        while True:
            attempt += 1
            scheme, host, path = self.location(bucket, key)
            region = self._regions.get(bucket, self.config.region)
            credentials = await self.config.credentials.get()
            signed = sign(method, host, path, params, headers or {}, payload_hash,
                          credentials, region, datetime.now(UTC))
            query = canonical_query(params)
            url = URL(f"{scheme}://{host}{path}" + (f"?{query}" if query else ""),
                      encoded=True)
            data: Any = None
            if body is not None:
                signed["Content-Length"] = str(size)
                data = _Slices(body) if size > SEND_SLICE else b"".join(_pieces(body))
            failure: BaseException
            try:
                response = await self._session.request(method, url, headers=signed,
                                                       data=data)
            except TRANSIENT_ERRORS as exc:
                failure = exc
            else:
                if response.status in ok:
                    # Outside any except clause: an error of the caller's block (a body
                    # that breaks off) is the caller's, never a reason to re-send.
                    try:
                        yield response
                    finally:
                        response.release()
                    return
                try:
                    error_body = b"" if method == "HEAD" else \
                        await response.content.read(MAX_ERROR_BODY)
                except TRANSIENT_ERRORS:
                    error_body = b""
                finally:
                    response.release()
                failure = _parse_error(error_body, response.status,
                                       response.reason or "", response.headers)
            if isinstance(failure, S3Error):
                moved = failure.region and failure.region != region
                if moved and not redirected and failure.status in (301, 307, 400, 403):
                    assert failure.region is not None
                    self._regions[bucket] = failure.region
                    redirected = True
                    attempt -= 1
                    continue
                if not failure.retryable or attempt >= self.max_attempts:
                    raise failure
            elif attempt >= self.max_attempts:
                raise failure
            await _backoff(attempt)

    async def _call(self, method: str, bucket: str, key: str = "", *,
                    ok: tuple[int, ...] = (200,), error_in_body: bool = False,
                    **kwargs: Any) -> tuple[CIMultiDictProxy[str], bytes]:
        """A request whose whole answer is small: its headers and body. With
        ``error_in_body``, a success status whose body is an ``<Error>`` is a failure
        (retried like any other)."""
        attempt = 0
        while True:
            attempt += 1
            async with self._request(method, bucket, key, ok=ok, **kwargs) as response:
                failure: BaseException | None = None
                try:
                    content = await response.read()
                except TRANSIENT_ERRORS as exc:
                    failure = exc
                else:
                    if error_in_body and _is_error(content):
                        failure = _parse_error(content, response.status, "", None)
                    else:
                        return response.headers, content
            assert failure is not None
            retryable = not isinstance(failure, S3Error) or failure.retryable
            if not retryable or attempt >= self.max_attempts:
                raise failure
            await _backoff(attempt)

    # -- the calls ------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def get_object(self, bucket: str, key: str, *, start: int = 0,
                         if_match: str | None = None) -> AsyncIterator[ObjectStream]:
        """The object's bytes from ``start`` on, as they arrive; ``if_match`` pins the
        ETag (a changed object fails with ``PreconditionFailed``)."""
        headers = {}
        if start:
            headers["Range"] = f"bytes={start}-"
        if if_match:
            headers["If-Match"] = if_match
        async with self._request("GET", bucket, key, headers=headers,
                                 ok=(200, 206)) as response:
            first, size = 0, response.content_length or 0
            content_range = response.headers.get("Content-Range", "")
            if response.status == 206:
                match = re.fullmatch(r"bytes (\d+)-\d+/(\d+)", content_range)
                if match is None:
                    raise S3Error("InvalidResponse", f"bad Content-Range "
                                  f"{content_range!r}", response.status)
                first, size = int(match.group(1)), int(match.group(2))
            if first != start:
                raise S3Error("InvalidResponse", f"asked for byte {start}, got byte "
                              f"{first} on", response.status)
            yield ObjectStream(size=size, etag=response.headers.get("ETag"), start=first,
                               response=response)

    async def head_object(self, bucket: str, key: str) -> ObjectInfo:
        headers, _ = await self._call("HEAD", bucket, key)
        return ObjectInfo(size=int(headers.get("Content-Length", "0")),
                          etag=headers.get("ETag"),
                          content_type=headers.get("Content-Type"),
                          last_modified=headers.get("Last-Modified"))

    async def list_keys(self, bucket: str, prefix: str = "", *,
                        page_size: int | None = None) -> AsyncIterator[str]:
        """Every key under ``prefix``, in S3's (UTF-8 binary) order, a page at a time
        (``page_size`` keys, S3's default and most: 1000)."""
        token: str | None = None
        while True:
            params = {"list-type": "2", "prefix": prefix, "encoding-type": "url"}
            if page_size:
                params["max-keys"] = str(page_size)
            if token:
                params["continuation-token"] = token
            _, content = await self._call("GET", bucket, params=params)
            root = _xml(content)
            for item in root.iter(_NS + "Contents"):
                key = _text(item, "Key")
                if key is not None:
                    yield unquote_plus(key)
            token = _text(root, "NextContinuationToken")
            if _text(root, "IsTruncated") != "true" or not token:
                return

    async def put_object(self, bucket: str, key: str, body: Body,
                         content_type: str | None = None) -> str | None:
        """Store ``body`` as one object; its ETag."""
        headers = {"Content-Type": content_type} if content_type else {}
        answer, _ = await self._call("PUT", bucket, key, headers=headers, body=body)
        return answer.get("ETag")

    async def create_multipart_upload(self, bucket: str, key: str,
                                      content_type: str | None = None) -> str:
        """Start a multipart upload; its UploadId."""
        headers = {"Content-Type": content_type} if content_type else {}
        _, content = await self._call("POST", bucket, key, params={"uploads": ""},
                                      headers=headers)
        upload_id = _text(_xml(content), "UploadId")
        if not upload_id:
            raise S3Error("InvalidResponse", "no UploadId in the answer to "
                          "CreateMultipartUpload", 200)
        return upload_id

    async def upload_part(self, bucket: str, key: str, upload_id: str, number: int,
                          body: Body) -> str:
        """Upload part ``number`` (1…10000); its ETag."""
        headers, _ = await self._call("PUT", bucket, key, body=body, params={
            "partNumber": str(number), "uploadId": upload_id})
        etag = headers.get("ETag")
        if not etag:
            raise S3Error("InvalidResponse", f"no ETag for part {number}", 200)
        return etag

    async def complete_multipart_upload(self, bucket: str, key: str, upload_id: str,
                                        parts: list[tuple[int, str]]) -> str | None:
        """Assemble the object from ``(number, etag)`` parts; its ETag. Only now does
        the object exist."""
        xml = "".join(f"<Part><PartNumber>{n}</PartNumber><ETag>{escape(etag)}</ETag></Part>"
                      for n, etag in sorted(parts))
        body = (f'<CompleteMultipartUpload xmlns="{_NS[1:-1]}">{xml}'
                "</CompleteMultipartUpload>").encode()
        # A 200 may still carry an <Error>: S3 answers at once and reports at the end.
        _, content = await self._call("POST", bucket, key, params={"uploadId": upload_id},
                                      body=body, error_in_body=True)
        return _text(_xml(content), "ETag")

    async def abort_multipart_upload(self, bucket: str, key: str, upload_id: str) -> None:
        """Discard an upload and its parts (an upload already gone is no error)."""
        try:
            await self._call("DELETE", bucket, key, params={"uploadId": upload_id},
                             ok=(200, 204))
        except S3Error as exc:
            if exc.code != "NoSuchUpload":
                raise


def _is_error(content: bytes) -> bool:
    """Whether an XML answer is an ``<Error>`` document."""
    head = content[:200].lstrip()
    if head.startswith(b"<?xml"):
        head = head[head.find(b"?>") + 2:].lstrip()
    return head.startswith(b"<Error>") or head.startswith(b"<Error ")


def _xml(content: bytes) -> ET.Element:
    try:
        return ET.fromstring(content)
    except ET.ParseError as exc:
        raise S3Error("InvalidResponse", f"unreadable XML answer ({exc})", 200) from exc

