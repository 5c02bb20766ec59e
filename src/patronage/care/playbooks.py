"""Team playbooks, stored: a leader writes one (rules, and templates of its own:
:mod:`patronage.care.playbook_templates`) and shares it with their downline, a distributor
adopts one in a tap (they get their own copy, which they may tweak), and a leader's later
changes are offered to those who adopted, never forced. The tick plans each member by the
playbook their owner adopted (:func:`load_playbooks`; see :mod:`patronage.care.core.playbooks`).

Who may adopt what: a playbook shared by someone in the distributor's upline (their sponsor,
their sponsor's sponsor...), or by the company (a playbook without an author).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from patronage.arrays import I64, index_of
from patronage.care.core.playbooks import Playbooks, combine, parse_playbook, rules_data
from patronage.care.core.rules import Rule, Rules
from patronage.care.playbook_templates import copy_templates, same_templates
from patronage.db.care_playbooks import Adoption, Playbook
from patronage.db.tables import Member
from patronage.errors import NotFound, PatronageError

NAME_MAX = 100


def encode(rules: Sequence[Rule]) -> str:
    return json.dumps(rules_data(rules), sort_keys=True, separators=(",", ":"))


def decode(company: Rules, playbook: Playbook) -> tuple[Rule, ...]:
    """A stored playbook's rules, checked against the company's rules as they are now."""
    return parse_playbook(company, json.loads(playbook.rules), f"playbook {playbook.id}")


def upline(session: Session, member_id: int) -> list[int]:
    """The member's sponsors, nearest first."""
    out: list[int] = []
    seen = {member_id}
    at = session.scalar(select(Member.sponsor_id).where(Member.id == member_id))
    while at is not None and at not in seen:
        out.append(at)
        seen.add(at)
        at = session.scalar(select(Member.sponsor_id).where(Member.id == at))
    return out


def _distributor(session: Session, member_id: int) -> Member:
    member = session.get(Member, member_id)
    if member is None:
        raise NotFound(f"member {member_id}: no such member")
    if member.kind != "distributor":
        raise PatronageError(f"member {member_id}: only distributors keep a playbook")
    return member


def _name(name: str) -> str:
    name = " ".join(name.split())
    if not name or len(name) > NAME_MAX:
        raise PatronageError(f"a playbook's name is 1 to {NAME_MAX} characters")
    return name


def write_playbook(session: Session, company: Rules, author_id: int | None, name: str,
                   rules: Sequence[Rule] | object, now: datetime, *,
                   playbook_id: int | None = None, source: str = "playbook") -> Playbook:
    """Write a new playbook (``playbook_id`` None) or change one the author wrote; the rules
    are checked against the company's bounds (:func:`parse_playbook`); a change of rules makes
    a new version, offered to whoever adopted it."""
    if author_id is not None:
        _distributor(session, author_id)
    data = rules_data(rules) if isinstance(rules, tuple | list) and all(
        isinstance(r, Rule) for r in rules) else rules
    checked = parse_playbook(company, data, source, others=_keys(session, playbook_id))
    text = encode(checked)
    if playbook_id is None:
        book = Playbook(author_id=author_id, name=_name(name), rules=text, version=1,
                        shared=False, created_at=now, updated_at=now)
        session.add(book)
        session.flush()
        return book
    book = _own(session, author_id, playbook_id)
    book.name = _name(name)
    if text != book.rules:
        book.rules, book.version, book.updated_at = text, book.version + 1, now
    return book


def _keys(session: Session, leave_out: int | None) -> dict[str, tuple[str, str]]:
    """The (occasion, channel) of every rule key used in the company's playbooks."""
    out: dict[str, tuple[str, str]] = {}
    for pid, text in session.execute(select(Playbook.id, Playbook.rules)):
        if pid == leave_out:
            continue
        for r in json.loads(text):
            out.setdefault(r["key"], (r["occasion"], r["channel"]))
    return out


def _own(session: Session, author_id: int | None, playbook_id: int) -> Playbook:
    book = session.get(Playbook, playbook_id)
    if book is None or book.author_id != author_id:
        raise NotFound(f"playbook {playbook_id}: no such playbook of yours")
    return book


def share(session: Session, author_id: int | None, playbook_id: int, shared: bool = True
          ) -> Playbook:
    """Share a playbook with the author's downline (the company's: with everyone), or stop."""
    book = _own(session, author_id, playbook_id)
    book.shared = shared
    return book


def offered(session: Session, member_id: int) -> list[Playbook]:
    """The playbooks a distributor may adopt: shared by their upline, nearest first, then the
    company's."""
    chain = upline(session, member_id)
    rank = {m: i for i, m in enumerate(chain)}
    books = list(session.scalars(select(Playbook).where(
        Playbook.shared.is_(True),
        (Playbook.author_id.in_(chain) if chain else Playbook.author_id.is_(None))
        | Playbook.author_id.is_(None))))
    return sorted(books, key=lambda b: (rank.get(b.author_id or 0, len(chain)), b.id))


def adopted(session: Session, member_id: int) -> Playbook | None:
    row = session.get(Adoption, member_id)
    return session.get(Playbook, row.playbook_id) if row else None


def adopt(session: Session, member_id: int, playbook_id: int, now: datetime) -> Playbook:
    """Adopt a playbook: the distributor's own playbook is followed as it is; a shared one is
    copied (their copy, which they may tweak), the copy remembering its source and version."""
    me = _distributor(session, member_id)
    source = session.get(Playbook, playbook_id)
    if source is None:
        raise NotFound(f"playbook {playbook_id}: no such playbook")
    if source.author_id == member_id:
        book = source
    else:
        if source not in offered(session, member_id):
            raise NotFound(f"playbook {playbook_id}: not shared with member {member_id}")
        book = Playbook(author_id=me.id, name=source.name, rules=source.rules, version=1,
                        shared=False, based_on_id=source.id, based_on_version=source.version,
                        created_at=now, updated_at=now)
        session.add(book)
        session.flush()
        copy_templates(session, source.id, book.id, now)
    row = session.get(Adoption, member_id)
    if row is None:
        session.add(Adoption(member_id=member_id, playbook_id=book.id, adopted_at=now))
    else:
        row.playbook_id, row.adopted_at = book.id, now
    return book


def leave(session: Session, member_id: int) -> None:
    """Follow the company's rules again."""
    row = session.get(Adoption, member_id)
    if row is not None:
        session.delete(row)


@dataclass(frozen=True)
class Update:
    """A newer version of the playbook a distributor's copy came from."""

    source: Playbook
    copy: Playbook


def update_offered(session: Session, member_id: int) -> Update | None:
    copy = adopted(session, member_id)
    if copy is None or copy.based_on_id is None:
        return None
    source = session.get(Playbook, copy.based_on_id)
    if source is None or source.version <= (copy.based_on_version or 0):
        return None
    return Update(source, copy)


def answer_update(session: Session, member_id: int, take: bool, now: datetime) -> Playbook:
    """Take the leader's new version (the copy's rules and templates become theirs) or keep
    one's own (the offer is not made again for this version)."""
    update = update_offered(session, member_id)
    if update is None:
        raise PatronageError(f"member {member_id}: no playbook update is offered")
    copy, source = update.copy, update.source
    if take and (copy.rules != source.rules or not same_templates(session, copy.id, source.id)):
        copy.rules, copy.version, copy.updated_at = source.rules, copy.version + 1, now
        copy_templates(session, source.id, copy.id, now)
    copy.based_on_version = source.version
    return copy


@dataclass(frozen=True)
class Adopted:
    """The playbooks adopted in a company: their distinct rules with the company's
    (``rules``), which playbook holds which (``holds``), and who adopted which."""

    rules: Rules
    holds: np.ndarray
    member_id: I64
    playbook: I64

    def for_members(self, ids: I64) -> Playbooks:
        """As the planner takes them, for a tick over members ``ids``."""
        adopted_by = np.zeros(ids.shape[0], dtype=np.int64)
        at = index_of(ids, self.member_id)
        adopted_by[at[at >= 0]] = self.playbook[at >= 0]
        return Playbooks(self.rules, self.holds, adopted_by)


_DECODER = json.JSONDecoder()


def _rules_of(parsed: dict[str, Rule], text: str) -> tuple[Rule, ...]:
    """A stored playbook's rules, each rule's text read once for all the playbooks (copies and
    tweaks share most of their rules' texts)."""
    out: list[Rule] = []
    at, end = text.index("[") + 1, len(text)
    while True:
        while at < end and text[at] in " \t\r\n,":
            at += 1
        if at >= end or text[at] == "]":
            return tuple(out)
        data, after = _DECODER.raw_decode(text, at)
        key = text[at:after]
        if key not in parsed:
            parsed[key] = Rule.model_validate(data)
        out.append(parsed[key])
        at = after


def load_playbooks(conn: Connection, company: Rules) -> Adopted | None:
    """The playbooks adopted in the company (None: nobody adopted one, everyone follows the
    company's rules). Copies with the same rules are read once. A playbook that no longer fits
    the company's rules (the company gave a rule key another occasion since) is followed as
    the company's rules."""
    rows = conn.execute(select(Adoption.member_id, Adoption.playbook_id)).all()
    if not rows:
        return None
    # each adopted playbook's text once (not once per adopter: a text is a few kilobytes)
    text_of = dict(conn.execute(select(Playbook.id, Playbook.rules).where(
        Playbook.id.in_(select(Adoption.playbook_id).distinct()))).all())
    texts: dict[str, int] = {}
    sets: list[tuple[Rule, ...]] = []
    known = {r.key: (r.occasion, r.channel) for r in company.rules}
    parsed: dict[str, Rule] = {}  # copies share their rules: each is read once
    group_of: dict[int, int] = {}
    for playbook_id, text in text_of.items():
        if text not in texts:
            try:
                book = _rules_of(parsed, text)
                fits = all(known.get(r.key, (r.occasion, r.channel)) == (r.occasion, r.channel)
                           and all(h in company.holidays for h in r.holidays) for r in book)
            except (ValueError, TypeError, KeyError):
                fits = False
            if fits:
                sets.append(book)
            texts[text] = len(sets) if fits else 0
        group_of[playbook_id] = texts[text]
    group = np.fromiter((group_of[p] for _, p in rows), dtype=np.int64, count=len(rows))
    union, holds = combine(company, sets)
    return Adopted(union, holds, np.array([r[0] for r in rows], dtype=np.int64), group)
