"""``dicomweb+http(s)://`` URLs: the service root, the resource path, the query, and
the HTTP headers (accept, auth) every request carries.

A URL names the service root (everything before the first ``studies``, ``series`` or
``instances`` segment) and a resource under it::

    dicomweb+http://host/dicom-web/studies/1.2.3                      a study
    dicomweb+http://host/dicom-web/studies/1.2.3/series/4.5           a series
    dicomweb+http://host/dicom-web/studies/1.2.3/series/4.5/instances/6.7
    dicomweb+http://host/dicom-web/studies?PatientID=X&ModalitiesInStudy=CT   a search

Authentication, first found wins: the ``token`` option or ``DICOMWEB_TOKEN`` (bearer);
the ``username``/``password`` options, user and password in the URL, or
``DICOMWEB_USERNAME``/``DICOMWEB_PASSWORD`` (basic). ``headers`` adds any header.
"""

from __future__ import annotations

__all__ = ("Resource", "auth_headers", "parse_url")

import base64
import os
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit, urlunsplit

from dicomstream.errors import SourceError

_LEVELS = ("studies", "series", "instances")
_UID = re.compile(r"^[0-9]+(\.[0-9]+)*$")


@dataclass(frozen=True)
class Resource:
    """A parsed DICOMweb URL.

    Attributes:
        root: the service root as a plain http(s) URL, without credentials
            (``http://host/dicom-web``).
        study, series, instance: the UIDs named, or ``None``.
        level: the last level segment (``studies``, ``series``, ``instances``).
        query: QIDO-RS search parameters (empty: a retrieve).
        username, password: credentials found in the URL.
        scheme: ``dicomweb+http`` or ``dicomweb+https``.
    """

    root: str
    level: str
    study: str | None = None
    series: str | None = None
    instance: str | None = None
    query: tuple[tuple[str, str], ...] = ()
    username: str | None = None
    password: str | None = None
    scheme: str = "dicomweb+http"

    @property
    def is_search(self) -> bool:
        """A QIDO-RS search: a query, or a level segment without its UID."""
        return bool(self.query) or self.named_level != self.level

    @property
    def named_level(self) -> str:
        """The deepest level whose UID the URL names (``""`` for none)."""
        if self.instance:
            return "instances"
        if self.series:
            return "series"
        if self.study:
            return "studies"
        return ""

    def path(self, *, study: str | None = None, series: str | None = None,
             instance: str | None = None) -> str:
        """The resource path under the root for the given UIDs (``/studies/S/…``)."""
        parts = []
        if study:
            parts += ["studies", study]
        if series:
            parts += ["series", series]
        if instance:
            parts += ["instances", instance]
        return "/" + "/".join(parts)

    def http_url(self, path: str) -> str:
        """``root + path`` as a plain HTTP URL."""
        return self.root + path

    def dicomweb_url(self, path: str) -> str:
        """``root + path`` as a ``dicomweb+http(s)`` URL (for reports and listings)."""
        return self.scheme + self.root[self.root.index("://"):] + path


def parse_url(url: str, *, ignore_tail: bool = False) -> Resource:
    """Parse a ``dicomweb+http(s)://`` URL (see the module doc); with ``ignore_tail``,
    path segments from the first one that is neither a level nor a UID are ignored
    (a STOW-RS sink's URL may carry a mirrored relative path)."""
    scheme, sep, _ = url.partition("://")
    if not sep or scheme.lower() not in ("dicomweb+http", "dicomweb+https"):
        raise SourceError(f"not a dicomweb+http(s) URL: {url!r}")
    split = urlsplit(url)
    http_scheme = scheme.lower().split("+", 1)[1]
    segments = [unquote(s) for s in split.path.split("/")]
    start = next((i for i, s in enumerate(segments) if s in _LEVELS), None)
    if start is None:
        raise SourceError(f"{url}: no studies/series/instances segment after the "
                          "service root")
    netloc = split.hostname or ""
    if split.port is not None:
        netloc += f":{split.port}"
    root = urlunsplit((http_scheme, netloc, "/".join(segments[:start]), "", ""))
    uids: dict[str, str | None] = dict.fromkeys(_LEVELS)
    rest = [s for s in segments[start:] if s]
    level = rest[0]
    i = 0
    while i < len(rest):
        name = rest[i]
        if name not in _LEVELS:
            if ignore_tail:
                break
            raise SourceError(f"{url}: unexpected path segment {name!r}")
        level = name
        if i + 1 < len(rest):
            uid = rest[i + 1]
            if not _UID.match(uid):
                if ignore_tail:
                    break
                raise SourceError(f"{url}: {uid!r} is not a UID")
            uids[name] = uid
        i += 2
    return Resource(root=root, level=level, study=uids["studies"], series=uids["series"],
                    instance=uids["instances"], query=tuple(parse_qsl(split.query)),
                    username=unquote(split.username) if split.username else None,
                    password=unquote(split.password) if split.password else None,
                    scheme=scheme.lower())


def auth_headers(resource: Resource, options: dict[str, Any]) -> dict[str, str]:
    """Headers for every request: ``Authorization`` (see the module doc), any
    ``headers`` option, and ``Accept-Encoding: identity`` (byte-exact bodies, true
    Content-Lengths)."""
    headers = {"Accept-Encoding": "identity"}
    token = options.get("token") or os.environ.get("DICOMWEB_TOKEN")
    username = (options.get("username") or resource.username
                or os.environ.get("DICOMWEB_USERNAME"))
    password = (options.get("password") or resource.password
                or os.environ.get("DICOMWEB_PASSWORD") or "")
    if token:
        headers["Authorization"] = f"Bearer {token}"
    elif username:
        pair = f"{username}:{password}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
    headers.update(options.get("headers") or {})
    return headers
