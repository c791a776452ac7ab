"""Rules across raw tables, checked when a folder is loaded, against this load and the warehouse.

- every stock-level row names a stock listed in AShareDescription;
- a daily stock row (AShareEODPrices, AShareEODDerivativeIndicator) falls on a trading day in
  AShareCalendar (of any exchange: SSE, SZSE and BSE share one calendar), on or after the
  stock's S_INFO_LISTDATE when it is known, and before its S_INFO_DELISTDATE (the first day
  no longer listed).
A row breaking one would stop `sqlmesh plan` later on an audit that names neither the row nor
its cause (issue 17); here it is an error naming table, column, rule and rows, or, with
`--quarantine`, a row set aside like one breaking its own table's contract.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import polars as pl

from zoo.ingest import contracts, wind

# Stock-level tables: their S_INFO_WINDCODE must be a listed stock.
STOCK_TABLES = frozenset({
    "AShareEODPrices", "AShareEODDerivativeIndicator", "AShareIncome", "AShareBalanceSheet",
    "AShareCashFlow", "AShareST", "AShareIndustriesClassCITICS",
})
# Daily stock tables: a row is a trading day within the stock's listing period.
DAILY_STOCK_TABLES = frozenset({"AShareEODPrices", "AShareEODDerivativeIndicator"})

CODE, DAY = "S_INFO_WINDCODE", "TRADE_DT"
LIST, DELIST = "S_INFO_LISTDATE", "S_INFO_DELISTDATE"
LISTED_RULE = "stock listed in AShareDescription (this load or the warehouse)"


@dataclass(frozen=True)
class Reference:
    """What this load and the warehouse say about stocks and trading days."""

    listing: pl.DataFrame  # S_INFO_WINDCODE, S_INFO_LISTDATE, S_INFO_DELISTDATE
    days: pl.Series  # trading days, any exchange


def reference(con: duckdb.DuckDBPyConnection, frames: dict[str, pl.DataFrame]) -> Reference:
    """The stocks and trading days of `frames` (this load's valid rows, by table name) and of
    the warehouse; this load's description rows win (they may close a listing period)."""
    description, calendar = wind.ASHARE_DESCRIPTION, wind.ASHARE_CALENDAR
    listing = [frames[description.name].select(CODE, LIST, DELIST)] \
        if description.name in frames else []
    listing.append(_warehouse(con, description, f"{CODE}, {LIST}, {DELIST}"))
    days = [frames[calendar.name].select("TRADE_DAYS")] if calendar.name in frames else []
    days.append(_warehouse(con, calendar, "TRADE_DAYS"))
    return Reference(pl.concat(listing).unique(CODE, keep="first", maintain_order=True),
                     pl.concat(days)["TRADE_DAYS"].unique())


def _warehouse(con: duckdb.DuckDBPyConnection, table: wind.Table, columns: str) -> pl.DataFrame:
    """`columns` of a raw table ('' rows when the table does not exist), all text."""
    names = [c.strip() for c in columns.split(",")]
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE lower(table_schema) = lower(?) "
        "AND lower(table_name) = lower(?)", [table.schema, table.name]).fetchone()
    if not (exists and exists[0]):
        return pl.DataFrame(schema=dict.fromkeys(names, pl.String))
    found = con.execute(f"SELECT {columns} FROM {table.schema}.{table.name}").pl()
    return found.select(pl.col(c).cast(pl.String) for c in names)


def rules(table: wind.Table) -> list[contracts.Rule]:
    """The cross-table rules of `table`, read on its frame joined with the listing columns and
    `in_calendar` (see `joined`); most important first."""
    found: list[contracts.Rule] = []
    if table.name in STOCK_TABLES:
        found.append(contracts.Rule(CODE, LISTED_RULE, pl.col("listed")))
    if table.name in DAILY_STOCK_TABLES:
        found += [
            contracts.Rule(DAY, "a trading day in AShareCalendar (this load or the warehouse)",
                           pl.col("in_calendar")),
            contracts.Rule(DAY, f"on or after the stock's {LIST} (when known)",
                           pl.col(DAY) >= pl.col(LIST), (LIST,)),
            contracts.Rule(DAY, f"before the stock's {DELIST} (its first day no longer listed)",
                           pl.col(DAY) < pl.col(DELIST), (DELIST,)),
        ]
    return found


def joined(table: wind.Table, frame: pl.DataFrame, ref: Reference) -> pl.DataFrame:
    """`frame` with what its cross-table rules read: `listed`, the listing dates (NULL for an
    unknown stock) and `in_calendar`."""
    if table.name not in STOCK_TABLES:
        return frame
    listing = ref.listing.with_columns(listed=pl.lit(True))
    out = frame.join(listing, on=CODE, how="left", maintain_order="left", suffix="_listing")
    out = out.with_columns(pl.col("listed").fill_null(False))
    if table.name in DAILY_STOCK_TABLES:
        out = out.with_columns(in_calendar=pl.col(DAY).is_in(ref.days.implode()))
    return out


def broken(table: wind.Table, frame: pl.DataFrame,
           ref: Reference) -> list[tuple[contracts.Rule, pl.Series]]:
    """(rule, rows breaking it) for each cross-table rule that `frame` breaks."""
    checked = joined(table, frame, ref)
    out = []
    for rule in rules(table):
        mask = checked.select(rule.broken()).to_series()
        if mask.any():
            out.append((rule, mask))
    return out


def failure(table: wind.Table, frame: pl.DataFrame, rows: pl.Series, ref: Reference,
            rule: contracts.Rule, mask: pl.Series) -> contracts.RuleFailure:
    """The error for `rule`: unknown stocks are shown by code with their row counts, other
    rules by row (key, date, the listing date read, the row number in the file)."""
    bad = joined(table, frame, ref).with_columns(rows.alias(contracts.ROW)).filter(mask)
    if rule.name == LISTED_RULE:
        by_code = bad.group_by(CODE).agg(pl.len().alias("rows")).sort(CODE)
        return contracts.RuleFailure(table.name, rule.column, rule.name, bad.height,
                                     by_code.head(contracts.N_EXAMPLES).rows(named=True))
    shown = list(dict.fromkeys([*table.key, rule.column, *rule.involved, contracts.ROW]))
    examples = bad.select(shown).head(contracts.N_EXAMPLES).rows(named=True)
    return contracts.RuleFailure(table.name, rule.column, rule.name, bad.height, examples)
