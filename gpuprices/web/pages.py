"""Server-rendered pages: every number is in the HTML (the charts are an addition, not the only way)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from gpuprices.market.deals import LOOKBACK_DAYS, WINDOW_DAYS
from gpuprices.market.index import CONDITION_GROUPS
from gpuprices.web import views
from gpuprices.web.security import CSRF_COOKIE, json_script, new_csrf_token, safe_url, same
from gpuprices.web.views import RANGES, WebContext

TEMPLATES = Path(__file__).resolve().parent / "templates"
_MAX_FORM_BYTES = 4096
OVERVIEW_SORTS = ("sku", "asking_median_usd", "asking_n", "asking_sellers", "sold_median_usd", "list_price_usd",
                  "premium", "change_7d", "change_30d")


def usd(value: Any, cents: bool = False) -> str:
    if value is None or value == "":
        return "—"
    return f"${float(value):,.2f}" if cents else f"${float(value):,.0f}"


def pct(value: Any) -> str:
    return "—" if value is None else f"{float(value) * 100:+.1f}%"


def sparkline_points(values: list[tuple[str, float]], width: int = 120, height: int = 28) -> str:
    """SVG polyline points of the daily medians (drawn by the server: no script needed)."""
    if not values:
        return ""
    prices = [v for _, v in values]
    low, high = min(prices), max(prices)
    span = (high - low) or 1.0
    step = width / max(len(prices) - 1, 1)
    return " ".join(f"{i * step:.1f},{height - 2 - (p - low) / span * (height - 4):.1f}" for i, p in enumerate(prices))


def display_name(item: Any) -> str:
    """``NVIDIA H100 80 GB PCIE`` from a catalog SKU."""
    vendor = "NVIDIA" if item.vendor == "nvidia" else item.vendor.upper()
    return f"{vendor} {item.model} {item.memory_gb} GB {item.form_factor.upper()}"


def make_templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(TEMPLATES))  # autoescape on for .html
    env = templates.env
    env.filters.update(usd=usd, pct=pct, safe_url=safe_url, json_script=json_script, sparkline=sparkline_points,
                       reason=views.exclusion_reason)
    env.globals.update(deal_window=WINDOW_DAYS, deal_lookback=LOOKBACK_DAYS)
    return templates


def _sort_key(column: str) -> Callable[[dict[str, Any]], tuple[int, Any]]:
    def key(row: dict[str, Any]) -> tuple[int, Any]:
        value = row.get(column)
        if value is None:
            return (1, 0)
        return (0, value if column == "sku" else float(value))

    return key


class Pages:
    def __init__(self, ctx: WebContext) -> None:
        self.ctx = ctx
        self.templates = make_templates()

    def render(self, request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        context.setdefault("read_only", self.ctx.settings.web.token is None)
        return self.templates.TemplateResponse(request, name, context, status_code=status_code)

    def not_found(self, request: Request, what: str) -> HTMLResponse:
        return self.render(request, "error.html", status_code=404, title="Not found", message=what)

    def overview(self, request: Request) -> Response:
        column = request.query_params.get("sort", "sku")
        column = column if column in OVERVIEW_SORTS else "sku"
        descending = request.query_params.get("order") == "desc"
        with self.ctx.open_store() as store:
            rows = views.overview(store, self.ctx)
            fresh = views.freshness(store)
        present = [r for r in rows if r.get(column) is not None]
        present.sort(key=_sort_key(column), reverse=descending)
        rows = present + [r for r in rows if r.get(column) is None]
        names = {item.id: display_name(item) for item in self.ctx.catalog}
        return self.render(request, "overview.html", title="Market overview", rows=rows, sort=column,
                           descending=descending, names=names, fresh=fresh, min_samples=self.ctx.min_samples)

    def sku(self, request: Request) -> Response:
        sku = str(request.path_params["sku"]).lower()
        item = self.ctx.catalog.get(sku)
        if item is None:
            return self.not_found(request, f"No SKU {sku!r} in the catalog.")
        days = next((r for r in RANGES if str(r) == request.query_params.get("days")), 90)
        group = request.query_params.get("condition", "all")
        group = group if group in CONDITION_GROUPS else "all"
        with self.ctx.open_store() as store:
            series = views.sku_series(store, self.ctx, sku, days=days, condition_group=group)
            counted, excluded = views.current_listings(store, self.ctx, sku)
        return self.render(request, "sku.html", title=display_name(item), sku=sku, item=item, series=series, days=days,
                           group=group, ranges=RANGES, groups=CONDITION_GROUPS, counted=counted, excluded=excluded)

    def listing(self, request: Request) -> Response:
        try:
            listing_id = int(request.path_params["listing_id"])
        except ValueError:
            return self.not_found(request, "No such listing.")
        with self.ctx.open_store() as store:
            found = views.listing_detail(store, self.ctx, listing_id)
        if found is None:
            return self.not_found(request, f"No listing {listing_id}.")
        row, observations = found
        return self.render(request, "listing.html", title=row["title"] or f"Listing {listing_id}", row=row,
                           observations=observations)

    def rentals(self, request: Request) -> Response:
        with self.ctx.open_store() as store:
            index = views.rentals(store, self.ctx, days=7)
            providers = views.rental_providers(store, self.ctx, days=7)
            breakeven = views.breakeven(store, self.ctx)
        return self.render(request, "rentals.html", title="Rentals and rent vs buy", index=index,
                           providers=providers, breakeven=breakeven)

    def sources(self, request: Request) -> Response:
        with self.ctx.open_store() as store:
            rows = views.source_health(store, self.ctx)
        return self.render(request, "sources.html", title="Sources", rows=rows)

    def alerts(self, request: Request) -> Response:
        token = request.cookies.get(CSRF_COOKIE) or new_csrf_token()
        with self.ctx.open_store() as store:
            rules = views.rules(store, self.ctx)
            recent = views.alerts(store, self.ctx, limit=50)
            dead = views.alerts(store, self.ctx, limit=200, status="dead")
            summary = views.delivery_summary(store, self.ctx)
        message = {"requeued": "Dead deliveries re-queued; the daemon sends them on its next delivery run."}.get(
            request.query_params.get("done", ""))
        response = self.render(request, "alerts.html", title="Alerts", rules=rules, recent=recent, dead=dead,
                               summary=summary, channels=views.channels(self.ctx), csrf=token, message=message)
        response.set_cookie(CSRF_COOKIE, token, httponly=True, samesite="strict", path="/")
        return response

    async def retry(self, request: Request) -> Response:
        """Re-queue dead deliveries: needs the configured token, a matching CSRF token and our own origin."""
        configured = self.ctx.settings.web.token
        if configured is None:
            return self._refuse(request, 403, "The dashboard is read-only: set [web] token to allow re-queueing.")
        origin = request.headers.get("origin")
        if origin is not None and origin != f"{request.url.scheme}://{request.url.netloc}":
            return self._refuse(request, 403, "Refused: the request came from another site.")
        body = await request.body()
        if len(body) > _MAX_FORM_BYTES:
            return self._refuse(request, 413, "Refused: the form is too large.")
        form = parse_qs(body.decode("utf-8", "replace"))
        csrf = (form.get("csrf") or [""])[0]
        if not same(csrf, request.cookies.get(CSRF_COOKIE)):
            return self._refuse(request, 403, "Refused: the form expired or came from another site; reload the page.")
        if not same((form.get("token") or [""])[0], configured.get_secret_value()):
            return self._refuse(request, 403, "Refused: wrong token.")

        def work() -> int:
            with self.ctx.open_store() as store:
                return views.requeue_dead(store, self.ctx)

        await run_in_threadpool(work)
        return RedirectResponse("/alerts?done=requeued", status_code=303)

    def _refuse(self, request: Request, status: int, message: str) -> HTMLResponse:
        return self.render(request, "error.html", status_code=status, title="Not allowed", message=message)

    def routes(self) -> list[Route]:
        return [
            Route("/", self.overview),
            Route("/sku/{sku}", self.sku),
            Route("/listing/{listing_id}", self.listing),
            Route("/rentals", self.rentals),
            Route("/sources", self.sources),
            Route("/alerts", self.alerts),
            Route("/alerts/retry", self.retry, methods=["POST"]),
        ]
