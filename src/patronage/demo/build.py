"""The demo company: the synthetic company plus the steps that bring it to life."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine

from patronage.demo.company import CompanySummary, build_company


def build_demo(engine: Engine, *, seed: int, members: int, months: int,
               now: datetime) -> CompanySummary:
    """Members, tree, customers, orders, refunds and consents over ``months`` up to ``now``."""
    return build_company(engine, seed=seed, members=members, months=months, now=now,
                         history=True, personal=True)


def serve_demo(engine: Engine) -> None:
    """Serve the back office on the demo company, where the web back office is installed."""
    from patronage.cli.common import console

    console.print("The web back office is not part of this build yet; the company is ready "
                  "for the command line (patronage --help).")
