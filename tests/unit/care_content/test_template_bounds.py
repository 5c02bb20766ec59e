"""Care templates render in a bounded sandbox: costly templates are refused quickly, by name."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from patronage.care.content import TemplateSet
from patronage.errors import PatronageError
from tests.unit.care_content.test_templates import context

COSTLY = [
    "{{ 'a' * 300000000 }}",
    "{{ 999999999 ** 999999 }}",
    "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
    "{{ 'x' | center(999999999) }}",
    "{{ 'x'.ljust(999999999) }}",
    "{{ '{:>999999999}'.format(1) }}",
    "{{ '%999999999d' % 1 }}",
    "{{ ('a' * 100000) | replace('a', 'bbbbbbbbbb') }}",
    "{% for i in range(100000) %}{{ 'abcdefghij' }}{% endfor %}",
]


@pytest.mark.parametrize("body", COSTLY)
def test_a_costly_task_template_is_refused_fast(tmp_path: Path, body: str) -> None:
    (tmp_path / "greedy.task.j2").write_text(body, encoding="utf-8")
    tset = TemplateSet(tmp_path)
    assert tset.check_all() == []
    started = time.perf_counter()
    with pytest.raises(PatronageError) as caught:
        tset.task("greedy", context())
    assert time.perf_counter() - started < 5
    assert "template greedy.task.j2" in str(caught.value)


def test_ordinary_templates_still_render(tmp_path: Path) -> None:
    (tmp_path / "fine.task.j2").write_text(
        "Call {{ member.first_name | upper }} {{ '%-3s|' % 'ab' }} {{ '{:>4}'.format(7) }}"
        "{% for i in range(3) %}{{ i }}{% endfor %} {{ 'ab' * 2 }} {{ 2 ** 10 }} "
        "{{ '{:,}'.format(123456789) }} {{ 'x'.ljust(3, '.') }} {{ 'a-b' | replace('-', '+') }}",
        encoding="utf-8")
    assert TemplateSet(tmp_path).task("fine", context()) == (
        f"Call {context()['member']['first_name'].upper()} ab | 7012 abab 1024 123,456,789 x.. a+b")
