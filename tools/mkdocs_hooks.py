"""MkDocs hooks: pages written at build time from the product itself.

- ``api/operations.md``: every REST operation and schema, rendered from the OpenAPI document of
  the app (``patronage.server.create_app``), and ``api/openapi.json``, the document itself;
- ``contributing.md``: the repository's ``CONTRIBUTING.md``, its links made relative to docs/.

Nothing is fetched from the network; the app is built on an in-memory SQLite database.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parents[1]
METHODS = ("get", "post", "put", "patch", "delete")


def openapi_document() -> dict[str, Any]:
    """The OpenAPI document the server publishes at ``/openapi.json``."""
    if str(ROOT / "src") not in sys.path:
        sys.path.insert(0, str(ROOT / "src"))
    from patronage.config import Settings
    from patronage.db.engine import make_engine
    from patronage.server import create_app

    settings = Settings(database_url="sqlite://", demo_mode=True, company_name="Your company")
    app = create_app(settings=settings, engine=make_engine("sqlite://"), migrate=False)
    return app.openapi()


def _anchor(name: str) -> str:
    return "schema-" + re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def _type(schema: dict[str, Any]) -> str:
    """A schema as a short Markdown phrase: `integer`, [MemberOut](#...), list of ..."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return f"[{name}](#{_anchor(name)})"
    if "anyOf" in schema or "oneOf" in schema:
        options = schema.get("anyOf") or schema.get("oneOf") or []
        parts = [_type(s) for s in options if s.get("type") != "null"]
        text = " or ".join(parts) or "null"
        return text + (" or null" if any(s.get("type") == "null" for s in options) else "")
    if "allOf" in schema and len(schema["allOf"]) == 1:
        return _type(schema["allOf"][0])
    if "enum" in schema:
        return " \\| ".join(f"`{v}`" for v in schema["enum"])
    if "const" in schema:
        return f"`{schema['const']}`"
    kind = schema.get("type", "any")
    if kind == "array":
        return "list of " + _type(schema.get("items", {}))
    if kind == "object" and "additionalProperties" in schema:
        extra = schema["additionalProperties"]
        return "map of " + (_type(extra) if isinstance(extra, dict) else "any")
    fmt = schema.get("format")
    return f"`{kind}`" + (f" ({fmt})" if fmt else "")


def _number(value: Any) -> str:
    """1.0 as 1, 0.5 as 0.5."""
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def _limits(schema: dict[str, Any]) -> str:
    """The bounds a value must keep: 1 ≤ n ≤ 500, at most 100 characters, a pattern."""
    found: list[str] = []
    for option in [schema, *schema.get("anyOf", [])]:
        low, high = option.get("minimum"), option.get("maximum")
        if low is not None and high is not None:
            found.append(f"{_number(low)} ≤ n ≤ {_number(high)}")
        elif low is not None:
            found.append(f"n ≥ {_number(low)}")
        elif high is not None:
            found.append(f"n ≤ {_number(high)}")
        if "exclusiveMinimum" in option:
            found.append(f"n > {_number(option['exclusiveMinimum'])}")
        if option.get("minLength") == 1:
            found.append("not empty")
        elif "minLength" in option:
            found.append(f"at least {option['minLength']} characters")
        if "maxLength" in option:
            found.append(f"at most {option['maxLength']} characters")
        if "pattern" in option:
            found.append(f"pattern `{option['pattern']}`")
        if "maxItems" in option:
            found.append(f"at most {option['maxItems']} items")
    if "default" in schema and schema["default"] is not None:
        found.append(f"default `{json.dumps(schema['default'])}`")
    return "; ".join(found)


def _cell(text: str) -> str:
    return " ".join(text.replace("|", "\\|").split())


def _operation(path: str, method: str, op: dict[str, Any]) -> list[str]:
    out = [f"### `{method.upper()} {path}`", ""]
    if op.get("summary"):
        out += [f"**{op['summary']}**", ""]
    if op.get("description"):
        out += [op["description"].strip(), ""]
    params = op.get("parameters", [])
    if params:
        out += ["| parameter | in | type | required | limits | description |",
                "|---|---|---|---|---|---|"]
        for p in params:
            schema = p.get("schema", {})
            out.append(f"| `{p['name']}` | {p['in']} | {_type(schema)} | "
                       f"{'yes' if p.get('required') else 'no'} | {_cell(_limits(schema))} | "
                       f"{_cell(p.get('description', schema.get('description', '')))} |")
        out.append("")
    body = op.get("requestBody")
    if body:
        for media, content in body.get("content", {}).items():
            out += [f"Body ({media}): {_type(content.get('schema', {}))}"
                    + (" (required)" if body.get("required") else ""), ""]
    responses = op.get("responses", {})
    if responses:
        out += ["| answer | meaning | body |", "|---|---|---|"]
        for code, answer in sorted(responses.items()):
            bodies = ", ".join(f"{_type(c.get('schema', {}))} ({m})"
                               for m, c in answer.get("content", {}).items())
            out.append(f"| {code} | {_cell(answer.get('description', ''))} | {bodies} |")
        out.append("")
    return out


def _schema(name: str, schema: dict[str, Any]) -> list[str]:
    out = [f'### {name} {{ #{_anchor(name)} }}', ""]
    if schema.get("description"):
        out += [schema["description"].strip(), ""]
    props = schema.get("properties", {})
    if not props:
        out += [f"Type: {_type(schema)}", ""]
        return out
    required = set(schema.get("required", []))
    out += ["| field | type | required | limits | description |", "|---|---|---|---|---|"]
    for field, prop in props.items():
        out.append(f"| `{field}` | {_type(prop)} | {'yes' if field in required else 'no'} | "
                   f"{_cell(_limits(prop))} | {_cell(prop.get('description', ''))} |")
    out.append("")
    return out


def operations_page(doc: dict[str, Any]) -> str:
    """Every operation, grouped by tag in the order they first appear, then every schema."""
    groups: dict[str, list[tuple[str, str, dict[str, Any]]]] = {}
    for path, item in doc["paths"].items():
        for method in METHODS:
            if method in item:
                op = item[method]
                groups.setdefault((op.get("tags") or ["other"])[0], []).append((path, method, op))
    count = sum(len(ops) for ops in groups.values())
    lines = [
        "# API operations",
        "",
        "<!-- Written at build time from the app's OpenAPI document (tools/mkdocs_hooks.py). -->",
        "",
        f"Generated from the OpenAPI document of this release ({doc['openapi']}, "
        f"{count} operations); the same document is served by `patronage serve` at "
        "`/openapi.json` (interactive at `/docs`) and is [downloadable here](openapi.json). "
        "How to call the API (credentials, scopes, pages, errors): [the API guide](index.md).",
        "",
        "Every operation accepts either credential: a bearer token "
        "(`Authorization: Bearer <token>`) or the `patronage_session` cookie of a signed-in web "
        "session (a change then also needs `X-CSRF-Token`).",
        "",
    ]
    for tag, ops in groups.items():
        lines += [f"## {tag}", ""]
        for path, method, op in ops:
            lines += _operation(path, method, op)
    lines += ["## Schemas", ""]
    for name, schema in sorted(doc.get("components", {}).get("schemas", {}).items()):
        lines += _schema(name, schema)
    return "\n".join(lines) + "\n"


def contributing_page() -> str:
    """CONTRIBUTING.md with its ``docs/`` links made relative to the documentation site."""
    text = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    return text.replace("](docs/", "](")


def on_files(files: Files, config: MkDocsConfig) -> Files:
    doc = openapi_document()
    files.append(File.generated(config, "api/operations.md", content=operations_page(doc)))
    files.append(File.generated(config, "api/openapi.json",
                                content=json.dumps(doc, indent=1, ensure_ascii=False)))
    files.append(File.generated(config, "contributing.md", content=contributing_page()))
    return files
