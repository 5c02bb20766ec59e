"""What API routes receive: the unit of work, the caller, the time, the settings.

- :data:`SessionDep`: one transaction per request, committed before the response is sent (so a
  client that is told "created" can rely on it), rolled back whole on any error;
- :data:`PrincipalDep`: the caller, from a bearer token (an integration) or from the web
  session cookie (a signed-in staff member, distributor or customer). A request from a cookie
  that changes something must also send the session's CSRF token (``X-CSRF-Token``);
- :func:`scope`: a dependency that refuses (403) a caller without the named scope.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from patronage.access import Forbidden, Principal, require_scope
from patronage.api.tokens import Unauthenticated, authenticate
from patronage.clock import Clock, SystemClock
from patronage.config import Settings, get_settings
from patronage.db.engine import session_factory, transaction
from patronage.signin.cookie import CSRF_HEADER, csrf_matches, principal_from_request

__all__ = ["CompanyZoneDep", "EngineDep", "NowDep", "Principal", "PrincipalDep", "SessionDep",
           "SettingsDep", "scope"]

_SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


# The dependencies that only read the app's state are coroutines: FastAPI runs a plain
# function in the thread pool, and a hand-over to a thread and back costs more than they do.


async def get_engine(request: Request) -> Engine:
    engine = getattr(request.app.state, "engine", None)
    if not isinstance(engine, Engine):
        raise RuntimeError("the app has no database engine (build it with create_app)")
    return engine


def _settings(request: Request) -> Settings:
    settings = getattr(request.app.state, "settings", None)
    return settings if isinstance(settings, Settings) else get_settings()


async def get_settings_of(request: Request) -> Settings:
    return _settings(request)


async def get_company_zone(request: Request) -> str:
    """The name of the company's time zone (``settings.company_timezone``)."""
    return _settings(request).company_timezone


async def get_now(request: Request) -> datetime:
    clock: Clock = getattr(request.app.state, "clock", None) or SystemClock()
    return clock.now()


_WRITE_LOCKS: dict[int, threading.Lock] = {}


def _write_lock(engine: Engine) -> threading.Lock:
    return _WRITE_LOCKS.setdefault(id(engine), threading.Lock())


def get_session(request: Request,
                engine: Annotated[Engine, Depends(get_engine)]) -> Iterator[Session]:
    # SQLite has one writer at a time, and a transaction that has read and then wants to write
    # is refused outright (not queued) when another writer committed meanwhile. Changes through
    # one app therefore take turns on SQLite; PostgreSQL runs them side by side.
    if engine.dialect.name == "sqlite" and request.method not in _SAFE_METHODS:
        with _write_lock(engine), transaction(engine) as session:
            yield session
        return
    with transaction(engine) as session:
        yield session


EngineDep = Annotated[Engine, Depends(get_engine)]
SettingsDep = Annotated[Settings, Depends(get_settings_of)]
CompanyZoneDep = Annotated[str, Depends(get_company_zone)]
NowDep = Annotated[datetime, Depends(get_now)]
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header is None:
        return None
    kind, _, value = header.partition(" ")
    if kind.lower() != "bearer" or not value.strip():
        raise Unauthenticated("the Authorization header must read 'Bearer <token>'")
    return value.strip()


def _from_cookie(request: Request, engine: Engine) -> Principal | None:
    with session_factory(engine)() as session:
        principal = principal_from_request(request, session)
    if (principal is not None and request.method not in _SAFE_METHODS
            and not csrf_matches(request, request.headers.get(CSRF_HEADER))):
        raise Forbidden("a change made with a session cookie needs the session's CSRF token "
                        "in the X-CSRF-Token header")
    return principal


def get_principal(request: Request, engine: EngineDep, now: NowDep) -> Principal:
    """The caller; 401 without valid credentials."""
    token = _bearer(request)
    if token is not None:
        return authenticate(engine, token, now=now)
    principal = _from_cookie(request, engine)
    if principal is None:
        raise Unauthenticated("sign in, or send an API token as 'Authorization: Bearer <token>'")
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def scope(name: str) -> Any:
    """A route dependency: the caller must hold scope ``name`` (403 otherwise)."""

    async def check(principal: PrincipalDep) -> None:
        require_scope(principal, name)

    check.__name__ = f"scope_{name.replace(':', '_')}"
    return Depends(check)
