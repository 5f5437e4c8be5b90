"""Where the S3 client finds its credentials, region and endpoint: the standard AWS
environment variables and shared files, read with :mod:`configparser`.

The light client (:mod:`dicomstream_cloud._s3client`) exists to keep botocore out of the
process, so it reads the common configuration itself, the way every AWS SDK does:

========================  ===========================================================
what                      first found wins
========================  ===========================================================
profile                   the ``profile`` option, ``AWS_PROFILE``, ``AWS_DEFAULT_PROFILE``,
                          ``default``
credentials               ``AWS_ACCESS_KEY_ID`` + ``AWS_SECRET_ACCESS_KEY`` (+
                          ``AWS_SESSION_TOKEN``) unless the ``profile`` option is given
                          (as botocore); then the profile's ``aws_access_key_id`` … in
                          the shared credentials file (``AWS_SHARED_CREDENTIALS_FILE``,
                          ``~/.aws/credentials``), then in the config file
                          (``AWS_CONFIG_FILE``, ``~/.aws/config``, section
                          ``[profile NAME]`` or ``[default]``)
region                    the ``region_name`` option, ``AWS_REGION``,
                          ``AWS_DEFAULT_REGION``, the profile's ``region``, ``us-east-1``
endpoint                  the ``endpoint_url`` option, ``AWS_ENDPOINT_URL_S3``,
                          ``AWS_ENDPOINT_URL``, the profile's ``endpoint_url`` (the last
                          three ignored when ``AWS_IGNORE_CONFIGURED_ENDPOINT_URLS`` is
                          true); none: AWS itself
addressing style          the ``addressing_style`` option, the profile's ``s3 =
                          addressing_style = …``; else ``path`` with an endpoint (the
                          S3-compatible servers' habit), ``auto`` without (virtual-hosted
                          when the bucket name allows it)
========================  ===========================================================

Everything else AWS can authenticate with — assume-role profiles (``role_arn``), SSO,
``credential_process``, web identity, container and EC2 instance roles — takes
botocore's credential chain. When the profile asks for one of those, or nothing above
gave credentials, :func:`resolve` hands over to botocore's resolver *if botocore is
installed* (``pip install 'dicomstream-cloud[aws]'``); only then is it imported, and its
refreshable credentials are used by the same light client.
"""

from __future__ import annotations

__all__ = ("DEFAULT_REGION", "ConfigError", "CredentialSource", "S3Config", "resolve")

import configparser
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import anyio.to_thread

from dicomstream_cloud._sigv4 import Credentials

if TYPE_CHECKING:
    from collections.abc import Mapping

DEFAULT_REGION = "us-east-1"
"""The region when none is configured (as the AWS CLI's S3 commands)."""

_DELEGATED = frozenset({
    "role_arn", "source_profile", "credential_source", "credential_process",
    "web_identity_token_file", "sso_start_url", "sso_session", "sso_account_id",
})
"""Profile keys whose credentials only botocore's chain can produce."""

_DELEGATED_ENV = ("AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                  "AWS_CONTAINER_CREDENTIALS_FULL_URI")
"""Environment variables of credential sources only botocore's chain reads."""


class ConfigError(Exception):
    """No usable credentials or configuration (the caller adds which URL needed them)."""


class CredentialSource:
    """Credentials for each request: fixed ones, or botocore's refreshable ones."""

    def __init__(self, fixed: Credentials | None = None, botocore: Any = None) -> None:
        self._fixed = fixed
        self._botocore = botocore

    @property
    def delegated(self) -> bool:
        """Whether botocore's chain provides them."""
        return self._botocore is not None

    async def get(self) -> Credentials:
        if self._fixed is not None:
            return self._fixed
        # Refreshing may call a metadata service or a process: off the event loop.
        try:
            frozen = await anyio.to_thread.run_sync(self._botocore.get_frozen_credentials)
        except Exception as exc:  # botocore's refresh errors, SSO token expired …
            raise ConfigError(f"AWS credentials: {exc}") from exc
        return Credentials(frozen.access_key, frozen.secret_key, frozen.token or None)


@dataclass(frozen=True)
class S3Config:
    """Resolved configuration of one client.

    Attributes:
        region: the signing region.
        endpoint_url: an S3-compatible server, or ``None`` for AWS.
        addressing_style: ``path``, ``virtual`` or ``auto``.
        profile: the profile the files were read for.
        credentials: where each request's credentials come from.
    """

    region: str
    endpoint_url: str | None
    addressing_style: str
    profile: str
    credentials: CredentialSource = field(compare=False)


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes")


def _read_ini(path: str) -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser(default_section="\x00none")
    try:
        parser.read(os.path.expanduser(path), encoding="utf-8")
    except configparser.Error as exc:
        raise ConfigError(f"cannot read AWS configuration {path}: {exc}") from exc
    return parser


def _section(parser: configparser.RawConfigParser, name: str) -> dict[str, str]:
    if parser.has_section(name):
        return dict(parser.items(name))
    return {}


def _nested(value: str | None) -> dict[str, str]:
    """A nested setting of the config file (``s3 =`` then indented ``key = value``)."""
    out: dict[str, str] = {}
    for line in (value or "").splitlines():
        key, sep, item = line.partition("=")
        if sep:
            out[key.strip()] = item.strip()
    return out


def _key_pair(section: Mapping[str, str]) -> Credentials | None:
    access, secret = section.get("aws_access_key_id"), section.get("aws_secret_access_key")
    if access and secret:
        return Credentials(access, secret, section.get("aws_session_token")
                           or section.get("aws_security_token") or None)
    return None


def _env_credentials(env: Mapping[str, str]) -> Credentials | None:
    access, secret = env.get("AWS_ACCESS_KEY_ID"), env.get("AWS_SECRET_ACCESS_KEY")
    if access and secret:
        return Credentials(access, secret,
                           env.get("AWS_SESSION_TOKEN") or env.get("AWS_SECURITY_TOKEN")
                           or None)
    return None


def _botocore_credentials(profile: str | None) -> Any:
    """botocore's resolved credentials, or ``None`` when botocore is not installed."""
    try:
        import botocore.session
    except ImportError:
        return None
    try:
        return botocore.session.Session(profile=profile).get_credentials()
    except Exception as exc:  # botocore's ProfileNotFound, SSO token expired …
        raise ConfigError(f"AWS credentials: {exc}") from exc


def resolve(*, endpoint_url: str | None = None, region_name: str | None = None,
            profile: str | None = None, addressing_style: str | None = None,
            env: Mapping[str, str] | None = None) -> S3Config:
    """The configuration for these options (``None``: from the environment and files).

    Blocking (reads two small files, and botocore's chain when it is needed): call it
    once per client, from a worker thread if the loop must not wait.
    """
    env = os.environ if env is None else env
    explicit_profile = profile is not None
    name = profile or env.get("AWS_PROFILE") or env.get("AWS_DEFAULT_PROFILE") or "default"
    config = _read_ini(env.get("AWS_CONFIG_FILE") or "~/.aws/config")
    shared = _read_ini(env.get("AWS_SHARED_CREDENTIALS_FILE") or "~/.aws/credentials")
    settings = _section(config, "default" if name == "default" else f"profile {name}")
    stored = _section(shared, name)
    if explicit_profile and not settings and not stored and name != "default":
        raise ConfigError(f"AWS profile {name!r} not found in the config or credentials "
                          "file")

    region = (region_name or env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
              or settings.get("region") or DEFAULT_REGION)
    endpoint = endpoint_url
    if endpoint is None and not _truthy(env.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")):
        endpoint = (env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL")
                    or settings.get("endpoint_url") or None)
    style = (addressing_style or _nested(settings.get("s3")).get("addressing_style")
             or ("path" if endpoint else "auto"))
    if style not in ("path", "virtual", "auto"):
        raise ConfigError(f"addressing_style {style!r}: expected path, virtual or auto")

    fixed = None if explicit_profile else _env_credentials(env)
    delegate = bool(_DELEGATED & (settings.keys() | stored.keys()))
    if fixed is None and not delegate:
        fixed = _key_pair(stored) or _key_pair(settings)
    if fixed is None and not delegate and any(env.get(v) for v in _DELEGATED_ENV):
        delegate = True
    source: CredentialSource
    if fixed is not None:
        source = CredentialSource(fixed)
    else:
        found = _botocore_credentials(name if explicit_profile or name != "default"
                                      else None)
        if found is None:
            hint = ("botocore found none either" if _botocore_available() else
                    "install botocore ('dicomstream-cloud[aws]') for roles, SSO and "
                    "instance credentials")
            raise ConfigError(
                f"no AWS credentials for profile {name!r}: set AWS_ACCESS_KEY_ID and "
                f"AWS_SECRET_ACCESS_KEY, or the profile's keys in "
                f"{env.get('AWS_SHARED_CREDENTIALS_FILE') or '~/.aws/credentials'} "
                f"({hint})")
        source = CredentialSource(botocore=found)
    return S3Config(region=region, endpoint_url=endpoint.rstrip("/") if endpoint else None,
                    addressing_style=style, profile=name, credentials=source)


def _botocore_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("botocore") is not None

