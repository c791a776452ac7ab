"""The index-enhancement part of `zoo report`: the seed report's tables 7-9, figures 11-12."""

from __future__ import annotations

from zoo.evaluate.sections import Section


def sections(models: list[str]) -> list[Section]:
    """Sections for `models` from the backtests saved under $ZOO_HOME (none yet: empty)."""
    return []
