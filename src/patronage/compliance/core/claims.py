"""Forbidden claims: income and health claims a network-marketing company may not let its
people make (the FTC's earnings-claims and health-claims guidance; the EU unfair commercial
practices directive), found in a text with the reason.

A phrase matches whole words, case-insensitively, with any run of spaces between its words
(``"get rich"`` matches ``"Get  rich"`` but not ``"get richer"``). The company extends the
built-in list (:data:`BUILT_IN`) with its own phrases and reasons.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from patronage.errors import Problem

INCOME, HEALTH = "income", "health"
KINDS = (INCOME, HEALTH)

_INCOME_REASON = ("an earnings claim: most participants earn little or nothing; point to the "
                  "income disclosure instead")
_HEALTH_REASON = ("a health claim: products may not be said to cure, treat or prevent disease "
                  "or to work like medicine")


@dataclass(frozen=True)
class Claim:
    phrase: str
    kind: str
    reason: str

    def pattern(self) -> re.Pattern[str]:
        words = [re.escape(w) for w in self.phrase.split()]
        return re.compile(r"(?<!\w)" + r"\s+".join(words) + r"(?!\w)", re.IGNORECASE)


BUILT_IN: tuple[Claim, ...] = tuple(Claim(p, INCOME, _INCOME_REASON) for p in (
    "get rich", "financial freedom", "quit your job", "guaranteed income", "passive income",
    "six figures", "six-figure income", "replace your income", "unlimited income",
    "earn a fortune", "retire early", "make money fast", "life-changing income",
)) + tuple(Claim(p, HEALTH, _HEALTH_REASON) for p in (
    "cure", "cures", "cured", "heals", "prevents cancer", "fights cancer", "reverses diabetes",
    "treats", "miracle", "clinically proven", "fda approved", "lose weight fast",
    "boosts immunity", "no side effects",
))


def check_phrase(phrase: str, kind: str, reason: str) -> Claim:
    """A company's phrase, refused with the field and reason when unusable."""
    text = " ".join(phrase.split()).lower()
    if not text:
        raise ValueError("phrase: a few words")
    if len(text) > 200:
        raise ValueError(f"phrase: {len(text)} characters; at most 200")
    if kind not in KINDS:
        raise ValueError(f"kind: {kind!r} is neither {INCOME} nor {HEALTH}")
    if not reason.strip():
        raise ValueError("reason: say why the phrase is forbidden")
    return Claim(text, kind, reason.strip())


def claim_problems(place: str, text: str, claims: Iterable[Claim]) -> list[Problem]:
    """Every forbidden phrase found in ``text``, line by line: ``place, line N`` and the
    phrase, its kind and its reason."""
    compiled = [(c, c.pattern()) for c in claims]
    problems: list[Problem] = []
    for number, line in enumerate(text.splitlines(), start=1):
        for claim, pattern in compiled:
            found = pattern.search(line)
            if found:
                problems.append(Problem(f"{place}, line {number}",
                                        f"{claim.kind} claim {found.group(0)!r}: {claim.reason}"))
    return problems
