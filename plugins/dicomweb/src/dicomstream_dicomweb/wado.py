"""WADO-RS retrieve as a source: the ``multipart/related; type="application/dicom"``
answer parsed part by part while it streams.

* An instance URL gives a :class:`WadoSource`: a plain source of that instance's bytes.
* A study or series URL, or a QIDO-RS search URL (``…/studies?PatientID=X``), gives a
  :class:`WadoInstances`: its :meth:`~WadoInstances.instances` yields one source per
  part (per instance) of the answer(s), each streaming its bytes straight from the
  connection — a part is never held whole. A search retrieves each match at its own
  level (a study match is one study retrieve).

Each part is named before its bytes go on: the first chunks (at most
:data:`NAME_LOOKAHEAD` bytes) are parsed to find the SOP Instance UID (from the
dataset, else from the file meta) and the Study and Series Instance UIDs, giving
``output_name`` ``<study>/<series>/<sop>.dcm`` — what ``dicomstream rewrite <study URL>
out/`` writes (``<sop>.dcm`` when the UIDs are not within reach, ``instance-<n>.dcm``
without one).

Parts of one answer come in order from one connection, so an instance must be read or
closed (:meth:`PartSource.aclose`) before the next one is produced.
The ``Accept`` header asks for the stored transfer syntax (``transfer-syntax=*``) so the
bytes are the stored file's; the ``transfer_syntax`` option asks for another.
"""

from __future__ import annotations

__all__ = ("NAME_LOOKAHEAD", "PartSource", "WadoInstances", "WadoSource", "source")

import re
from typing import TYPE_CHECKING, Any

import aiohttp
import anyio

from dicomstream.errors import DicomStreamError, SourceError
from dicomstream.events import Element
from dicomstream.io import DEFAULT_READ_SIZE
from dicomstream.parser import Parser
from dicomstream_dicomweb._urls import Resource, auth_headers, parse_url
from dicomstream_dicomweb.qido import (
    SERIES_UID,
    SOP_INSTANCE_UID,
    STUDY_UID,
    first_value,
    list_urls,
    search,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

NAME_LOOKAHEAD = 256 * 1024
"""Most bytes of a part read ahead to find its UIDs (the header, never pixel data)."""

_UID = re.compile(r"^[0-9]+(\.[0-9]+)*$")
_MEDIA_SOP_INSTANCE = 0x00020003
_SOP_INSTANCE = 0x00080018
_STUDY = 0x0020000D
_SERIES = 0x0020000E
_WANTED = frozenset({_MEDIA_SOP_INSTANCE, _SOP_INSTANCE, _STUDY, _SERIES})

TIMEOUT = aiohttp.ClientTimeout(total=None, connect=30, sock_read=120)
"""No limit on a whole study; two minutes without a byte is a dead peer."""


def _accept(options: dict[str, Any]) -> str:
    syntax = options.get("transfer_syntax") or "*"
    return f'multipart/related; type="application/dicom"; transfer-syntax={syntax}'


def _uid(raw: bytes) -> str | None:
    text = raw.rstrip(b"\0 ").decode("ascii", "replace").strip()
    return text if _UID.match(text) else None


def _find_uids(parser: Parser, found: dict[int, str]) -> bool:
    """Take the wanted UIDs from the parser's events; ``True`` once past them."""
    for event in parser.events():
        if type(event) is Element and not event.path:
            if event.tag in _WANTED:
                uid = _uid(event.value)
                if uid:
                    found[event.tag] = uid
            if event.tag > _SERIES:
                return True
    return False


class _Body:
    """A part's byte stream, whatever the framing (a multipart part or a whole body)."""

    def __init__(self, part: aiohttp.BodyPartReader | None,
                 response: aiohttp.ClientResponse | None) -> None:
        self.part = part
        self.response = response

    async def read(self, size: int) -> bytes:
        if self.part is not None:
            return bytes(await self.part.read_chunk(size))
        assert self.response is not None
        return await self.response.content.read(size)

    async def drain(self) -> None:
        if self.part is not None:
            await self.part.release()
        elif self.response is not None:
            await self.response.release()


class PartSource:
    """One instance of a WADO-RS answer: a source streaming that part's bytes.

    Attributes:
        name: ``<retrieve URL>#<n>`` — what a report line names.
        output_name: relative path for the instance (see the module doc).
        uids: the UIDs found (``sop``, ``study``, ``series``).
    """

    def __init__(self, body: _Body, head: list[bytes], name: str, output_name: str,
                 uids: dict[str, str], size: int | None, chunk_size: int) -> None:
        self._body = body
        self._head = head
        self.name = name
        self.output_name = output_name
        self.uids = uids
        self.size = size
        self.chunk_size = chunk_size
        self.released = anyio.Event()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if self.released.is_set():
            raise SourceError(f"{self.name}: already read (the stream has moved on)")
        try:
            head, self._head = self._head, []
            for chunk in head:
                yield chunk
            while chunk := await self._body.read(self.chunk_size):
                yield chunk
        except aiohttp.ClientError as exc:
            raise SourceError(f"cannot read {self.name}: {exc}") from exc
        finally:
            self.released.set()

    async def aclose(self) -> None:
        """Done with this instance (read or not): let the stream move on."""
        self.released.set()


async def _name_part(body: _Body, index: int, base: str, size: int | None,
                     chunk_size: int) -> PartSource:
    """Read ahead (bounded) to name the part, and wrap it as a source."""
    parser = Parser()
    found: dict[int, str] = {}
    head: list[bytes] = []
    read = 0
    try:
        while read < NAME_LOOKAHEAD:
            chunk = await body.read(min(chunk_size, 64 * 1024))
            if not chunk:
                break
            head.append(chunk)
            read += len(chunk)
            parser.receive_data(chunk)
            if _find_uids(parser, found):
                break
    except DicomStreamError:
        pass  # not ours to judge: the pipeline reports it with its offset
    sop = found.get(_SOP_INSTANCE) or found.get(_MEDIA_SOP_INSTANCE)
    study, series = found.get(_STUDY), found.get(_SERIES)
    if sop and study and series:
        output = f"{study}/{series}/{sop}.dcm"
    elif sop:
        output = f"{sop}.dcm"
    else:
        output = f"instance-{index:06d}.dcm"
    uids = {k: v for k, v in (("sop", sop), ("study", study), ("series", series)) if v}
    return PartSource(body, head, f"{base}#{index}", output, uids, size, chunk_size)


async def _retrieve(session: aiohttp.ClientSession, url: str, name: str,
                    headers: dict[str, str], chunk_size: int, first_index: int
                    ) -> AsyncIterator[PartSource]:
    """The instances of one WADO-RS retrieve, part by part, as the answer streams."""
    try:
        async with session.get(url, headers=headers) as response:
            if response.status != 200:
                raise SourceError(f"WADO-RS {url}: HTTP {response.status} {response.reason}")
            index = first_index
            if response.content_type != "multipart/related":
                # A lone application/dicom body (some servers, one instance).
                yield await _name_part(_Body(None, response), index, name,
                                       response.content_length, chunk_size)
                return
            reader = aiohttp.MultipartReader.from_response(response)
            while True:
                part = await reader.next()
                if part is None:
                    break
                if not isinstance(part, aiohttp.BodyPartReader):
                    raise SourceError(f"WADO-RS {url}: nested multipart is not DICOM")
                length = part.headers.get("Content-Length")
                body = _Body(part, None)
                instance = await _name_part(body, index, name,
                                            int(length) if length else None, chunk_size)
                yield instance
                await instance.released.wait()
                await body.drain()
                index += 1
    except aiohttp.ClientError as exc:
        raise SourceError(f"WADO-RS {url}: {exc}") from exc


class _Retrieval:
    """What a WADO-RS URL retrieves, and how to ask (the shared core of the sources)."""

    def __init__(self, url: str, *, chunk_size: int = DEFAULT_READ_SIZE,
                 **options: Any) -> None:
        self.resource = parse_url(url)
        self.name = url
        self.size: int | None = None
        self.chunk_size = int(chunk_size)
        self.options = options
        self.headers = auth_headers(self.resource, options)

    async def _targets(self, session: aiohttp.ClientSession) -> AsyncIterator[str]:
        """Resource paths to retrieve: the one named, or each search match."""
        r = self.resource
        if not r.is_search:
            yield r.path(study=r.study, series=r.series, instance=r.instance)
            return
        scope = r.path(study=r.study, series=r.series) + "/" + r.level
        fields = [("includefield", STUDY_UID), ("includefield", SERIES_UID)]
        async for match in search(session, r, scope, [*r.query, *fields],
                                  headers=self.headers):
            study = first_value(match, STUDY_UID) or r.study
            series = first_value(match, SERIES_UID) or r.series
            if r.level == "studies":
                yield r.path(study=study)
            elif r.level == "series":
                yield r.path(study=study, series=series)
            else:
                yield r.path(study=study, series=series,
                             instance=first_value(match, SOP_INSTANCE_UID))

    async def _instances(self) -> AsyncIterator[PartSource]:
        headers = {**self.headers, "Accept": _accept(self.options)}
        index = 0
        async with aiohttp.ClientSession(timeout=TIMEOUT, auto_decompress=False) as session:
            async for path in self._targets(session):
                url = self.resource.http_url(path)
                async for instance in _retrieve(session, url,
                                                self.resource.dicomweb_url(path),
                                                headers, self.chunk_size, index):
                    index += 1
                    yield instance

    async def __aiter__(self) -> AsyncIterator[bytes]:
        """The bytes of the only instance; more than one is an error (write a study to
        a directory instead)."""
        count = 0
        async for instance in self._instances():
            count += 1
            if count > 1:
                raise SourceError(f"{self.name} holds more than one instance: write it to "
                                  "a directory")
            self.size = instance.size
            async for chunk in instance:
                yield chunk


class WadoSource(_Retrieval):
    """One instance (``…/studies/S/series/X/instances/I``): a plain source.

    Args:
        url: the instance's ``dicomweb+http(s)://`` URL.
        chunk_size: bytes per chunk handed on.
        **options: ``token``, ``username``, ``password``, ``headers``,
            ``transfer_syntax``; options of other plugins are ignored.
    """


class WadoInstances(_Retrieval):
    """A study, series or search: a multi-instance source (see the module doc); as a
    plain source, the bytes of its only instance.

    Args: as :class:`WadoSource`.
    """

    def instances(self) -> AsyncIterator[PartSource]:
        """Every instance, in answer order; read or close each before the next."""
        return self._instances()


def _is_instance(resource: Resource) -> bool:
    return not resource.is_search and resource.instance is not None


class _SourceFactory:
    """The ``dicomweb+http(s)`` entry point of ``dicomstream.sources``, with
    :meth:`list_urls` (QIDO-RS) for prefixes."""

    def __call__(self, url: str, **options: Any) -> WadoSource | WadoInstances:
        if _is_instance(parse_url(url)):
            return WadoSource(url, **options)
        return WadoInstances(url, **options)

    def list_urls(self, prefix: str, **options: Any) -> AsyncIterator[str]:
        return list_urls(prefix, **options)


source = _SourceFactory()
