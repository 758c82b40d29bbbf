"""The types every layer shares: what a source showed, a normalized listing, a rental offer.

Nothing here imports another part of gpuprices except :mod:`gpuprices.exceptions`.
"""
