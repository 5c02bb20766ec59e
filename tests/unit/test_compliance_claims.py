"""Forbidden claims found in a text with place and reason; whole words only."""

from __future__ import annotations

import pytest

from patronage.compliance.core.claims import BUILT_IN, Claim, check_phrase, claim_problems


def test_income_and_health_claims_are_found_with_line_and_reason() -> None:
    text = "Thank you, Sally!\nThis shake cured my back and gave me Financial   Freedom."
    found = claim_problems("order_thanks.card.j2", text, BUILT_IN)
    assert [(p.place, p.reason.split(":")[0]) for p in found] == [
        ("order_thanks.card.j2, line 2", "income claim 'Financial   Freedom'"),
        ("order_thanks.card.j2, line 2", "health claim 'cured'"),
    ]
    assert "income disclosure" in found[0].reason


def test_only_whole_words_match() -> None:
    assert claim_problems("t", "a secure order; procured; richer", BUILT_IN) == []
    assert claim_problems("t", "we treat you well", BUILT_IN) == []


def test_a_company_phrase_is_normalised_and_checked() -> None:
    own = check_phrase("  Be Your OWN  boss ", "income", "implies earnings")
    assert own == Claim("be your own boss", "income", "implies earnings")
    assert [p.reason for p in claim_problems("t", "Be your own boss!", [own])] == [
        "income claim 'Be your own boss': implies earnings"]
    with pytest.raises(ValueError, match="kind: 'wealth' is neither income nor health"):
        check_phrase("x", "wealth", "r")
    with pytest.raises(ValueError, match="reason: say why"):
        check_phrase("x", "income", " ")
