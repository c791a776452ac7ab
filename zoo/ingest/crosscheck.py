"""Rules across raw tables, checked when a folder is loaded, against this load and the warehouse.

- every stock-level row names a stock listed in AShareDescription;
- a daily stock row (AShareEODPrices, AShareEODDerivativeIndicator) falls on a trading day in
  AShareCalendar (of any exchange: SSE, SZSE and BSE share one calendar), on or after the
  stock's S_INFO_LISTDATE when it is known, and before its S_INFO_DELISTDATE (the first day
  no longer listed);
- a lone restated statement row (408004000 with no 408005000 for its stock and report period,
  in this load or the warehouse) is not announced in the future of the extract.
A row breaking one would stop `sqlmesh plan` later on an audit that names neither the row nor
its cause, or poison what is built without a word (issue 17); here it is an error naming
table, column, rule and rows, or, with `--quarantine`, a row set aside like one breaking its
own table's contract.

The future of an extract. A daily extract taken after day D's close holds prices up to D (D =
the latest TRADE_DT of AShareEODPrices, this load or the warehouse; AShareCalendar is no
guide, since Wind publishes the year's trading days in advance). It may hold announcements
dated after D: those published in the evening or before the next open carry the next trading
day's date, which after a holiday closure (Spring Festival, National Day) is up to 11 days
later, and a statement table may be extracted a few days after the prices. So an ANN_DT is in
the future when it is more than ANN_DT_GRACE_DAYS calendar days after D. A lone 408004000
dated there would be the version of its period from that date on, and the point-in-time
readers keep the 408001000 original only until a restatement is announced: the quarter's
figures as reported would be hidden, or replaced on a date no one could have known them,
for as long as the wrong date is ahead. Without any price row (a first load of statements
alone) nothing says when the extract was taken, and the rule is not checked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

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
STATEMENT_TABLES = frozenset({"AShareIncome", "AShareBalanceSheet", "AShareCashFlow"})
# How far past the extract's last price day an announcement may be dated (module doc).
ANN_DT_GRACE_DAYS = 14

CODE, DAY = "S_INFO_WINDCODE", "TRADE_DT"
LIST, DELIST = "S_INFO_LISTDATE", "S_INFO_DELISTDATE"
LISTED_RULE = "stock listed in AShareDescription (this load or the warehouse)"
PERIOD, KIND, ANN = "REPORT_PERIOD", "STATEMENT_TYPE", "ANN_DT"
LAST_DAY = "extract_last_day"  # shown in examples: the latest price day of load + warehouse
FUTURE_RULE = (f"a lone {wind.STATEMENT_RESTATED} (no {wind.STATEMENT_BEFORE_RESTATEMENT} for "
               f"its stock and report period) announced at most {ANN_DT_GRACE_DAYS} days after "
               "the extract's last price day (the latest TRADE_DT of AShareEODPrices)")


@dataclass(frozen=True)
class Reference:
    """What this load and the warehouse say about stocks and trading days."""

    listing: pl.DataFrame  # S_INFO_WINDCODE, S_INFO_LISTDATE, S_INFO_DELISTDATE
    days: pl.Series  # trading days, any exchange
    last_day: str | None = None  # the latest AShareEODPrices TRADE_DT, None without prices
    # statement table -> (S_INFO_WINDCODE, REPORT_PERIOD) holding a 408005000 row
    corrected: dict[str, pl.DataFrame] = field(default_factory=dict)

    @property
    def latest_announcement(self) -> str | None:
        """The latest ANN_DT an extract taken after `last_day` can hold (module doc)."""
        if self.last_day is None:
            return None
        day = pl.Series([self.last_day]).str.to_date("%Y%m%d")[0]
        return (day + timedelta(days=ANN_DT_GRACE_DAYS)).strftime("%Y%m%d")


def reference(con: duckdb.DuckDBPyConnection, frames: dict[str, pl.DataFrame]) -> Reference:
    """The stocks and trading days of `frames` (this load's valid rows, by table name) and of
    the warehouse; this load's description rows win (they may close a listing period)."""
    description, calendar = wind.ASHARE_DESCRIPTION, wind.ASHARE_CALENDAR
    listing = [frames[description.name].select(CODE, LIST, DELIST)] \
        if description.name in frames else []
    listing.append(_warehouse(con, description, f"{CODE}, {LIST}, {DELIST}"))
    days = [frames[calendar.name].select("TRADE_DAYS")] if calendar.name in frames else []
    days.append(_warehouse(con, calendar, "TRADE_DAYS"))
    prices = wind.ASHARE_EOD_PRICES
    latest = [frames[prices.name][DAY].max()] if prices.name in frames else []
    if table_exists(con, prices):
        latest += con.execute(f"SELECT max({DAY}) FROM {prices.schema}.{prices.name}").fetchone()
    known = [d for d in latest if d is not None]
    return Reference(pl.concat(listing).unique(CODE, keep="first", maintain_order=True),
                     pl.concat(days)["TRADE_DAYS"].unique(), max(known) if known else None,
                     {name: _corrected(con, wind.TABLES[name], frames.get(name))
                      for name in STATEMENT_TABLES})


def _corrected(con: duckdb.DuckDBPyConnection, table: wind.Table,
               frame: pl.DataFrame | None) -> pl.DataFrame:
    """(S_INFO_WINDCODE, REPORT_PERIOD) with a 408005000 row in `frame` or the warehouse."""
    before = wind.STATEMENT_BEFORE_RESTATEMENT
    parts = [] if frame is None else [frame.filter(pl.col(KIND) == before).select(CODE, PERIOD)]
    if table_exists(con, table):
        parts.append(con.execute(
            f"SELECT DISTINCT {CODE}, {PERIOD} FROM {table.schema}.{table.name} "
            f"WHERE {KIND} = ?", [before]).pl())
    if not parts:
        return pl.DataFrame(schema=dict.fromkeys((CODE, PERIOD), pl.String))
    return pl.concat(parts).unique()


def table_exists(con: duckdb.DuckDBPyConnection, table: wind.Table) -> bool:
    found = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE lower(table_schema) = lower(?) "
        "AND lower(table_name) = lower(?)", [table.schema, table.name]).fetchone()
    return bool(found and found[0])


def _warehouse(con: duckdb.DuckDBPyConnection, table: wind.Table, columns: str) -> pl.DataFrame:
    """`columns` of a raw table ('' rows when the table does not exist), all text."""
    names = [c.strip() for c in columns.split(",")]
    if not table_exists(con, table):
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
    if table.name in STATEMENT_TABLES:
        lone = (pl.col(KIND) == wind.STATEMENT_RESTATED) & ~pl.col("corrected")
        found.append(contracts.Rule(ANN, FUTURE_RULE,
                                    ~lone | (pl.col(ANN) <= pl.col("latest_announcement")),
                                    (KIND, LAST_DAY)))
    return found


def joined(table: wind.Table, frame: pl.DataFrame, ref: Reference) -> pl.DataFrame:
    """`frame` with what its cross-table rules read: `listed`, the listing dates (NULL for an
    unknown stock), `in_calendar` for a daily table, and for a statement table `corrected`
    (its period has a 408005000 row), the extract's last price day and the latest
    announcement it can hold (NULL without prices: not checked)."""
    if table.name not in STOCK_TABLES:
        return frame
    listing = ref.listing.with_columns(listed=pl.lit(True))
    out = frame.join(listing, on=CODE, how="left", maintain_order="left", suffix="_listing")
    out = out.with_columns(pl.col("listed").fill_null(False))
    if table.name in DAILY_STOCK_TABLES:
        out = out.with_columns(in_calendar=pl.col(DAY).is_in(ref.days.implode()))
    if table.name in STATEMENT_TABLES:
        corrected = ref.corrected[table.name].with_columns(corrected=pl.lit(True))
        out = out.join(corrected, on=[CODE, PERIOD], how="left", maintain_order="left")
        out = out.with_columns(pl.col("corrected").fill_null(False),
                               pl.lit(ref.last_day, pl.String).alias(LAST_DAY),
                               pl.lit(ref.latest_announcement, pl.String)
                               .alias("latest_announcement"))
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
