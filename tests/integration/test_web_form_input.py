"""Bad text in every field of every form of the pages: a NUL character, or one character more
than the field holds, is answered 400 with a message naming the field, and nothing is written;
exactly the limit is taken. The forms are read from the pages themselves, so a new field is
covered. On SQLite and PostgreSQL (the limits are the column lengths, the same on both)."""

from __future__ import annotations

import html
from html.parser import HTMLParser
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, text

from patronage.db.engine import transaction
from patronage.db.schema import metadata
from patronage.db.tables import Member
from patronage.web.forms import DEFAULT_LIMIT, FIELD_LIMITS
from tests.e2e.world import EMAILS, World, app_for, csrf_of, seed, sign_in

pytestmark = pytest.mark.storage


class Forms(HTMLParser):
    """Every form of a page: its method, action and fields with their first value."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append({"method": a.get("method", "get").lower(),
                               "action": a.get("action", ""), "fields": {},
                               "multipart": "multipart" in a.get("enctype", "")})
        elif not self.forms:
            return
        elif tag in ("input", "textarea") and a.get("name") and a.get("type") != "file":
            self.forms[-1]["fields"].setdefault(a["name"], a.get("value", ""))
        elif tag == "select" and a.get("name"):
            self._select = a["name"]
            self.forms[-1]["fields"].setdefault(a["name"], "")
        elif tag == "option" and self._select and not self.forms[-1]["fields"][self._select]:
            self.forms[-1]["fields"][self._select] = a.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None


#: Who opens which pages; every form on them is tried.
PAGES: dict[str, list[str]] = {
    "anonymous": ["/login", "/password/forgot", "/p/{preferences}", "/s/{survey}",
                  "/t/{testimonial}", "/u/{unsubscribe}"],
    "customer": ["/me", "/account"],
    "distributor": ["/today", "/customers/{cory}", "/customers", "/team", "/business"],
    "staff": ["/company", "/company/members", "/company/orders", "/company/audit",
              "/company/runs", "/company/runs/preview?period=2026-09", "/company/imports"],
}


def _page(path: str, w: World) -> str:
    return path.format(cory=w.cory, **{p: w.token(p) for p in (
        "preferences", "survey", "testimonial", "unsubscribe")})


def _snapshot(engine: Engine) -> dict[str, list[Any]]:
    """Every row of every table but the sign-in sessions (which note when they were used)."""
    out = {}
    with engine.connect() as conn:
        for table in metadata().sorted_tables:
            if "session" in table.name:
                continue
            rows = conn.execute(table.select()).all()
            out[table.name] = sorted(map(repr, rows))
    return out


def _client(engine: Engine, role: str) -> TestClient:
    client = TestClient(app_for(engine))
    if role != "anonymous":
        assert sign_in(client, EMAILS[role]).status_code == 303
    return client


@pytest.mark.parametrize("role", list(PAGES))
def test_every_form_field_refuses_nul_and_overlong_text(engine: Engine, role: str) -> None:
    w = seed(engine)
    client = _client(engine, role)
    forms = []
    for path in PAGES[role]:
        page = client.get(_page(path, w))
        assert page.status_code == 200, (path, page.text[:500])
        parser = Forms()
        parser.feed(page.text)
        forms += [(path, f) for f in parser.forms if f["action"] != "/logout"]
    csrf = csrf_of(client.get(_page(PAGES[role][0], w)).text)
    before = _snapshot(engine)
    tried, problems = 0, []
    for path, form in forms:
        for name in form["fields"]:
            limit = FIELD_LIMITS.get(name, DEFAULT_LIMIT)
            for bad, says in (("a\x00b", "contains a NUL character"),
                              ("x" * (limit + 1), f"at most {limit:,} characters")):
                data = {**form["fields"], name: bad}
                if name != "csrf_token":
                    data["csrf_token"] = csrf
                if form["method"] == "get":
                    r = client.get(form["action"], params=data, follow_redirects=False)
                elif form["multipart"]:
                    r = client.post(form["action"], data=data, files={"x": ("", b"")},
                                    follow_redirects=False)
                else:
                    r = client.post(form["action"], data=data, follow_redirects=False)
                tried += 1
                label = name.replace("_", " ").capitalize()
                shown = html.unescape(r.text)
                if r.status_code != 400 or f"{label}: {says}" not in shown:
                    problems.append(f"{path} {form['action']} {name}: {r.status_code} "
                                    f"{shown[:300]!r}")
    assert problems == []
    assert tried >= {"anonymous": 14, "customer": 40, "distributor": 8, "staff": 12}[role]
    assert _snapshot(engine) == before  # nothing written


def test_a_field_takes_exactly_its_column_length(engine: Engine) -> None:
    """The profile's longest address, city and postal code are stored whole on both
    databases; one more character is refused before anything is written."""
    w = seed(engine)
    client = _client(engine, "customer")
    csrf = csrf_of(client.get("/me").text)
    limits = {f: FIELD_LIMITS[f] for f in ("address_line1", "city", "region", "postal_code")}
    assert limits == {"address_line1": 200, "city": 100, "region": 100, "postal_code": 20}
    # Hong Kong has neither subdivisions in ISO 3166-2 nor postal codes: any text fits.
    full = {f: "é" * n for f, n in limits.items()} | {"country": "HK"}
    r = client.post("/me/profile", data={"csrf_token": csrf, **full}, follow_redirects=False)
    assert r.status_code == 303, r.text
    with transaction(engine) as s:
        member = s.scalars(select(Member).where(Member.id == w.cory)).one()
        assert (member.address_line1, member.city, member.postal_code) == (
            full["address_line1"], full["city"], full["postal_code"])
    r = client.post("/me/profile", data={"csrf_token": csrf, **full, "city": "é" * 101})
    assert r.status_code == 400
    assert "City: at most 100 characters (this has 101)" in html.unescape(r.text)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT city FROM members WHERE id = :m"),
                            {"m": w.cory}).scalar_one() == "é" * 100


def test_query_parameters_of_listings_are_checked_too(engine: Engine) -> None:
    seed(engine)
    staff = _client(engine, "staff")
    for url in ("/company/members?q=a%00b", "/company/audit?action=" + "x" * 201):
        r = staff.get(url)
        assert r.status_code == 400, (url, r.text[:300])
