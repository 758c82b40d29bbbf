"""The ASGI application of ``gpuprices serve``: pages, the JSON API, ``/metrics`` and ``/healthz``.

Every request opens its own connection to the store (SQLite in WAL mode: readers never block the
daemon writing, and the daemon never blocks them). Sync endpoints run in Starlette's thread pool.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from gpuprices.config import Settings
from gpuprices.exceptions import GpupricesError
from gpuprices.pipeline.classify.catalog import load_catalog
from gpuprices.web import api
from gpuprices.web.metrics import render_metrics
from gpuprices.web.pages import Pages
from gpuprices.web.security import SecurityHeaders
from gpuprices.web.views import WebContext

STATIC = Path(__file__).resolve().parent / "static"
logger = logging.getLogger(__name__)


def create_app(settings: Settings, *, clock: Callable[[], date] | None = None) -> Starlette:
    """The app on ``settings``' database; ``clock`` gives today's UTC date (default: the real one)."""
    ctx = WebContext(settings=settings, catalog=load_catalog(extra=settings.catalog or None),
                     **({"clock": clock} if clock is not None else {}))
    pages = Pages(ctx)

    def metrics(request: Request) -> Response:
        with ctx.open_store() as store:
            body = render_metrics(store, ctx)
        return Response(body, media_type="text/plain; version=0.0.4; charset=utf-8")

    def healthz(request: Request) -> Response:
        try:
            with ctx.open_store() as store:
                last = store.last_seen_at()
        except GpupricesError as exc:
            return JSONResponse({"status": "error", "error": str(exc)}, status_code=503)
        return JSONResponse({"status": "ok", "last_seen_at": last})

    async def server_error(request: Request, exc: Exception) -> Response:
        # One line in the log, no traceback or internals in the answer.
        logger.error("%s %s failed: %s", request.method, request.url.path, exc.__class__.__name__)
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": "internal error"}, status_code=500)
        return pages.render(request, "error.html", status_code=500, title="Error", message="Something went wrong.")

    async def not_found(request: Request, exc: Exception) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": "not found"}, status_code=404)
        return pages.not_found(request, "No such page.")

    routes = [
        *pages.routes(),
        *api.routes(ctx),
        Route("/metrics", metrics),
        Route("/healthz", healthz),
        Mount("/static", StaticFiles(directory=str(STATIC)), name="static"),
    ]
    return Starlette(routes=routes, middleware=[Middleware(SecurityHeaders)],
                     exception_handlers={404: not_found, 500: server_error})
