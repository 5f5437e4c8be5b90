"""The light S3 client: every call against the moto server, and the failures moto never
makes (throttling, a body cut off, a 200 that carries an error, the wrong region)
against a scripted in-process fake."""

from __future__ import annotations

import hashlib
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
import pytest_asyncio
from corpus import path_of

from cloud.cloud_servers import raises_through_groups
from dicomstream.errors import SinkError, SourceError
from dicomstream.io import BytesSource
from dicomstream.pipeline import rewrite

pytest.importorskip("dicomstream_cloud", reason="plugins/cloud is not installed")

from aiohttp import web  # noqa: E402
from aiohttp.test_utils import TestServer  # noqa: E402

from dicomstream_cloud import S3Sink, S3Source  # noqa: E402
from dicomstream_cloud._s3client import S3Client, S3Error  # noqa: E402
from dicomstream_cloud.s3 import MIN_PART_SIZE, list_urls, part_size_of  # noqa: E402

SPECIAL_KEYS = ["in/CT small.dcm", "in/a+b=c&d.dcm", "in/ünï/çødé~.dcm", "in/100%.dcm",
                "in/q?h#.dcm", "in/x//y.dcm", "in/a/../b.dcm", "in/./c.dcm"]


@pytest_asyncio.fixture
async def client(moto_endpoint: str) -> AsyncIterator[S3Client]:
    async with S3Client(endpoint_url=moto_endpoint) as c:
        yield c


@pytest.mark.asyncio
async def test_keys_with_any_characters_round_trip(client: S3Client, bucket: str,
                                                   s3: Any) -> None:
    for i, key in enumerate(SPECIAL_KEYS):
        assert await client.put_object(bucket, key, key.encode() * (i + 1), "text/plain")
    assert sorted(item["Key"] for item in s3.list_objects_v2(Bucket=bucket)["Contents"]) \
        == sorted(SPECIAL_KEYS)
    listed = [key async for key in client.list_keys(bucket, "in/", page_size=2)]
    assert listed == sorted(SPECIAL_KEYS, key=lambda k: k.encode())
    for i, key in enumerate(SPECIAL_KEYS):
        info = await client.head_object(bucket, key)
        assert info.size == len(key.encode()) * (i + 1)
        assert info.content_type == "text/plain"
        async with client.get_object(bucket, key) as body:
            data = b"".join([chunk async for chunk in body.iter_chunks(5)])
        assert data == key.encode() * (i + 1)


@pytest.mark.asyncio
async def test_ranged_get_and_pinned_etag(client: S3Client, bucket: str) -> None:
    data = bytes(range(256)) * 40
    etag = await client.put_object(bucket, "r", data)
    async with client.get_object(bucket, "r", start=1000, if_match=etag) as body:
        assert (body.size, body.start, body.etag) == (len(data), 1000, etag)
        chunks = [chunk async for chunk in body.iter_chunks(4096)]
    assert b"".join(chunks) == data[1000:]
    # Chunks end at offsets that are multiples of the chunk size.
    assert [len(c) for c in chunks] == [3096, 4096, len(data) - 8192]
    with pytest.raises(S3Error, match="PreconditionFailed"):
        async with client.get_object(bucket, "r", start=10, if_match='"other"'):
            pass


@pytest.mark.asyncio
async def test_prefix_listing_pages(client: S3Client, bucket: str, s3: Any) -> None:
    for i in range(7):
        s3.put_object(Bucket=bucket, Key=f"p/{i}.dcm", Body=b"x")
    s3.put_object(Bucket=bucket, Key="q/other.dcm", Body=b"x")
    keys = [key async for key in client.list_keys(bucket, "p/", page_size=3)]
    assert keys == [f"p/{i}.dcm" for i in range(7)]
    assert [key async for key in client.list_keys(bucket, "nothing/")] == []


@pytest.mark.asyncio
async def test_multipart_upload_calls(client: S3Client, bucket: str, s3: Any) -> None:
    upload = await client.create_multipart_upload(bucket, "mp.dcm", "application/dicom")
    first = bytes(MIN_PART_SIZE)
    pieces: list[bytes | bytearray | memoryview] = [b"tail-", memoryview(b"of-the-"),
                                                    bytearray(b"object")]
    parts = [(1, await client.upload_part(bucket, "mp.dcm", upload, 1, first)),
             (2, await client.upload_part(bucket, "mp.dcm", upload, 2, pieces))]
    assert s3.list_objects_v2(Bucket=bucket).get("KeyCount") == 0  # not yet
    assert await client.complete_multipart_upload(bucket, "mp.dcm", upload, parts)
    body = s3.get_object(Bucket=bucket, Key="mp.dcm")
    assert body["ContentType"] == "application/dicom"
    assert body["Body"].read() == first + b"tail-of-the-object"

    gone = await client.create_multipart_upload(bucket, "gone.dcm")
    await client.upload_part(bucket, "gone.dcm", gone, 1, b"x")
    await client.abort_multipart_upload(bucket, "gone.dcm", gone)
    await client.abort_multipart_upload(bucket, "gone.dcm", gone)  # again: no error
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


@pytest.mark.asyncio
async def test_errors_carry_s3_code_and_message(client: S3Client, bucket: str,
                                                moto_endpoint: str) -> None:
    with pytest.raises(S3Error) as missing:
        async with client.get_object(bucket, "nope.dcm"):
            pass
    assert (missing.value.code, missing.value.status) == ("NoSuchKey", 404)
    assert "NoSuchKey: The specified key does not exist" in str(missing.value)
    with pytest.raises(S3Error, match="NotFound") as head:
        await client.head_object(bucket, "nope.dcm")
    assert head.value.status == 404
    with pytest.raises(SourceError, match=r"cannot list s3://no-such-bucket-x/in/: "
                       r"NoSuchBucket: The specified bucket does not exist"):
        [url async for url in list_urls("s3://no-such-bucket-x/in/",
                                        endpoint_url=moto_endpoint)]
    sink = S3Sink("s3://no-such-bucket-x/out.dcm", endpoint_url=moto_endpoint)
    await sink.write(b"data")
    with pytest.raises(SinkError, match=r"cannot write s3://no-such-bucket-x/out.dcm: "
                       "NoSuchBucket"):
        await sink.commit()


@pytest.mark.asyncio
async def test_sink_copies_the_views_it_may_not_keep(bucket: str, moto_endpoint: str,
                                                      s3: Any) -> None:
    mutable = bytearray(b"mutable-")
    large = b"0123456789" * 1000
    sink = S3Sink(f"s3://{bucket}/views.dcm", endpoint_url=moto_endpoint)
    await sink.write(memoryview(mutable))
    await sink.write(memoryview(large)[:10])  # a small view of a large buffer
    await sink.write(memoryview(b"immutable"))
    assert [type(part) for part in sink._parts] == [bytes, bytes, memoryview]
    mutable[:] = b"changed!"
    await sink.commit()
    assert s3.get_object(Bucket=bucket, Key="views.dcm")["Body"].read() == \
        b"mutable-0123456789immutable"


def test_part_sizes_grow_to_reach_s3s_object_limit() -> None:
    assert part_size_of(1) == part_size_of(1000) == MIN_PART_SIZE
    assert part_size_of(1001) == 2 * MIN_PART_SIZE
    assert sum(part_size_of(n) for n in range(1, 10_001)) > 4.8 * 1024 ** 4


# -- failures, against a scripted fake ------------------------------------------------

ERROR = ("<?xml version='1.0' encoding='UTF-8'?>\n<Error><Code>{code}</Code>"
         "<Message>{message}</Message></Error>")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class FakeS3:
    """A stand-in for S3 that answers from a script: each request pops the next
    behaviour for its method, else gets the normal answer of a one-object store."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.etag = f'"{hashlib.md5(data).hexdigest()}"'  # noqa: S324 - S3's ETag
        self.script: dict[str, list[Handler]] = {}
        self.seen: list[tuple[str, str, dict[str, str]]] = []
        self.parts: dict[int, bytes] = {}
        self.stored: bytes | None = None

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.seen.append((request.method, request.path_qs, dict(request.headers)))
        queued = self.script.get(request.method)
        if queued:
            return await queued.pop(0)(request)
        if request.method in ("GET", "HEAD"):
            return self.get(request)  # aiohttp leaves the body out of a HEAD answer
        if request.method == "POST" and "uploads" in request.query:
            return web.Response(text="<InitiateMultipartUploadResult><UploadId>U1"
                                "</UploadId></InitiateMultipartUploadResult>")
        if request.method == "PUT" and "partNumber" in request.query:
            self.parts[int(request.query["partNumber"])] = body
            return web.Response(headers={"ETag": f'"p{request.query["partNumber"]}"'})
        if request.method == "PUT":
            self.stored = body
            return web.Response(headers={"ETag": '"put"'})
        if request.method == "POST":
            self.stored = b"".join(self.parts[n] for n in sorted(self.parts))
            return web.Response(text="<CompleteMultipartUploadResult><ETag>\"c\"</ETag>"
                                "</CompleteMultipartUploadResult>")
        if request.method == "DELETE":
            self.parts.clear()
            return web.Response(status=204)
        return web.Response(status=405)

    def get(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("If-Match", self.etag) != self.etag:
            return error(412, "PreconditionFailed", "At least one of the pre-conditions "
                         "you specified did not hold")
        match = re.fullmatch(r"bytes=(\d+)-", request.headers.get("Range", ""))
        start = int(match.group(1)) if match else 0
        headers = {"ETag": self.etag}
        if match:
            headers["Content-Range"] = f"bytes {start}-{len(self.data) - 1}/{len(self.data)}"
        return web.Response(status=206 if match else 200, body=self.data[start:],
                            headers=headers)


def error(status: int, code: str, message: str, **headers: str) -> web.Response:
    return web.Response(status=status, text=ERROR.format(code=code, message=message),
                        headers=headers, content_type="application/xml")


def answer(response: Callable[[], web.StreamResponse]) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        return response()

    return handler


async def cut_after(request: web.Request, fake: FakeS3, n: int) -> web.StreamResponse:
    """The headers of the whole object, ``n`` bytes of it, then the connection cut."""
    response = web.StreamResponse(headers={"ETag": fake.etag})
    response.content_length = len(fake.data)
    await response.prepare(request)
    await response.write(fake.data[:n])
    assert request.transport is not None
    request.transport.close()
    return response


@pytest_asyncio.fixture
async def fake(aws_env: dict[str, str]) -> AsyncIterator[tuple[FakeS3, str]]:
    """A :class:`FakeS3` serving 3 MB of data on 127.0.0.1; with its endpoint URL."""
    store = FakeS3(bytes(range(251)) * 12_000)
    app = web.Application(client_max_size=2 * MIN_PART_SIZE)
    app.router.add_route("*", "/{tail:.*}", store.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield store, str(server.make_url("")).rstrip("/")
    finally:
        await server.close()


@pytest.mark.asyncio
async def test_throttling_and_server_errors_are_retried(fake: tuple[FakeS3, str]) -> None:
    store, endpoint = fake
    store.script["PUT"] = [answer(lambda: error(503, "SlowDown", "Reduce your rate")),
                           answer(lambda: error(500, "InternalError", "Try again"))]
    async with S3Client(endpoint_url=endpoint) as client:
        assert await client.put_object("b", "k", b"payload") == '"put"'
    assert [method for method, _, _ in store.seen] == ["PUT"] * 3
    assert store.stored == b"payload"


@pytest.mark.asyncio
async def test_retries_end_and_client_errors_are_not_retried(
        fake: tuple[FakeS3, str]) -> None:
    store, endpoint = fake
    store.script["PUT"] = [answer(lambda: error(500, "InternalError", "down"))] * 3
    store.script["HEAD"] = [answer(lambda: web.Response(status=403))]
    store.script["GET"] = [answer(lambda: error(403, "AccessDenied", "Access Denied"))]
    async with S3Client(endpoint_url=endpoint, max_attempts=2) as client:
        with pytest.raises(S3Error, match="InternalError: down"):
            await client.put_object("b", "k", b"x")
        with pytest.raises(S3Error, match="403: Forbidden"):
            await client.head_object("b", "k")
        with pytest.raises(S3Error, match="AccessDenied: Access Denied"):
            async with client.get_object("b", "k"):
                pass
    assert [method for method, _, _ in store.seen] == ["PUT", "PUT", "HEAD", "GET"]


@pytest.mark.asyncio
async def test_error_in_a_200_completion_is_retried(fake: tuple[FakeS3, str]) -> None:
    store, endpoint = fake
    store.script["POST"] = [answer(lambda: web.Response(
        text=ERROR.format(code="InternalError", message="We encountered an internal "
                          "error. Please try again.")))]
    async with S3Client(endpoint_url=endpoint) as client:
        store.parts = {1: b"a", 2: b"b"}
        assert await client.complete_multipart_upload("b", "k", "U1",
                                                      [(2, '"p2"'), (1, '"p1"')]) == '"c"'
    body = [headers for method, _, headers in store.seen if method == "POST"]
    assert len(body) == 2
    assert store.stored == b"ab"


@pytest.mark.asyncio
async def test_wrong_region_is_followed_and_remembered(fake: tuple[FakeS3, str]) -> None:
    store, endpoint = fake
    store.script["HEAD"] = [answer(lambda: web.Response(
        status=301, headers={"x-amz-bucket-region": "eu-west-1"}))]
    async with S3Client(endpoint_url=endpoint, region_name="us-east-1") as client:
        assert (await client.head_object("b", "k")).size == len(store.data)
        await client.head_object("b", "k")
    scopes = [re.search(r"/\d{8}/([a-z0-9-]+)/s3/", headers["Authorization"])
              for _, _, headers in store.seen]
    assert [m.group(1) if m else None for m in scopes] == \
        ["us-east-1", "eu-west-1", "eu-west-1"]


@pytest.mark.asyncio
async def test_source_resumes_a_cut_body_with_a_pinned_range(
        fake: tuple[FakeS3, str]) -> None:
    store, endpoint = fake

    async def cut(request: web.Request) -> web.StreamResponse:
        return await cut_after(request, store, 1_000_000)

    store.script["GET"] = [cut]
    source = S3Source("s3://b/k", endpoint_url=endpoint)
    assert b"".join([chunk async for chunk in source]) == store.data
    assert source.resumptions == 1 and source.size == len(store.data)
    gets = [headers for method, _, headers in store.seen if method == "GET"]
    assert gets[1]["Range"].startswith("bytes=") and gets[1]["If-Match"] == store.etag
    assert 0 < int(gets[1]["Range"][6:-1]) <= 1_000_000


@pytest.mark.asyncio
async def test_source_fails_when_the_object_changed(fake: tuple[FakeS3, str]) -> None:
    store, endpoint = fake

    async def cut_then_change(request: web.Request) -> web.StreamResponse:
        response = await cut_after(request, store, 500_000)
        store.etag = '"new-version"'
        return response

    store.script["GET"] = [cut_then_change]
    with pytest.raises(SourceError, match="s3://b/k: the object changed while it was read"):
        [chunk async for chunk in S3Source("s3://b/k", endpoint_url=endpoint)]


@pytest.mark.asyncio
async def test_failed_part_aborts_the_upload(fake: tuple[FakeS3, str]) -> None:
    store, endpoint = fake
    data = path_of("test_files/CT_small.dcm").read_bytes()
    big = BytesSource(data)
    sink = S3Sink("s3://b/out.dcm", endpoint_url=endpoint)
    await sink.write(bytes(MIN_PART_SIZE))  # a first part: the multipart upload starts
    assert sink.multipart and store.parts
    store.script["PUT"] = [answer(lambda: error(400, "EntityTooLarge", "too large"))]
    with raises_through_groups(SinkError, r"cannot write s3://b/out.dcm: EntityTooLarge"):
        await rewrite(big, sink)
    methods = [(method, path) for method, path, _ in store.seen]
    assert methods[0] == ("POST", "/b/out.dcm?uploads=")
    assert methods[-1] == ("DELETE", "/b/out.dcm?uploadId=U1")
    assert store.stored is None
