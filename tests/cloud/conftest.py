"""Fixtures of the cloud tests: a moto S3 server, Orthanc with DICOMweb, an HTTP file
server — each a real server on a free loopback port, started once per session."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import sys
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from cloud.cloud_servers import Server, free_port, missing, start

if TYPE_CHECKING:
    from collections.abc import Iterator

HERE = Path(__file__).resolve().parent

AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    # Keep the host's AWS configuration out of the tests.
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}

ORTHANC_BINARY = "/usr/sbin/Orthanc"
ORTHANC_DICOMWEB = "/usr/share/orthanc/plugins/libOrthancDicomWeb.so"


@pytest.fixture(scope="session")
def aws_env() -> Iterator[dict[str, str]]:
    """Test credentials in the environment (children inherit them), restored after."""
    saved = {k: os.environ.get(k) for k in [*AWS_ENV, "AWS_ENDPOINT_URL", "AWS_PROFILE"]}
    os.environ.update(AWS_ENV)
    os.environ.pop("AWS_ENDPOINT_URL", None)
    os.environ.pop("AWS_PROFILE", None)
    yield AWS_ENV
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session")
def moto_endpoint(aws_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
                  ) -> Iterator[str]:
    """A moto S3 server (``moto[s3]`` + flask) on 127.0.0.1; its endpoint URL. The 5 MiB
    minimum part size is enforced, as by S3."""
    for module in ("moto", "flask", "boto3"):
        if importlib.util.find_spec(module) is None:
            missing(f"Python package {module}", "pip install 'moto[s3]' flask flask-cors boto3")
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    server = start("moto_server", [sys.executable, "-m", "moto.server", "-H", "127.0.0.1",
                                   "-p", str(port)], f"{endpoint}/moto-api/", log,
                   url=endpoint)
    try:
        yield endpoint
    finally:
        server.stop()


@pytest.fixture(scope="session")
def s3(moto_endpoint: str) -> Any:
    """A boto3 S3 client of the moto server (test-side set-up and checks)."""
    import boto3

    return boto3.client("s3", endpoint_url=moto_endpoint)


@pytest.fixture
def bucket(s3: Any) -> str:
    """A fresh, empty bucket for one test."""
    name = f"t-{uuid.uuid4().hex[:16]}"
    s3.create_bucket(Bucket=name)
    return name


@pytest.fixture(scope="session")
def orthanc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Orthanc with its DICOMweb plugin (Debian ``orthanc``, ``orthanc-dicomweb``) on
    free loopback ports, HTTP compression off; its DICOMweb root URL (plain http)."""
    binary = shutil.which("Orthanc") or (ORTHANC_BINARY if Path(ORTHANC_BINARY).exists()
                                         else None)
    if binary is None:
        missing("Orthanc", "apt-get install orthanc orthanc-dicomweb")
    if not Path(ORTHANC_DICOMWEB).exists():
        missing("Orthanc's DICOMweb plugin", "apt-get install orthanc-dicomweb")
    work = tmp_path_factory.mktemp("orthanc")
    last_error: Exception | None = None
    for _ in range(3):  # a port taken between free_port() and the bind: try others
        http_port, dicom_port = free_port(), free_port()
        config = {
            "Name": "dicomstream-test",
            "StorageDirectory": str(work / "db"), "IndexDirectory": str(work / "db"),
            "HttpPort": http_port, "DicomPort": dicom_port, "DicomAet": "ORTHANC",
            "RemoteAccessAllowed": False, "AuthenticationEnabled": False,
            "HttpCompressionEnabled": False, "SaveJobs": False,
            "Plugins": [ORTHANC_DICOMWEB],
            "DicomWeb": {"Enable": True, "Root": "/dicom-web/",
                         "Host": f"127.0.0.1:{http_port}"},
        }
        (work / "orthanc.json").write_text(json.dumps(config))
        root = f"http://127.0.0.1:{http_port}/dicom-web"
        try:
            server: Server = start("Orthanc", [binary, str(work / "orthanc.json")],
                                   f"{root}/studies", work / "orthanc.log", url=root)
        except RuntimeError as exc:
            last_error = exc
            continue
        try:
            yield root
        finally:
            server.stop()
        return
    raise RuntimeError(f"Orthanc would not start: {last_error}")


@pytest.fixture(scope="session")
def http_files(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A local aiohttp file server (``http_drop_server.py``): its URL and the folder it
    serves (tests put files there)."""
    if importlib.util.find_spec("aiohttp") is None:
        missing("Python package aiohttp", "pip install aiohttp")
    root = tmp_path_factory.mktemp("http-files")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = start("aiohttp file server",
                   [sys.executable, str(HERE / "http_drop_server.py"), str(root), str(port)],
                   f"{url}/health", root.parent / "http.log", url=url)
    try:
        yield url, root
    finally:
        server.stop()
