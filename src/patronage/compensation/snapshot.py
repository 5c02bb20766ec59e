"""Period facts frozen into bytes (compressed numpy arrays) and back, with a digest."""

from __future__ import annotations

import hashlib
import io
from dataclasses import fields

import numpy as np

from patronage.facts import Genealogy, OrderLines, PeriodFacts, RefundLines


def freeze(facts: PeriodFacts) -> tuple[bytes, str]:
    """The facts as ``.npz`` bytes and the SHA-256 of those bytes."""
    arrays: dict[str, np.ndarray] = {"meta": np.array([facts.start, facts.end], dtype=np.int64)}
    for prefix, part in (("g", facts.genealogy), ("l", facts.lines), ("r", facts.refunds)):
        for f in fields(part):
            arrays[f"{prefix}.{f.name}"] = getattr(part, f.name)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)  # type: ignore[arg-type]
    data = buffer.getvalue()
    return data, hashlib.sha256(data).hexdigest()


def thaw(data: bytes, label: str) -> PeriodFacts:
    with np.load(io.BytesIO(data)) as z:
        def part(prefix: str, cls: type) -> object:
            return cls(**{f.name: z[f"{prefix}.{f.name}"] for f in fields(cls)})

        start, end = (int(v) for v in z["meta"])
        genealogy = part("g", Genealogy)
        lines = part("l", OrderLines)
        refunds = part("r", RefundLines)
    assert isinstance(genealogy, Genealogy) and isinstance(lines, OrderLines)
    assert isinstance(refunds, RefundLines)
    return PeriodFacts(label, start, end, genealogy, lines, refunds)
