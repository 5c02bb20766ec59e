"""The scopes of the REST API: what an integration token may hold (see :mod:`patronage.access`
for what each signed-in role holds)."""

from __future__ import annotations

#: Every scope an integration token may hold.
SCOPES: tuple[str, ...] = (
    "members:read", "members:write",
    "products:read", "products:write",
    "orders:read", "orders:write",
    "autoship:read", "autoship:write",
    "commissions:read", "commissions:write",
    "values:read",
    "care:read", "care:write",
)
