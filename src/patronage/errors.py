"""Errors that name the place and the reason.

Every refusal in Patronage is a :class:`PatronageError`. A :class:`Problems` error carries
several problems at once (an import with many bad rows, a plan file with several mistakes), each
naming where it is (file, line, column or key path) and what is wrong.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def N_(message: str) -> str:
    """Mark ``message`` for translation where it is shown (it is returned unchanged)."""
    return message


class Text(str):
    """A message made from a pattern marked for translation and its values: it reads as the
    English text, and a page shows it in the viewer's language
    (:func:`patronage.languages.catalogs.localized`)."""

    pattern: str
    values: dict[str, Any]

    def __new__(cls, pattern: str, values: Mapping[str, Any]) -> Text:
        text = super().__new__(cls, pattern % dict(values))
        text.pattern, text.values = pattern, dict(values)
        return text

    def __getnewargs__(self) -> tuple[str, dict[str, Any]]:  # type: ignore[override]
        return self.pattern, self.values


class PatronageError(Exception):
    """A refusal with a clear, one-line reason.

    ``values`` makes ``message`` a pattern (``%(name)s`` placeholders) marked for translation
    with ``N_``: the English text is ``message % values``, and pages show it translated."""

    code: str = "error"

    def __init__(self, message: str, *, code: str | None = None,
                 values: Mapping[str, Any] | None = None) -> None:
        if values is not None:
            message = Text(message, values)
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def __str__(self) -> str:
        return self.message


class NotFound(PatronageError):
    code = "not_found"


class IntegrityViolation(PatronageError):
    code = "integrity"


class Conflict(PatronageError):
    code = "conflict"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input: where it is and why."""

    place: str
    reason: str

    def __str__(self) -> str:
        return f"{self.place}: {self.reason}"


class Problems(PatronageError):
    """Several problems found at once; nothing was written."""

    code = "invalid"

    def __init__(self, title: str, problems: list[Problem]) -> None:
        self.title = title
        self.problems = list(problems)
        lines = "\n".join(f"  {p}" for p in self.problems)
        super().__init__(f"{title} ({len(self.problems)} problem(s)):\n{lines}")


def key_path(loc: tuple[int | str, ...]) -> str:
    """A place in a nested file as people write it: ``ranks[2].min_pv``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def validation_problems(
        errors: Iterable[Mapping[str, Any]], source: str, *,
        place: Callable[[str], str] = str,
        reason: Callable[[str, Mapping[str, Any]], str | None] = lambda loc, err: None,
) -> list[Problem]:
    """pydantic's errors (``ValidationError.errors()``) as problems at ``source: place``.

    The place is written as people write it (:func:`key_path`), then passed through ``place``
    (a file's own spelling of a field); the reason is ``reason(key path, error)`` when it words
    the error itself, else pydantic's message without its ``Value error,`` prefix."""
    out = []
    for err in errors:
        loc = key_path(tuple(err["loc"]))
        message = reason(loc, err) or str(err["msg"]).removeprefix("Value error, ")
        out.append(Problem(f"{source}: {place(loc)}", message))
    return out


def read_toml(path: Path, what: str) -> dict[str, Any]:
    """The table in a TOML file; a missing file or bad TOML is refused as ``what`` (e.g.
    "plan file") with the place."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise Problems(f"{path}: no such {what}", []) from exc
    except tomllib.TOMLDecodeError as exc:
        raise Problems(f"{path}: not valid TOML", [Problem(str(path), str(exc))]) from exc
