"""Content of touches: sandboxed Jinja2 templates, checked for commercial content when loaded.

Templates live in ``templates/<name>.<channel>.j2``:

- ``email``: blocks ``subject`` and ``text``, and optionally ``html`` (rendered with escaping);
- ``card``: blocks ``front`` (a short greeting) and ``inside`` (the message, in handwriting);
- ``task``: the whole file is one line for the distributor ("Call Sally today: ...").

A thank-you has no other agenda. When a template is loaded, its text is refused — with the file,
the line and the offending words — if it holds prices or currency amounts, percentages off,
discount, coupon or promo codes, calls to buy, or any web address, or an income or health claim
(:mod:`patronage.compliance.core.claims`; the company's own phrases too, when it builds the set
with them): the only links a message may
carry are the member's own signed preferences, unsubscribe, survey and testimonial links, given
as ``links.*`` variables. Templates may only use the variables the context builder provides
(:data:`CONTEXT_NAMES`), and undefined values are errors, never blanks.

Templates are written in English with their text marked for translation (``_()``, ``ngettext``,
``{% trans %}``); a message is rendered in the language of the member it is for (their
``locale``, which :func:`build_context` provides), from the catalogs of
:mod:`patronage.languages`, falling back to English for a string not translated.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import (
    BaseLoader,
    DictLoader,
    Environment,
    FileSystemLoader,
    StrictUndefined,
    TemplateNotFound,
    TemplateSyntaxError,
    meta,
    nodes,
)
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from patronage.care.links import PURPOSES, make_link
from patronage.care.sandbox import BoundedSandbox, bounded_join, render_budget
from patronage.compliance.core.claims import BUILT_IN, Claim, claim_problems
from patronage.config import Settings
from patronage.db.autoship import Subscription
from patronage.db.care import Touch
from patronage.db.tables import Member, Order, OrderLine, Product
from patronage.errors import PatronageError, Problem, Problems
from patronage.languages import _, normalize, use_locale
from patronage.languages import jinja as language_jinja

TEMPLATE_DIR = Path(__file__).parent / "templates"
CHANNEL_BLOCKS: dict[str, tuple[str, ...]] = {
    "email": ("subject", "text"),
    "card": ("front", "inside"),
    "task": (),
    "sms": (),
}
#: A care text fits in two SMS segments, and says how to stop them (the opt-out word).
SMS_MAX_CHARS = 306
SMS_OPT_OUT = "STOP"
#: What a template may refer to (see :func:`build_context`).
CONTEXT_NAMES = frozenset({
    "member", "owner", "signer", "company", "months_on_autoship", "referred", "referred_names",
    "referral", "order", "occasion", "occasion_key", "summary", "years_with_us", "links",
    "locale",
})

_COMMERCIAL: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (label, re.compile(pattern, re.IGNORECASE)) for label, pattern in (
        ("a currency amount", r"[$€£¥]\s?\d"),
        ("a currency amount", r"\b\d+(?:[.,]\d+)?\s?(?:usd|eur|gbp|dollars?|euros?|cents?)\b"),
        ("a currency amount", r"\b(?:usd|eur|gbp)\s?\d"),
        ("a price", r"\bprices?\b|\bonly\s+\d"),
        ("a percentage off", r"\d\s?(?:%|percent\b)"),
        ("a discount or promo code", r"\b(?:discount|coupon|promo(?:tion)?|voucher)s?\b"),
        ("a discount or promo code", r"\buse\s+(?:the\s+)?code\b|\bcode\s*:"),
        ("a call to buy", r"\b(?:shop|buy)\s+(?:now|today|here|online)\b"),
        ("a call to buy", r"\border\s+(?:now|here|online)\b|\badd\s+to\s+(?:cart|basket)\b"),
        ("a call to buy", r"\bcheckout\b|\bfree\s+shipping\b|\bon\s+sale\b|\blimited\s+time\b"),
        ("a web address", r"\bhttps?://\S*|\bwww\.\S*"),
        ("a web address", r"(?<![@\w.])[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:com|net|org|shop|store|"
                          r"biz|info|io|co)\b(?:/\S*)?"),
    )
)


class TemplateRefused(Problems):
    """A template that would turn a thank-you into a sales pitch, or cannot be used."""

    code = "template_refused"


def commercial_problems(filename: str, source: str) -> list[Problem]:
    """Every line of ``source`` that carries commercial content, with the offending text."""
    problems: list[Problem] = []
    for number, line in enumerate(source.splitlines(), start=1):
        for label, pattern in _COMMERCIAL:
            found = pattern.search(line)
            if found:
                problems.append(Problem(
                    f"{filename}, line {number}",
                    f"{label} ({found.group(0).strip()!r}): a thank-you has no other agenda",
                ))
                break
    return problems


class _CheckedLoader(FileSystemLoader):
    """Loads templates from a folder, refusing commercial content and unknown variables."""

    def __init__(self, directory: Path, check: Callable[[str, str], None]) -> None:
        super().__init__(str(directory))
        self._check = check

    def get_source(
        self, environment: Environment, template: str
    ) -> tuple[str, str, Callable[[], bool]]:
        source, filename, uptodate = super().get_source(environment, template)
        self._check(template, source)
        return source, filename, uptodate


class _CheckedDictLoader(DictLoader):
    """Loads templates held in memory (a playbook's own), checked like the shipped ones."""

    def __init__(self, sources: dict[str, str], check: Callable[[str, str], None]) -> None:
        super().__init__(sources)  # the set's own dictionary: templates added later are seen
        self._check = check

    def get_source(
        self, environment: Environment, template: str
    ) -> tuple[str, None, Callable[[], bool]]:
        source, filename, uptodate = super().get_source(environment, template)
        self._check(template, source)
        return source, filename, uptodate


@dataclass(frozen=True)
class EmailContent:
    subject: str
    text: str
    html: str | None


@dataclass(frozen=True)
class CardContent:
    front: str
    inside: str


class TemplateSet:
    """The templates of one folder (the shipped ones by default), or held in memory
    (``sources``: file name to text, a playbook's own), in a sandbox."""

    def __init__(self, directory: Path = TEMPLATE_DIR,
                 claims: Iterable[Claim] = BUILT_IN, *,
                 sources: Mapping[str, str] | None = None) -> None:
        self.directory = directory
        self.claims = tuple(claims)
        self.sources = dict(sources) if sources is not None else None
        self._plain = self._environment(autoescape=False)
        self._escaped = self._environment(autoescape=True)

    def _environment(self, *, autoescape: bool) -> BoundedSandbox:
        loader: BaseLoader = (_CheckedLoader(self.directory, self._check)
                              if self.sources is None
                              else _CheckedDictLoader(self.sources, self._check))
        env = BoundedSandbox(
            loader=loader, undefined=StrictUndefined,
            autoescape=autoescape, keep_trailing_newline=False, trim_blocks=True,
            lstrip_blocks=True,
        )
        language_jinja.install(env)
        return env

    def _check(self, template: str, source: str) -> None:
        problems = self.problems_of(template, source)
        if problems:
            raise TemplateRefused(f"template {template} refused", problems)

    def problems_of(self, template: str, source: str) -> list[Problem]:
        """Every problem of a template's text, as if it were loaded as ``template`` (its file
        name says its channel): commercial content, forbidden claims, syntax, unknown
        variables, missing blocks."""
        problems = commercial_problems(template, source)
        problems.extend(claim_problems(template, source, self.claims))
        try:
            parsed = self._plain.parse(source)
        except TemplateSyntaxError as exc:
            problems.append(Problem(f"{template}, line {exc.lineno}", exc.message or "syntax"))
        else:
            unknown = sorted(meta.find_undeclared_variables(parsed) - CONTEXT_NAMES
                             - set(self._plain.globals))
            problems.extend(Problem(f"{template}", f"unknown variable {name!r}; use one of "
                                    f"{', '.join(sorted(CONTEXT_NAMES))}") for name in unknown)
            channel = template.rsplit(".", 2)[-2] if template.count(".") >= 2 else ""
            blocks = {node.name for node in parsed.find_all(nodes.Block)}
            missing = [b for b in CHANNEL_BLOCKS.get(channel, ()) if b not in blocks]
            problems.extend(Problem(template, f"missing block {b!r} for a {channel} template")
                            for b in missing)
        return problems

    def add(self, name: str, source: str) -> None:
        """Hold one more template in memory (a set made with ``sources`` only)."""
        if self.sources is None:
            raise PatronageError(f"template {name}: a folder's templates are its files")
        self.sources[name] = source

    def names(self) -> list[str]:
        """Every ``<name>.<channel>.j2`` file in the folder (or in memory)."""
        if self.sources is not None:
            return sorted(self.sources)
        return sorted(p.name for p in self.directory.glob("*.j2"))

    def exists(self, name: str, channel: str) -> bool:
        if self.sources is not None:
            return f"{name}.{channel}.j2" in self.sources
        return (self.directory / f"{name}.{channel}.j2").is_file()

    def check_all(self) -> list[Problem]:
        """Load every template; the problems of all refused ones."""
        problems: list[Problem] = []
        for filename in self.names():
            try:
                self._plain.get_template(filename)
            except TemplateRefused as exc:
                problems.extend(exc.problems)
        return problems

    def _blocks(self, env: BoundedSandbox, name: str, channel: str,
                context: Mapping[str, Any]) -> dict[str, str]:
        filename = f"{name}.{channel}.j2"
        try:
            template = env.get_template(filename)
        except TemplateNotFound as exc:
            where = self.directory if self.sources is None else "the playbook"
            raise PatronageError(f"template {filename}: not found in {where}") from exc
        try:
            with render_budget(), use_locale(context.get("locale")):
                if not template.blocks:
                    return {"": bounded_join(template.generate(dict(context))).strip()}
                ctx = template.new_context(dict(context))
                out = {block: bounded_join(render(ctx)).strip()
                       for block, render in template.blocks.items()}
        except Exception as exc:
            raise PatronageError(f"template {filename}: {type(exc).__name__}: {exc}") from exc
        return out

    def email(self, name: str, context: Mapping[str, Any]) -> EmailContent:
        blocks = self._blocks(self._plain, name, "email", context)
        html: str | None = None
        if "html" in blocks:
            html = self._blocks(self._escaped, name, "email", context)["html"]
        subject = " ".join(blocks["subject"].split())
        return EmailContent(subject=subject, text=blocks["text"] + "\n", html=html)

    def card(self, name: str, context: Mapping[str, Any]) -> CardContent:
        blocks = self._blocks(self._plain, name, "card", context)
        return CardContent(front=blocks["front"], inside=blocks["inside"])

    def task(self, name: str, context: Mapping[str, Any]) -> str:
        return " ".join(self._blocks(self._plain, name, "task", context)[""].split())

    def sms(self, name: str, context: Mapping[str, Any]) -> str:
        """A text: one paragraph, at most :data:`SMS_MAX_CHARS` characters, with the opt-out
        word (``STOP``) the law asks of a marketing text; else refused naming the template."""
        text = " ".join(self._blocks(self._plain, name, "sms", context)[""].split())
        if len(text) > SMS_MAX_CHARS:
            raise PatronageError(f"template {name}.sms.j2: the text has {len(text)} characters; "
                                 f"at most {SMS_MAX_CHARS} (two text messages)")
        if SMS_OPT_OUT not in text:
            raise PatronageError(f"template {name}.sms.j2: the text does not say how to stop "
                                 f"texts (the word {SMS_OPT_OUT})")
        return text


_DEFAULT: TemplateSet | None = None


def default_templates() -> TemplateSet:
    """The shipped templates (loaded once per process)."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = TemplateSet()
    return _DEFAULT


def months_between(start: datetime, end: datetime) -> int:
    """Whole months from ``start`` to ``end`` (0 if ``end`` is earlier)."""
    months = (end.year - start.year) * 12 + end.month - start.month
    if (end.day, end.time()) < (start.day, start.time()):
        months -= 1
    return max(months, 0)


def _person(member: Member | None) -> dict[str, str] | None:
    if member is None:
        return None
    return {"first_name": member.first_name, "last_name": member.last_name, "name": member.name}


def build_context(session: Session, touch: Touch, now: datetime, *,
                  settings: Settings) -> dict[str, Any]:
    """What a template may use for this touch, loaded from the store.

    ``member`` (who it is for), ``owner`` (their distributor, or ``None``), ``signer`` (the
    distributor's first name, else the company's team), ``months_on_autoship`` (of the oldest
    live subscription, or ``None``), ``referred`` (first names of the people they referred, the
    latest first), ``referral`` (for a referral's thank-you: who was referred this time),
    ``order`` (for an order's thank-you: its date and product names — never amounts),
    ``years_with_us``, the member's signed ``links`` and ``locale`` (the language the message
    is written in: the member's own; ``owner_locale`` is the distributor's, for their tasks).
    """
    cfg = settings
    member = session.get(Member, touch.member_id)
    if member is None:
        raise PatronageError(f"touch {touch.id}: member {touch.member_id} does not exist")
    owner_id = touch.owner_id or member.owner_id or member.sponsor_id
    owner = session.get(Member, owner_id) if owner_id is not None else None
    started = session.scalar(
        select(func.min(Subscription.created_at)).where(
            Subscription.member_id == member.id, Subscription.status.in_(("active", "paused"))
        )
    )
    referred = list(session.scalars(
        select(Member.first_name).where(Member.referrer_id == member.id,
                                        Member.status != "erased")
        .order_by(Member.joined_at.desc(), Member.id.desc())
    ))
    order = _order(session, touch, member.id)
    referral = None
    if touch.occasion == "referral" and touch.occasion_key.isdigit():
        referral = session.scalar(select(Member.first_name).where(
            Member.id == int(touch.occasion_key), Member.referrer_id == member.id,
            Member.status != "erased"))
    links = {purpose: make_link(purpose, member.id, now, touch_id=touch.id,
                                base_url=cfg.base_url, secret=cfg.secret_key)
             for purpose in PURPOSES}
    locale = normalize(member.locale)
    with use_locale(locale):
        signer = (owner.first_name if owner is not None
                  else _("The %(company)s team") % {"company": cfg.company_name})
        referred_names = _join(referred)
        order = None if order is None else {**order,
                                            "product_names": _join(order["products"])}
    return {
        "locale": locale,
        "owner_locale": normalize(owner.locale) if owner is not None else None,
        "member": _person(member),
        "owner": _person(owner),
        "signer": signer,
        "company": {"name": cfg.company_name},
        "months_on_autoship": None if started is None else months_between(started, now),
        "referred": referred,
        "referred_names": referred_names,
        "referral": referral,
        "order": order,
        "occasion": touch.occasion,
        "occasion_key": touch.occasion_key,
        "summary": touch.summary or "",
        "years_with_us": months_between(member.joined_at, now) // 12,
        "links": links,
    }


def _join(names: list[str]) -> str:
    """Names as a sentence lists them, in the current reader's language."""
    if len(names) <= 1:
        return "".join(names)
    return _("%(names)s and %(last)s") % {"names": ", ".join(names[:-1]), "last": names[-1]}


def _order(session: Session, touch: Touch, member_id: int) -> dict[str, Any] | None:
    found = re.search(r"(\d+)$", touch.occasion_key)
    if "order" not in touch.template or found is None:
        return None
    order = session.get(Order, int(found.group(1)))
    if order is None or order.buyer_id != member_id:
        return None
    products = list(session.scalars(
        select(Product.name).join(OrderLine, OrderLine.product_id == Product.id)
        .where(OrderLine.order_id == order.id).order_by(OrderLine.id)
    ))
    return {"id": order.id, "placed_on": order.placed_at.date().isoformat(),
            "products": products, "product_names": _join(products),
            "autoship": order.source == "autoship"}
