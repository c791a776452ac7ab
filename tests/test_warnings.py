"""`make test` shows no warning from our code: pyproject's pytest configuration turns a warning
raised in zoo or portfolios into an error of the test that raised it, and ignores the known
deprecations inside the libraries we call (issue 20)."""

from __future__ import annotations

import warnings

import pytest


@pytest.mark.parametrize("module", ["zoo.layers.encoders", "portfolios.optimiser"])
def test_a_warning_from_our_code_fails_its_test(module):
    with pytest.raises(UserWarning, match="ours"):
        warnings.warn_explicit("ours", UserWarning, f"{module.replace('.', '/')}.py", 1,
                               module=module)


def test_a_known_library_deprecation_is_ignored():
    with warnings.catch_warnings(record=True) as seen:
        warnings.warn_explicit("`json_encoders` is deprecated. See ...", DeprecationWarning,
                               "pydantic/_internal/_generate_schema.py", 340,
                               module="pydantic._internal._generate_schema")
    assert seen == []  # pytest shows every DeprecationWarning unless its configuration says
