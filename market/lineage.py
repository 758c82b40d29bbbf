"""Lineage: which sources fed each index row, and which SKUs a crawl fed.

A degraded source must mute only the market alerts resting on rows it fed (per source family and
SKU): a failing rental feed says nothing about eBay prices, and a search source stopped at
robots.txt, which fed nothing, mutes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import date
from typing import Any

import pandas as pd

from gpuprices.storage.base import Store

RowKey = tuple[date, str, str, str]
"""``(day, sku, side, condition_group)`` of an index row."""


def row_sources(frame: pd.DataFrame) -> dict[RowKey, tuple[str, ...]]:
    """The sources behind each index row of ``frame`` (as :func:`market.index.load_observations` returns
    it), including the ``all`` condition group."""
    if frame.empty:
        return {}
    found: dict[RowKey, set[str]] = {}
    for keys, group in (("day", "sku", "side", "condition_group"), None), (("day", "sku", "side"), "all"):
        sources = frame.groupby(list(keys), observed=True)["source"].unique()
        for key, values in sources.items():
            day, sku, side, *rest = key
            row: RowKey = (pd.Timestamp(day).date(), str(sku), str(side), str(rest[0] if rest else group))
            found.setdefault(row, set()).update(str(v) for v in values)
    return {key: tuple(sorted(values)) for key, values in found.items()}


def crawl_skus(store: Store, crawl_ids: Sequence[int]) -> dict[int, set[str]]:
    """The SKUs each crawl stored observations of (listings and cloud rentals)."""
    return store.crawl_skus(crawl_ids)


def muted_pairs(store: Store, degraded: Iterable[dict[str, Any]],
                family_of: Callable[[str], str]) -> set[tuple[str, str]]:
    """``(family, sku)`` pairs fed by degraded crawls (``crawls`` rows)."""
    crawls = list(degraded)
    skus = crawl_skus(store, [int(c["id"]) for c in crawls])
    return {(family_of(str(c["source"])), sku) for c in crawls for sku in skus[int(c["id"])]}


def is_muted(sku: str, sources: Iterable[str], muted: set[tuple[str, str]],
             family_of: Callable[[str], str]) -> bool:
    """True when a row of ``sku`` fed by ``sources`` rests on data of a degraded (family, SKU)."""
    return any((family_of(source), sku) in muted for source in sources)
