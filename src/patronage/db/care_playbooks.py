"""Care playbooks: sets of care rules a leader (or the company) writes and shares with their
downline, and which playbook each distributor adopted (see :mod:`patronage.care.playbooks`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from patronage.db.base import Base, UTCDateTime


class Playbook(Base):
    """One playbook: its rules (JSON, a list of rule tables, checked when written), written by
    ``author_id`` (none: the company). ``version`` grows with each change of the rules. A copy
    adopted from another playbook names it (``based_on_id``) and the version it took."""

    __tablename__ = "care_playbooks"
    __table_args__ = (
        Index("ix_care_playbooks_author", "author_id"),
        Index("ix_care_playbooks_based_on", "based_on_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    name: Mapped[str] = mapped_column(String(100))
    rules: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1)
    shared: Mapped[bool] = mapped_column(Boolean, default=False)
    based_on_id: Mapped[int | None] = mapped_column(ForeignKey("care_playbooks.id"))
    based_on_version: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PlaybookTemplate(Base):
    """A playbook's own wording for one (occasion, channel): ``title`` is an email's subject or
    a card's front greeting (none for a task), ``body`` an email's text, a card's inside or a
    task's line; both are sandboxed templates, checked when written (see
    :mod:`patronage.care.playbook_templates`)."""

    __tablename__ = "care_playbook_templates"
    __table_args__ = (
        UniqueConstraint("playbook_id", "occasion", "channel",
                         name="uq_care_playbook_templates_place"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    playbook_id: Mapped[int] = mapped_column(ForeignKey("care_playbooks.id"))
    occasion: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(10))
    title: Mapped[str | None] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Adoption(Base):
    """The playbook a distributor follows for the people they serve."""

    __tablename__ = "care_playbook_adoptions"

    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), primary_key=True,
                                           autoincrement=False)
    playbook_id: Mapped[int] = mapped_column(ForeignKey("care_playbooks.id"))
    adopted_at: Mapped[datetime] = mapped_column(UTCDateTime)
