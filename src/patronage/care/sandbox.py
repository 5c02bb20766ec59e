"""The bounded sandbox care templates render in.

Templates are written by a company's staff (and later by distributors), so a template must not be
able to take the process's memory or time. On top of Jinja's sandbox (no attribute access to
internals, ``range`` capped per call) a render here is bounded by:

- **output**: at most :data:`MAX_OUTPUT` characters per block;
- **operations**: ``*`` may not build a text or list longer than :data:`MAX_OUTPUT`, ``**`` may
  not give a number of more than :data:`MAX_DIGITS` digits, ``%`` may not ask for a wider field
  (these are intercepted, so Jinja no longer folds them while compiling either); no call or filter
  may be given a number above :data:`MAX_OUTPUT` (``center``, ``ljust``, ``indent``...), a format
  pattern with a wider field, or a ``replace`` that would write more than that;
- **loops**: all ``range()`` calls of one render together yield at most :data:`MAX_RANGE_ITEMS`
  numbers.

A template that passes a bound fails with :class:`TemplateTooCostly`, a located problem like any
other refused template.
"""

from __future__ import annotations

import functools
import math
import re
import string
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from jinja2.nodes import EvalContext
from jinja2.runtime import Context
from jinja2.sandbox import SandboxedEnvironment

from patronage.errors import PatronageError

MAX_OUTPUT = 100_000
MAX_DIGITS = 100
MAX_RANGE_ITEMS = 100_000

_range_left: ContextVar[int] = ContextVar("range_left", default=MAX_RANGE_ITEMS)


class TemplateTooCostly(PatronageError):
    """A template went past one of the sandbox's bounds."""


def _sized(value: Any) -> bool:
    return isinstance(value, str | bytes | list | tuple)


_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(\d*)(?:\.(\d*))?")


def _widths(fmt: str) -> list[int]:
    """The field widths and precisions a ``%`` or ``str.format`` pattern asks for."""
    found = [int(n) for m in _PERCENT_SPEC.finditer(fmt) for n in m.groups() if n]
    try:
        specs = [spec for _, _, spec, _ in string.Formatter().parse(fmt) if spec]
    except ValueError:
        specs = []
    found += [int(n) for spec in specs for n in re.findall(r"\d+", spec)]
    return found


#: Calls and filters whose whole-number arguments are widths of the text they write.
_WIDTH_TAKERS = frozenset({"center", "ljust", "rjust", "zfill", "expandtabs", "indent"})


def _check_arguments(what: str, args: Iterable[Any]) -> None:
    """Refuse a call that asks for a text wider than :data:`MAX_OUTPUT` characters (a width
    given to ``center``/``ljust``/``indent``..., or a field width inside a format pattern)."""
    widths = what.rsplit(" ", 1)[-1] in _WIDTH_TAKERS
    for arg in args:
        if (widths and isinstance(arg, int) and not isinstance(arg, bool)
                and abs(arg) > MAX_OUTPUT):
            raise TemplateTooCostly(f"{what}: {arg:,} is more than {MAX_OUTPUT:,}")
        if (isinstance(arg, str) and ("%" in arg or "{" in arg)
                and any(w > MAX_OUTPUT for w in _widths(arg))):
            raise TemplateTooCostly(f"{what}: a field wider than {MAX_OUTPUT:,} characters")


def _check_replace(what: str, args: tuple[Any, ...]) -> None:
    if len(args) >= 3 and all(isinstance(a, str) for a in args[:3]):
        text, old, new = args[:3]
        count = text.count(old) if old else len(text) + 1
        if count * len(new) > MAX_OUTPUT:
            raise TemplateTooCostly(f"{what} would write more than {MAX_OUTPUT:,} characters")


def _bounded_filter(name: str, filter_: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(filter_)
    def bounded(*args: Any, **kwargs: Any) -> Any:
        _check_arguments(f"filter {name}", [*args, *kwargs.values()])
        if name == "replace":
            plain = [a for a in args if not isinstance(a, EvalContext)]
            _check_replace("filter replace", tuple(plain))
        return filter_(*args, **kwargs)

    return bounded


def _counted_range(*args: int) -> range:
    numbers = range(*args)
    left = _range_left.get() - len(numbers)
    if left < 0:
        raise TemplateTooCostly(f"loops over more than {MAX_RANGE_ITEMS:,} numbers in one render")
    _range_left.set(left)
    return numbers


class BoundedSandbox(SandboxedEnvironment):
    """A sandbox whose ``*`` and ``**`` are checked before they run (see the module docstring)."""

    intercepted_binops = frozenset({"*", "**", "%"})

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.globals["range"] = _counted_range
        self.filters = {name: _bounded_filter(name, f) for name, f in self.filters.items()}

    def call(self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        name = getattr(__obj, "__name__", "a call")
        _check_arguments(name, [*args, *kwargs.values()])
        if name == "replace" and isinstance(getattr(__obj, "__self__", None), str):
            _check_replace("replace", (__obj.__self__, *args))
        return super().call(__context, __obj, *args, **kwargs)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        pattern = getattr(value, "__self__", None)
        if isinstance(pattern, str) and any(w > MAX_OUTPUT for w in _widths(pattern)):
            raise TemplateTooCostly(f"format: a field wider than {MAX_OUTPUT:,} characters")
        return super().wrap_str_format(value)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "%" and isinstance(left, str):
            _check_arguments("'%'", [left])
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                if _sized(seq) and isinstance(times, int) and len(seq) * times > MAX_OUTPUT:
                    raise TemplateTooCostly(
                        f"'*' would build {len(seq) * times:,} items; at most {MAX_OUTPUT:,}")
        if (operator == "**" and isinstance(left, int | float) and isinstance(right, int | float)
                and abs(left) > 1 and right > 0
                and right * math.log10(abs(left)) > MAX_DIGITS):
            raise TemplateTooCostly(f"'**' would give a number of more than {MAX_DIGITS} digits")
        return super().call_binop(context, operator, left, right)


def bounded_join(chunks: Iterable[str]) -> str:
    """Join a render's output, stopping it once it passes :data:`MAX_OUTPUT` characters."""
    out: list[str] = []
    size = 0
    for chunk in chunks:
        size += len(chunk)
        if size > MAX_OUTPUT:
            raise TemplateTooCostly(f"writes more than {MAX_OUTPUT:,} characters")
        out.append(chunk)
    return "".join(out)


@contextmanager
def render_budget() -> Iterator[None]:
    """Give one render its own loop budget."""
    token = _range_left.set(MAX_RANGE_ITEMS)
    try:
        yield
    finally:
        _range_left.reset(token)
