"""pydantic's errors become problems naming the place as a file writes it, and the reason."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, Field, ValidationError

from patronage.errors import Problem, validation_problems


class _Rank(BaseModel):
    name: str
    min_pv: int = Field(ge=0)


class _Plan(BaseModel):
    ranks: list[_Rank]


def _errors(data: object) -> list[dict[str, object]]:
    with pytest.raises(ValidationError) as caught:
        _Plan.model_validate(data)
    return [dict(e) for e in caught.value.errors()]


def test_places_read_as_key_paths_with_the_source() -> None:
    got = validation_problems(_errors({"ranks": [{"name": "A", "min_pv": -1}]}), "plan.toml")
    assert got == [Problem("plan.toml: ranks[0].min_pv",
                           "Input should be greater than or equal to 0")]


def test_a_place_renamed_and_a_reason_worded_by_the_caller() -> None:
    got = validation_problems(
        _errors({"ranks": [{"min_pv": 1}]}), "rules",
        place=lambda loc: loc.replace("ranks", "rank"),
        reason=lambda loc, err: "every rank needs a name" if err["type"] == "missing" else None)
    assert got == [Problem("rules: rank[0].name", "every rank needs a name")]
