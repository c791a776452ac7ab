"""Macros for the cross-sectional statistics the factor models share."""

from __future__ import annotations

from sqlglot import exp
from sqlmesh import macro

# Winsorising bounds: the median +- this many MADs, the MAD scaled by 1.483 to estimate a
# normal distribution's standard deviation (the seed report's 3-sigma MAD rule).
MAD_SIGMAS = ("3", "1.483")


@macro()
def winsorised(
    evaluator, value: exp.Expression, median: exp.Expression, mad: exp.Expression
) -> exp.Expression:
    """`value` clipped to `median` +- 3 x 1.483 x `mad`; NULL stays NULL.

    One text for every winsorised factor of features.stock_style_daily, in both of its forms
    (grouped on DuckDB, windowed elsewhere), so the rule cannot differ between them.
    """
    lower = exp.Sub(this=median.copy(), expression=_mads(mad))
    upper = exp.Add(this=median.copy(), expression=_mads(mad))
    # DuckDB's LEAST and GREATEST skip NULL arguments (a NULL MAD leaves the value as it is)
    clipped = exp.Least(
        this=exp.Greatest(this=value.copy(), expressions=[lower], ignore_nulls=True),
        expressions=[upper], ignore_nulls=True)
    known = exp.Not(this=exp.Is(this=value.copy(), expression=exp.Null()))
    return exp.Case(ifs=[exp.If(this=known, true=clipped)])


def _mads(mad: exp.Expression) -> exp.Expression:
    """MAD_SIGMAS x `mad`, built as nodes: a macro's text would be parsed on every render."""
    sigmas, scale = MAD_SIGMAS
    return exp.Mul(this=exp.Mul(this=exp.Literal.number(sigmas),
                                expression=exp.Literal.number(scale)),
                   expression=mad.copy())
