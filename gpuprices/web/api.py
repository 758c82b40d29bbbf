"""The JSON API under ``/api/``: the CLI's rows, as a JSON array or (``?format=csv``) the CSV export.

Field names are the CSV exports' column names; money is a decimal string. Every endpoint is
described in the OpenAPI document at ``/api/openapi.json``, built from the same column lists.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import date
from io import StringIO
from typing import Any

import attrs
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gpuprices.alerts.outbox import RECENT_COLUMNS
from gpuprices.core.columns import FLAG_COLUMNS, INTEGER_COLUMNS
from gpuprices.core.rows import write_rows
from gpuprices.market.breakeven import BREAKEVEN_COLUMNS
from gpuprices.market.deals import DEAL_COLUMNS
from gpuprices.market.index import CONDITION_GROUPS, INDEX_EXPORT_COLUMNS, SIDES
from gpuprices.market.premium import PREMIUM_COLUMNS
from gpuprices.market.rental_index import PROVIDER_COLUMNS, RENTAL_INDEX_COLUMNS
from gpuprices.sources import names as source_names
from gpuprices.web import views
from gpuprices.web.views import WebContext

SOURCE_COLUMNS = ("source", "enabled", "ready", "needs", "what", "last_crawl", "last_status", "last_listings")


class BadRequest(Exception):
    """A query parameter that cannot be used: answered with 400 and one line."""


def _json(rows: list[dict[str, Any]]) -> Response:
    return Response(json.dumps(rows, ensure_ascii=False, default=str), media_type="application/json")


def rows_response(rows: list[dict[str, Any]], columns: Sequence[str], fmt: str, name: str) -> Response:
    """JSON array, or CSV with the export's header (formula-like text neutralized) as a download."""
    if fmt == "csv":
        out = StringIO()
        write_rows(rows, "csv", out, columns=columns)
        return Response(out.getvalue(), media_type="text/csv; charset=utf-8",
                        headers={"content-disposition": f'attachment; filename="{name}.csv"'})
    if fmt != "json":
        raise BadRequest("format must be json or csv")
    return _json(rows)


# -- parameters ---------------------------------------------------------------------------------
def sku_param(ctx: WebContext, request: Request) -> str | None:
    value = request.query_params.get("sku")
    if value is None or value == "":
        return None
    key = value.strip().lower()
    if key not in ctx.catalog:
        raise BadRequest(f"unknown SKU {value!r} (ids look like h100-80gb-pcie)")
    return key


def int_param(request: Request, name: str, default: int, *, low: int = 1, high: int = 3650) -> int:
    text = request.query_params.get(name)
    if text is None or text == "":
        return default
    try:
        value = int(text)
    except ValueError:
        raise BadRequest(f"{name} must be a whole number") from None
    if not low <= value <= high:
        raise BadRequest(f"{name} must be between {low} and {high}")
    return value


def date_param(request: Request, name: str) -> date | None:
    text = request.query_params.get(name)
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise BadRequest(f"{name} must be a date, YYYY-MM-DD") from None


def choice_param(request: Request, name: str, choices: Sequence[str]) -> str | None:
    value = request.query_params.get(name) or None
    if value is not None and value not in choices:
        raise BadRequest(f"{name} must be one of {', '.join(choices)}")
    return value


def flag_param(request: Request, name: str) -> bool:
    value = (request.query_params.get(name) or "").lower()
    if value not in ("", "0", "1", "true", "false", "yes", "no"):
        raise BadRequest(f"{name} must be true or false")
    return value in ("1", "true", "yes")


# -- endpoints ----------------------------------------------------------------------------------
@attrs.frozen
class Endpoint:
    path: str
    name: str
    summary: str
    params: tuple[tuple[str, str, str], ...]
    """(name, JSON type, description) of each query parameter."""
    columns: Callable[[Any], Sequence[str]]
    rows: Callable[[Any, WebContext, Request], list[dict[str, Any]]]


def _listing_columns(store: Any) -> Sequence[str]:
    return [*store.table_columns("listings"), *DEAL_COLUMNS]


def _observation_columns(store: Any) -> Sequence[str]:
    # as `export observations`: the listing's key, then the observation's own columns
    return ["family", "item_id", "variation_id", *store.table_columns("observations")]


def _listings(store: Any, ctx: WebContext, request: Request) -> list[dict[str, Any]]:
    since = date_param(request, "since")
    return views.listings(store, ctx, sku=sku_param(ctx, request), side=choice_param(request, "side", SIDES),
                          condition_group=choice_param(request, "condition", CONDITION_GROUPS),
                          since=since.isoformat() if since else None,
                          include_excluded=flag_param(request, "include_excluded"))


def _observations(store: Any, ctx: WebContext, request: Request) -> list[dict[str, Any]]:
    try:
        listing_id = int(request.path_params["listing_id"])
    except ValueError:
        raise BadRequest("listing id must be a number") from None
    return store.listing_observations(listing_id)


_SKU = ("sku", "string", "catalog SKU id, e.g. h100-80gb-pcie")
_DAYS = ("days", "integer", "window in days up to today (UTC)")
ENDPOINTS = (
    Endpoint("/api/index", "index", "Daily price index per SKU × side × condition group (= `export index`)",
             (_SKU, ("since", "string", "first day, YYYY-MM-DD (default: [market] history_days ago)")),
             lambda store: INDEX_EXPORT_COLUMNS,
             lambda store, ctx, r: views.index(store, ctx, since=date_param(r, "since"), sku=sku_param(ctx, r))),
    Endpoint("/api/premium", "premium", "Premium over list price, latest day per SKU × side × group (= `premium`)",
             (_SKU, _DAYS), lambda store: PREMIUM_COLUMNS,
             lambda store, ctx, r: views.premium(store, ctx, sku=sku_param(ctx, r), days=int_param(r, "days", 30))),
    Endpoint("/api/listings", "listings", "Listings, latest state, with deal context (= `export listings`)",
             (_SKU, ("side", "string", "asking or sold"), ("condition", "string", "new, used or all"),
              ("since", "string", "last seen on or after, YYYY-MM-DD"),
              ("include_excluded", "boolean", "also excluded, quarantined and not-working listings")),
             _listing_columns, _listings),
    Endpoint("/api/listings/{listing_id}/observations", "observations",
             "Every observation of one listing (= `export observations` rows of it)", (),
             _observation_columns, _observations),
    Endpoint("/api/rentals", "rentals", "Daily cloud rental index, USD per GPU-hour (= `rental`)", (_SKU, _DAYS),
             lambda store: RENTAL_INDEX_COLUMNS,
             lambda store, ctx, r: views.rentals(store, ctx, sku=sku_param(ctx, r), days=int_param(r, "days", 7))),
    Endpoint("/api/rental-providers", "rental_providers",
             "Rental prices per SKU × kind × provider, each provider's latest day, USD per GPU-hour", (_DAYS,),
             lambda store: PROVIDER_COLUMNS,
             lambda store, ctx, r: views.rental_providers(store, ctx, days=int_param(r, "days", 7))),
    Endpoint("/api/breakeven", "breakeven", "Rent vs buy: months until owning is cheaper (= `breakeven`)",
             (_SKU, _DAYS), lambda store: BREAKEVEN_COLUMNS,
             lambda store, ctx, r: views.breakeven(store, ctx, sku=sku_param(ctx, r), days=int_param(r, "days", 30))),
    Endpoint("/api/sources", "sources", "Sources, their state and last crawl (= `sources --format json`)", (),
             lambda store: SOURCE_COLUMNS, lambda store, ctx, r: views.sources(store, ctx)),
    Endpoint("/api/crawls", "crawls", "Latest finished crawls per source, newest first (= `export crawls` rows)",
             (("source", "string", "only this source"), ("limit", "integer", "crawls per source (default 10)")),
             lambda store: store.table_columns("crawls"),
             lambda store, ctx, r: views.crawls(store, ctx, source=choice_param(r, "source", source_names()),
                                                limit=int_param(r, "limit", 10, high=1000))),
    Endpoint("/api/rules", "rules", "Alert rules with the state of each key they watch (armed, fired, last value)",
             (), lambda store: views.RULE_STATE_COLUMNS, lambda store, ctx, r: views.rule_states(store, ctx)),
    Endpoint("/api/alerts", "alerts", "Recent alerts, one row per delivery (= `alerts list`)",
             (("limit", "integer", "at most this many deliveries"),
              ("status", "string", "only deliveries in this state: pending, delivered or dead")),
             lambda store: RECENT_COLUMNS,
             lambda store, ctx, r: views.alerts(store, ctx, limit=int_param(r, "limit", 20, high=10000),
                                                status=choice_param(r, "status", ("pending", "delivered", "dead")))),
)


def _handler(endpoint: Endpoint, ctx: WebContext) -> Callable[[Request], Response]:
    def handle(request: Request) -> Response:
        try:
            fmt = request.query_params.get("format", "json")
            with ctx.open_store() as store:
                rows = endpoint.rows(store, ctx, request)
                columns = endpoint.columns(store)
            return rows_response(rows, columns, fmt, endpoint.name)
        except BadRequest as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)

    return handle


# -- OpenAPI ------------------------------------------------------------------------------------
_INTEGER = {"n", "sellers", "purchase_n", "rental_n", "rental_providers", "providers", "attempts", "last_status",
            "deal_n", "deal_lowest_days", "delivery_id", "alert_id", "last_listings", "horizon_months",
            *INTEGER_COLUMNS}
_NUMBER = {"premium", "premium_pct", "change_7d", "deal_percentile", "months", "months_spot", "utilization",
           "hours_per_month", "resale_fraction", "tdp_w"}
_BOOLEAN = {"indicative", "enabled", "ready", *FLAG_COLUMNS}


def _field(name: str) -> dict[str, Any]:
    if name in _INTEGER:
        return {"type": ["integer", "null"]}
    if name in _NUMBER:
        return {"type": ["number", "null"]}
    if name in _BOOLEAN:
        return {"type": ["boolean", "null"]}
    schema: dict[str, Any] = {"type": ["string", "null"]}
    if name.endswith(("_usd", "_usd_per_gpu_hour")) or name in ("price", "price_max", "bin_price", "shipping",
                                                                  "usd_rate"):
        schema.update(format="decimal", description="exact decimal amount as text")
    return schema


def openapi(store: Any) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    for endpoint in ENDPOINTS:
        parameters = [{"name": name, "in": "query", "required": False, "schema": {"type": kind},
                       "description": text} for name, kind, text in endpoint.params]
        parameters.append({"name": "format", "in": "query", "required": False,
                           "schema": {"type": "string", "enum": ["json", "csv"], "default": "json"}})
        if "{listing_id}" in endpoint.path:
            parameters.insert(0, {"name": "listing_id", "in": "path", "required": True, "schema": {"type": "integer"}})
        columns = list(endpoint.columns(store))
        row = {"type": "object", "properties": {c: _field(c) for c in columns}, "required": columns}
        paths[endpoint.path] = {"get": {
            "summary": endpoint.summary, "operationId": endpoint.name, "parameters": parameters,
            "responses": {
                "200": {"description": "rows", "content": {
                    "application/json": {"schema": {"type": "array",
                                                     "items": {"$ref": f"#/components/schemas/{endpoint.name}"}}},
                    "text/csv": {"schema": {"type": "string"}}}},
                "400": {"description": "a parameter that cannot be used", "content": {"application/json": {
                    "schema": {"type": "object", "properties": {"error": {"type": "string"}}}}}},
            }}}
        schemas[endpoint.name] = row
    return {"openapi": "3.1.0", "info": {"title": "gpuprices", "version": _version(),
                                         "description": "GPU resale and rental prices. Money is a decimal string."},
            "paths": paths, "components": {"schemas": schemas}}


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("gpuprices")
    except PackageNotFoundError:
        return "0"


def routes(ctx: WebContext) -> list[Route]:
    def schema(request: Request) -> Response:
        with ctx.open_store() as store:
            return JSONResponse(openapi(store))

    return [Route("/api/openapi.json", schema), *(Route(e.path, _handler(e, ctx)) for e in ENDPOINTS)]
