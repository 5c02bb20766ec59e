"""The demo's team playbooks: a leader writes one ("hand-written first": no order thank-you
emails but a short thank-you text to those who agreed to texts, no survey invitations, the
cards and calls kept, and the birthday card comes with a sample of the least costly product,
paid from the company's gift budget, and in the leader's own words: the playbook carries its
birthday card's template) and shares it; the demo distributor and part of the leader's team
adopt it (the template with it); later the leader changes it, and the change waits on the demo
distributor's playbook page as an offered update."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine, func, select

from patronage.care import playbooks as pb
from patronage.care.core.playbooks import rules_data
from patronage.care.core.rules import Rules, load_rules
from patronage.care.gifts import set_budget
from patronage.care.playbook_templates import set_template
from patronage.compliance.claims import company_claims
from patronage.db.engine import transaction
from patronage.db.tables import Member, Product
from patronage.demo.field import demo_distributor

NAME = "Hand-written first"
#: What the leader's playbook turns off at first, and later.
OFF_FIRST = ("order_thanks", "survey_invite")
OFF_LATER = ("new_year_email",)
#: At most this many of the leader's direct team adopt it.
ADOPTERS = 40
#: The leader's own birthday card (the playbook's template for birthday cards).
CARD_FRONT = "Happy birthday, {{ member.first_name }}!"
CARD_INSIDE = ("I hope the year ahead is kind to you. Thank you for being part of my little "
               "circle.\n{{ signer }}")


def _written(company: Rules, off: tuple[str, ...], gift: str | None = None
             ) -> list[dict[str, object]]:
    """The company's rules, some off; with ``gift`` (a SKU), the birthday card comes with a
    sample (a rule of its own, in the birthday card's place)."""
    off = (*off, "birthday_card") if gift else off
    rules = [{**r, "enabled": False} if r["key"] in off else r
             for r in rules_data(company.rules)]
    if "order_thanks" in off:  # a short text instead of the order's thank-you email
        rules.append({"key": "order_thanks_text", "occasion": "order", "channel": "sms",
                      "template": "order_thanks", "priority": 20, "every": 3,
                      "delay_days": 1})
    if gift:
        rules.append({"key": "birthday_sample", "occasion": "birthday", "channel": "card",
                      "template": "birthday", "priority": 90, "gift": gift})
    return rules


def demo_playbooks(engine: Engine, start: datetime, now: datetime) -> dict[str, int]:
    """Write, share and adopt the demo playbook at ``start``; the leader's update at ``now``."""
    company = load_rules()
    with transaction(engine) as s:
        me = demo_distributor(s)
        leader = s.scalar(select(Member.sponsor_id).where(Member.id == me)) if me else None
        if leader is None:
            leader = s.scalar(
                select(Member.sponsor_id).where(Member.kind == "distributor",
                                                Member.sponsor_id.is_not(None))
                .group_by(Member.sponsor_id).order_by(func.count().desc(), Member.sponsor_id)
                .limit(1))
        if leader is None:
            return {}
        sample = s.scalar(select(Product.sku).where(Product.active.is_(True),
                                                    Product.is_enrollment_pack.is_(False))
                          .order_by(Product.wholesale_price, Product.id).limit(1))
        # The company pays for samples: 500.00 a month, one sample a customer a year or so.
        set_budget(s, None, per_month=50_000, per_customer_year=5_000, now=start)
        book = pb.write_playbook(s, company, leader, NAME,
                                 _written(company, OFF_FIRST, sample), start)
        set_template(s, leader, book.id, "birthday", "card", CARD_FRONT, CARD_INSIDE, start,
                     claims=company_claims(s))
        pb.share(s, leader, book.id)
        team = list(s.scalars(select(Member.id).where(
            Member.sponsor_id == leader, Member.kind == "distributor",
            Member.status == "active").order_by(Member.id).limit(ADOPTERS)))
        if me is not None and me != leader and me not in team:
            team.append(me)
        for member in team:
            pb.adopt(s, member, book.id, start + timedelta(hours=1))
    with transaction(engine) as s:
        pb.write_playbook(s, company, leader, NAME,
                          _written(company, OFF_FIRST + OFF_LATER, sample), now,
                          playbook_id=book.id)
    return {"care playbooks adopted from a leader": len(team)}
