"""Forbidden claims at save time, on both databases: a care template making an income claim is
refused when loaded; a testimonial with a health claim cannot be approved; the company's own
phrases join the list; the CLI check finds them all."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from patronage.care.content import TemplateRefused, TemplateSet
from patronage.care.testimonials import ClaimsRefused, moderate, submit
from patronage.cli.main import app
from patronage.compliance.claims import add_claim, company_claims, flagged_testimonials
from patronage.db.engine import transaction
from tests.factories import customer, distributor

pytestmark = pytest.mark.storage

NOW = datetime(2026, 11, 5, tzinfo=UTC)
CARD = "{% block front %}Thank you{% endblock %}{% block inside %}%s{% endblock %}\n"


def _templates(tmp_path: Path, inside: str) -> Path:
    (tmp_path / "order_thanks.card.j2").write_text(CARD.replace("%s", inside))
    return tmp_path


def test_a_template_with_an_income_claim_is_refused_when_loaded(tmp_path: Path) -> None:
    folder = _templates(tmp_path, "Join us and quit your job!")
    problems = TemplateSet(folder).check_all()
    assert [p.place for p in problems] == ["order_thanks.card.j2, line 1"]
    assert "income claim 'quit your job'" in problems[0].reason
    with pytest.raises(TemplateRefused, match="refused"):
        TemplateSet(folder).card("order_thanks", {})
    fine = _templates(tmp_path, "We are glad you enjoy the shakes.")
    assert TemplateSet(fine).check_all() == []


def test_testimonials_and_company_phrases(engine: Engine, db_url: str, tmp_path: Path) -> None:
    with transaction(engine) as s:
        ann = distributor(s, "Ann")
        bea = customer(s, ann, "Bea")
        story = submit(s, bea, "The tea cured my headaches.", consent_to_publish=True,
                       now=NOW).id
        honest = submit(s, bea, "I like the tea; it helps me be my own boss of mornings.",
                        consent_to_publish=True, now=NOW).id
    with transaction(engine) as s, pytest.raises(ClaimsRefused) as refused:
        moderate(s, story, approve=True, by="staff", now=NOW)
    assert refused.value.problems[0].place == f"testimonial {story}, line 1"
    assert "health claim 'cured'" in refused.value.problems[0].reason
    with transaction(engine) as s:
        assert moderate(s, honest, approve=True, by="staff", now=NOW).status == "approved"
        moderate(s, story, approve=False, by="staff", now=NOW)  # rejecting is always allowed
        add_claim(s, "Be my own boss", "income", "implies earnings", now=NOW)
        add_claim(s, "be my OWN boss", "income", "implies a business income", now=NOW)
    with transaction(engine) as s:
        own = [c for c in company_claims(s) if c.phrase == "be my own boss"]
        assert [(c.kind, c.reason) for c in own] == [("income", "implies a business income")]
        assert [t.id for t in flagged_testimonials(s)] == [honest]
    folder = _templates(tmp_path, "Be my own boss, like you.")
    out = CliRunner().invoke(app, ["--db", db_url, "compliance", "claims", "check",
                                   "--templates", str(folder), "--json"])
    assert out.exit_code == 1, out.output
    places = [p["place"] for p in json.loads(out.stdout)]
    assert places == ["order_thanks.card.j2, line 1", f"testimonial {honest}, line 1"]
