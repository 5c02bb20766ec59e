"""Bad inputs are refused naming the field; a fit never reports convergence it did not reach."""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import pytest

from patronage.errors import PatronageError
from patronage.value.core import bgnbd, gamma_gamma, sbg
from patronage.value.core.fitting import ModelInputError, fit_log_params

GOOD = {"x": [0.0, 1.0, 3.0], "t_x": [0.0, 2.0, 5.0], "T": [6.0, 6.0, 6.0]}


@pytest.mark.parametrize(("field", "value", "words"), [
    ("x", [0.0, math.nan, 3.0], "x (repeat purchases) is not finite"),
    ("t_x", [0.0, 2.0, math.inf], "t_x (time of the last purchase) is not finite"),
    ("T", [6.0, -6.0, 6.0], "T (time observed) is negative"),
    ("x", [0.0, -1.0, 3.0], "x (repeat purchases) is negative"),
    ("x", [0.0, 1.5, 3.0], "x (repeat purchases) is not a whole number"),
    ("t_x", [0.0, 2.0, 7.0], "t_x is after T"),
    ("t_x", [1.0, 2.0, 5.0], "t_x is not 0 with x = 0"),
    ("T", [6.0, 6.0], "the columns differ in length"),
    ("x", [], "x (repeat purchases) is empty"),
])
def test_bgnbd_refuses_histories_that_cannot_be(field: str, value: list[float],
                                                words: str) -> None:
    data: dict[str, Any] = {**GOOD, field: value}
    with pytest.raises(ModelInputError, match=f"^BG/NBD fit: .*{re.escape(words)}") as caught:
        bgnbd.fit(data["x"], data["t_x"], data["T"])
    assert isinstance(caught.value, PatronageError)


def test_bgnbd_refuses_an_empty_company_with_a_clear_error() -> None:
    with pytest.raises(ModelInputError, match="nothing to fit"):
        bgnbd.fit([], [], [])


@pytest.mark.parametrize(("x", "m", "words"), [
    ([1.0, 2.0], [10.0, math.nan], "m \\(mean spend per repeat purchase\\) is not finite"),
    ([1.0, 2.0], [10.0, -3.0], "m \\(mean spend per repeat purchase\\) is negative"),
    ([1.0, 2.5], [10.0, 3.0], "x \\(repeat purchases\\) is not a whole number"),
    ([0.0, 0.0], [0.0, 0.0], "no customer has a repeat purchase"),
    ([], [], "x \\(repeat purchases\\) is empty"),
])
def test_gamma_gamma_refuses_spend_that_cannot_be(x: list[float], m: list[float],
                                                  words: str) -> None:
    with pytest.raises(ModelInputError, match=f"^Gamma-Gamma fit: .*{words}"):
        gamma_gamma.fit(x, m)


@pytest.mark.parametrize(("periods", "churned", "weights", "words"), [
    ([1.0, 2.0], [1.0, math.nan], None, "churned is not finite"),
    ([1.0, 2.5], [1.0, 0.0], None, "periods is not a whole number"),
    ([1.0, 2.0], [1.0, 2.0], None, "churned is not 0 or 1"),
    ([0.0, 2.0], [1.0, 0.0], None, "a churned customer has 0 periods"),
    ([1.0, 2.0], [1.0, 0.0], [3.0, -1.0], "weights is negative"),
    ([1.0, 2.0], [1.0, 0.0], [0.0, 0.0], "weights add up to 0"),
    ([], [], None, "periods is empty"),
])
def test_sbg_refuses_observations_that_cannot_be(periods: list[float], churned: list[float],
                                                 weights: list[float] | None,
                                                 words: str) -> None:
    with pytest.raises(ModelInputError, match=f"^sBG fit: .*{words}"):
        sbg.fit(periods, churned, weights)


@pytest.mark.parametrize(("alive", "words"), [
    ([1000, 631, 700, 382], "alive rises from 631 to 700 at period 2"),
    ([1000], "no survivor history yet"),
    ([0, 0], "nobody to follow"),
    ([1000, -5], "is negative"),
    ([1000, 631.5], "not a whole number"),
])
def test_sbg_refuses_cohort_counts_that_cannot_be(alive: list[float], words: str) -> None:
    with pytest.raises(ModelInputError, match=f"^sBG cohort: .*{words}"):
        sbg.fit_cohorts([alive])


def test_no_cohorts_is_refused() -> None:
    with pytest.raises(ModelInputError, match="sBG cohorts: there are none"):
        sbg.fit_cohorts([])


def test_a_likelihood_not_finite_at_the_start_is_not_reported_converged() -> None:
    def flat_nan(p: np.ndarray) -> float:
        return math.nan

    fit = fit_log_params(flat_nan, ["alpha", "beta"], np.zeros(2), 10.0)
    assert not fit.converged and fit.iterations == 0
    assert "not finite at the starting values" in fit.message

    def infinite(p: np.ndarray) -> tuple[float, np.ndarray]:
        return math.inf, np.zeros(2)

    fit = fit_log_params(infinite, ["alpha", "beta"], np.zeros(2), 10.0, gradient=True)
    assert not fit.converged and "not finite" in fit.message


@pytest.mark.parametrize("name", ["r", "alpha", "a", "b"])
@pytest.mark.parametrize("bad", [0.0, -1.0, math.nan, math.inf])
def test_bgnbd_predictions_refuse_parameters_that_cannot_be(name: str, bad: float) -> None:
    params = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426, name: bad}
    with pytest.raises(ModelInputError, match=f"parameter {name} must be a positive number"):
        bgnbd.expected_purchases(params, 10.0, [1.0], [2.0], [5.0])
    with pytest.raises(ModelInputError, match=f"parameter {name}"):
        bgnbd.probability_alive(params, [1.0], [2.0], [5.0])
