"""Benchmark of point-in-time retrieval: Feast through `AsofDuckDBOfflineStore`, against a
hand-written DuckDB ASOF join (the lower bound) and Feast's stock `duckdb` offline store.

`run(rows)` works in a scratch folder under $ZOO_HOME/bench (deleted at the end):

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
3. Each method runs in its own child process, REPEATS times (fewer for a method whose first
   run is slower than SLOW_SECONDS), timed around the retrieval only:
   (a) `feast`: `FeatureStore.get_historical_features(entity_df, features=service).to_arrow()`
       through the ASOF store;
   (b) `duckdb`: hand-written DuckDB, one `ASOF LEFT JOIN` per view of the entity frame
       (scanned from pandas) with the view's parquet, the TTL as a CASE, each fetched as
       Arrow and left as it comes (no row order, no assembly, no created_timestamp
       tie-break): the floor of the work the store does on top of the same joins;
   (c) `stock`: Feast's stock `duckdb` offline store (ibis), on a SAMPLE_ROWS sample only;
   (a) and (b) also run on that sample, for the ratio to (c).
   Peak memory is the child's own `ru_maxrss` (imports, entity frame and result included),
   cross-checked by polling its RSS with psutil.
4. The results must agree: on the sample, (a) and (c) row for row (sorted, dtype
   normalised); (a) and (b), at both sizes, in every feature column's non-null count and sum.
5. Prints a table and writes $ZOO_HOME/bench/retrieve.json.

Target (issue 4): (a) within 2x of (b) at 10 million entity rows.
"""

from __future__ import annotations

import json
import math
import multiprocessing
import os
import platform
import resource
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

STOCKS = 5000
DAYS = 2000
FIRST_DAY = "2016-01-04"
SEED = 7
SAMPLE_ROWS = 150_000
REPEATS = 3
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

    One query per view, as the store does: chaining the four ASOF joins in one query (the
    obvious way to write it) took 101 s and 16 GB at 10M rows on the 2-core machine, against
    59 s and 7 GB for four queries, because each later join sorts every earlier view's columns
    along with the entity rows.
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


def _child(method: str, scratch: str, rows: int, repeats: int, save_path: str | None,
           result_path: str) -> None:
    """Runs in a spawned process: time `method` on `rows` entity rows, leave the figures."""
    import warnings

    import pyarrow.parquet as pq

    warnings.filterwarnings("ignore", category=DeprecationWarning)  # ibis, in the stock store

    scratch_dir = Path(scratch)
    if method == "duckdb":
        retrieve = _duckdb_method(scratch_dir / "data")
    else:
        repo = scratch_dir / ("repo_asof" if method == "feast" else "repo_stock")
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
    Path(result_path).write_text(json.dumps({
        "seconds": seconds,
        "rows_out": sum(t.num_rows for t in tables) // len(tables),
        "feature_columns_out": sum(t.num_columns - 2 for t in tables),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "summary": _summary(tables),
    }))


def _setup(scratch: str, result_path: str) -> None:
    """Runs in a spawned process: data, both feature repos, one apply."""
    from feast import FeatureStore

    scratch_dir = Path(scratch)
    data = scratch_dir / "data"
    started = time.perf_counter()
    rows = make_views(data)
    registry = scratch_dir / "registry.db"
    write_repo(scratch_dir / "repo_asof", data,
               "zoo.serving.offline_store.AsofDuckDBOfflineStore", registry)
    write_repo(scratch_dir / "repo_stock", data, "duckdb", registry)
    FeatureStore(repo_path=str(scratch_dir / "repo_asof")).apply(declarations(data))
    Path(result_path).write_text(json.dumps({
        "rows_by_view": rows, "seconds": time.perf_counter() - started,
        "bytes_on_disk": sum(p.stat().st_size for p in data.glob("*.parquet"))}))


def _in_child(target, scratch: Path, *args) -> tuple[dict, int]:
    """Run `target(*args, result_path)` in a spawned child; its JSON result and polled RSS."""
    from zoo.bench.synth import _wait_polling_rss

    result_path = scratch / f"result-{time.monotonic_ns()}.json"
    process = multiprocessing.get_context("spawn").Process(
        target=target, args=(*args, str(result_path)))
    process.start()
    polled = _wait_polling_rss(process)
    if process.exitcode != 0:
        raise RuntimeError(f"{target.__name__}{args[:1]} failed in the child "
                           f"(exit code {process.exitcode})")
    return json.loads(result_path.read_text()), polled


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


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def measure(rows: int) -> dict:
    """Build the data, time the three methods, check they agree; the figures (no printing)."""
    from zoo.paths import bench_dir

    scratch = Path(tempfile.mkdtemp(prefix="retrieve-", dir=bench_dir()))
    try:
        setup, setup_rss = _in_child(_setup, scratch, str(scratch))
        runs: dict[str, dict] = {}
        sample = min(rows, SAMPLE_ROWS)
        for label, method, n, save in (
            ("stock_sample", "stock", sample, "stock.parquet"),
            ("feast_sample", "feast", sample, "feast.parquet"),
            ("duckdb_sample", "duckdb", sample, None),
            ("feast", "feast", rows, None),
            ("duckdb", "duckdb", rows, None),
        ):
            if n == sample and label in ("feast", "duckdb") and rows == sample:
                runs[label] = runs[f"{label}_sample"]
                continue
            result, polled = _in_child(_child, scratch, method, str(scratch), n, REPEATS,
                                       str(scratch / save) if save else None)
            runs[label] = {**result, "rows": n, "median_seconds": _median(result["seconds"]),
                           "peak_rss_polled_mib": round(polled / 2**20)}
            runs[label]["rows_per_second"] = round(n / runs[label]["median_seconds"])
        checks = {
            "sample_feast_equals_stock": _agree(scratch / "feast.parquet",
                                                scratch / "stock.parquet"),
            "sample_feast_summary_equals_duckdb": _close(runs["feast_sample"]["summary"],
                                                         runs["duckdb_sample"]["summary"]),
            "full_feast_summary_equals_duckdb": _close(runs["feast"]["summary"],
                                                       runs["duckdb"]["summary"]),
        }
        for run in runs.values():
            run.pop("summary", None)
        return {
            "rows": rows,
            "sample_rows": sample,
            "stocks": STOCKS,
            "trading_days": DAYS,
            "views": {v: len(c) for v, c in VIEWS.items()},
            "setup": setup,
            "setup_peak_rss_polled_mib": round(setup_rss / 2**20),
            "runs": runs,
            "ratio_feast_to_duckdb": round(runs["feast"]["median_seconds"]
                                           / runs["duckdb"]["median_seconds"], 2),
            "ratio_feast_to_duckdb_sample": round(runs["feast_sample"]["median_seconds"]
                                                  / runs["duckdb_sample"]["median_seconds"], 2),
            "ratio_stock_to_feast_sample": round(runs["stock_sample"]["median_seconds"]
                                                 / runs["feast_sample"]["median_seconds"], 1),
            "checks": checks,
            "load_average": os.getloadavg(),
            "cpu_count": os.cpu_count(),
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


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


def run(rows: int = 10_000_000) -> dict:
    """Measure, print a table, and write $ZOO_HOME/bench/retrieve.json; returns the figures."""
    from rich.console import Console
    from rich.table import Table

    from zoo.paths import bench_dir

    figures = measure(rows)
    table = Table(title=f"zoo bench retrieve: {rows:,} entity rows, {STOCKS} stocks x {DAYS} "
                        f"days, 4 views ({sum(figures['views'].values())} features)")
    for column in ("method", "rows", "median s", "runs s", "rows/s", "peak RSS MiB"):
        table.add_column(column, justify="left" if column == "method" else "right")
    names = {"feast": "(a) Feast + ASOF store", "duckdb": "(b) hand-written DuckDB ASOF",
             "stock": "(c) Feast stock duckdb store"}
    for label, run_ in figures["runs"].items():
        method = names[label.removesuffix("_sample")]
        table.add_row(method, f"{run_['rows']:,}", f"{run_['median_seconds']:.2f}",
                      " ".join(f"{s:.2f}" for s in run_["seconds"]),
                      f"{run_['rows_per_second']:,}",
                      f"{max(run_['peak_rss_mib'], run_['peak_rss_polled_mib']):,}")
    Console().print(table)
    Console().print(
        f"(a)/(b): {figures['ratio_feast_to_duckdb']} at {rows:,} rows, "
        f"{figures['ratio_feast_to_duckdb_sample']} at {figures['sample_rows']:,}; "
        f"(c)/(a) at {figures['sample_rows']:,}: {figures['ratio_stock_to_feast_sample']}; "
        f"results agree: {figures['checks']}; load average {figures['load_average']}")
    path = bench_dir() / "retrieve.json"
    path.write_text(json.dumps(figures, indent=2, ensure_ascii=False) + "\n")
    Console().print(f"written to {path}")
    return figures
