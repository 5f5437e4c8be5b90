"""Every other object store fsspec supports: ``gs://``, ``az://``, ``abfs://``,
``memory://`` … (the backend package — gcsfs, adlfs — must be installed).

Reads stream ``chunk_size`` at a time from the backend's file object. Writes use fsspec's
transactional files (``open(path, "wb", autocommit=False)``): the backend stages the data
(a multipart or resumable upload, a temporary file) and only :meth:`FsspecSink.commit`
makes it appear; :meth:`FsspecSink.abort` discards it. A backend whose files ignore
``autocommit`` (``memory://``) is written under a hidden temporary name beside the
target instead, renamed on commit and removed on abort. fsspec's file API is blocking
(async backends run on fsspec's own loop thread), so every call hops to a worker thread.

Backend options (credentials, project, endpoint) come from fsspec's usual configuration
(environment, ``~/.config/fsspec``) or the ``storage_options`` option.
"""

from __future__ import annotations

__all__ = ("FsspecSink", "FsspecSource", "list_urls", "sink", "source")

import secrets
from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_thread

from dicomstream.errors import SinkError, SourceError
from dicomstream.io import DEFAULT_READ_SIZE
from dicomstream.io.files import TEMP_SUFFIX

if TYPE_CHECKING:
    from collections.abc import AsyncIterator


_NO_AUTOCOMMIT = frozenset({"memory"})
"""Protocols whose files are visible at once whatever ``autocommit`` says."""


def _filesystem(url: str, storage_options: dict[str, Any] | None) -> tuple[Any, str]:
    import fsspec.core

    return fsspec.core.url_to_fs(url, **(storage_options or {}))  # type: ignore[no-any-return]


def _protocol(url: str) -> str:
    return url.partition("://")[0]


class FsspecSource:
    """Stream ``url`` through fsspec.

    Args:
        url: any URL fsspec knows.
        storage_options: keyword arguments of the fsspec filesystem.
        chunk_size: bytes per read.
        **options: options of other plugins, ignored.
    """

    def __init__(self, url: str, *, storage_options: dict[str, Any] | None = None,
                 chunk_size: int = DEFAULT_READ_SIZE, **options: Any) -> None:
        self.url = url
        self.name = url
        self.size: int | None = None
        self.storage_options = storage_options
        self.chunk_size = int(chunk_size)

    def _open(self) -> Any:
        fs, path = _filesystem(self.url, self.storage_options)
        self.size = fs.size(path)
        return fs.open(path, "rb")

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            handle = await anyio.to_thread.run_sync(self._open)
        except (OSError, ValueError) as exc:
            raise SourceError(f"cannot read {self.name}: {exc}") from exc
        try:
            while True:
                try:
                    chunk = await anyio.to_thread.run_sync(handle.read, self.chunk_size)
                except OSError as exc:
                    raise SourceError(f"cannot read {self.name}: {exc}") from exc
                if not chunk:
                    return
                yield chunk
        finally:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(handle.close)


class FsspecSink:
    """Write ``url`` through an fsspec transactional file (visible on commit only).

    Args:
        url: any URL fsspec can write.
        storage_options: keyword arguments of the fsspec filesystem.
        **options: options of other plugins, ignored.
    """

    def __init__(self, url: str, *, storage_options: dict[str, Any] | None = None,
                 **options: Any) -> None:
        self.url = url
        self.name = url
        self.storage_options = storage_options
        self.bytes_written = 0
        self._handle: Any = None
        self._fs: Any = None
        self._staged: tuple[str, str] | None = None  # (temporary path, target path)
        self._done = False

    def _open(self) -> Any:
        fs, path = _filesystem(self.url, self.storage_options)
        self._fs = fs
        parent = fs._parent(path)
        if parent and _protocol(self.url) in ("file", "local"):
            fs.makedirs(parent, exist_ok=True)
        if _protocol(self.url) in _NO_AUTOCOMMIT:
            name = path.rsplit("/", 1)[-1]
            tmp = f"{parent}/.{name}.{secrets.token_hex(4)}{TEMP_SUFFIX}"
            self._staged = (tmp, path)
            return fs.open(tmp, "wb")
        return fs.open(path, "wb", autocommit=False)

    async def write(self, data: bytes | memoryview) -> None:
        if self._done:
            raise SinkError(f"{self.name}: write after commit/abort")
        if not data:
            return
        try:
            if self._handle is None:
                self._handle = await anyio.to_thread.run_sync(self._open)
            await anyio.to_thread.run_sync(self._handle.write, bytes(data))
        except (OSError, ValueError) as exc:
            await self.abort()
            raise SinkError(f"cannot write {self.name}: {exc}") from exc
        self.bytes_written += len(data)

    def _commit(self) -> None:
        handle = self._handle if self._handle is not None else self._open()
        handle.close()
        if self._staged is not None:
            self._fs.mv(*self._staged)
        else:
            handle.commit()

    def _discard(self, handle: Any) -> None:
        if self._staged is not None:
            handle.close()
            self._fs.rm(self._staged[0])
        else:
            handle.discard()

    async def commit(self) -> None:
        if self._done:
            return
        self._done = True
        try:
            await anyio.to_thread.run_sync(self._commit)
        except (OSError, ValueError) as exc:
            self._done = False
            await self.abort()
            raise SinkError(f"cannot write {self.name}: {exc}") from exc

    async def abort(self) -> None:
        if self._done:
            return
        self._done = True
        handle, self._handle = self._handle, None
        if handle is None:
            return
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(self._discard, handle)


def _walk(prefix: str, storage_options: dict[str, Any] | None) -> list[str]:
    """Every file under ``prefix``, as URLs spelt like ``prefix`` (whatever the backend's
    own path form, e.g. memory's leading ``/``)."""
    fs, path = _filesystem(prefix, storage_options)
    base = path.rstrip("/")
    urls = []
    for found in sorted(fs.find(path)):
        if not found.startswith(base):
            continue
        rel = found[len(base):].lstrip("/")
        if rel and not rel.endswith(TEMP_SUFFIX):
            urls.append(prefix.rstrip("/") + "/" + rel)
    return urls


async def list_urls(prefix: str, *, storage_options: dict[str, Any] | None = None,
                    **options: Any) -> AsyncIterator[str]:
    """Every object under ``prefix`` (e.g. ``gs://bucket/in/``), sorted."""
    try:
        urls = await anyio.to_thread.run_sync(_walk, prefix, storage_options)
    except (OSError, ValueError) as exc:
        raise SourceError(f"cannot list {prefix}: {exc}") from exc
    for url in urls:
        yield url


class _SourceFactory:
    """The fsspec entry point of ``dicomstream.sources``, with :meth:`list_urls`."""

    def __call__(self, url: str, **options: Any) -> FsspecSource:
        return FsspecSource(url, **options)

    def list_urls(self, prefix: str, **options: Any) -> AsyncIterator[str]:
        return list_urls(prefix, **options)


def sink(url: str, **options: Any) -> FsspecSink:
    """The fsspec entry point of ``dicomstream.sinks``."""
    return FsspecSink(url, **options)


source = _SourceFactory()
