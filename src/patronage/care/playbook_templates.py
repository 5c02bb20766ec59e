"""A playbook's own templates, and the company's forbidden phrases at delivery.

A playbook may carry its own wording for an (occasion, channel): an email's subject and text,
a card's front greeting and inside, a task's line. Each field is a template like the company's
(:mod:`patronage.care.content`): sandboxed, limited to the same variables, and refused when
written — with the field and the reason — if it carries commercial content or one of the
company's forbidden phrases (:mod:`patronage.compliance.claims`). A change of a playbook's
templates is a new version of it, so the copies adopted from it are offered the update, as
for a change of its rules; adopting copies the templates with the rules.

At delivery (:class:`Wording`), a member's touch is rendered with the template of the playbook
their owner adopted when it has one for the touch's occasion and channel, and with the
company's otherwise. A playbook template that no longer fits — the company forbade one of its
phrases since, or it fails to render — is set aside for the company's. Whatever was rendered
is then checked against the company's forbidden phrases (:func:`forbidden_in`): a variable's
value (a product's name, a summary) can bring one in.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from patronage.care.content import (
    CardContent,
    EmailContent,
    TemplateRefused,
    TemplateSet,
    commercial_problems,
)
from patronage.care.core.occasions import OCCASIONS
from patronage.compliance.core.claims import Claim, claim_problems
from patronage.db.care import Touch
from patronage.db.care_playbooks import Adoption, Playbook, PlaybookTemplate
from patronage.db.tables import Member
from patronage.errors import NotFound, PatronageError, Problem

#: The channels a playbook may word (SMS is not sent from here).
TEMPLATE_CHANNELS = ("email", "card", "task")
TITLE_MAX = 200
BODY_MAX = 5_000
#: What the title field is called for each channel (a task has none).
TITLES = {"email": "subject", "card": "front"}
BODIES = {"email": "text", "card": "inside", "task": "line"}


class WordingRefused(TemplateRefused):
    """A playbook template refused when written: each problem names the field."""


def source_of(channel: str, title: str | None, body: str) -> str:
    """The template text of a playbook's wording (the company's template file layout)."""
    if channel == "task":
        return body
    return (f"{{% block {TITLES[channel]} %}}{title or ''}{{% endblock %}}\n"
            f"{{% block {BODIES[channel]} %}}{body}{{% endblock %}}\n")


def file_name(occasion: str, channel: str) -> str:
    return f"{occasion}.{channel}.j2"


def wording_problems(occasion: str, channel: str, title: str | None, body: str,
                     claims: Iterable[Claim]) -> list[Problem]:
    """Every problem of a playbook's wording; each problem's place starts with its field
    (``title`` or ``body``), so a form can show it next to the field."""
    claims = tuple(claims)
    if occasion not in OCCASIONS:
        return [Problem("occasion", f"unknown occasion {occasion!r}")]
    if channel not in TEMPLATE_CHANNELS:
        return [Problem("channel", f"{channel!r}: a playbook words an email, a card or a task")]
    fields = {"body": body}
    if channel in TITLES:
        fields["title"] = title or ""
    problems: list[Problem] = []
    for name, text in fields.items():
        limit = TITLE_MAX if name == "title" else BODY_MAX
        if not text.strip():
            problems.append(Problem(name, "write something here"))
            continue
        if len(text) > limit:
            problems.append(Problem(name, f"{len(text):,} characters; at most {limit:,}"))
            continue
        if "{%" in text and ("block" in text or "extends" in text or "include" in text
                             or "import" in text):
            problems.append(Problem(name, "blocks, extends, include and import are not "
                                          "for a playbook's wording"))
            continue
        found = commercial_problems(name, text) + claim_problems(name, text, claims)
        if not found:  # the sandbox's own checks: syntax and the variables a template may use
            found = [Problem(p.place.replace(f"{name}.task.j2", name), p.reason)
                     for p in _checker().problems_of(f"{name}.task.j2", text)]
        problems.extend(found)
    return problems


_CHECKER: TemplateSet | None = None


def _checker() -> TemplateSet:
    """A sandbox to check a template's syntax and variables in (made once per process)."""
    global _CHECKER
    if _CHECKER is None:
        _CHECKER = TemplateSet(claims=(), sources={})
    return _CHECKER


def _own(session: Session, author_id: int | None, playbook_id: int) -> Playbook:
    book = session.get(Playbook, playbook_id)
    if book is None or book.author_id != author_id:
        raise NotFound(f"playbook {playbook_id}: no such playbook of yours")
    return book


def templates_of(session: Session, playbook_id: int) -> list[PlaybookTemplate]:
    return list(session.scalars(select(PlaybookTemplate).where(
        PlaybookTemplate.playbook_id == playbook_id).order_by(
        PlaybookTemplate.occasion, PlaybookTemplate.channel)))


def set_template(session: Session, author_id: int | None, playbook_id: int, occasion: str,
                 channel: str, title: str | None, body: str, now: datetime, *,
                 claims: Iterable[Claim]) -> PlaybookTemplate:
    """Write the playbook's wording for (occasion, channel), refused with every problem (each
    naming its field) if it does not pass the checks; a change is a new playbook version."""
    book = _own(session, author_id, playbook_id)
    title = title.strip() if title is not None and channel in TITLES else None
    body = body.strip()
    problems = wording_problems(occasion, channel, title, body, claims)
    if problems:
        raise WordingRefused(f"playbook {playbook_id}: the {channel} for {occasion} refused",
                             problems)
    row = session.scalar(select(PlaybookTemplate).where(
        PlaybookTemplate.playbook_id == book.id, PlaybookTemplate.occasion == occasion,
        PlaybookTemplate.channel == channel))
    if row is None:
        row = PlaybookTemplate(playbook_id=book.id, occasion=occasion, channel=channel,
                               title=title, body=body, updated_at=now)
        session.add(row)
    elif (row.title, row.body) == (title, body):
        return row
    else:
        row.title, row.body, row.updated_at = title, body, now
    book.version, book.updated_at = book.version + 1, now
    session.flush()
    return row


def remove_template(session: Session, author_id: int | None, playbook_id: int, occasion: str,
                    channel: str, now: datetime) -> bool:
    """Go back to the company's template for (occasion, channel); False if there was none."""
    book = _own(session, author_id, playbook_id)
    row = session.scalar(select(PlaybookTemplate).where(
        PlaybookTemplate.playbook_id == book.id, PlaybookTemplate.occasion == occasion,
        PlaybookTemplate.channel == channel))
    if row is None:
        return False
    session.delete(row)
    book.version, book.updated_at = book.version + 1, now
    session.flush()
    return True


def _texts(session: Session, playbook_id: int) -> dict[tuple[str, str], tuple[str | None, str]]:
    return {(r.occasion, r.channel): (r.title, r.body) for r in templates_of(session, playbook_id)}


def same_templates(session: Session, one: int, other: int) -> bool:
    return _texts(session, one) == _texts(session, other)


def copy_templates(session: Session, source_id: int, copy_id: int, now: datetime) -> None:
    """Give the copy the source's templates (its own go)."""
    for row in templates_of(session, copy_id):
        session.delete(row)
    session.flush()
    for (occasion, channel), (title, body) in _texts(session, source_id).items():
        session.add(PlaybookTemplate(playbook_id=copy_id, occasion=occasion, channel=channel,
                                     title=title, body=body, updated_at=now))
    session.flush()


def forbidden_in(texts: Mapping[str, str], claims: Iterable[Claim]) -> str | None:
    """The first forbidden phrase in rendered texts, as a reason to drop a touch (None: none)."""
    claims = tuple(claims)
    for place, text in texts.items():
        found = claim_problems(place, text, claims)
        if found:
            return f"forbidden phrase in the {found[0].place}: {found[0].reason}"
    return None


@dataclass(frozen=True)
class Rendered:
    """A touch's content and whose template made it (``playbook_id`` None: the company's)."""

    content: Any
    playbook_id: int | None


class Wording:
    """Renders touches for one delivery run: by the owner's playbook template when there is
    one that still fits, else the company's; the playbooks' templates are read once a run."""

    def __init__(self, company: TemplateSet, claims: Iterable[Claim]) -> None:
        self.company = company
        self.claims = tuple(claims)
        self._adopted: dict[int, int | None] = {}
        self._held: dict[int, set[tuple[str, str]]] = {}
        #: any of the claims, for a quick look (the details are found only on a hit)
        self._any = re.compile("|".join(f"(?:{c.pattern().pattern})" for c in self.claims),
                               re.IGNORECASE) if self.claims else None
        #: the first word of each phrase: a text holding none of them holds no phrase
        self._firsts = tuple({c.phrase.split()[0].lower() for c in self.claims})
        #: every playbook's templates read in this run, in one sandbox: ``p<id>.<occasion>``
        self.playbooks = TemplateSet(claims=self.claims, sources={})

    def playbook_of(self, session: Session, touch: Touch) -> int | None:
        owner_id = touch.owner_id
        if owner_id is None:
            member = session.get(Member, touch.member_id)
            owner_id = None if member is None else (member.owner_id or member.sponsor_id)
        if owner_id is None:
            return None
        if owner_id not in self._adopted:
            row = session.get(Adoption, owner_id)
            self._adopted[owner_id] = None if row is None else row.playbook_id
        return self._adopted[owner_id]

    def claimed(self, *texts: str | None) -> bool:
        """Whether any of the texts holds one of the company's forbidden phrases."""
        if self._any is None:
            return False
        for text in texts:
            if not text:
                continue
            low = text.lower()
            if any(w in low for w in self._firsts) and self._any.search(text):
                return True
        return False

    def preload(self, session: Session) -> int:
        """Read the templates of every adopted playbook at once (a run that sends for many
        distributors); how many playbooks."""
        rows = session.execute(
            select(PlaybookTemplate.playbook_id, PlaybookTemplate.occasion,
                   PlaybookTemplate.channel, PlaybookTemplate.title, PlaybookTemplate.body)
            .where(PlaybookTemplate.playbook_id.in_(select(Adoption.playbook_id)))
            .order_by(PlaybookTemplate.playbook_id)).all()
        for playbook_id, o, c, t, b in rows:
            kept = self._held.setdefault(playbook_id, set())
            if not self.claimed(t, b):
                kept.add((o, c))
                self.playbooks.add(file_name(f"p{playbook_id}.{o}", c), source_of(c, t, b))
        for playbook_id in session.scalars(select(Adoption.playbook_id).distinct()):
            self._held.setdefault(playbook_id, set())
        return len(self._held)

    def held(self, session: Session, playbook_id: int) -> set[tuple[str, str]]:
        """The (occasion, channel) the playbook words with a template that still fits: its
        text was checked in full when written; the company's phrases may have grown since, so
        they are looked for again. Read once a run."""
        if playbook_id not in self._held:
            kept: set[tuple[str, str]] = set()
            for (o, c), (t, b) in _texts(session, playbook_id).items():
                if not self.claimed(t, b):
                    kept.add((o, c))
                    self.playbooks.add(file_name(f"p{playbook_id}.{o}", c), source_of(c, t, b))
            self._held[playbook_id] = kept
        return self._held[playbook_id]

    def _render(self, session: Session, touch: Touch, channel: str,
                context: Mapping[str, Any]) -> Rendered:
        playbook_id = self.playbook_of(session, touch)
        if playbook_id is not None and (touch.occasion, channel) in self.held(session,
                                                                               playbook_id):
            name = f"p{playbook_id}.{touch.occasion}"
            try:
                return Rendered(getattr(self.playbooks, channel)(name, context), playbook_id)
            except PatronageError:
                pass  # it no longer fits (it fails to render): the company's
        return Rendered(getattr(self.company, channel)(touch.template, context), None)

    def email(self, session: Session, touch: Touch, context: Mapping[str, Any]) -> EmailContent:
        """The email, or :class:`ForbiddenPhrase` when its text makes a forbidden claim."""
        done = self._render(session, touch, "email", context)
        content: EmailContent = done.content
        self._check({"subject": content.subject, "text": content.text})
        return content

    def card(self, session: Session, touch: Touch, context: Mapping[str, Any]) -> CardContent:
        done = self._render(session, touch, "card", context)
        content: CardContent = done.content
        self._check({"front": content.front, "inside": content.inside})
        return content

    def task(self, session: Session, touch: Touch, context: Mapping[str, Any]) -> str | None:
        """The task's line by the playbook's template (None: the playbook has none that fits,
        or its line makes a forbidden claim; the company's is used)."""
        playbook_id = self.playbook_of(session, touch)
        if playbook_id is None or (touch.occasion, "task") not in self.held(session,
                                                                            playbook_id):
            return None
        try:
            line = self.playbooks.task(f"p{playbook_id}.{touch.occasion}", context)
        except PatronageError:
            return None
        return None if self.claimed(line) else line

    def _check(self, texts: Mapping[str, str]) -> None:
        if not self.claimed(*texts.values()):
            return
        reason = forbidden_in(texts, self.claims)
        if reason is not None:
            raise ForbiddenPhrase(reason)


class ForbiddenPhrase(PatronageError):
    """Rendered text that makes a claim the company forbids: the touch is dropped."""

    code = "forbidden_claim"
