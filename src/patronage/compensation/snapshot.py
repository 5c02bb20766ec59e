"""Period facts frozen into bytes and back, with a digest.

The snapshot is a zip of ``.npy`` arrays (the ``.npz`` layout), each integer array stored in the
smallest integer type that holds its values and deflated at a fast level; thawing restores every
array to its original type, so the facts come back exactly as they were.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import fields
from typing import Any

import numpy as np

from patronage.facts import Genealogy, OrderLines, PeriodFacts, Placement, RefundLines

PARTS: tuple[tuple[str, type], ...] = (("g", Genealogy), ("l", OrderLines), ("r", RefundLines))


def _narrow(array: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    if array.dtype.kind != "i" or array.size == 0:
        return array
    low, high = int(array.min()), int(array.max())
    for dtype in (np.int8, np.int16, np.int32):
        info = np.iinfo(dtype)
        if info.min <= low and high <= info.max:
            return array.astype(dtype)
    return array


def freeze(facts: PeriodFacts,
           extra: dict[str, np.ndarray[Any, Any]] | None = None) -> tuple[bytes, str]:
    """The facts as zipped arrays (and ``extra`` arrays kept beside them, such as each
    member's currency), and the SHA-256 of those bytes."""
    buffer = io.BytesIO()
    dtypes: dict[str, str] = {}
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        meta = np.array([facts.start, facts.end], dtype=np.int64)
        items: list[tuple[str, np.ndarray[Any, Any]]] = [("meta", meta)]
        for prefix, cls in PARTS:
            part = {"g": facts.genealogy, "l": facts.lines, "r": facts.refunds}[prefix]
            items += [(f"{prefix}.{f.name}", getattr(part, f.name)) for f in fields(cls)]
        items += [(f"x.{name}", array) for name, array in sorted((extra or {}).items())]
        items += _binary_items(facts)
        for key, array in items:
            dtypes[key] = array.dtype.str
            with zf.open(f"{key}.npy", "w") as out:
                np.lib.format.write_array(out, np.ascontiguousarray(_narrow(array)))
        zf.writestr("dtypes.json", json.dumps(dtypes, sort_keys=True))
    data = buffer.getvalue()
    return data, hashlib.sha256(data).hexdigest()


def thaw(data: bytes, label: str) -> PeriodFacts:
    """The facts a :func:`freeze` made, every array in its original type."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        dtypes = json.loads(zf.read("dtypes.json"))

        def load(key: str) -> np.ndarray[Any, Any]:
            with zf.open(f"{key}.npy") as f:
                array = np.lib.format.read_array(f)
            return array.astype(np.dtype(dtypes[key]), copy=False)

        start, end = (int(v) for v in load("meta"))
        parts = [cls(**{f.name: load(f"{prefix}.{f.name}") for f in fields(cls)})
                 for prefix, cls in PARTS]
        placement = (Placement(parent=load("p.parent"), side=load("p.side"))
                     if "p.parent" in dtypes else None)
        carry_in = {key[2:]: load(key) for key in dtypes if key.startswith("c.")}
    genealogy, lines, refunds = parts
    assert isinstance(genealogy, Genealogy) and isinstance(lines, OrderLines)
    assert isinstance(refunds, RefundLines)
    return PeriodFacts(label, start, end, genealogy, lines, refunds, placement=placement,
                       carry_in=carry_in)


def _binary_items(facts: PeriodFacts) -> list[tuple[str, np.ndarray[Any, Any]]]:
    """The placement tree and the volume carried in, when the facts have them."""
    items: list[tuple[str, np.ndarray[Any, Any]]] = []
    if facts.placement is not None:
        items += [("p.parent", facts.placement.parent), ("p.side", facts.placement.side)]
    items += [(f"c.{name}", array) for name, array in sorted(facts.carry_in.items())]
    return items


def thaw_extra(data: bytes) -> dict[str, np.ndarray[Any, Any]]:
    """The ``extra`` arrays a :func:`freeze` kept (none for snapshots made without)."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        dtypes = json.loads(zf.read("dtypes.json"))
        out = {}
        for key in dtypes:
            if key.startswith("x."):
                with zf.open(f"{key}.npy") as f:
                    out[key[2:]] = np.lib.format.read_array(f).astype(np.dtype(dtypes[key]))
    return out
