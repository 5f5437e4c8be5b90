"""Clients shared by every source and sink of one event loop.

An S3 client resolves its credentials once (environment, shared files, or botocore's
chain) and, like the HTTP source's aiohttp session, keeps a connection pool; a bulk job
over thousands of objects must pay neither per object. Both are bound to the event loop
that created them, so they are cached per running loop and closed when that loop shuts
down: the pool parks an async generator whose ``finally`` closes everything, and
``asyncio.run`` / ``anyio.run`` / ``asyncio.Runner`` finalise pending async generators
(``loop.shutdown_asyncgens()``) before closing the loop. A loop that is never shut down
that way (a Dask worker's, for its whole life) simply keeps its clients.
"""

from __future__ import annotations

__all__ = ("shared",)

import asyncio
import contextlib
import weakref
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Hashable
    from contextlib import AbstractAsyncContextManager


class _Pool:
    """The resources of one loop, by key."""

    def __init__(self) -> None:
        self.items: dict[Hashable, Any] = {}
        self.lock = asyncio.Lock()
        self.stack = contextlib.AsyncExitStack()
        self.keeper: AsyncIterator[None] | None = None

    async def _keep(self) -> AsyncIterator[None]:
        try:
            yield
        finally:
            self.items.clear()
            await self.stack.aclose()

    async def start(self) -> None:
        self.keeper = self._keep()
        await self.keeper.__anext__()


_pools: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Pool] = (
    weakref.WeakKeyDictionary())


async def shared(key: Hashable, factory: Callable[[], AbstractAsyncContextManager[Any]]
                 ) -> Any:
    """The resource entered from ``factory()`` for ``key`` on the running loop, created
    on first use and closed when the loop shuts down."""
    loop = asyncio.get_running_loop()
    pool = _pools.get(loop)
    if pool is None:
        pool = _pools[loop] = _Pool()
        await pool.start()
    found = pool.items.get(key)
    if found is not None:
        return found
    async with pool.lock:
        found = pool.items.get(key)
        if found is None:
            found = pool.items[key] = await pool.stack.enter_async_context(factory())
    return found
