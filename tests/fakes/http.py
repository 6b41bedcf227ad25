"""A one-route HTTP server on 127.0.0.1 for tests that need something real to talk to."""
from __future__ import annotations

from contextlib import asynccontextmanager
from typing import AsyncIterator, Awaitable, Callable

from aiohttp import web


@asynccontextmanager
async def one_route_server(handler: Callable[[web.Request], Awaitable[web.StreamResponse]], path: str = "/webhook") -> AsyncIterator[str]:
    """Serve POST `path` with `handler`; yields the URL."""
    app = web.Application()
    app.router.add_post(path, handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}{path}"
    finally:
        await runner.cleanup()
