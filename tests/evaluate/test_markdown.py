"""Markdown tables keep one cell per column, whatever the column names and values hold."""

from __future__ import annotations

import re

import polars as pl

from zoo.evaluate.report import table_markdown
from zoo.evaluate.sections import Table


def _cells(line: str) -> int:
    """Cells of a Markdown table row: unescaped pipes between the outer ones."""
    return len(re.findall(r"(?<!\\)\|", line)) - 1


def test_pipes_in_names_and_values_do_not_split_cells():
    frame = pl.DataFrame({"period": ["2021", "a|b"], "Excess return | m": [0.01, 0.02]})
    lines = [line for line in table_markdown(Table("t", frame)).splitlines()
             if line.startswith("|")]
    assert len(lines) == 4
    assert {_cells(line) for line in lines} == {2}
