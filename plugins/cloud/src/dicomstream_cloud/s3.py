"""``s3://bucket/key``: streamed, resumable reads and streamed multipart uploads.

Reading (:class:`S3Source`) is one GET streamed in chunks of ``chunk_size``; when the
connection drops, the read resumes where it stopped with a ranged GET
(``Range: bytes=N-``) pinned to the first response's ETag (``If-Match``), up to
``max_retries`` times — nothing is ever buffered beyond one chunk.

Writing (:class:`S3Sink`) is atomic, as every dicomstream sink: bytes are gathered into
parts of ``part_size`` (5 MiB, S3's minimum, by default; growing after the 1000th part
so that 10,000 parts reach S3's object size limit); the first full part starts a
multipart upload and each further one is uploaded as it fills, from the pieces written
(views of the encoder's immutable output are kept, not copied). The writer waits while
a part goes up — one part in memory at a time — and the pipeline's bounded write queue
keeps reading and encoding meanwhile. :meth:`S3Sink.commit` uploads the last part and
completes the upload — only then does the object exist; :meth:`S3Sink.abort` aborts the
upload, so a failure leaves no object and no stored parts. An output smaller than one
part is a single PUT on commit.

Listing (``source.list_urls("s3://bucket/prefix/")``) pages through ListObjectsV2 and
yields every key under the prefix (folder markers ending in ``/`` skipped), which is what
``dicomstream rewrite s3://in/ s3://out/`` mirrors.

Requests go through the plugin's own small S3 client (:mod:`._s3client`: aiohttp and
SigV4 signing, no botocore — which alone would take most of a 64 MiB memory budget).
Credentials, region and endpoint come from the usual AWS environment variables
(``AWS_ACCESS_KEY_ID``, ``AWS_PROFILE``, ``AWS_REGION``, ``AWS_ENDPOINT_URL`` …) and
shared files (``~/.aws/credentials``, ``~/.aws/config``), see :mod:`._aws_config`;
roles, SSO and instance credentials through botocore's chain when botocore is installed.
The ``endpoint_url`` option (CLI ``--endpoint-url``) points at an S3-compatible server
and selects path-style addressing. S3's errors become :class:`SourceError` /
:class:`SinkError` naming the URL and S3's code and message
(``cannot read s3://b/k: NoSuchBucket: The specified bucket does not exist``).
"""

from __future__ import annotations

__all__ = (
    "DEFAULT_CHUNK_SIZE",
    "DEFAULT_PART_SIZE",
    "MIN_PART_SIZE",
    "S3Options",
    "S3Sink",
    "S3Source",
    "list_urls",
    "parse_s3_url",
    "part_size_of",
    "sink",
    "source",
)

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn

import anyio

from dicomstream.errors import SinkError, SourceError
from dicomstream_cloud._aws_config import ConfigError
from dicomstream_cloud._loop_pool import shared
from dicomstream_cloud._s3client import TRANSIENT_ERRORS, S3Client, S3Error

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

DEFAULT_CHUNK_SIZE = 256 * 1024
"""Bytes per chunk read: the parser's value chunk size, so large values arrive as views
of whole chunks. Smaller than a file read (1 MiB, sized to amortise a thread hop, which
a socket read does not make): the chunks the pipeline holds in flight cost a quarter."""

MIN_PART_SIZE = 5 * 1024 * 1024
"""S3's smallest part (all but the last), enforced at CompleteMultipartUpload."""

DEFAULT_PART_SIZE = MIN_PART_SIZE
"""Part size of uploads: S3's minimum, as the AWS SDKs for Go and JavaScript (boto3
takes 8 MiB). One part is held in memory while it is sent; 5 MiB parts are what keep a
streaming S3-to-S3 rewrite under 64 MiB of RSS for the whole process (issue 6)."""

MAX_PART_SIZE = 5 * 1024 ** 3
"""S3's largest part (5 GiB)."""

PARTS_PER_SIZE = 1000
"""Parts sent at one size before the size doubles (:func:`part_size_of`)."""


def part_size_of(number: int, part_size: int = DEFAULT_PART_SIZE) -> int:
    """The size of part ``number`` (from 1): ``part_size`` for the first 1000 parts,
    doubling every 1000 parts after (up to S3's 5 GiB). An object's size is never known
    in advance: 10,000 parts of a fixed 5 MiB would stop at 48.8 GiB, while this
    schedule, from 5 MiB, allows 4.9 TiB (S3 stores at most 5 TiB) and keeps parts
    small for any object below 4.9 GiB."""
    return min(MAX_PART_SIZE, part_size << ((number - 1) // PARTS_PER_SIZE))


DEFAULT_MAX_RETRIES = 3
"""Resumptions of a read after a dropped connection (the client retries each request on
its own; this covers a body that breaks off mid-stream)."""


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
    """How to reach S3: each ``None`` defers to the environment and the shared AWS
    files (:mod:`dicomstream_cloud._aws_config`).

    Attributes:
        endpoint_url: an S3-compatible server (``http://127.0.0.1:9000``).
        region_name: the region.
        profile: a profile of the shared config files.
        addressing_style: ``"path"``, ``"virtual"`` or ``"auto"``; default ``"path"``
            with an endpoint, else ``"auto"`` (virtual-hosted when the bucket name
            allows it).
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


async def client_for(options: S3Options) -> S3Client:
    """The S3 client for ``options`` shared on the running event loop."""
    client: S3Client = await shared(("s3", options), lambda: S3Client(
        endpoint_url=options.endpoint_url, region_name=options.region_name,
        profile=options.profile, addressing_style=options.addressing_style))
    return client


_FAILURES: tuple[type[BaseException], ...] = (S3Error, ConfigError, *TRANSIENT_ERRORS)
"""What an S3 call raises when S3 (or the way to it) fails, as opposed to a bug."""


class S3Source:
    """Stream the object at ``s3://bucket/key``; resumes with a ranged GET when the
    connection drops.

    Args:
        url: ``s3://bucket/key``.
        chunk_size: bytes per chunk handed on.
        max_retries: resumptions after a dropped connection.
        **options: :class:`S3Options` fields; options of other plugins are ignored.
    """

    def __init__(self, url: str, *, chunk_size: int = DEFAULT_CHUNK_SIZE,
                 max_retries: int = DEFAULT_MAX_RETRIES, **options: Any) -> None:
        self.bucket, self.key = parse_s3_url(url)
        if not self.key or self.key.endswith("/"):
            raise SourceError(f"{url}: not an object key (a prefix needs a directory "
                              "destination and a trailing /)")
        self.name = url
        self.size: int | None = None
        self.options = S3Options.from_options(options)
        self.chunk_size = int(chunk_size)
        if self.chunk_size < 1:
            raise SourceError(f"chunk_size must be at least 1, not {chunk_size!r}")
        self.max_retries = int(max_retries)
        self.resumptions = 0
        """How many times the read resumed after a dropped connection."""

    def _failure(self, exc: BaseException, offset: int) -> SourceError:
        if isinstance(exc, S3Error):
            if exc.code in ("NoSuchKey", "NotFound"):
                return SourceError(f"{self.name}: no such object")
            if exc.code == "PreconditionFailed":
                return SourceError(f"{self.name}: the object changed while it was read")
        if isinstance(exc, (S3Error, ConfigError)):
            return SourceError(f"cannot read {self.name}: {exc}")
        return SourceError(f"cannot read {self.name}: connection lost at byte {offset} "
                           f"({type(exc).__name__}: {exc}) after {self.resumptions} "
                           "resumptions")

    async def __aiter__(self) -> AsyncIterator[bytes]:
        offset = 0
        etag: str | None = None
        while True:
            try:
                client = await client_for(self.options)
                async with client.get_object(self.bucket, self.key, start=offset,
                                             if_match=etag) as body:
                    if etag is None:
                        etag, self.size = body.etag, body.size
                    async for chunk in body.iter_chunks(self.chunk_size):
                        offset += len(chunk)
                        yield chunk
                if self.size is not None and offset < self.size:
                    raise ConnectionError(f"body ended at {offset} of {self.size} bytes")
                return
            except _FAILURES as exc:
                if (not isinstance(exc, TRANSIENT_ERRORS)
                        or self.resumptions >= self.max_retries):
                    raise self._failure(exc, offset) from exc
                self.resumptions += 1
                await anyio.sleep(0.1 * 2 ** (self.resumptions - 1))


class S3Sink:
    """Write ``s3://bucket/key`` atomically through a streamed multipart upload.

    Args:
        url: ``s3://bucket/key``.
        part_size: bytes per part (at least :data:`MIN_PART_SIZE`); parts after the
            1000th grow (:func:`part_size_of`).
        content_type: the object's Content-Type.
        **options: :class:`S3Options` fields; options of other plugins are ignored.
    """

    def __init__(self, url: str, *, part_size: int = DEFAULT_PART_SIZE,
                 content_type: str = "application/dicom", **options: Any) -> None:
        self.bucket, self.key = parse_s3_url(url)
        if not self.key or self.key.endswith("/"):
            raise SinkError(f"{url}: not an object key")
        part_size = int(part_size)
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
        self._parts: list[bytes | memoryview] = []
        self._buffered = 0
        self._upload_id: str | None = None
        self._done_parts: list[tuple[int, str]] = []
        self._client: S3Client | None = None
        self._finished = False

    async def _connect(self) -> S3Client:
        if self._client is None:
            self._client = await client_for(self.options)
        return self._client

    async def write(self, data: bytes | memoryview) -> None:
        if self._finished:
            raise SinkError(f"{self.name}: write after commit/abort")
        if not data:
            return
        if isinstance(data, memoryview) and (
                not isinstance(data.obj, bytes) or data.nbytes * 4 < len(data.obj)):
            # A view of memory that may change is copied (Sink protocol); so is a small
            # view of a large buffer, which keeping would keep the whole buffer alive.
            data = bytes(data)
        # Other views of immutable bytes (encoder output, the parser's input chunks) are
        # kept as they are: a part is sent from its pieces, never joined into a copy.
        self._parts.append(data)
        self._buffered += len(data)
        self.bytes_written += len(data)
        if self._buffered >= part_size_of(self.parts_uploaded + 1, self.part_size):
            await self._upload_buffered()

    def _take(self) -> list[bytes | memoryview]:
        body = self._parts
        self._parts, self._buffered = [], 0
        return body

    def _failed(self, exc: BaseException) -> SinkError | None:
        """A SinkError for an S3 or connection failure; ``None`` for anything else."""
        if isinstance(exc, _FAILURES):
            return SinkError(f"cannot write {self.name}: {exc}")
        return None

    async def _fail(self, exc: BaseException) -> NoReturn:
        """Abort the upload, then raise ``exc`` (as a SinkError if S3 failed)."""
        await self.abort()
        error = self._failed(exc)
        if error is None:
            raise exc
        raise error from exc

    async def _upload_buffered(self) -> None:
        """Send the buffered bytes as the next part (the first one starts the multipart
        upload). The writer waits meanwhile, so one part is in memory at a time; the
        pipeline's write queue keeps reading and encoding ahead."""
        body = self._take()
        number = self.parts_uploaded + 1
        try:
            client = await self._connect()
            if self._upload_id is None:
                self._upload_id = await client.create_multipart_upload(
                    self.bucket, self.key, self.content_type)
                self.multipart = True
            etag = await client.upload_part(self.bucket, self.key, self._upload_id,
                                            number, body)
        except BaseException as exc:
            del body
            await self._fail(exc)
        self._done_parts.append((number, etag))
        self.parts_uploaded = number

    async def commit(self) -> None:
        if self._finished:
            return
        try:
            client = await self._connect()
            if self._upload_id is None:
                await client.put_object(self.bucket, self.key, self._take(),
                                        self.content_type)
            else:
                if self._buffered:
                    await self._upload_buffered()
                await client.complete_multipart_upload(self.bucket, self.key,
                                                       self._upload_id, self._done_parts)
        except BaseException as exc:
            await self._fail(exc)
        self._finished = True

    async def abort(self) -> None:
        if self._finished:
            return
        self._finished = True
        self._parts, self._buffered = [], 0
        upload_id, self._upload_id = self._upload_id, None
        if upload_id is None or self._client is None:
            return
        with anyio.CancelScope(shield=True):
            try:
                await self._client.abort_multipart_upload(self.bucket, self.key, upload_id)
            except Exception as exc:  # the upload may be gone already
                if self._failed(exc) is None:
                    raise


async def list_urls(prefix: str, **options: Any) -> AsyncIterator[str]:
    """``s3://bucket/key`` of every object under the ``s3://bucket/prefix/``, in key
    order (folder markers skipped)."""
    bucket, key_prefix = parse_s3_url(prefix)
    try:
        client = await client_for(S3Options.from_options(options))
        async for key in client.list_keys(bucket, key_prefix):
            if not key.endswith("/"):
                yield f"s3://{bucket}/{key}"
    except _FAILURES as exc:
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
