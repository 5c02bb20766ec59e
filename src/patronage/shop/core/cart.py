"""The cart a visitor fills: product codes and quantities, kept in a signed cookie between
pages. Reading it never fails: an entry that is not a known code with a whole quantity from 1 to
the product's maximum is left out."""

from __future__ import annotations

from collections.abc import Mapping

#: The most different products one cart holds.
MAX_LINES = 50


def clean_cart(raw: object, known: Mapping[str, int]) -> dict[str, int]:
    """The entries of ``raw`` (a mapping of code → quantity) that are products in ``known``
    (code → the most units a line may have), in the order given."""
    cart: dict[str, int] = {}
    if not isinstance(raw, Mapping):
        return cart
    for sku, qty in raw.items():
        if len(cart) >= MAX_LINES:
            break
        if isinstance(sku, str) and sku in known and isinstance(qty, int) and \
                not isinstance(qty, bool) and 1 <= qty <= known[sku]:
            cart[sku] = qty
    return cart


def set_quantity(cart: Mapping[str, int], sku: str, quantity: int) -> dict[str, int]:
    """The cart with ``sku`` at ``quantity`` (0 removes it)."""
    out = dict(cart)
    if quantity <= 0:
        out.pop(sku, None)
    else:
        out[sku] = quantity
    return out
