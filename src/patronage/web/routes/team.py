"""My team: the genealogy printout by level as of a period, and its CSV export."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse
from sqlalchemy import select

from patronage.bounds import PageNumber
from patronage.clock import Period
from patronage.csv_cells import safe_row
from patronage.db.engine import transaction
from patronage.db.tables import Member
from patronage.web.deps import Distributor, company_zone, engine_of, now_of, page_errors
from patronage.web.templating import render
from patronage.web.views.business import committed_runs
from patronage.web.views.team import team_csv_rows, team_level
from patronage.web.views.team_help import team_tree, who_needs_help

router = APIRouter()

CSV_COLUMNS = ["level", "member", "name", "sponsor", "joined", "paid_as", "pv", "gv",
               "customers"]


def _until(request: Request, period: str | None) -> tuple[str | None, datetime | None]:
    if not period:
        return None, None
    with page_errors():
        p = Period.parse(period)
    return str(p), p.end(company_zone(request))


@router.get("/team", response_class=HTMLResponse)
def team(request: Request, me: Distributor, level: PageNumber = 1, page: PageNumber = 1,
         period: str | None = None, q: str = "") -> Response:
    assert me.member_id is not None
    chosen, until = _until(request, period)
    with transaction(engine_of(request)) as session:
        listing = team_level(session, me.member_id, level=level, page=page, period=chosen,
                             until=until)
        periods = [r.period for r in committed_runs(session, 24)]
        sponsors = dict(session.execute(
            select(Member.id, Member.first_name + " " + Member.last_name).where(
                Member.id.in_({r.sponsor_id for r in listing.rows if r.sponsor_id}))).all())
        help_ = who_needs_help(session, me.member_id, now_of(request), company_zone(request))
        tree, cut = team_tree(session, me.member_id, query=q)
    return render(request, "team.html", me, title="My team", listing=listing, periods=periods,
                  sponsors={k: str(v).strip() for k, v in sponsors.items()}, help=help_,
                  tree=tree, cut=cut, q=q)


@router.get("/team.csv")
def team_csv(request: Request, me: Distributor, period: str | None = None) -> Response:
    assert me.member_id is not None
    chosen, until = _until(request, period)
    engine, root = engine_of(request), me.member_id

    def rows() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(CSV_COLUMNS)
        with transaction(engine) as session:
            for r in team_csv_rows(session, root, period=chosen,
                                   until=until):
                writer.writerow(safe_row([r.level, r.id, r.name, r.sponsor_id or "",
                                          r.joined_at.date().isoformat(), r.paid_as,
                                          f"{r.pv / 100:.2f}", f"{r.gv / 100:.2f}",
                                          r.customers]))
                if buffer.tell() > 16_384:
                    yield buffer.getvalue()
                    buffer.seek(0)
                    buffer.truncate()
        yield buffer.getvalue()

    name = f"team-{root}-{chosen or 'latest'}.csv"
    return StreamingResponse(rows(), media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": f'attachment; filename="{name}"'})
