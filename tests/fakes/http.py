"""Real HTTP servers on 127.0.0.1 for tests: a one-route server, and the base of the fake APIs."""

from __future__ import annotations

import asyncio
import threading
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import AsyncIterator, Awaitable, Callable, Iterator, Optional

from aiohttp import web


@asynccontextmanager
async def one_route_server(
    handler: Callable[[web.Request], Awaitable[web.StreamResponse]], path: str = "/webhook"
) -> AsyncIterator[str]:
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


@dataclass
class LocalServer:
    """Start/stop for a fake service on 127.0.0.1 (port 0: any free one); subclasses, also
    dataclasses, add their routes in `routes`."""

    port: int = 0
    _runner: Optional[web.AppRunner] = None

    def routes(self, app: web.Application) -> None:
        raise NotImplementedError

    async def start(self) -> None:
        app = web.Application()
        self.routes(app)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._runner:
            await self._runner.cleanup()

    @contextmanager
    def in_thread(self) -> Iterator[LocalServer]:
        """Serve from a background thread (for a Rasa server running in another process)."""
        loop = asyncio.new_event_loop()
        ready = threading.Event()

        def serve() -> None:
            asyncio.set_event_loop(loop)
            loop.run_until_complete(self.start())
            ready.set()
            loop.run_forever()

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        ready.wait(10)
        try:
            yield self
        finally:
            asyncio.run_coroutine_threadsafe(self.stop(), loop).result(10)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(10)
