"""The coverage helpers' docstring examples (empty and invalid cases included) run as tests."""

from __future__ import annotations

import doctest

import pytest

from geo import coverage_points, coverage_rules, hexagons


@pytest.mark.parametrize("module", [coverage_points, coverage_rules, hexagons])
def test_docstring_examples(module) -> None:
    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0
