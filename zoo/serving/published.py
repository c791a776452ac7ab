"""The published serving schema: the warehouse relations a consumer may read, and nothing else.

Consumers (factor evaluation in zoo/evaluate, the backtests of portfolios/) read the DuckDB
warehouse read-only through this module: they name a relation only by the constants below (or
`score_table(model)`), never `staging.*`, `intermediate.*` or `raw.*`, which are the private
steps of transforms/ and may change with it. The same feature and label tables are what
`zoo features apply` exports to Feast (one view per table, same name and columns; see
feature_repo/), so a consumer that reads them here reads what the Feast services serve.

Relation (grain): what it is for

- `reference.trade_calendar` (trade_date): the trading days (SSE/SZSE), one row each. The
  calendar for counting trading days, finding T+1, and scheduling rebalances. Not in Feast (no
  stock to key a view on; its schema is not exported).
- `features.stock_price_volume_daily` (stock_id, trade_date): adjusted open/high/low/close/VWAP,
  volume, turnover, daily return and the tradability flags (suspended, ST, limit-up at the open
  or close, limit-down at the close). Feast view of the same name, service `price_volume_v1`.
- `features.stock_universe_daily` (stock_id, trade_date): the day's investable universe
  (listed 120 trading days, not ST, not suspended) and CSI 300/500/1000 weights in percent.
  Feast view of the same name (in `portfolio_inputs_v1`).
- `features.stock_style_daily` (stock_id, trade_date): style exposures z-scored on the universe
  and the CITIC level-1 industry. Feast view of the same name, service `style_v1`.
- `features.stock_fundamental_quarterly` (stock_id, available_date): the point-in-time
  fundamental vector, valid from `available_date` (the first trading day after the
  announcement) until the next row. Feast view of the same name, service `fundamentals_v1`.
- `labels.stock_fwd_return_daily` (stock_id, trade_date): forward returns over 5/10/15/20 days
  (from T close and from T+1 VWAP; NULL when the entry day is suspended), their excess over the
  universe (VWAP: over its stocks buyable at T+1), and `is_buyable_t1`. Look
  into the future: for training and evaluation only. Feast service `labels_v1`.
- `scores.score_<model>` (stock_id, trade_date): a model's out-of-sample scores, written by
  `zoo score` (zoo.serving.scores.write_back); Feast view `score_<model>`. Name one only through
  `score_table(model)`, which refuses a model name that is not identifier characters.
- `truth.expected_return` (S_INFO_WINDCODE, TRADE_DT): synthetic markets only, the planted
  expected returns (the evaluation's oracle); loaded by `zoo data synth`, never in Feast.

Each relation is a `Relation`: `.name` is `schema.table` (for messages and catalog look-ups),
`.sql` the same quoted as SQL identifiers (for queries). `connect(warehouse)` opens the warehouse
read-only; `open_warehouse` is the one place a consumer opens it, so a file another process
holds is a `WarehouseBusy` error that names the process (DuckDB lets one process write a file,
and while it does, no other may even read it). A table the user names (evaluation's
`features.<table>.<column>` factors) must be in one of `STOCK_SCHEMAS`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from zoo.locks import WarehouseBusy, busy_message  # noqa: F401  (re-exported)
from zoo.registry import check_model_name

if TYPE_CHECKING:
    import duckdb

FEATURE_SCHEMA = "features"
LABEL_SCHEMA = "labels"
SCORE_SCHEMA = "scores"
SCORE_PREFIX = "score_"


def quote(identifier: str) -> str:
    """`identifier` as a quoted SQL identifier."""
    return '"' + identifier.replace('"', '""') + '"'


@dataclass(frozen=True)
class Relation:
    """A published relation: its schema, table and grain (the columns that key a row)."""

    schema: str
    table: str
    grain: tuple[str, ...]

    @property
    def name(self) -> str:
        """`schema.table`, as the catalog and messages spell it."""
        return f"{self.schema}.{self.table}"

    @property
    def sql(self) -> str:
        """The relation in a query: schema and table quoted as SQL identifiers."""
        return f"{quote(self.schema)}.{quote(self.table)}"


CALENDAR = Relation("reference", "trade_calendar", ("trade_date",))
PRICE_VOLUME = Relation(FEATURE_SCHEMA, "stock_price_volume_daily", ("stock_id", "trade_date"))
UNIVERSE = Relation(FEATURE_SCHEMA, "stock_universe_daily", ("stock_id", "trade_date"))
STYLE = Relation(FEATURE_SCHEMA, "stock_style_daily", ("stock_id", "trade_date"))
FUNDAMENTALS = Relation(FEATURE_SCHEMA, "stock_fundamental_quarterly",
                        ("stock_id", "available_date"))
LABELS = Relation(LABEL_SCHEMA, "stock_fwd_return_daily", ("stock_id", "trade_date"))
ORACLE = Relation("truth", "expected_return", ("S_INFO_WINDCODE", "TRADE_DT"))

RELATIONS = (CALENDAR, PRICE_VOLUME, UNIVERSE, STYLE, FUNDAMENTALS, LABELS, ORACLE)
# The published schemas of per-stock tables: where a consumer may look up a table the user
# names (e.g. a feature column to evaluate as a factor), besides the relations above.
STOCK_SCHEMAS = (FEATURE_SCHEMA, LABEL_SCHEMA, SCORE_SCHEMA)


def score_table(model: str) -> Relation:
    """The score table `scores.score_<model>` of `model`; ValueError unless `model` is a model
    name (zoo.registry.check_model_name), so nothing else reaches SQL."""
    return Relation(SCORE_SCHEMA, f"{SCORE_PREFIX}{check_model_name(model)}",
                    ("stock_id", "trade_date"))


def columns(con: duckdb.DuckDBPyConnection, relation: Relation) -> dict[str, str]:
    """The columns of `relation` in the warehouse and their types ({} when it is absent)."""
    rows = con.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
        [relation.schema, relation.table]).fetchall()
    return dict(rows)


def open_warehouse(path: Path, read_only: bool = True) -> duckdb.DuckDBPyConnection:
    """`duckdb.connect(path)`, with WarehouseBusy (saying who holds it) instead of DuckDB's
    lock error."""
    import duckdb

    try:
        return duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as err:
        if "lock" not in str(err).lower():
            raise
        raise WarehouseBusy(busy_message(path, err)) from None
    except duckdb.ConnectionException as err:
        raise WarehouseBusy(f"the warehouse {path} is already open in this process with other "
                            f"settings (read-only vs read-write): {err}") from None


def connect(warehouse: Path | None = None) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the warehouse (default: $ZOO_HOME's); consumers never write
    there. FileNotFoundError when there is none yet, WarehouseBusy when another process holds
    it."""
    from zoo.paths import warehouse_path

    path = warehouse or warehouse_path()
    if not Path(path).is_file():
        raise FileNotFoundError(f"no warehouse at {path}: build it first (zoo data synth, "
                                f"sqlmesh plan) or set ZOO_HOME")
    con = open_warehouse(Path(path))
    con.execute("SET enable_progress_bar = false")
    return con
