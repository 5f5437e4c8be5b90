"""Where the light S3 client takes credentials, region, endpoint and addressing style
from: the standard AWS environment variables and shared files (no server needed)."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING

import pytest

pytest.importorskip("dicomstream_cloud", reason="plugins/cloud is not installed")

from dicomstream_cloud import _aws_config  # noqa: E402
from dicomstream_cloud._aws_config import ConfigError, S3Config, resolve  # noqa: E402
from dicomstream_cloud._s3client import S3Client  # noqa: E402
from dicomstream_cloud._sigv4 import Credentials  # noqa: E402

if TYPE_CHECKING:
    from pathlib import Path

CREDENTIALS = """\
[default]
aws_access_key_id = DEFAULTKEY
aws_secret_access_key = default-secret

[dev]
aws_access_key_id = DEVKEY
aws_secret_access_key = dev-secret
aws_session_token = dev-token
"""

CONFIG = """\
[default]
region = eu-central-1

[profile dev]
region = eu-west-3
endpoint_url = http://127.0.0.1:9000/
s3 =
    addressing_style = virtual

[profile keys-here]
aws_access_key_id = CONFIGKEY
aws_secret_access_key = config-secret
"""


@pytest.fixture
def files(tmp_path: Path) -> dict[str, str]:
    """An environment naming a shared credentials and a config file, no keys."""
    (tmp_path / "credentials").write_text(CREDENTIALS)
    (tmp_path / "config").write_text(CONFIG)
    return {"AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "credentials"),
            "AWS_CONFIG_FILE": str(tmp_path / "config")}


async def credentials_of(config: S3Config) -> Credentials:
    return await config.credentials.get()


@pytest.mark.asyncio
async def test_environment_keys_come_first(files: dict[str, str]) -> None:
    env = {**files, "AWS_ACCESS_KEY_ID": "ENVKEY", "AWS_SECRET_ACCESS_KEY": "env-secret",
           "AWS_SESSION_TOKEN": "env-token", "AWS_PROFILE": "dev"}
    config = resolve(env=env)
    assert await credentials_of(config) == Credentials("ENVKEY", "env-secret", "env-token")
    assert config.profile == "dev" and config.region == "eu-west-3"


@pytest.mark.asyncio
async def test_shared_credentials_file_by_profile(files: dict[str, str]) -> None:
    assert await credentials_of(resolve(env=files)) == \
        Credentials("DEFAULTKEY", "default-secret")
    dev = resolve(env={**files, "AWS_PROFILE": "dev"})
    assert await credentials_of(dev) == Credentials("DEVKEY", "dev-secret", "dev-token")
    keys_here = resolve(env={**files, "AWS_DEFAULT_PROFILE": "keys-here"})
    assert await credentials_of(keys_here) == Credentials("CONFIGKEY", "config-secret")


@pytest.mark.asyncio
async def test_profile_option_skips_environment_keys_as_botocore(
        files: dict[str, str]) -> None:
    env = {**files, "AWS_ACCESS_KEY_ID": "ENVKEY", "AWS_SECRET_ACCESS_KEY": "env-secret"}
    assert (await credentials_of(resolve(profile="dev", env=env))).access_key == "DEVKEY"
    with pytest.raises(ConfigError, match="profile 'nope' not found"):
        resolve(profile="nope", env=env)


def test_region_precedence(files: dict[str, str]) -> None:
    assert resolve(env=files).region == "eu-central-1"
    assert resolve(env={**files, "AWS_DEFAULT_REGION": "ca-central-1"}).region == \
        "ca-central-1"
    env = {**files, "AWS_DEFAULT_REGION": "ca-central-1", "AWS_REGION": "sa-east-1"}
    assert resolve(env=env).region == "sa-east-1"
    assert resolve(region_name="af-south-1", env=env).region == "af-south-1"
    no_files = {"AWS_CONFIG_FILE": files["AWS_CONFIG_FILE"] + ".missing",
                "AWS_ACCESS_KEY_ID": "K", "AWS_SECRET_ACCESS_KEY": "S"}
    assert resolve(env=no_files).region == "us-east-1"


def test_endpoint_and_addressing_style(files: dict[str, str]) -> None:
    aws = resolve(env=files)
    assert (aws.endpoint_url, aws.addressing_style) == (None, "auto")
    env = {**files, "AWS_ENDPOINT_URL": "http://general:1"}
    assert resolve(env=env).endpoint_url == "http://general:1"
    assert resolve(env=env).addressing_style == "path"
    env["AWS_ENDPOINT_URL_S3"] = "http://s3-only:2"
    assert resolve(env=env).endpoint_url == "http://s3-only:2"
    assert resolve(endpoint_url="http://option:3", env=env).endpoint_url == \
        "http://option:3"
    dev = resolve(env={**files, "AWS_PROFILE": "dev"})
    assert (dev.endpoint_url, dev.addressing_style) == ("http://127.0.0.1:9000", "virtual")
    ignoring = {**env, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true", "AWS_PROFILE": "dev"}
    assert resolve(env=ignoring).endpoint_url is None
    assert resolve(addressing_style="path", env={**files, "AWS_PROFILE": "dev"}
                   ).addressing_style == "path"
    with pytest.raises(ConfigError, match="addressing_style 'sideways'"):
        resolve(addressing_style="sideways", env=files)


def test_no_credentials_is_a_clear_error(tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "botocore.session", None)  # as if not installed
    monkeypatch.setattr(_aws_config, "_botocore_available", lambda: False)
    env = {"AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
           "AWS_CONFIG_FILE": str(tmp_path / "none")}
    with pytest.raises(ConfigError, match="no AWS credentials for profile 'default': set "
                       "AWS_ACCESS_KEY_ID.*install botocore"):
        resolve(env=env)


@pytest.mark.asyncio
async def test_credential_process_profile_goes_through_botocore(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("botocore.session")
    answer = json.dumps({"Version": 1, "AccessKeyId": "PROCKEY",
                         "SecretAccessKey": "proc-secret", "SessionToken": "proc-token"})
    script = tmp_path / "creds.py"
    script.write_text(f"print({answer!r})\n")
    (tmp_path / "config").write_text(
        f"[profile proc]\ncredential_process = {sys.executable} {script}\n")
    env = {"AWS_CONFIG_FILE": str(tmp_path / "config"),
           "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"), "AWS_PROFILE": "proc"}
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)  # botocore reads the process environment
    config = resolve(env=env)
    assert config.credentials.delegated
    assert await credentials_of(config) == Credentials("PROCKEY", "proc-secret",
                                                       "proc-token")


def client_for(addressing_style: str, endpoint_url: str | None = None,
               region: str = "eu-west-1") -> S3Client:
    return S3Client(config=S3Config(region=region, endpoint_url=endpoint_url,
                                    addressing_style=addressing_style, profile="default",
                                    credentials=_aws_config.CredentialSource(
                                        Credentials("K", "S"))))


def test_addressing() -> None:
    auto = client_for("auto")
    assert auto.location("my-bucket", "a b/c.dcm") == \
        ("https", "my-bucket.s3.eu-west-1.amazonaws.com", "/a%20b/c.dcm")
    assert auto.location("my-bucket") == ("https", "my-bucket.s3.eu-west-1.amazonaws.com",
                                          "/")
    # Not usable as a TLS host name: path style.
    assert auto.location("my.dotted.bucket", "k") == \
        ("https", "s3.eu-west-1.amazonaws.com", "/my.dotted.bucket/k")
    assert auto.location("Legacy_Bucket", "k") == \
        ("https", "s3.eu-west-1.amazonaws.com", "/Legacy_Bucket/k")
    assert client_for("auto", region="cn-north-1").location("b1b", "k") == \
        ("https", "b1b.s3.cn-north-1.amazonaws.com.cn", "/k")
    path = client_for("path", "http://127.0.0.1:9000")
    assert path.location("bucket", "x/ü.dcm") == \
        ("http", "127.0.0.1:9000", "/bucket/x/%C3%BC.dcm")
    assert path.location("bucket") == ("http", "127.0.0.1:9000", "/bucket")
    assert client_for("path", "https://gateway/s3").location("b", "k") == \
        ("https", "gateway", "/s3/b/k")
    assert client_for("virtual", "http://minio:9000").location("b", "k") == \
        ("http", "b.minio:9000", "/k")
