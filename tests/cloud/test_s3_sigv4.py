"""The plugin's SigV4 signer against botocore's ``S3SigV4Auth`` (fixed credentials and
time) and AWS's published S3 example: the light S3 client signs exactly as botocore."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import pytest

pytest.importorskip("dicomstream_cloud", reason="plugins/cloud is not installed")

from dicomstream_cloud._sigv4 import (  # noqa: E402
    EMPTY_SHA256,
    Credentials,
    canonical_query,
    encode_key,
    sign,
)

NOW = datetime(2013, 5, 24, 0, 0, 0, tzinfo=UTC)
KEYS = Credentials("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
TEMPORARY = KEYS._replace(token="FQoGZXIvYXdzEXAMPLE//////////wEaDTOKEN+/=")


def test_aws_published_example() -> None:
    """"Example: GET Object" of AWS's "Signature Calculations for the Authorization
    Header" (S3 API reference): the signature printed there."""
    headers = sign("GET", "examplebucket.s3.amazonaws.com", "/test.txt", {},
                   {"Range": "bytes=0-9"}, EMPTY_SHA256, KEYS, "us-east-1", NOW)
    assert headers["Authorization"] == (
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/"
        "aws4_request, SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
        "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
    assert headers["X-Amz-Date"] == "20130524T000000Z"
    assert headers["X-Amz-Content-SHA256"] == EMPTY_SHA256


def botocore_sign(monkeypatch: pytest.MonkeyPatch, method: str, url: str,
                  params: dict[str, str], headers: dict[str, str], body: bytes,
                  credentials: Credentials, region: str) -> dict[str, str]:
    """The headers botocore's S3 signer adds to the same request at :data:`NOW`."""
    auth = pytest.importorskip("botocore.auth")
    awsrequest = pytest.importorskip("botocore.awsrequest")
    botocore_credentials = pytest.importorskip("botocore.credentials")
    monkeypatch.setattr(auth, "get_current_datetime", lambda: NOW)
    request: Any = awsrequest.AWSRequest(method=method, url=url, headers=dict(headers),
                                         data=body, params=params)
    auth.S3SigV4Auth(botocore_credentials.Credentials(*credentials), "s3",
                     region).add_auth(request)
    return dict(request.headers.items())


# (method, scheme://host, key, params, headers, body, temporary credentials, region)
CASES: list[tuple[str, str, str, dict[str, str], dict[str, str], bytes, bool, str]] = [
    ("GET", "https://bucket.s3.eu-west-1.amazonaws.com", "dir/CT small.dcm", {},
     {"Range": "bytes=1048576-", "If-Match": '"9b2cf535f27731c974343645a3985328"'},
     b"", False, "eu-west-1"),
    ("HEAD", "http://127.0.0.1:9000", "bucket/ü/ñ/ÿ.dcm", {}, {}, b"", True, "us-east-1"),
    ("GET", "https://s3.us-east-1.amazonaws.com", "my.bucket",
     {"list-type": "2", "prefix": "in/a b+c~d/é&=?", "encoding-type": "url",
      "continuation-token": "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=",
      "max-keys": "2"}, {}, b"", False, "us-east-1"),
    ("POST", "https://bucket.s3.us-west-2.amazonaws.com", "out/x+y=z.dcm",
     {"uploads": ""}, {"Content-Type": "application/dicom"}, b"", True, "us-west-2"),
    ("PUT", "http://localhost:4566", "bucket/out/part.dcm",
     {"partNumber": "7", "uploadId": "VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5t"},
     {}, bytes(range(256)) * 300, False, "ap-southeast-2"),
    ("POST", "https://bucket.s3.amazonaws.com", "k",
     {"uploadId": "abc~def_ghi-jkl.mno%2F"}, {"Content-Type": "application/xml"},
     b"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber>"
     b"<ETag>\"a54357aff0632cce46d942af68356b38\"</ETag></Part>"
     b"</CompleteMultipartUpload>", False, "us-east-1"),
    ("DELETE", "https://bucket.s3.cn-north-1.amazonaws.com.cn", "a/b//c/../d",
     {"uploadId": "x y"}, {"User-Agent": "not signed", "Expect": "100-continue"}, b"",
     True, "cn-north-1"),
    ("PUT", "https://bucket.s3.amazonaws.com", "spaces",
     {}, {"Content-Type": "  text/plain;   charset=utf-8  "}, b"hello", False,
     "us-east-1"),
]


@pytest.mark.parametrize("case", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_same_signature_as_botocore(
        monkeypatch: pytest.MonkeyPatch,
        case: tuple[str, str, str, dict[str, str], dict[str, str], bytes, bool, str]
) -> None:
    method, base, key, params, headers, body, temporary, region = case
    credentials = TEMPORARY if temporary else KEYS
    path = "/" + encode_key(key)
    host = base.split("://", 1)[1]
    ours = sign(method, host, path, params, headers, hashlib.sha256(body).hexdigest(),
                credentials, region, NOW)
    theirs = botocore_sign(monkeypatch, method, base + path, params, headers, body,
                           credentials, region)
    assert ours["Authorization"] == theirs["Authorization"]
    for name in ("X-Amz-Date", "X-Amz-Content-SHA256", "X-Amz-Security-Token"):
        assert ours.get(name) == theirs.get(name), name


@pytest.mark.parametrize("key", ["plain/key.dcm", "a b+c", "ü/ñ~é", "100%=&?#;:@$,!'()*",
                                 "tab\tnew\nline", "a//b/./c/../d", "[x]{y}|^`\\"])
def test_keys_encode_as_botocore_serializes_them(key: str) -> None:
    utils = pytest.importorskip("botocore.utils")
    assert encode_key(key) == utils.percent_encode(key, safe="/~")


def test_canonical_query_sorts_and_encodes() -> None:
    assert canonical_query({"uploads": ""}) == "uploads="
    assert canonical_query({"prefix": "a b/ü", "list-type": "2"}) == \
        "list-type=2&prefix=a%20b%2F%C3%BC"
    assert canonical_query({}) == ""


def test_temporary_credentials_send_and_sign_the_token() -> None:
    headers = sign("GET", "h", "/k", {}, {}, EMPTY_SHA256, TEMPORARY, "us-east-1", NOW)
    assert headers["X-Amz-Security-Token"] == TEMPORARY.token
    assert "x-amz-security-token" in headers["Authorization"]
