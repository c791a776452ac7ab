"""Benchmark of point-in-time retrieval: Feast through the project's offline store
(`AsofDuckDBOfflineStore`) against plain baselines written without the project's code, and
Feast's stock `duckdb` offline store, at several numbers of entity rows.

`run(sizes)` works in a scratch folder under $ZOO_HOME/bench (deleted at the end):

1. A child process writes four synthetic feature views as parquet, shaped like the zoo's
   exports (5000 stocks x 2000 trading days; stocks list at different dates, so early rows
   miss; every file has `event_timestamp` at 15:00 Asia/Shanghai and `created_timestamp`):
   a daily price-volume view (10 floats, 5 bools), a daily style view (11 floats, a bool, two
   texts: the industry code and name), a daily universe view (an int, 3 bools, 3 index
   weights) and a quarterly fundamental view (one row per stock per quarter at its
   availability date, 20 floats). TTLs are the feature repo's: 14 days daily, 215 days
   quarterly. It writes a throwaway feature repo (feature_store.yaml, one FeatureService of
   the four views) and applies it.
2. Entities: `rows` random (stock, trading day at 15:00 Asia/Shanghai) pairs, a pandas frame
   with a timezone-aware `event_timestamp`, made the same way (same seed) in every child.
3. At every size, each method runs in its own child process, REPEATS times (fewer for a
   method whose first run is slower than SLOW_SECONDS), timed around the retrieval only:
   (a) `feast`: `FeatureStore.get_historical_features(entity_df, features=service).to_arrow()`
       through the project's store (every entity row, in order, with Feast's semantics);
   (b) `duckdb`: hand-written DuckDB, one `ASOF LEFT JOIN` per view of the entity frame
       (scanned from pandas) with the view's parquet, the TTL as a CASE, each fetched as
       Arrow and left as it comes (no row order, no assembly, no created_timestamp
       tie-break);
   (c) `polars`: what a user would write today: per view, `read_parquet`, both sides sorted
       by time, `join_asof(by="stock_id", tolerance=ttl)`, left as it comes (rows in time
       order, not the entity order);
   (d) `stock`: Feast's stock `duckdb` offline store (ibis), in a child held to
       STOCK_CPU_LIMIT CPU seconds and a DuckDB memory limit of STOCK_MEMORY, one run at the
       sizes above SAMPLE_ROWS: a size it cannot finish within the limit is reported so.
   Each child is measured by zoo.bench.harness: peak memory is the child's `ru_maxrss`
   (imports, entity frame and result included), cross-checked by polling its RSS with psutil;
   the child's wall and CPU seconds (imports and every repeat included) are reported beside
   the retrieval timings.
4. The results must agree: (a) and (d) row for row at SAMPLE_ROWS (sorted, dtype
   normalised), and in every feature column's non-null count and sum at the other sizes it
   finishes; (a), (b) and (c) in every feature column's non-null count and sum at every size.
5. Prints a table (median seconds, and (a)'s ratio to the fastest plain baseline and to the
   stock store) and writes $ZOO_HOME/bench/retrieve.json.

Targets: at every size, (a) within 1.2x of the faster of (b) and (c), and faster than (d).
"""

from __future__ import annotations

import math
import os
import statistics
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from zoo.bench import harness

STOCKS = 5000
DAYS = 2000
FIRST_DAY = "2016-01-04"
SEED = 7
SAMPLE_ROWS = 150_000
SIZES = (SAMPLE_ROWS, 2_000_000, 10_000_000)
REPEATS = 3
STOCK_CPU_LIMIT = 300  # CPU seconds a stock-store child may take before it is stopped
STOCK_MEMORY = "6GB"  # its DuckDB's memory limit (DuckDB's default is 80% of the RAM)
TARGET_RATIO = 1.2
SLOW_SECONDS = 300.0
SERVICE = "portfolio_inputs_bench"
DAILY_TTL = timedelta(days=14)
QUARTERLY_TTL = timedelta(days=215)

# view -> [(column, DuckDB type)]; every view also has stock_id, event_timestamp,
# created_timestamp.
VIEWS: dict[str, list[tuple[str, str]]] = {
    "stock_price_volume_daily": [
        *[(c, "DOUBLE") for c in ("adj_open", "adj_high", "adj_low", "adj_close", "adj_vwap",
                                  "volume_shares", "amount_yuan", "turnover_pct",
                                  "free_turnover_pct", "ret_1d")],
        *[(c, "BOOLEAN") for c in ("is_suspended", "is_st", "is_limit_up_close",
                                   "is_limit_down_close", "is_limit_up_open")],
    ],
    "stock_style_daily": [
        ("industry_l1_code", "VARCHAR"), ("industry_l1_name", "VARCHAR"),
        ("in_universe", "BOOLEAN"),
        *[(c, "DOUBLE") for c in ("total_mv_yuan", "size", "midcap", "bp", "ep",
                                  "momentum_20d", "liquidity_20d", "volatility_20d",
                                  "profitability", "growth", "sue")],
    ],
    "stock_universe_daily": [
        ("listed_trading_days", "INTEGER"),
        *[(c, "BOOLEAN") for c in ("is_st", "is_suspended", "in_universe")],
        *[(c, "DOUBLE") for c in ("csi300_weight_pct", "csi500_weight_pct",
                                  "csi1000_weight_pct")],
    ],
    "stock_fundamental_quarterly": [
        (c, "DOUBLE") for c in (
            "revenue_q", "revenue_ttm", "operating_profit_q", "operating_profit_ttm",
            "net_profit_q", "net_profit_ttm", "operating_cash_flow_q", "operating_cash_flow_ttm",
            "parent_equity", "total_assets", "roe_ttm", "roa_ttm", "gross_margin_q",
            "net_margin_q", "revenue_yoy", "net_profit_yoy", "accruals_ttm", "leverage", "sue",
            "ep_ttm")
    ],
}
TTLS = {name: QUARTERLY_TTL if name.endswith("quarterly") else DAILY_TTL for name in VIEWS}


# --------------------------------------------------------------------------- data
def _value(column: str, kind: str) -> str:
    """A synthetic value of `kind` (random, with a few NULLs in the floats)."""
    if kind == "DOUBLE":
        return f"CASE WHEN random() < 0.01 THEN NULL ELSE random() * 10 - 5 END AS {column}"
    if kind == "BOOLEAN":
        return f"random() < 0.05 AS {column}"
    if kind == "INTEGER":  # listed_trading_days
        return f"CAST(d - listed AS INTEGER) AS {column}"
    if column.endswith("_code"):
        return f"printf('b1%02d', hash(s) % 30) AS {column}"
    return f"printf('industry %02d', hash(s) % 30) AS {column}"


def make_views(data: Path) -> dict[str, int]:
    """Write the four views as `<data>/<view>.parquet`; returns rows per view."""
    import duckdb
    import pandas as pd
    import pyarrow as pa

    data.mkdir(parents=True, exist_ok=True)
    days = pd.bdate_range(FIRST_DAY, periods=DAYS)
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET enable_progress_bar = false")
    con.execute("SELECT setseed(0.7)")
    con.register("day_list", pa.table({"d": range(DAYS), "trade_date": days.date}))
    # 60% of the stocks are listed from the first day, the others from a random day.
    con.execute(f"""CREATE TABLE stocks AS SELECT s,
        printf('%06d.%s', s, CASE WHEN s % 2 = 0 THEN 'SZ' ELSE 'SH' END) AS stock_id,
        CASE WHEN hash(s) % 10 < 6 THEN 0 ELSE hash(s * 7) % {DAYS} END AS listed
        FROM range({STOCKS}) t(s)""")
    con.execute("""CREATE TABLE days AS SELECT d, trade_date,
        (trade_date + TIME '15:00') AT TIME ZONE 'Asia/Shanghai' AS event_timestamp
        FROM day_list""")
    # Quarterly availability: about one report per 62 trading days, at a per-stock lag.
    con.execute(f"""CREATE TABLE quarters AS SELECT s, stock_id, d FROM (
        SELECT s, stock_id, listed, q * 62 + hash(s, q) % 40 AS d
        FROM stocks, range({DAYS // 62 + 1}) t(q)) WHERE d < {DAYS} AND d >= listed""")
    created = datetime(2026, 1, 1, tzinfo=UTC)
    rows = {}
    for view, columns in VIEWS.items():
        grid = ("quarters JOIN days USING (d)" if view.endswith("quarterly") else
                "stocks JOIN days ON days.d >= stocks.listed")
        values = ", ".join(_value(c, kind) for c, kind in columns)
        path = data / f"{view}.parquet"
        rows[view] = con.execute(
            f"""COPY (SELECT stock_id, event_timestamp, $created::TIMESTAMPTZ AS
                created_timestamp, {values} FROM {grid} ORDER BY stock_id, event_timestamp)
                TO '{path}' (FORMAT parquet, COMPRESSION zstd)""",
            {"created": created}).fetchone()[0]
    con.close()
    return rows


def write_repo(repo: Path, data: Path, offline_type: str, registry: Path) -> None:
    """feature_store.yaml for `offline_type`, sharing one registry."""
    repo.mkdir(parents=True, exist_ok=True)
    (repo / "feature_store.yaml").write_text(
        "project: retrieve_bench\n"
        f"registry: {registry}\n"
        "provider: local\n"
        f"online_store:\n  type: sqlite\n  path: {repo / 'online.db'}\n"
        f"offline_store:\n  type: {offline_type}\n"
        "entity_key_serialization_version: 3\n"
        "coerce_tz_aware: false\n")


def declarations(data: Path) -> list:
    """Entity, one FileSource + FeatureView per view, and the FeatureService of all four."""
    from feast import Entity, FeatureService, FeatureView, Field, FileSource, ValueType
    from feast.types import Bool, Float64, Int32, String

    types = {"DOUBLE": Float64, "BOOLEAN": Bool, "INTEGER": Int32, "VARCHAR": String}
    stock = Entity(name="stock", join_keys=["stock_id"], value_type=ValueType.STRING)
    views = [
        FeatureView(
            name=view, entities=[stock], ttl=TTLS[view],
            schema=[Field(name=c, dtype=types[kind]) for c, kind in columns],
            source=FileSource(name=view, path=str(data / f"{view}.parquet"),
                              timestamp_field="event_timestamp",
                              created_timestamp_column="created_timestamp"))
        for view, columns in VIEWS.items()]
    return [stock, *views, FeatureService(name=SERVICE, features=views)]


def entities(rows: int, seed: int = SEED):
    """`rows` random (stock_id, trading day 15:00 Asia/Shanghai) pairs as a pandas frame."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    codes = np.array([f"{s:06d}.{'SZ' if s % 2 == 0 else 'SH'}" for s in range(STOCKS)],
                     dtype=object)
    days = pd.bdate_range(FIRST_DAY, periods=DAYS) + pd.Timedelta(hours=15)
    days = days.tz_localize("Asia/Shanghai")
    return pd.DataFrame({
        "stock_id": codes[rng.integers(0, STOCKS, rows)],
        "event_timestamp": days[rng.integers(0, DAYS, rows)],
    })


# --------------------------------------------------------------------------- methods
def handwritten_queries(data: Path, entity: str = "entity_df") -> list[str]:
    """The lower bound: per view, the entity rows ASOF-joined to its parquet, TTL as CASE.

    One query per view, as the store does: chained in one query, each later ASOF join would
    sort every earlier view's columns along with the entity rows.
    """
    queries = []
    for view, columns in VIEWS.items():
        ttl_us = TTLS[view] // timedelta(microseconds=1)
        fresh = f"v.event_timestamp >= e.event_timestamp - to_microseconds({ttl_us})"
        # Feast's full feature names: the views share column names (is_st, sue, ...).
        values = [f"CASE WHEN {fresh} THEN v.{c} END AS {view}__{c}" for c, _ in columns]
        queries.append(
            f"SELECT e.*, {', '.join(values)} FROM {entity} e "
            f"ASOF LEFT JOIN read_parquet('{data / (view + '.parquet')}') v "
            f"ON e.stock_id = v.stock_id AND e.event_timestamp >= v.event_timestamp")
    return queries


def _duckdb_method(data: Path):
    import duckdb

    def retrieve(entity_df):
        con = duckdb.connect()
        con.execute("SET TimeZone = 'UTC'")
        con.execute("SET enable_progress_bar = false")
        # Without this DuckDB plans the ASOF join as a nested loop (it guesses ~1 entity row).
        con.execute("SET asof_loop_join_threshold = 0")
        con.register("entity_df", entity_df)
        try:
            return [con.execute(sql).to_arrow_table() for sql in handwritten_queries(data)]
        finally:
            con.close()
    return retrieve


def _polars_method(data: Path):
    import polars as pl

    def retrieve(entity_df):
        entities = pl.from_pandas(entity_df).with_columns(
            pl.col("event_timestamp").dt.convert_time_zone("UTC").dt.cast_time_unit("us"))
        entities = entities.sort("event_timestamp")
        tables = []
        for view, columns in VIEWS.items():
            values = pl.read_parquet(
                data / f"{view}.parquet",
                columns=["stock_id", "event_timestamp", *(c for c, _ in columns)]).with_columns(
                pl.col("event_timestamp").dt.convert_time_zone("UTC").dt.cast_time_unit("us"))
            values = values.rename({c: f"{view}__{c}" for c, _ in columns})
            tables.append(entities.join_asof(
                values.sort("event_timestamp"), on="event_timestamp", by="stock_id",
                tolerance=TTLS[view], check_sortedness=False).to_arrow())
        return tables
    return retrieve


def _limit_stock_child() -> None:
    """The stock store's child: stopped past STOCK_CPU_LIMIT CPU seconds (SIGXCPU), and its
    DuckDB connections held to STOCK_MEMORY, so a size it cannot do does not take the
    machine with it."""
    import resource

    import duckdb

    resource.setrlimit(resource.RLIMIT_CPU, (STOCK_CPU_LIMIT, STOCK_CPU_LIMIT + 30))
    connect = duckdb.connect

    def limited(*args, config=None, **kwargs):
        return connect(*args, config={**(config or {}), "memory_limit": STOCK_MEMORY},
                       **kwargs)

    duckdb.connect = limited


def _feast_method(repo: Path, full_feature_names: bool):
    from feast import FeatureStore

    store = FeatureStore(repo_path=str(repo))
    service = store.get_feature_service(SERVICE)

    def retrieve(entity_df):
        return store.get_historical_features(
            entity_df=entity_df, features=service,
            full_feature_names=full_feature_names).to_arrow()
    return retrieve


def _summary(tables) -> dict:
    """Order-free fingerprint: per feature column, non-null count and (numeric) sum."""
    import pyarrow as pa
    import pyarrow.compute as pc

    out = {}
    columns = {name: table.column(name) for table in (
        tables if isinstance(tables, list) else [tables]) for name in table.column_names}
    for name, column in sorted(columns.items()):
        if name in ("stock_id", "event_timestamp"):
            continue
        total = None
        if pa.types.is_floating(column.type) or pa.types.is_integer(column.type):
            total = pc.sum(column).as_py()
        elif pa.types.is_boolean(column.type):
            total = pc.sum(pc.cast(column, pa.int64())).as_py()
        out[name] = [len(column) - column.null_count, total]
    return out


def retrieve_repeatedly(method: str, scratch: Path, rows: int, repeats: int,
                       save_path: Path | None) -> dict:
    """Time `method` on `rows` entity rows, `repeats` times (fewer after a run slower than
    SLOW_SECONDS); keep the first result table in `save_path` when given."""
    import warnings

    import pyarrow.parquet as pq

    warnings.filterwarnings("ignore", category=DeprecationWarning)  # ibis, in the stock store

    if method == "duckdb":
        retrieve = _duckdb_method(scratch / "data")
    elif method == "polars":
        retrieve = _polars_method(scratch / "data")
    else:
        if method == "stock":
            _limit_stock_child()
        repo = scratch / ("repo_asof" if method == "feast" else "repo_stock")
        retrieve = _feast_method(repo, full_feature_names=True)
    entity_df = entities(rows)
    seconds, result = [], None
    for _ in range(repeats):
        result = None  # free the previous run's result first
        started = time.perf_counter()
        result = retrieve(entity_df)
        seconds.append(time.perf_counter() - started)
        if seconds[-1] > SLOW_SECONDS:
            break
    tables = result if isinstance(result, list) else [result]
    if save_path:
        pq.write_table(tables[0], save_path)
    return {
        "seconds": seconds,
        "rows_out": sum(t.num_rows for t in tables) // len(tables),
        "feature_columns_out": sum(t.num_columns - 2 for t in tables),
        "summary": _summary(tables),
    }


def setup(scratch: Path) -> dict:
    """Data, both feature repos, one apply."""
    from feast import FeatureStore

    data = scratch / "data"
    started = time.perf_counter()
    rows = make_views(data)
    registry = scratch / "registry.db"
    write_repo(scratch / "repo_asof", data,
               "zoo.serving.offline_store.AsofDuckDBOfflineStore", registry)
    write_repo(scratch / "repo_stock", data, "duckdb", registry)
    FeatureStore(repo_path=str(scratch / "repo_asof")).apply(declarations(data))
    return {"rows_by_view": rows, "seconds": time.perf_counter() - started,
            "bytes_on_disk": sum(p.stat().st_size for p in data.glob("*.parquet"))}


def _normalised(path: Path):
    import pandas as pd

    frame = pd.read_parquet(path)
    frame["event_timestamp"] = pd.to_datetime(frame["event_timestamp"], utc=True)
    frame = frame.sort_values(list(frame.columns[:2])).reset_index(drop=True)
    for name in frame.columns:
        if frame[name].dtype == object or str(frame[name].dtype) == "boolean":
            frame[name] = frame[name].astype(object).where(frame[name].notna(), None)
        elif frame[name].dtype.kind in "iuf":
            frame[name] = frame[name].astype("float64")
    return frame


def _agree(path_a: Path, path_b: Path) -> bool:
    import pandas as pd

    a, b = _normalised(path_a), _normalised(path_b)
    if list(a.columns) != list(b.columns) or len(a) != len(b):
        return False
    try:
        pd.testing.assert_frame_equal(a, b, check_dtype=False, check_exact=False)
    except AssertionError:
        return False
    return True


METHODS = ("feast", "duckdb", "polars", "stock")
BASELINES = ("duckdb", "polars")


def measure(sizes: tuple[int, ...] = SIZES) -> dict:
    """Build the data, time the methods at every size, check they agree; the figures (no
    printing)."""
    from zoo.paths import bench_dir

    with harness.scratch_dir("retrieve-", bench_dir()) as scratch:
        prepared = harness.measure(setup, scratch)
        runs: dict[str, dict] = {}
        checks: dict[str, bool | None] = {}
        for n in sizes:
            for method in METHODS:
                label = f"{method}@{n}"
                save = (scratch / f"{method}.parquet"
                        if n == SAMPLE_ROWS and method in ("feast", "stock") else None)
                repeats = 1 if method == "stock" and n > SAMPLE_ROWS else REPEATS
                try:
                    done = harness.measure(retrieve_repeatedly, method, scratch, n, repeats,
                                           save, name=label.replace("@", "_"))
                except harness.ChildFailed as failed:
                    if method != "stock":
                        raise
                    # past its CPU limit (or out of its memory): no figure but the limit
                    runs[label] = {"method": method, "rows": n, "finished": False,
                                   "why": str(failed).splitlines()[0][:200],
                                   "cpu_limit_seconds": STOCK_CPU_LIMIT}
                    continue
                run_ = runs[label] = {
                    **done.value, "method": method, "rows": n, "finished": True,
                    "median_seconds": statistics.median(done.value["seconds"]),
                    "peak_rss_mib": round(done.maxrss_mib),
                    "peak_rss_polled_mib": round(done.peak_polled_mib),
                    "child_wall_seconds": round(done.wall_seconds, 2),
                    "child_cpu_seconds": round(done.cpu_seconds, 2)}
                run_["rows_per_second"] = round(n / run_["median_seconds"])
            ours = runs[f"feast@{n}"]
            for other in (*BASELINES, "stock"):
                theirs = runs[f"{other}@{n}"]
                checks[f"feast_summary_equals_{other}@{n}"] = (
                    _close(ours["summary"], theirs["summary"]) if theirs["finished"] else None)
            if n == SAMPLE_ROWS:
                checks[f"feast_equals_stock_row_for_row@{n}"] = (
                    _agree(scratch / "feast.parquet", scratch / "stock.parquet")
                    if runs[f"stock@{n}"]["finished"] else None)
        for run_ in runs.values():
            run_.pop("summary", None)
        return {
            "sizes": list(sizes),
            "stocks": STOCKS,
            "trading_days": DAYS,
            "views": {v: len(c) for v, c in VIEWS.items()},
            "setup": prepared.value,
            "setup_peak_rss_polled_mib": round(prepared.peak_polled_mib),
            "setup_child_cpu_seconds": round(prepared.cpu_seconds, 2),
            "runs": runs,
            "ratios": {n: ratios(runs, n) for n in sizes},
            "checks": checks,
            "load_average": os.getloadavg(),
            **harness.machine(),
            "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }


def ratios(runs: dict[str, dict], n: int) -> dict:
    """At `n` rows: the project's median over the fastest plain baseline's (and which it is),
    the stock store's over ours (a lower bound, from its CPU limit, when it did not finish),
    and the verdicts."""
    ours = runs[f"feast@{n}"]["median_seconds"]
    fastest = min(BASELINES, key=lambda m: runs[f"{m}@{n}"]["median_seconds"])
    to_plain = ours / runs[f"{fastest}@{n}"]["median_seconds"]
    stock = runs[f"stock@{n}"]
    finished = stock["finished"]
    to_stock = (stock["median_seconds"] if finished else stock["cpu_limit_seconds"]) / ours
    return {"fastest_baseline": fastest, "feast_to_fastest_baseline": round(to_plain, 2),
            "stock_to_feast": round(to_stock, 1), "stock_finished": finished,
            "within_target_of_fastest": to_plain <= TARGET_RATIO,
            # past its CPU limit, the stock store took more than that many seconds
            "faster_than_stock": to_stock > 1}


def _close(a: dict, b: dict) -> bool:
    """Same columns, same non-null counts, sums equal to float rounding."""
    if a.keys() != b.keys():
        return False
    for name, (count, total) in a.items():
        other_count, other_total = b[name]
        if count != other_count:
            return False
        # sums in another order differ by rounding, which grows with the count
        if total is not None and not math.isclose(total, other_total, rel_tol=1e-9,
                                                  abs_tol=1e-9 * max(count, 1)):
            return False
    return True


NAMES = {"feast": "(a) Feast + project store", "duckdb": "(b) hand-written DuckDB ASOF",
         "polars": "(c) polars join_asof", "stock": "(d) Feast stock duckdb store"}


def table_rows(figures: dict) -> list[tuple[str, ...]]:
    """One printed row per size and method: median and every run's seconds, rows per second,
    the child's CPU seconds and peak memory, and (a)'s ratio to the fastest baseline."""
    rows = []
    for run_ in figures["runs"].values():
        n = run_["rows"]
        if not run_["finished"]:
            rows.append((f"{n:,}", NAMES[run_["method"]],
                         f"> {run_['cpu_limit_seconds']} CPU s", "stopped", "-", "-", "-", ""))
            continue
        ratio = figures["ratios"][n]
        note = (f"{ratio['feast_to_fastest_baseline']}x {ratio['fastest_baseline']}"
                if run_["method"] == "feast" else "")
        rows.append((f"{n:,}", NAMES[run_["method"]], f"{run_['median_seconds']:.2f}",
                     " ".join(f"{s:.2f}" for s in run_["seconds"]),
                     f"{run_['rows_per_second']:,}", f"{run_['child_cpu_seconds']:.1f}",
                     f"{max(run_['peak_rss_mib'], run_['peak_rss_polled_mib']):,}", note))
    return rows


def run(sizes: tuple[int, ...] = SIZES) -> dict:
    """Measure, print a table, and write $ZOO_HOME/bench/retrieve.json; returns the figures."""
    from rich.console import Console

    figures = measure(sizes)
    harness.print_table(
        f"zoo bench retrieve: {STOCKS} stocks x {DAYS} days, 4 views "
        f"({sum(figures['views'].values())} features)",
        ["entity rows", ("method", "left"), "median s", "runs s", "rows/s", "child CPU s",
         "peak RSS MiB", "(a) / fastest"], table_rows(figures))
    Console().print(f"ratios: {figures['ratios']}\nresults agree: {figures['checks']}\n"
                    f"load average {figures['load_average']}")
    harness.write_result("retrieve", figures)
    return figures
