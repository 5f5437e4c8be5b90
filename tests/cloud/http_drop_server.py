"""A file server for the HTTP source tests (run as a script: ``ROOT PORT``).

Routes, each serving ``ROOT/<name>``:

* ``/files/<name>``: plain, with Range support (aiohttp's FileResponse).
* ``/drop/<name>``: the first full request of each name gets the headers (true
  Content-Length, ETag) and half of the body, then the connection is cut; later requests
  are served normally, ranges included (so a client resumes with Range).
* ``/drop-norange/<name>``: the same cut, but the server never honours Range (always 200
  with the whole body and the same ETag), so a client must skip what it already has.
* ``/changed/<name>``: cut on the first request; afterwards the ETag differs and Range is
  ignored — a resumed read must fail, not splice two versions.
* ``/requests``: JSON list of ``[path, Range header]`` seen so far.
"""

from __future__ import annotations

import sys
from pathlib import Path

from aiohttp import web

ROOT = Path(sys.argv[1])
PORT = int(sys.argv[2])
SEEN: list[tuple[str, str | None]] = []
CUT: set[str] = set()


async def _cut_once(request: web.Request, etag: str) -> web.StreamResponse | None:
    """Serve half the body then cut the connection, once per path."""
    path = request.path
    if path in CUT:
        return None
    CUT.add(path)
    data = (ROOT / request.match_info["name"]).read_bytes()
    response = web.StreamResponse(headers={"ETag": etag, "Accept-Ranges": "bytes"})
    response.content_length = len(data)
    await response.prepare(request)
    await response.write(data[: len(data) // 2])
    assert request.transport is not None
    request.transport.close()
    return response


async def files(request: web.Request) -> web.StreamResponse:
    SEEN.append((request.path, request.headers.get("Range")))
    return web.FileResponse(ROOT / request.match_info["name"])


async def drop(request: web.Request) -> web.StreamResponse:
    SEEN.append((request.path, request.headers.get("Range")))
    cut = await _cut_once(request, '"v1"')
    if cut is not None:
        return cut
    return await ranged(request, '"v1"')


async def ranged(request: web.Request, etag: str) -> web.StreamResponse:
    """``bytes=N-`` ranges (206) when If-Range, if any, matches ``etag``."""
    data = (ROOT / request.match_info["name"]).read_bytes()
    spec = request.headers.get("Range", "")
    if_range = request.headers.get("If-Range")
    if spec.startswith("bytes=") and spec.endswith("-") and if_range in (None, etag):
        start = int(spec[len("bytes="):-1])
        return web.Response(status=206, body=data[start:], headers={
            "ETag": etag, "Content-Range": f"bytes {start}-{len(data) - 1}/{len(data)}"})
    return web.Response(body=data, headers={"ETag": etag, "Accept-Ranges": "bytes"})


async def whole(request: web.Request, etag: str) -> web.StreamResponse:
    data = (ROOT / request.match_info["name"]).read_bytes()
    return web.Response(body=data, headers={"ETag": etag})


async def drop_norange(request: web.Request) -> web.StreamResponse:
    SEEN.append((request.path, request.headers.get("Range")))
    cut = await _cut_once(request, '"v1"')
    return cut if cut is not None else await whole(request, '"v1"')


async def changed(request: web.Request) -> web.StreamResponse:
    SEEN.append((request.path, request.headers.get("Range")))
    cut = await _cut_once(request, '"v1"')
    return cut if cut is not None else await whole(request, '"v2"')


async def requests(request: web.Request) -> web.StreamResponse:
    return web.json_response(SEEN)


async def health(request: web.Request) -> web.StreamResponse:
    return web.Response(text="ok")


def main() -> None:
    app = web.Application()
    app.add_routes([web.get("/files/{name}", files), web.get("/drop/{name}", drop),
                    web.get("/drop-norange/{name}", drop_norange),
                    web.get("/changed/{name}", changed),
                    web.get("/requests", requests), web.get("/health", health)])
    web.run_app(app, host="127.0.0.1", port=PORT, print=None, handle_signals=True)


if __name__ == "__main__":
    main()
