"""What a factor evaluation reads: the factor's values joined with labels, universe and
tradability on the rebalance dates, as one polars frame (the panel).

A factor is named one of three ways:
- a model: `biagru_gat` (or `score_biagru_gat`) reads the warehouse table `scores.score_<model>`;
- the oracle: `oracle` is the synthetic market's planted 5-day expected return
  (`truth.expected_return.ER_5D`); `truth.ER_20D` (any numeric truth column) names another;
- a feature column: `stock_style_daily.momentum_20d` or `features.stock_style_daily.momentum_20d`,
  any numeric column of a daily table (stock_id, trade_date) in the features schema (or, named
  with its schema, in another published schema of per-stock tables: labels, scores).

Every relation is read through zoo.serving.published, the documented serving schema.

Rebalance dates. The factor's days are the distinct trade dates on which it has a value (within
--start/--end) and a label exists; they are numbered 0, 1, 2... from the first (the anchor), and
horizon h rebalances on the days whose number is a multiple of h. With one anchor for every
horizon, the 10- and 20-day dates are among the 5-day dates, so one panel serves all horizons.
A period runs from a rebalance date T to the next (T+h), which is exactly the label's window
(T+1 VWAP to T+1+h VWAP) when the factor has a value every trading day.

Rows. The panel's rows are the label table's rows on those dates (every listed stock, in the
universe or not, so a held stock that leaves the universe or the model's coverage keeps its
return and can still be sold), with the factor LEFT joined. Columns:
stock_id, trade_date, day_index, factor (NULL where none), in_universe (at T),
ret_close_{h} (T close to T+h close; NULL when T is suspended), ret_vwap_{h} (T+1 VWAP to
T+1+h VWAP; NULL when T+1 is suspended: no buyer could earn it),
hold_vwap_{h} (what a holder earns over the same period: ret_vwap_{h}, or where that is NULL
because T+1 is suspended, the stock's adjusted VWAP path from T+1 (its pre-suspension price)
to T+1+h, from the published price-volume table; a held stock cannot be sold while suspended,
and its resumption move is its holder's),
buyable (labels.is_buyable_t1: T+1 neither suspended nor limit-up at the open),
sellable (T+1 neither suspended nor closing limit-down: the price-volume table flags limit-down
only at the close, so a stock that closes limit-down is taken as unsellable all day; the
conservative choice, since a sale forced through would flatter the portfolio).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from zoo.serving import published
from zoo.serving.published import connect as connect
from zoo.vocabulary import HORIZONS

if TYPE_CHECKING:
    import duckdb
    import polars as pl

ORACLE = "oracle"
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_NUMERIC = ("DOUBLE", "FLOAT", "REAL", "INTEGER", "BIGINT", "SMALLINT", "HUGEINT", "DECIMAL")


class UnknownFactor(ValueError):
    """A factor name that is neither a scored model, the oracle, nor a feature column."""


@dataclass(frozen=True)
class FactorSource:
    """Where a named factor comes from: the SQL that yields (stock_id, trade_date, factor)."""

    name: str
    kind: str  # "model", "oracle" or "feature"
    table: str
    column: str
    sql: str


def scored_models(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The models with a score table in the warehouse (scores.score_<model>), sorted."""
    rows = con.execute("SELECT table_name FROM information_schema.tables "
                       "WHERE table_schema = ? AND table_name LIKE 'score\\_%' ESCAPE '\\' "
                       "ORDER BY 1", [published.SCORE_SCHEMA]).fetchall()
    return [name.removeprefix(published.SCORE_PREFIX) for (name,) in rows]


def available(con: duckdb.DuckDBPyConnection) -> str:
    """A one-line list of the names `resolve` accepts, for error messages."""
    models = scored_models(con) or ["(no scores.score_* table yet)"]
    return (f"models: {', '.join(models)}; oracle: '{ORACLE}' or truth.<ER_5D|ER_10D|...>; "
            f"feature columns: e.g. stock_style_daily.momentum_20d")


def _is_numeric(kind: str) -> bool:
    return kind.upper().startswith(_NUMERIC)


def resolve(con: duckdb.DuckDBPyConnection, name: str) -> FactorSource:
    """The source of factor `name` (see the module docstring); UnknownFactor if none."""
    if name == ORACLE or name.startswith("truth."):
        oracle = published.ORACLE
        column = "ER_5D" if name == ORACLE else name.split(".", 1)[1]
        columns = published.columns(con, oracle)
        if not columns:
            raise UnknownFactor(f"{name}: the warehouse has no {oracle.name} (only a "
                                f"synthetic market has an oracle). Available: {available(con)}")
        if column not in columns or not _is_numeric(columns[column]) or not _IDENT.match(column):
            numeric = [c for c, k in columns.items() if _is_numeric(k)]
            raise UnknownFactor(f"{name}: {oracle.name} has no numeric column {column!r}"
                                f" (has {', '.join(numeric)})")
        sql = (f"SELECT S_INFO_WINDCODE::TEXT AS stock_id, strptime(TRADE_DT, '%Y%m%d')::DATE "
               f"AS trade_date, {published.quote(column)}::DOUBLE AS factor FROM {oracle.sql}")
        return FactorSource(name, "oracle", oracle.name, column, sql)
    parts = name.split(".")
    if len(parts) == 1:
        model = name.removeprefix(published.SCORE_PREFIX)
        if model in scored_models(con):
            try:
                scores = published.score_table(model)
            except ValueError as err:
                raise UnknownFactor(f"unknown factor {name!r}: {err}") from None
            sql = (f"SELECT stock_id, trade_date, score::DOUBLE AS factor FROM {scores.sql} "
                   f"WHERE score IS NOT NULL")
            return FactorSource(model, "model", scores.name, "score", sql)
        raise UnknownFactor(f"unknown factor {name!r}: no table {published.SCORE_SCHEMA}."
                            f"{published.SCORE_PREFIX}{model}. Available: {available(con)}")
    if len(parts) in (2, 3) and all(_IDENT.match(p) for p in parts):
        schema, table, column = ([published.FEATURE_SCHEMA, *parts] if len(parts) == 2
                                 else parts)
        if schema not in published.STOCK_SCHEMAS:
            raise UnknownFactor(f"unknown factor {name!r}: {schema} is not a published schema "
                                f"(name a table of {', '.join(published.STOCK_SCHEMAS)}). "
                                f"Available: {available(con)}")
        relation = published.Relation(schema, table, ("stock_id", "trade_date"))
        columns = published.columns(con, relation)
        if not columns:
            raise UnknownFactor(f"unknown factor {name!r}: no table {relation.name}. "
                                f"Available: {available(con)}")
        if "stock_id" not in columns or "trade_date" not in columns:
            raise UnknownFactor(f"{name}: {relation.name} is not daily by stock (needs "
                                f"stock_id and trade_date columns)")
        if column not in columns or not _is_numeric(columns[column]):
            numeric = [c for c, k in columns.items() if _is_numeric(k)]
            raise UnknownFactor(f"{name}: {relation.name} has no numeric column {column!r} "
                                f"(numeric columns: {', '.join(numeric)})")
        value = published.quote(column)
        sql = (f"SELECT stock_id, trade_date, {value}::DOUBLE AS factor "
               f"FROM {relation.sql} WHERE {value} IS NOT NULL")
        return FactorSource(name, "feature", relation.name, column, sql)
    raise UnknownFactor(f"unknown factor {name!r}. Available: {available(con)}")


def load_panel(con: duckdb.DuckDBPyConnection, source: FactorSource,
               horizons: tuple[int, ...] = HORIZONS, start: date | None = None,
               end: date | None = None, every: int | None = None, *,
               build_sql: Callable[..., str] | None = None) -> pl.DataFrame:
    """The panel of `source` on its rebalance dates (module docstring), sorted by date, stock.

    `every` keeps the days whose number is a multiple of `every` instead of any horizon's
    (every=1: every factor day, for a daily IC). `build_sql` writes the query (default
    `panel_sql`; zoo.evaluate.plain passes the plain one it replaced, the reference).
    """
    import polars as pl

    if not horizons or any(h < 1 for h in horizons):
        raise ValueError(f"horizons must be positive trading-day counts, got {horizons}")
    labels = published.LABELS
    label_columns = published.columns(con, labels)
    if not label_columns:
        raise ValueError(f"the warehouse has no {labels.name} yet: run `sqlmesh plan` in "
                         f"transforms/ to build the labels (after `zoo data synth --replace` "
                         f"or a first load nothing is built)")
    missing = [f"fwd_ret_{kind}_{h}d" for h in horizons for kind in ("close", "vwap")
               if f"fwd_ret_{kind}_{h}d" not in label_columns]
    if missing:
        raise ValueError(f"{labels.name} lacks {missing}: labels exist for "
                         f"horizons 5, 10, 15 and 20 only")
    sql = (build_sql or panel_sql)(source, horizons, start, end, every)
    panel = pl.from_arrow(con.execute(sql).to_arrow_table())
    assert isinstance(panel, pl.DataFrame)
    if panel.is_empty() or panel["factor"].null_count() == panel.height:
        span = f" between {start or 'the start'} and {end or 'the end'}" if start or end else ""
        raise ValueError(f"{source.name}: no values of {source.table}.{source.column} on a "
                         f"labelled day{span} (labels end {_last_label_day(con)})")
    return panel


def panel_sql(source: FactorSource, horizons: tuple[int, ...], start: date | None,
              end: date | None, every: int | None) -> str:
    """The query of `load_panel`: (stock, rebalance date) rows with the panel's columns."""
    labels = published.LABELS
    steps = (every,) if every else tuple(sorted(set(horizons)))
    keep = " OR ".join(f"day_index % {s} = 0" for s in steps)
    window = []
    if start:
        window.append(f"trade_date >= DATE '{start.isoformat()}'")
    if end:
        window.append(f"trade_date <= DATE '{end.isoformat()}'")
    where = ("WHERE " + " AND ".join(window)) if window else ""
    hs = sorted(set(horizons))
    returns = ", ".join(f"l.fwd_ret_close_{h}d AS ret_close_{h}, l.fwd_ret_vwap_{h}d AS "
                        f"ret_vwap_{h}, COALESCE(l.fwd_ret_vwap_{h}d, p.path_{h}) AS hold_vwap_{h}"
                        for h in hs)
    exits = ", ".join(f"LEAD(trade_date, {1 + h}) OVER (ORDER BY trade_date) AS exit_date_{h}"
                      for h in hs)
    exit_dates = " UNION ".join(f"SELECT exit_date_{h} FROM dates" for h in hs)
    paths = ", ".join(f"x{h}.adj_vwap / n.adj_vwap - 1 AS path_{h}" for h in hs)
    path_joins = "\n        ".join(
        f"LEFT JOIN hole_prices AS x{h} ON x{h}.stock_id = g.stock_id "
        f"AND x{h}.trade_date = g.exit_date_{h}" for h in hs)
    label_columns = ", ".join(f"l.fwd_ret_{kind}_{h}d" for h in hs for kind in ("close", "vwap"))
    no_label = " OR ".join(f"fwd_ret_vwap_{h}d IS NULL" for h in hs)
    # Every join reads the big tables only on the dates it needs (rebalance dates, the days
    # after them, the exit days), and the price path behind hold_vwap is looked up only for
    # the rows without a VWAP label: joining whole tables took 20 s at 5000 stocks x 8 years.
    return f"""
    WITH factor AS (
        SELECT * FROM ({source.sql}) {where}
    ), days AS (
        -- the factor's days that have labels, numbered from the first (the anchor)
        SELECT trade_date, (ROW_NUMBER() OVER (ORDER BY trade_date) - 1)::INTEGER AS day_index
        FROM (SELECT DISTINCT trade_date FROM factor
              INTERSECT SELECT DISTINCT trade_date FROM {labels.sql})
    ), calendar AS (
        SELECT trade_date, LEAD(trade_date) OVER (ORDER BY trade_date) AS next_date, {exits}
        FROM {published.CALENDAR.sql}
    ), dates AS (
        -- the rebalance dates, with the days their rows read prices on
        SELECT d.*, c.* EXCLUDE (trade_date)
        FROM days AS d LEFT JOIN calendar AS c USING (trade_date)
        WHERE {keep}
    ), prices AS (
        SELECT stock_id, trade_date, adj_vwap, is_suspended, is_limit_down_close
        FROM {published.PRICE_VOLUME.sql}
        WHERE trade_date IN (SELECT next_date FROM dates UNION {exit_dates})
    ), rows AS (
        SELECT l.stock_id, l.trade_date, {label_columns}, l.is_buyable_t1,
               r.* EXCLUDE (trade_date)
        FROM {labels.sql} AS l JOIN dates AS r USING (trade_date)
    ), holes AS (
        SELECT * FROM rows WHERE {no_label}
    ), hole_prices AS (
        -- the prices of the stocks with holes only: each join below builds its hash table
        -- from this side, which is empty when no label is missing
        SELECT stock_id, trade_date, adj_vwap FROM prices
        WHERE stock_id IN (SELECT stock_id FROM holes)
    ), paths AS (
        -- a holder's VWAP path from T+1 to T+1+h, where T+1 is suspended (no label)
        SELECT g.stock_id, g.trade_date, {paths}
        FROM holes AS g
        LEFT JOIN hole_prices AS n ON n.stock_id = g.stock_id AND n.trade_date = g.next_date
        {path_joins}
    )
    SELECT l.stock_id, l.trade_date, l.day_index, f.factor,
           COALESCE(u.in_universe, FALSE) AS in_universe, {returns},
           COALESCE(l.is_buyable_t1, FALSE) AS buyable,
           COALESCE(NOT (n.is_suspended OR n.is_limit_down_close), FALSE) AS sellable
    FROM rows AS l
    LEFT JOIN (SELECT * FROM factor WHERE trade_date IN (SELECT trade_date FROM dates)) AS f
        ON f.stock_id = l.stock_id AND f.trade_date = l.trade_date
    LEFT JOIN (SELECT stock_id, trade_date, in_universe FROM {published.UNIVERSE.sql}
               WHERE trade_date IN (SELECT trade_date FROM dates)) AS u
        ON u.stock_id = l.stock_id AND u.trade_date = l.trade_date
    LEFT JOIN prices AS n ON n.stock_id = l.stock_id AND n.trade_date = l.next_date
    LEFT JOIN paths AS p ON p.stock_id = l.stock_id AND p.trade_date = l.trade_date
    ORDER BY l.trade_date, l.stock_id
    """


def _last_label_day(con: duckdb.DuckDBPyConnection) -> str:
    (last,) = con.execute(f"SELECT MAX(trade_date) FROM {published.LABELS.sql}").fetchone()
    return str(last)


def common_window(con: duckdb.DuckDBPyConnection,
                  sources: list[FactorSource]) -> tuple[date, date] | None:
    """The days every scored model among `sources` has scores on: from the latest first day
    to the earliest last day (None when no source is a model, or their spans do not meet).

    Factors side by side under one title must be measured over the same days: the oracle and a
    feature column span the whole market's history, a model only its out-of-sample years."""
    spans = [con.execute(f"SELECT MIN(trade_date), MAX(trade_date) FROM ({s.sql})").fetchone()
             for s in sources if s.kind == "model"]
    spans = [span for span in spans if span[0] is not None]
    if not spans:
        return None
    first, last = max(s[0] for s in spans), min(s[1] for s in spans)
    return (first, last) if first <= last else None
