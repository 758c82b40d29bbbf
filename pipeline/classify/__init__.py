"""The GPU SKU catalog and the listing-title classifier.

``classify(title)`` answers "is this one sellable GPU of SKU X?" for a marketplace title;
``load_catalog()`` gives the SKUs (built-in ``catalog.toml`` plus the user's additions).
"""

from __future__ import annotations

from gpuprices.pipeline.classify.catalog import Catalog, ListPrice, Sku, load_catalog
from gpuprices.pipeline.classify.classifier import Classification, ExcludedReason, classify

__all__ = ["Catalog", "Classification", "ExcludedReason", "ListPrice", "Sku", "classify", "load_catalog"]
