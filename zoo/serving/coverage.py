"""Which features a warehouse cannot serve, and why.

A source may lack whole tables (baostock has no CITIC industries and no index weights; a
hand-built Wind extract may leave out the balance sheet) or fill some columns with NULL (no
free-float shares, unknown listing dates). The transforms then serve NULL for the
features that need them rather than stop. This module says so: for each table of the
`features` schema, the feature columns that are NULL in every row (or in most rows), each
with the raw inputs it needs that are missing, read from `NEEDS`, a small declared map from
feature columns to the raw Wind tables or columns (zoo.ingest.wind names) they are computed
from. Only inputs a source may lack are declared; a column NULL everywhere although its inputs
are there is reported as such (too little history, or a bug).

`coverage(warehouse)` returns the findings; `coverage_report(warehouse)` the text `zoo data
summary` prints after the table counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from zoo.ingest.wind import CSI300, CSI500, CSI1000
from zoo.serving.published import FEATURE_SCHEMA, quote

if TYPE_CHECKING:
    import duckdb

# A feature column is "mostly NULL" from this share of NULL rows on.
MOSTLY_NULL = 0.9
# Columns that key a row rather than carry a feature.
KEYS = ("stock_id", "trade_date", "available_date")

# The raw columns the features are computed from (transforms/models: staging renames them).
_REVENUE = "AShareIncome.TOT_OPER_REV"
_COST = "AShareIncome.LESS_OPER_COST"
_OPERATING_PROFIT = "AShareIncome.OPER_PROFIT"
_NET_PROFIT = "AShareIncome.NET_PROFIT_EXCL_MIN_INT_INC"  # attributable to the parent
_NET_PROFIT_ALL = "AShareIncome.NET_PROFIT_INCL_MIN_INT_INC"
_EQUITY = "AShareBalanceSheet.TOT_SHRHLDR_EQY_EXCL_MIN_INT"
_ASSETS = "AShareBalanceSheet.TOT_ASSETS"
_LIABILITIES = "AShareBalanceSheet.TOT_LIAB"
_CASH_FLOW = "AShareCashFlow.NET_CASH_FLOWS_OPER_ACT"
_LISTING = "AShareDescription.S_INFO_LISTDATE"


# Raw columns the transforms replace by another where a source lacks them (staging
# stg_income): the substitute and what it changes.
SUBSTITUTES: dict[str, tuple[str, str]] = {
    _REVENUE: ("AShareIncome.OPER_REV", "operating revenue, the same for non-financial firms"),
    _NET_PROFIT: (_NET_PROFIT_ALL, "which includes minority interests"),
}


def _index(code: str) -> tuple[str, ...]:
    return (f"AIndexMembers[{code}]", f"AIndexFreeWeight[{code}]")


_FUNDAMENTAL_NEEDS: dict[str, tuple[str, ...]] = {
    "comp_type": ("AShareIncome.COMP_TYPE_CODE",),
    **{c: (_REVENUE,) for c in ("revenue_q", "revenue_ttm", "revenue_yoy")},
    **{c: (_OPERATING_PROFIT,) for c in ("operating_profit_q", "operating_profit_ttm")},
    **{c: (_NET_PROFIT,) for c in ("net_profit_q", "net_profit_ttm", "net_profit_yoy", "sue")},
    "gross_margin_q": (_REVENUE, _COST),
    "net_margin_q": (_NET_PROFIT, _REVENUE),
    "parent_equity": (_EQUITY,),
    "total_assets": (_ASSETS,),
    "leverage": (_LIABILITIES, _ASSETS),
    "roe_ttm": (_NET_PROFIT, _EQUITY),
    "roa_ttm": (_NET_PROFIT_ALL, _ASSETS),
    **{c: (_CASH_FLOW,) for c in ("operating_cash_flow_q", "operating_cash_flow_ttm")},
    "accruals_ttm": (_NET_PROFIT_ALL, _CASH_FLOW, _ASSETS),
}
# feature table -> feature column -> the raw inputs it needs (all of them), each a Wind table
# ("AShareST": needs rows), its rows of one Wind code ("AIndexMembers[000852.SH]": rows whose
# S_INFO_WINDCODE is the CSI 1000's) or a column ("AShareDescription.S_INFO_LISTDATE": needs
# values; its table empty is said as such); "A|B" is satisfied by either.
NEEDS: dict[str, dict[str, tuple[str, ...]]] = {
    "stock_price_volume_daily": {
        "free_turnover_pct": ("AShareEODDerivativeIndicator.S_DQ_FREETURNOVER"
                              "|AShareEODDerivativeIndicator.FREE_SHARES_TODAY",),
        "is_st": ("AShareST",),
    },
    "stock_universe_daily": {
        "listed_trading_days": (_LISTING,),
        "is_st": ("AShareST",),
        "in_universe": ("AShareST", _LISTING),
        "csi300_weight_pct": _index(CSI300),
        "csi500_weight_pct": _index(CSI500),
        "csi1000_weight_pct": _index(CSI1000),
    },
    "stock_style_daily": {
        "industry_l1_code": ("AShareIndustriesClassCITICS",),
        "industry_l1_name": ("AShareIndustriesClassCITICS", "AShareIndustriesCode"),
        "in_universe": ("AShareST", _LISTING),
        "bp": (_EQUITY,),
        "ep": (_NET_PROFIT,),
        "profitability": (_NET_PROFIT, _EQUITY),
        "growth": (_NET_PROFIT,),
        "sue": (_NET_PROFIT,),
    },
    "stock_fundamental_quarterly": {
        **_FUNDAMENTAL_NEEDS,
        # the 12-quarter arrays need what their latest-quarter column needs
        **{f"{c}_12q": needs for c, needs in _FUNDAMENTAL_NEEDS.items() if c != "comp_type"},
    },
}


@dataclass(frozen=True)
class Gap:
    """A feature column that is NULL in every row or in most, and the missing raw inputs that
    explain it ("" where none does); or one served although some of its inputs are missing."""

    table: str
    column: str
    null_share: float  # share of rows without a value (an array: without a finite element)
    why: str

    @property
    def name(self) -> str:
        return f"{FEATURE_SCHEMA}.{self.table}.{self.column}"


@dataclass(frozen=True)
class Coverage:
    """What the warehouse's features cannot serve (`empty`: NULL in every row), serve only
    sparsely (`sparse`: NULL in at least MOSTLY_NULL of rows) and serve without some inputs
    (`degraded`: e.g. is_st where AShareST is empty: never true)."""

    empty: list[Gap]
    sparse: list[Gap]
    degraded: list[Gap]


def _input_state(con: duckdb.DuckDBPyConnection, name: str,
                 cache: dict[str, tuple[str, float]]) -> tuple[str, float]:
    """(what is wrong with a raw input, the share of its rows without it): ("", 0.0) when it
    is complete, a state with share 1.0 when it is absent, empty or NULL everywhere."""
    if name in cache:
        return cache[name]
    if "[" in name:  # Table[code]: the code may hold a dot (000852.SH)
        table, _, rest = name.partition("[")
        code, _, column = rest.partition("]")
        column = column.removeprefix(".")
    else:
        table, _, column = name.partition(".")
        code = ""
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'raw' "
        "AND lower(table_name) = lower(?)", [table]).fetchone()[0]
    if not exists:
        state = (f"{table}, which is absent", 1.0)
    else:
        where = "WHERE S_INFO_WINDCODE = ?" if code else ""
        rows, known = con.execute(
            f"SELECT count(*), count({quote(column) if column else '*'}) "
            f"FROM raw.{quote(table)} {where}", [code] if code else []).fetchone()
        if rows == 0 and code:
            state = (f"{table}, which has no rows for {code}", 1.0)
        elif rows == 0:
            state = (f"{table}, which is empty", 1.0)
        elif known == 0:
            state = (f"{name}, which is NULL in every row", 1.0)
        elif known < rows:
            share = 1 - known / rows
            state = (f"{name}, which is NULL in {share:.0%} of rows", share)
        else:
            state = ("", 0.0)
    cache[name] = state
    return state


def _substituted(con: duckdb.DuckDBPyConnection, needs: tuple[str, ...],
                 cache: dict[str, tuple[str, float]]) -> list[str]:
    """The inputs of `needs` missing in some rows that the transforms replace (SUBSTITUTES),
    said as "X from Y where Z lacks it (what changes)"."""
    out = []
    for need in needs:
        if need not in SUBSTITUTES:
            continue
        text, share = _input_state(con, need, cache)
        substitute, note = SUBSTITUTES[need]
        if text and _input_state(con, substitute, cache)[1] < 1.0:
            where = "every row" if share == 1.0 else f"{share:.0%} of rows"
            out.append(f"{need} taken from {substitute} ({note}) in {where}")
    return out


def _missing(con: duckdb.DuckDBPyConnection, needs: tuple[str, ...],
             cache: dict[str, tuple[str, float]], whole: bool) -> list[str]:
    """The inputs of `needs` that are missing (whole: absent, empty or NULL everywhere; else
    also partly NULL); for an "A|B" input, only when every alternative is; an input with a
    substitute (SUBSTITUTES), only when the substitute is missing too."""
    out = []
    for need in needs:
        if need in SUBSTITUTES:  # missing only where its substitute is missing everywhere too
            if _input_state(con, SUBSTITUTES[need][0], cache)[1] < 1.0:
                continue
            need = f"{need}|{SUBSTITUTES[need][0]}"
        states = [_input_state(con, one, cache) for one in need.split("|")]
        lacking = [(text, share) for text, share in states if text and (share == 1.0 or not whole)]
        text = " and ".join(text for text, _ in lacking)
        if len(lacking) == len(states) and text not in out:  # two columns of an empty table
            out.append(text)
    return out


def _null_shares(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, float]:
    """Per feature column of features.<table>, the share of rows without a value."""
    columns = con.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
        [FEATURE_SCHEMA, table]).fetchall()
    columns = [(c, t) for c, t in columns if c not in KEYS]
    if not columns:
        return {}

    def known(column: str, kind: str) -> str:
        name = quote(column)
        if kind.endswith("[]"):  # an array of quarters: known if one element is finite
            return (f"count(*) FILTER (WHERE len(list_filter({name}, "
                    f"x -> x IS NOT NULL AND NOT isnan(x))) > 0)")
        return f"count({name})"

    row = con.execute(
        f"SELECT count(*), {', '.join(known(c, t) for c, t in columns)} "
        f"FROM {quote(FEATURE_SCHEMA)}.{quote(table)}").fetchone()
    if not row[0]:
        return {}
    return {c: 1 - k / row[0] for (c, _), k in zip(columns, row[1:], strict=True)}


def coverage(warehouse: Path) -> Coverage:
    """What each built features table cannot serve and why (module docstring)."""
    from zoo.serving.published import connect

    result = Coverage([], [], [])
    if not Path(warehouse).is_file():
        return result
    con = connect(warehouse)
    try:
        tables = [t for (t,) in con.execute(
            "SELECT DISTINCT table_name FROM information_schema.tables WHERE table_schema = ? "
            "ORDER BY 1", [FEATURE_SCHEMA]).fetchall()]
        cache: dict[str, tuple[str, float]] = {}
        for table in tables:
            needs = NEEDS.get(table, {})
            for column, share in _null_shares(con, table).items():
                inputs = needs.get(column, ())
                if share >= MOSTLY_NULL:
                    missing = _missing(con, inputs, cache, whole=share == 1.0)
                    why = "needs " + "; and ".join(missing) if missing else ""
                    (result.empty if share == 1.0 else result.sparse).append(
                        Gap(table, column, share, why))
                elif missing := _missing(con, inputs, cache, whole=False):
                    result.degraded.append(Gap(table, column, share, "without " + "; ".join(
                        missing)))
                if share < 1.0 and (substituted := _substituted(con, inputs, cache)):
                    result.degraded.append(Gap(table, column, share, "; ".join(substituted)))
    finally:
        con.close()
    return result


def _grouped(gaps: list[Gap], line) -> list[str]:
    """One line per table and reason: the columns it concerns, then the reason."""
    groups: dict[tuple[str, str], list[Gap]] = {}
    for gap in gaps:
        groups.setdefault((gap.table, gap.why), []).append(gap)
    return [line(f"{FEATURE_SCHEMA}.{table}." + (
        group[0].column if len(group) == 1 else "{" + ", ".join(g.column for g in group) + "}"),
        group[0], why) for (table, why), group in groups.items()]


def coverage_report(warehouse: Path) -> str:
    """The findings of `coverage` as text ("" when there are no features tables yet), one
    line per table and reason."""
    found = coverage(warehouse)
    lines: list[str] = []
    if found.empty:
        lines.append("Features this warehouse cannot serve (NULL in every row):")
        lines += _grouped(found.empty, lambda name, gap, why: (
            f"  {name}: {why or 'its raw inputs are there (too little history?)'}"))
    if found.sparse:
        lines.append(f"Features mostly NULL (in {MOSTLY_NULL:.0%} of rows or more):")
        lines += [f"  {g.name} ({g.null_share:.0%})" + (f": {g.why}" if g.why else "")
                  for g in found.sparse]
    if found.degraded:
        lines.append("Features served without some of their inputs, or through a substitute:")
        lines += _grouped(found.degraded, lambda name, gap, why: f"  {name}: {why}")
    return "\n".join(lines)
