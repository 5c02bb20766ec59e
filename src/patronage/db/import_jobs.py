"""Import jobs: a staff upload checked or imported in the background, its progress and outcome.

``running`` is 1 while a job runs and NULL after: its unique constraint lets one import run at a
time (NULLs never collide). ``problems`` holds the problems found (JSON ``[[place, reason]]``).
While it runs, ``step`` and ``rows`` say how far it got and ``heartbeat_at`` when it last said
so (see :mod:`patronage.web.import_jobs`).

``import_uploads`` holds each uploaded file until its job ends (a checked file until it is
imported or :data:`~patronage.web.import_jobs.KEEP_CHECKED` has passed), so that whichever
server process or machine answers the next step finds it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Integer, LargeBinary, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from patronage.db.base import Base, UTCDateTime


class ImportJob(Base):
    __tablename__ = "import_jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    filename: Mapped[str] = mapped_column(String(255))
    upload: Mapped[str] = mapped_column(String(32))
    dry_run: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[str] = mapped_column(String(16))  # running, done, failed
    running: Mapped[int | None] = mapped_column(SmallInteger, unique=True)
    rows_total: Mapped[int] = mapped_column(Integer, default=0)
    rows: Mapped[int] = mapped_column(Integer, default=0)
    step: Mapped[str] = mapped_column(String(64), default="", server_default="")
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    written: Mapped[int] = mapped_column(Integer, default=0)
    already: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    problems: Mapped[str | None] = mapped_column(Text)
    started_by: Mapped[str] = mapped_column(String(254))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ImportUpload(Base):
    __tablename__ = "import_uploads"

    #: The upload's reference: 32 random hexadecimal digits.
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    size: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
