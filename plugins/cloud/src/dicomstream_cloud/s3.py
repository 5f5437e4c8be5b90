"""``s3://bucket/key``: streamed, resumable reads and streamed multipart uploads.

Reading (:class:`S3Source`) is one GET streamed in chunks of ``chunk_size``; when the
connection drops, the read resumes where it stopped with a ranged GET
(``Range: bytes=N-``) pinned to the first response's ETag (``If-Match``), up to
``max_retries`` times — nothing is ever buffered beyond one chunk.

Writing (:class:`S3Sink`) is atomic, as every dicomstream sink: bytes are gathered into
parts of ``part_size`` (at least 5 MiB, S3's minimum); the first full part starts a
multipart upload and each further one is uploaded as it fills, in the background while
the pipeline fills the next (one part in flight: at most two parts in memory).
:meth:`S3Sink.commit` uploads the last part and completes the upload — only
then does the object exist; :meth:`S3Sink.abort` aborts the upload, so a failure leaves
no object and no stored parts. An output smaller than one part is a single PUT on commit.

Listing (``source.list_urls("s3://bucket/prefix/")``) pages through ListObjectsV2 and
yields every key under the prefix (folder markers ending in ``/`` skipped), which is what
``dicomstream rewrite s3://in/ s3://out/`` mirrors.

Credentials, region and endpoint come from aiobotocore's usual chain (environment
variables such as ``AWS_ACCESS_KEY_ID`` / ``AWS_PROFILE`` / ``AWS_ENDPOINT_URL``, the
shared config files, instance roles); the ``endpoint_url`` option (CLI
``--endpoint-url``) points at an S3-compatible server and selects path-style addressing.
"""

from __future__ import annotations

__all__ = (
    "DEFAULT_PART_SIZE",
    "MIN_PART_SIZE",
    "S3Options",
    "S3Sink",
    "S3Source",
    "list_urls",
    "parse_s3_url",
    "sink",
    "source",
)

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import anyio

from dicomstream.errors import SinkError, SourceError
from dicomstream.io import DEFAULT_READ_SIZE
from dicomstream_cloud._loop_pool import shared

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

MIN_PART_SIZE = 5 * 1024 * 1024
"""S3's smallest part (all but the last), enforced at CompleteMultipartUpload."""

DEFAULT_PART_SIZE = 8 * 1024 * 1024
"""Part size of uploads: as boto3's TransferConfig default (8 MiB)."""

DEFAULT_MAX_RETRIES = 3
"""Resumptions of a read after a dropped connection (botocore retries API calls on its
own; this covers a body that breaks off mid-stream)."""

_MAX_POOL_CONNECTIONS = 64
"""HTTP connections per client: a bulk run holds one per open source and sink."""


def parse_s3_url(url: str) -> tuple[str, str]:
    """``s3://bucket/some/key`` → ``("bucket", "some/key")``."""
    if not url.startswith("s3://"):
        raise SourceError(f"not an s3:// URL: {url!r}")
    bucket, _, key = url[len("s3://"):].partition("/")
    if not bucket:
        raise SourceError(f"no bucket in {url!r}")
    return bucket, key


@dataclass(frozen=True)
class S3Options:
    """How to reach S3: each ``None`` defers to aiobotocore's own configuration.

    Attributes:
        endpoint_url: an S3-compatible server (``http://127.0.0.1:9000``).
        region_name: the region.
        profile: a profile of the shared config files.
        addressing_style: ``"path"``, ``"virtual"`` or ``"auto"``; default ``"path"``
            with an ``endpoint_url``, else botocore's choice.
    """

    endpoint_url: str | None = None
    region_name: str | None = None
    profile: str | None = None
    addressing_style: str | None = None

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> S3Options:
        return cls(endpoint_url=options.get("endpoint_url"),
                   region_name=options.get("region_name"),
                   profile=options.get("profile"),
                   addressing_style=options.get("addressing_style"))


def _create_client(options: S3Options) -> Any:
    from aiobotocore.config import AioConfig
    from aiobotocore.session import AioSession

    style = options.addressing_style or ("path" if options.endpoint_url else None)
    config = AioConfig(max_pool_connections=_MAX_POOL_CONNECTIONS,
                       s3={"addressing_style": style} if style else None)
    session = AioSession(profile=options.profile)
    return session.create_client("s3", endpoint_url=options.endpoint_url,
                                 region_name=options.region_name, config=config)


async def client_for(options: S3Options) -> Any:
    """The S3 client for ``options`` shared on the running event loop."""
    return await shared(("s3", options), lambda: _create_client(options))


def _error_code(exc: BaseException) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def _is_client_error(exc: BaseException) -> bool:
    from botocore.exceptions import BotoCoreError, ClientError

    return isinstance(exc, (ClientError, BotoCoreError))


def _is_transient_read_error(exc: BaseException) -> bool:
    import aiohttp
    from botocore.exceptions import ConnectionError as BotoConnectionError
    from botocore.exceptions import ReadTimeoutError, ResponseStreamingError

    return isinstance(exc, (aiohttp.ClientPayloadError, aiohttp.ClientConnectionError,
                            asyncio.TimeoutError, BotoConnectionError, ReadTimeoutError,
                            ResponseStreamingError, ConnectionError))


class S3Source:
    """Stream the object at ``s3://bucket/key``; resumes with a ranged GET when the
    connection drops.

    Args:
        url: ``s3://bucket/key``.
        chunk_size: bytes per chunk handed on.
        max_retries: resumptions after a dropped connection.
        **options: :class:`S3Options` fields; options of other plugins are ignored.
    """

    def __init__(self, url: str, *, chunk_size: int = DEFAULT_READ_SIZE,
                 max_retries: int = DEFAULT_MAX_RETRIES, **options: Any) -> None:
        self.bucket, self.key = parse_s3_url(url)
        if not self.key or self.key.endswith("/"):
            raise SourceError(f"{url}: not an object key (a prefix needs a directory "
                              "destination and a trailing /)")
        self.name = url
        self.size: int | None = None
        self.options = S3Options.from_options(options)
        self.chunk_size = chunk_size
        self.max_retries = max_retries
        self.resumptions = 0
        """How many times the read resumed after a dropped connection."""

    async def _get(self, client: Any, offset: int, etag: str | None) -> Any:
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Key": self.key}
        if offset:
            kwargs["Range"] = f"bytes={offset}-"
        if etag:
            kwargs["IfMatch"] = etag
        try:
            return await client.get_object(**kwargs)
        except Exception as exc:
            if not _is_client_error(exc):
                raise
            code = _error_code(exc)
            if code in ("NoSuchKey", "404"):
                raise SourceError(f"{self.name}: no such object") from exc
            if code in ("PreconditionFailed", "412"):
                raise SourceError(f"{self.name}: the object changed while it was "
                                  "read") from exc
            raise SourceError(f"cannot read {self.name}: {exc}") from exc

    async def __aiter__(self) -> AsyncIterator[bytes]:
        client = await client_for(self.options)
        offset = 0
        etag: str | None = None
        while True:
            response = await self._get(client, offset, etag)
            if etag is None:
                etag = response.get("ETag")
                self.size = int(response["ContentLength"])
            body = response["Body"]
            try:
                async for chunk in body.iter_chunks(self.chunk_size):
                    offset += len(chunk)
                    yield chunk
                if self.size is not None and offset < self.size:
                    raise ConnectionError(f"body ended at {offset} of {self.size} bytes")
                return
            except Exception as exc:
                if not _is_transient_read_error(exc):
                    raise
                if self.resumptions >= self.max_retries:
                    raise SourceError(f"cannot read {self.name}: connection lost at byte "
                                      f"{offset} ({type(exc).__name__}: {exc}) after "
                                      f"{self.resumptions} resumptions") from exc
                self.resumptions += 1
                await anyio.sleep(0.1 * 2 ** (self.resumptions - 1))
            finally:
                body.close()


class S3Sink:
    """Write ``s3://bucket/key`` atomically through a streamed multipart upload.

    Args:
        url: ``s3://bucket/key``.
        part_size: bytes per part (at least :data:`MIN_PART_SIZE`).
        content_type: the object's Content-Type.
        **options: :class:`S3Options` fields; options of other plugins are ignored.
    """

    def __init__(self, url: str, *, part_size: int = DEFAULT_PART_SIZE,
                 content_type: str = "application/dicom", **options: Any) -> None:
        self.bucket, self.key = parse_s3_url(url)
        if not self.key or self.key.endswith("/"):
            raise SinkError(f"{url}: not an object key")
        if part_size < MIN_PART_SIZE:
            raise SinkError(f"part_size {part_size} is below S3's minimum of "
                            f"{MIN_PART_SIZE} bytes")
        self.name = url
        self.options = S3Options.from_options(options)
        self.part_size = part_size
        self.content_type = content_type
        self.bytes_written = 0
        self.parts_uploaded = 0
        """Parts sent so far (0: the object goes up as one PUT on commit)."""
        self.multipart = False
        """Whether a multipart upload was started (the output outgrew one part)."""
        self._parts: list[bytes] = []
        self._buffered = 0
        self._upload_id: str | None = None
        self._done_parts: list[dict[str, Any]] = []
        self._next_part = 0
        self._in_flight: asyncio.Future[None] | None = None
        self._client: Any = None
        self._finished = False

    async def _connect(self) -> Any:
        if self._client is None:
            self._client = await client_for(self.options)
        return self._client

    async def write(self, data: bytes | memoryview) -> None:
        if self._finished:
            raise SinkError(f"{self.name}: write after commit/abort")
        if not data:
            return
        self._parts.append(bytes(data))
        self._buffered += len(data)
        self.bytes_written += len(data)
        if self._buffered >= self.part_size:
            await self._upload_buffered()

    def _take(self) -> bytes:
        body = b"".join(self._parts)
        self._parts, self._buffered = [], 0
        return body

    def _failed(self, exc: BaseException) -> SinkError | None:
        """A SinkError for an S3 or connection failure; ``None`` for anything else."""
        if _is_client_error(exc) or _is_transient_read_error(exc):
            return SinkError(f"cannot write {self.name}: {exc}")
        return None

    async def _send_part(self, number: int, body: bytes) -> None:
        client = await self._connect()
        result = await client.upload_part(Bucket=self.bucket, Key=self.key,
                                          UploadId=self._upload_id, PartNumber=number,
                                          Body=body)
        self._done_parts.append({"PartNumber": number, "ETag": result["ETag"]})
        self.parts_uploaded += 1

    async def _settle(self) -> None:
        """Wait for the part upload in flight, if any (its failure aborts the upload)."""
        task, self._in_flight = self._in_flight, None
        if task is None:
            return
        try:
            await task
        except Exception as exc:
            await self.abort()
            error = self._failed(exc)
            if error is None:
                raise
            raise error from exc

    async def _upload_buffered(self) -> None:
        """Send the buffered bytes as the next part, in the background: the pipeline
        fills the next part meanwhile (one part in flight, so two in memory at most)."""
        body = self._take()
        await self._settle()
        if self._upload_id is None:
            client = await self._connect()
            try:
                started = await client.create_multipart_upload(
                    Bucket=self.bucket, Key=self.key, ContentType=self.content_type)
            except Exception as exc:
                await self.abort()
                error = self._failed(exc)
                if error is None:
                    raise
                raise error from exc
            self._upload_id = started["UploadId"]
            self.multipart = True
        self._next_part += 1
        self._in_flight = asyncio.ensure_future(self._send_part(self._next_part, body))

    async def commit(self) -> None:
        if self._finished:
            return
        client = await self._connect()
        try:
            if self._upload_id is None:
                await client.put_object(Bucket=self.bucket, Key=self.key, Body=self._take(),
                                        ContentType=self.content_type)
            else:
                if self._buffered:
                    await self._upload_buffered()
                await self._settle()
                parts = sorted(self._done_parts, key=lambda part: part["PartNumber"])
                await client.complete_multipart_upload(
                    Bucket=self.bucket, Key=self.key, UploadId=self._upload_id,
                    MultipartUpload={"Parts": parts})
        except BaseException as exc:
            await self.abort()
            error = self._failed(exc) if isinstance(exc, Exception) else None
            if error is None:
                raise
            raise error from exc
        self._finished = True

    async def abort(self) -> None:
        if self._finished:
            return
        self._finished = True
        self._parts, self._buffered = [], 0
        task, self._in_flight = self._in_flight, None
        upload_id, self._upload_id = self._upload_id, None
        with anyio.CancelScope(shield=True):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
            if upload_id is None or self._client is None:
                return
            try:
                await self._client.abort_multipart_upload(
                    Bucket=self.bucket, Key=self.key, UploadId=upload_id)
            except Exception as exc:  # the upload may be gone already
                if self._failed(exc) is None:
                    raise


async def list_urls(prefix: str, **options: Any) -> AsyncIterator[str]:
    """``s3://bucket/key`` of every object under the ``s3://bucket/prefix/``, in key
    order (folder markers skipped)."""
    bucket, key_prefix = parse_s3_url(prefix)
    client = await client_for(S3Options.from_options(options))
    paginator = client.get_paginator("list_objects_v2")
    try:
        async for page in paginator.paginate(Bucket=bucket, Prefix=key_prefix):
            for item in page.get("Contents", ()):
                key = item["Key"]
                if not key.endswith("/"):
                    yield f"s3://{bucket}/{key}"
    except Exception as exc:
        if not _is_client_error(exc):
            raise
        raise SourceError(f"cannot list {prefix}: {exc}") from exc


class _SourceFactory:
    """The ``s3`` entry point of ``dicomstream.sources``: ``(url, **options) -> Source``
    with :meth:`list_urls` for prefixes."""

    def __call__(self, url: str, **options: Any) -> S3Source:
        return S3Source(url, **options)

    def list_urls(self, prefix: str, **options: Any) -> AsyncIterator[str]:
        return list_urls(prefix, **options)


def sink(url: str, **options: Any) -> S3Sink:
    """The ``s3`` entry point of ``dicomstream.sinks``."""
    return S3Sink(url, **options)


source = _SourceFactory()
