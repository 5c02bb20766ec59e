"""Throughput of the care outbox for texts: Twilio's Messages API shape on a local server.

    .venv/bin/python benchmarks/care_texts.py --touches 300

For each database (a scratch SQLite file and a scratch PostgreSQL database) enrols ``--touches``
customers with consent to texts, plans one birthday text for each, then times ``deliver_texts``
through the Twilio adapter against a local HTTP server answering as Twilio does (201 and a
message sid). In the same run, the same number of ready-made form posts go to the same server
over one ``httpx`` client: the reference for what the outbox adds (consent and suppression
checks, rendering, the claim before the request and the record after).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
from scratch import scratch_database  # benchmarks/scratch.py, beside this script

from patronage.care.channels.sms import TwilioSender
from patronage.care.dispatch import deliver_texts
from patronage.config import Settings
from patronage.db.care import Touch
from patronage.db.engine import make_engine, transaction
from patronage.db.schema import upgrade
from patronage.network.members import NewMember, enroll_member

NOW = datetime(2026, 10, 20, 15, tzinfo=UTC)
SID = "AC" + "0" * 32


def serve() -> tuple[ThreadingHTTPServer, str]:
    ids = itertools.count(1)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            data = json.dumps({"sid": f"SM{next(ids):032x}", "status": "queued"}).encode()
            self.send_response(201)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def plan(url: str, n: int) -> Any:
    engine = make_engine(url)
    upgrade(engine)
    with transaction(engine) as s:
        owner = enroll_member(s, NewMember(kind="distributor", first_name="Dana",
                                           joined_at=NOW)).id
        for i in range(n):
            member = enroll_member(s, NewMember(
                kind="preferred", first_name=f"C{i}", owner_id=owner, joined_at=NOW,
                phone=f"+1312555{i:04d}", consents={"sms": True})).id
            s.add(Touch(member_id=member, owner_id=owner, rule_key="bench_sms",
                        occasion="birthday", occasion_key="2026", channel="sms",
                        template="birthday", priority=0, status="planned", due_at=NOW,
                        created_at=NOW, summary=""))
    return engine


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--touches", type=int, default=300)
    args = parser.parse_args()
    n = args.touches
    server, base = serve()
    settings = Settings(secret_key="benchmark-secret-key")
    print(f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}", flush=True)
    try:
        for kind in ("sqlite", "postgresql"):
            with scratch_database(kind) as url:
                engine = plan(url, n)
                sender = TwilioSender(account_sid=SID, auth_token="token", from_number="+1312",
                                      base_url=base)
                t0 = time.perf_counter()
                report = deliver_texts(engine, NOW, settings=settings, sender=sender)
                t1 = time.perf_counter()
                sender.close()
                engine.dispose()
                with httpx.Client() as client:
                    for i in range(n):
                        client.post(f"{base}/2010-04-01/Accounts/{SID}/Messages.json",
                                    data={"To": f"+1312555{i:04d}", "From": "+1312",
                                          "Body": "Happy birthday! Reply STOP to stop."},
                                    auth=(SID, "token"))
                t2 = time.perf_counter()
                sent = len(report.sent)
                print(f"{kind:10s} {sent} texts in {t1 - t0:.2f}s ({sent / (t1 - t0):.0f}/s); "
                      f"plain httpx, as many posts: {t2 - t1:.2f}s "
                      f"(outbox ×{(t1 - t0) / (t2 - t1):.1f})", flush=True)
    finally:
        server.shutdown()
    print(f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}", flush=True)


if __name__ == "__main__":
    main()
