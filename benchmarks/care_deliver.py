"""Throughput of the care outbox: emails to a local SMTP server and printed cards to a PDF batch.

    .venv/bin/python benchmarks/care_deliver.py --touches 500

For each database (a scratch SQLite file and a scratch PostgreSQL database) enrols ``--touches``
customers with consent, plans one birthday email and one card for each, then times
``deliver_emails`` against a local aiosmtpd server and ``export_cards`` into a temporary folder.
In the same run, the same number of ready-made messages go over one plain ``smtplib`` connection:
the reference for what the outbox adds (rendering, consent checks, claim before send, mark after).
"""

from __future__ import annotations

import argparse
import smtplib
import socket
import tempfile
import time
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from scratch import scratch_database  # benchmarks/scratch.py, beside this script

from patronage.care.channels.cards import export_cards
from patronage.care.deliver import deliver_emails
from patronage.config import Settings
from patronage.db.care import Touch
from patronage.db.engine import make_engine, transaction
from patronage.db.schema import upgrade
from patronage.network.members import NewMember, enroll_member

NOW = datetime(2026, 10, 20, 14, tzinfo=UTC)


class Counting:
    received = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        Counting.received += 1
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def plan(url: str, n: int) -> Any:
    engine = make_engine(url)
    upgrade(engine)
    with transaction(engine) as s:
        owner = enroll_member(s, NewMember(kind="distributor", first_name="Dana",
                                           joined_at=NOW)).id
        for i in range(n):
            member = enroll_member(s, NewMember(
                kind="preferred", first_name=f"C{i}", owner_id=owner, joined_at=NOW,
                email=f"c{i}@example.com", address_line1="1 Elm St", city="Town",
                consents={"email": True, "post": True})).id
            for channel in ("email", "card"):
                s.add(Touch(member_id=member, owner_id=owner, rule_key=f"bench_{channel}",
                            occasion="birthday", occasion_key="2026", channel=channel,
                            template="birthday", priority=0, status="planned", due_at=NOW,
                            created_at=NOW, summary=""))
    return engine


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--touches", type=int, default=500)
    args = parser.parse_args()
    n = args.touches
    port = free_port()
    controller = Controller(Counting(), hostname="127.0.0.1", port=port)
    controller.start()
    settings = Settings(smtp_port=port, secret_key="benchmark")
    try:
        for kind in ("sqlite", "postgresql"):
            with scratch_database(kind) as url, tempfile.TemporaryDirectory() as out:
                engine = plan(url, n)
                t0 = time.perf_counter()
                sent = deliver_emails(engine, NOW, settings=settings)
                t1 = time.perf_counter()
                batch = export_cards(engine, NOW, Path(out), settings=settings)
                t2 = time.perf_counter()
                engine.dispose()
                with smtplib.SMTP("127.0.0.1", port) as smtp:
                    for i in range(n):
                        msg = EmailMessage()
                        msg["From"], msg["To"], msg["Subject"] = "a@b.c", f"c{i}@example.com", "x"
                        msg.set_content("hello " * 60)
                        smtp.send_message(msg)
                t3 = time.perf_counter()
                emails, cards = len(sent.sent), len(batch.touch_ids)
                print(f"{kind:10s} {emails} emails in {t1 - t0:.2f}s ({emails / (t1 - t0):.0f}/s);"
                      f" plain smtplib, as many messages: {t3 - t2:.2f}s "
                      f"(outbox ×{(t1 - t0) / (t3 - t2):.1f}); {cards} cards, {batch.pages} pages "
                      f"in {t2 - t1:.2f}s ({cards / (t2 - t1):.0f}/s)", flush=True)
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
