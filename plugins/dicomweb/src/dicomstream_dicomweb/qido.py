"""QIDO-RS: search studies, series or instances (DICOM JSON answers), page by page.

:func:`search` yields the matches of one search as DICOM JSON objects
(``{"0020000D": {"vr": "UI", "Value": ["1.2.3"]}, …}``), asking ``page_size`` at a time
with ``limit``/``offset`` until a short page; :func:`list_urls` turns the instances
under a prefix into retrieve URLs for bulk runs (``dicomstream rewrite
dicomweb+http://host/dicom-web/studies/ out/``).
"""

from __future__ import annotations

__all__ = ("DEFAULT_PAGE_SIZE", "first_value", "list_urls", "search")

import json
from typing import TYPE_CHECKING, Any

import aiohttp

from dicomstream.errors import SourceError
from dicomstream_dicomweb._urls import Resource, auth_headers, parse_url

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterable

DEFAULT_PAGE_SIZE = 1000
"""Matches asked per QIDO-RS request."""

STUDY_UID = "0020000D"
SERIES_UID = "0020000E"
SOP_INSTANCE_UID = "00080018"


def first_value(match: dict[str, Any], tag: str) -> str | None:
    """The first value of ``tag`` (8 hex digits) in a DICOM JSON object."""
    values = match.get(tag, {}).get("Value") or [None]
    value = values[0]
    return None if value is None else str(value)


async def search(session: aiohttp.ClientSession, resource: Resource, path: str,
                 params: Iterable[tuple[str, str]] = (), *,
                 headers: dict[str, str] | None = None,
                 page_size: int = DEFAULT_PAGE_SIZE) -> AsyncIterator[dict[str, Any]]:
    """Every match of the search ``root + path`` (e.g. ``/studies``) with ``params``."""
    base = [(k, v) for k, v in params if k not in ("limit", "offset")]
    user_limit = next((int(v) for k, v in params if k == "limit"), None)
    offset = next((int(v) for k, v in params if k == "offset"), 0)
    seen = 0
    while True:
        size = page_size if user_limit is None else min(page_size, user_limit - seen)
        if size <= 0:
            return
        query = [*base, ("limit", str(size)), ("offset", str(offset))]
        url = resource.http_url(path)
        request_headers = {**(headers or {}), "Accept": "application/dicom+json"}
        try:
            async with session.get(url, params=query, headers=request_headers) as response:
                if response.status == 204:
                    return
                if response.status != 200:
                    raise SourceError(f"QIDO-RS {url}: HTTP {response.status} "
                                      f"{response.reason}")
                page = json.loads(await response.read() or b"[]")
        except aiohttp.ClientError as exc:
            raise SourceError(f"QIDO-RS {url}: {exc}") from exc
        for match in page:
            yield match
        seen += len(page)
        offset += len(page)
        if len(page) < size:
            return


def _scope(resource: Resource) -> str:
    """The instance search path for a prefix: ``/instances`` under what it names."""
    return resource.path(study=resource.study, series=resource.series) + "/instances" \
        if resource.study else "/instances"


async def list_urls(prefix: str, **options: Any) -> AsyncIterator[str]:
    """Retrieve URLs of every instance under ``prefix`` (a service root's
    ``studies/``, a study or a series), found with QIDO-RS."""
    resource = parse_url(prefix)
    headers = auth_headers(resource, options)
    fields = [("includefield", STUDY_UID), ("includefield", SERIES_UID)]
    async with aiohttp.ClientSession() as session:
        async for match in search(session, resource, _scope(resource),
                                  [*resource.query, *fields], headers=headers):
            study = first_value(match, STUDY_UID) or resource.study
            series = first_value(match, SERIES_UID) or resource.series
            instance = first_value(match, SOP_INSTANCE_UID)
            if not (study and series and instance):
                raise SourceError(f"QIDO-RS under {prefix}: a match lacks its UIDs")
            yield resource.dicomweb_url(resource.path(study=study, series=series,
                                                      instance=instance))
