"""The parts are wired by name in one place each: every table module is in the schema, every
page router is installed, every command module is in the ``patronage`` command. A module added
and not wired fails here, naming it."""

from __future__ import annotations

import importlib
import pkgutil

import typer
from fastapi import APIRouter

import patronage.cli
import patronage.db
import patronage.web.routes
from patronage.cli.main import app as cli
from patronage.db.base import Base
from patronage.db.schema import TABLE_MODULES
from patronage.web import ROUTERS


def _modules(package: object) -> list[str]:
    path = package.__path__  # type: ignore[attr-defined]
    name = package.__name__  # type: ignore[attr-defined]
    return [f"{name}.{info.name}" for info in pkgutil.iter_modules(path) if not info.ispkg]


def test_every_table_module_is_in_the_schema() -> None:
    wired = {m.__name__ for m in TABLE_MODULES}
    with_tables = set()
    for name in _modules(patronage.db):
        module = importlib.import_module(name)
        if any(getattr(obj, "__module__", None) == name and isinstance(obj, type)
               and issubclass(obj, Base) and hasattr(obj, "__table__")
               for obj in vars(module).values()):
            with_tables.add(name)
    assert with_tables - wired == set(), "add these to patronage.db.schema.TABLE_MODULES"
    assert wired <= with_tables
    tables = set(Base.metadata.tables)
    assert {"members", "orders", "accounts", "web_sessions", "api_tokens"} <= tables


def test_every_page_router_is_installed() -> None:
    for name in _modules(patronage.web.routes):
        router = getattr(importlib.import_module(name), "router", None)
        assert isinstance(router, APIRouter), f"{name} has no router"
        assert any(router is r for r in ROUTERS), f"{name}.router is not in patronage.web.ROUTERS"


def _commands(group: typer.Typer) -> set[object]:
    found: set[object] = {c.callback for c in group.registered_commands}
    for sub in group.registered_groups:
        assert sub.typer_instance is not None
        found |= _commands(sub.typer_instance)
    return found


def test_every_command_module_is_in_the_patronage_command() -> None:
    reachable = _commands(cli)
    for name in _modules(patronage.cli):
        sub = getattr(importlib.import_module(name), "app", None)
        if not isinstance(sub, typer.Typer) or sub is cli:
            continue
        missing = {c.callback.__name__ for c in sub.registered_commands
                   if c.callback is not None and c.callback not in reachable}
        assert missing == set(), f"{name}: commands not in the patronage command: {missing}"
