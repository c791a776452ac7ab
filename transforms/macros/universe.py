"""The universe rule: which stocks are investable on a day, from the day's own price row.

features.stock_universe_daily publishes it as `in_universe`. The models that standardise or
benchmark over the universe (the style factors, the labels' excess returns) read the same
int_daily_prices row and compute it with this macro, instead of joining every row back to the
universe table: one rule, three uses.
"""

from __future__ import annotations

from sqlglot import exp
from sqlmesh import macro

# Listed for at least this many trading days (0 on the listing day), not ST, not suspended.
MIN_LISTED_TRADING_DAYS = 120


@macro()
def in_universe(
    evaluator,
    listed_trading_days: exp.Expression,
    is_st: exp.Expression,
    is_suspended: exp.Expression,
) -> exp.Expression:
    """TRUE when the stock is in the day's universe; built as nodes, not text parsed per render."""
    listed = exp.GTE(this=listed_trading_days.copy(),
                     expression=exp.Literal.number(MIN_LISTED_TRADING_DAYS))
    return exp.Paren(this=exp.and_(listed, exp.Not(this=is_st.copy()),
                                   exp.Not(this=is_suspended.copy())))
