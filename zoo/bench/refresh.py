"""Benchmark of the feature refresh: a full `sqlmesh plan`, one new day through `sqlmesh run`,
and the same daily features written the usual pandas way.

`run(stocks, start, end)` works in a scratch $ZOO_HOME under $ZOO_HOME/bench (deleted at the
end unless `keep`):

1. A child process generates the synthetic market and loads into the scratch warehouse an
   extract cut one trading day before the end: the daily tables (AShareEODPrices,
   AShareEODDerivativeIndicator, AIndexEODPrices, AIndexFreeWeight) stop the day before the
   last trading day, every other table is whole.
2. `sqlmesh plan --auto-apply --no-prompts` runs in transforms/ with ZOO_HOME=scratch and
   COLUMNS=250 (so the console does not wrap its lines). Measured: wall seconds; peak memory
   as the largest summed RSS of the process and all its descendants, polled every 0.2 s with
   psutil; and `ru_maxrss` of that child from `os.wait4` (what RUSAGE_CHILDREN reports for it
   alone; getrusage(RUSAGE_CHILDREN) would be the maximum over every child so far). The
   per-model execution seconds are parsed from the plan's output (`parse_model_seconds`).
3. A child loads the full market (the last day arrives) and `sqlmesh run` fills the new day,
   measured the same way; the new day's rows must be in intermediate.int_daily_prices.
4. A child computes the same daily features with pandas (`pandas_features`: read the raw
   parquet files, merge, groupby-shift, groupby-rolling, per-day groupby-transform), measured
   the same way; its own timer (reading included, interpreter start and imports excluded) is
   the pandas seconds. Its output is then compared with the SQL models' (outside any timing).
   The SQL seconds it is compared with are the plan's per-model seconds of the models that
   compute the same things (SAME_FEATURE_MODELS, those that exist) plus the staging views they
   read. The SQL models do more than the baseline (CSI index weights in the universe,
   fundamental and mid-cap factors and industries in the style model, audits, writing tables),
   so the ratio flatters pandas.
5. The write floor (outside every timing above): each same-feature model's table is copied
   with `CREATE TABLE ... AS SELECT * FROM` it, under the plan's memory limit. That is what
   merely writing those rows costs DuckDB (compressing and storing them), with no computing;
   the SQL seconds cannot go below it, whatever the SQL.
6. Prints two small tables and writes $ZOO_HOME/bench/refresh.json.

Targets (issue 3, on a 2-core machine at 5000 stocks x 10 years): plan under 10 minutes with
peak memory under 8 GiB (the larger of the polled and ru_maxrss figures), `sqlmesh run` of one
new day under 30 seconds, pandas seconds / SQL seconds at least 10.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

POLL_SECONDS = 0.2
TRANSFORMS = Path(__file__).resolve().parents[2] / "transforms"
# Daily raw tables and their date column: an extract taken on a day stops there.
DAILY_TABLES = {"AShareEODPrices": "TRADE_DT", "AShareEODDerivativeIndicator": "TRADE_DT",
                "AIndexEODPrices": "TRADE_DT", "AIndexFreeWeight": "TRADE_DT"}
# The SQLMesh models that compute what `pandas_features` computes.
SAME_FEATURE_MODELS = (
    "intermediate.int_daily_prices",
    "features.stock_price_volume_daily",
    "features.stock_universe_daily",
    "labels.stock_fwd_return_daily",
    "features.stock_style_daily",
)
PANDAS_FEATURES = (
    "adjusted OHLC and VWAP (VWAP = amount / volume, close on days without trade)",
    "volume in shares, amount in yuan, turnover and free turnover (percent)",
    "ret_1d (close / pre_close - 1)",
    "is_suspended, is_st, listed_trading_days",
    "price-limit prices and flags (limit-up/down close, limit-up open)",
    "in_universe (listed >= 120 trading days, not ST, not suspended)",
    "fwd_ret_vwap_{5,10,15,20}d from T+1 VWAP and fwd_ret_close_{5,10,15,20}d from T close, "
    "and their excess over the day's universe mean",
    "momentum_20d, volatility_20d, liquidity_20d (ln mean turnover), size (ln total cap): "
    "winsorised at median +- 3 x 1.483 x MAD and z-scored per day over the universe",
)
MIB = 2**20
TARGETS = {"plan_seconds": 600.0, "plan_peak_mib": 8 * 1024.0, "run_seconds": 30.0,
           "ratio": 10.0}
# Baseline columns checked against the SQL models: column -> (model, column there).
CHECKED_COLUMNS = {
    "adj_vwap": ("intermediate.int_daily_prices", "adj_vwap"),
    "ret_1d": ("intermediate.int_daily_prices", "ret_1d"),
    "is_st": ("intermediate.int_daily_prices", "is_st"),
    "is_limit_up_close": ("intermediate.int_daily_prices", "is_limit_up_close"),
    "is_limit_down_close": ("intermediate.int_daily_prices", "is_limit_down_close"),
    "is_limit_up_open": ("intermediate.int_daily_prices", "is_limit_up_open"),
    "listed_trading_days": ("features.stock_universe_daily", "listed_trading_days"),
    "turnover_pct": ("features.stock_price_volume_daily", "turnover_pct"),
    "in_universe": ("features.stock_universe_daily", "in_universe"),
    "fwd_ret_vwap_20d": ("labels.stock_fwd_return_daily", "fwd_ret_vwap_20d"),
    "fwd_excess_close_5d": ("labels.stock_fwd_return_daily", "fwd_excess_close_5d"),
    "momentum_20d": ("features.stock_style_daily", "momentum_20d"),
    "volatility_20d": ("features.stock_style_daily", "volatility_20d"),
    "liquidity_20d": ("features.stock_style_daily", "liquidity_20d"),
    "size": ("features.stock_style_daily", "size"),
}


# --------------------------------------------------------------------------- plan output
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
# `[1/3] intermediate.int_daily_prices  [insert 2010-01-01 - 2020-12-31, audits passed 4]  0.74s`
_BATCH_LINE = re.compile(
    r"\[\s*\d+\s*/\s*\d+\s*\]\s+(?P<model>[A-Za-z_][\w]*(?:\.[A-Za-z_][\w]*)+)\s+"
    r"\[(?P<annotation>[^\]]*)\]\s+(?P<seconds>\d+(?:\.\d+)?)s(?!\w)"
)


def parse_model_seconds(stdout: str) -> dict[str, float]:
    """Execution seconds per model from `sqlmesh plan`/`run` console output, batches summed.

    Each evaluated batch prints `[i/n] schema.model  [annotation]  1.23s`. The console may
    wrap a long line (at spaces) and colour it, so colour codes are dropped and all whitespace
    is read as one space before matching. Signal checks (`[1/1] raw_arrived 0.32s`) have no
    schema-qualified name and no bracketed annotation, so they do not match.
    """
    text = re.sub(r"\s+", " ", _ANSI.sub("", stdout))
    seconds: dict[str, float] = {}
    for match in _BATCH_LINE.finditer(text):
        model = match["model"]
        seconds[model] = round(seconds.get(model, 0.0) + float(match["seconds"]), 3)
    return seconds


def staging_views_read(models: list[str], transforms: Path = TRANSFORMS) -> list[str]:
    """The staging views the SQL files of `models` name (transforms/models/<schema>/<name>.sql)."""
    found: set[str] = set()
    for model in models:
        schema, name = model.split(".")[-2:]
        path = transforms / "models" / schema / f"{name}.sql"
        if path.is_file():
            found.update(re.findall(r"\bstaging\.stg_\w+", path.read_text().lower()))
    return sorted(found)


# --------------------------------------------------------------------------- measuring
@dataclass(frozen=True)
class Measured:
    """A finished child command: its wall seconds, peak memory and output."""

    seconds: float
    peak_polled_mib: float  # largest summed RSS of the process tree, polled
    maxrss_mib: float  # ru_maxrss of the child from wait4 (its largest single process)
    returncode: int
    stdout: str
    stderr: str

    @property
    def peak_mib(self) -> float:
        return max(self.peak_polled_mib, self.maxrss_mib)


def _tree_rss(process) -> int:
    import psutil

    total = 0
    for p in (process, *process.children(recursive=True)):
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total


def measure_command(args: list[str], cwd: Path, env: dict[str, str], logs: Path,
                    name: str) -> Measured:
    """Run `args`, polling the summed RSS of its process tree, and reap it with wait4.

    Output goes to `logs/<name>.stdout` and `.stderr` (no pipe to fill while we poll).
    """
    import psutil

    logs.mkdir(parents=True, exist_ok=True)
    out_path, err_path = logs / f"{name}.stdout", logs / f"{name}.stderr"
    with out_path.open("w") as out, err_path.open("w") as err:
        started = time.perf_counter()
        child = subprocess.Popen(args, cwd=cwd, env=env, stdout=out, stderr=err)
        peak = 0
        try:
            tree = psutil.Process(child.pid)
        except psutil.Error:
            tree = None
        while True:
            pid, status, usage = os.wait4(child.pid, os.WNOHANG)
            if pid:
                break
            if tree is not None:
                peak = max(peak, _tree_rss(tree))
            time.sleep(POLL_SECONDS)
        seconds = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    return Measured(
        seconds=seconds,
        peak_polled_mib=peak / MIB,
        maxrss_mib=usage.ru_maxrss / 1024,  # KiB on Linux
        returncode=child.returncode,
        stdout=out_path.read_text(),
        stderr=err_path.read_text(),
    )


def _python_child(name: str, code: str, env: dict[str, str], logs: Path) -> Measured:
    """Run a Python snippet in a fresh interpreter, measured; raise if it fails."""
    done = measure_command([sys.executable, "-c", code], Path.cwd(), env, logs, name)
    if done.returncode != 0:
        raise RuntimeError(f"a benchmark child failed (exit {done.returncode}):\n"
                           + done.stderr[-4000:])
    return done


def _sqlmesh(command: str, home: Path, logs: Path) -> Measured:
    env = {**os.environ, "ZOO_HOME": str(home), "COLUMNS": "250"}
    sqlmesh = Path(sys.executable).with_name("sqlmesh")
    args = [str(sqlmesh), command] + (["--auto-apply", "--no-prompts"] if command == "plan"
                                      else [])
    done = measure_command(args, TRANSFORMS, env, logs, f"sqlmesh-{command}")
    if done.returncode != 0:
        raise RuntimeError(f"sqlmesh {command} failed (exit {done.returncode}):\n"
                           + (done.stdout + done.stderr)[-6000:])
    return done


# --------------------------------------------------------------------------- data steps
def prepare(config: dict, market: Path, extract: Path, warehouse: Path, result: Path) -> None:
    """Generate the market, cut the extract one trading day before its end, load the extract.

    Runs in a child process (see `run`); leaves its figures as JSON in `result`.
    """
    import polars as pl

    from zoo.ingest.load import load_dir
    from zoo.synth import SynthConfig, generate

    generated = generate(SynthConfig(**config), market)
    dates = pl.read_parquet(market / "AShareEODPrices.parquet", columns=["TRADE_DT"])
    last_day = str(dates["TRADE_DT"].max())
    extract.mkdir(parents=True)
    for path in sorted(market.glob("*.parquet")):
        if path.stem in DAILY_TABLES:
            frame = pl.read_parquet(path).filter(pl.col(DAILY_TABLES[path.stem]) < last_day)
            frame.write_parquet(extract / path.name)
        else:
            shutil.copy(path, extract / path.name)
    load = load_dir(extract, warehouse)
    result.write_text(json.dumps({
        "trading_days": generated.trading_days,
        "raw_rows_by_table": {t: n for t, n in generated.rows.items()
                              if (market / f"{t}.parquet").exists()},
        "generate_seconds": generated.seconds,
        "last_day": last_day,
        "load_seconds": load.seconds,
    }))


def load_full(market: Path, warehouse: Path, result: Path) -> None:
    """Load the whole market: only the rows of the last day are new."""
    from zoo.ingest.load import load_dir

    load = load_dir(market, warehouse)
    result.write_text(json.dumps({"load_seconds": load.seconds,
                                  "rows_inserted": load.rows_inserted}))


def _child_call(function: str, *paths: Path, config: dict | None = None) -> str:
    """Python source calling `zoo.bench.refresh.<function>([config,] *paths)`."""
    args = [f"Path({str(p)!r})" for p in paths]
    if config is not None:
        args.insert(0, f"json.loads({json.dumps(config)!r})")
    return (f"import json; from pathlib import Path; from zoo.bench.refresh import {function}; "
            f"{function}({', '.join(args)})")


# --------------------------------------------------------------------------- pandas baseline
def pandas_features(market: Path):
    """The daily features of the SQL models, written the usual pandas way, from raw parquet.

    One row per stock and trading day with: adjusted OHLC and VWAP, volume (shares), amount
    (yuan), turnover, ret_1d, suspension, ST, listing age, price-limit flags, the universe
    flag, forward returns (h = 5, 10, 15, 20 from T+1 VWAP and from T close) and their excess
    over the universe mean, and the price-based style factors (momentum_20d, volatility_20d,
    liquidity_20d, size) winsorised and z-scored per day over the universe. Forward returns
    shift by rows within a stock (a stock keeps a row on each trading day it is listed,
    suspended days included).
    """
    import numpy as np
    import pandas as pd

    def to_date(text):
        return pd.to_datetime(text, format="%Y%m%d")

    code = "S_INFO_WINDCODE"
    prices = pd.read_parquet(market / "AShareEODPrices.parquet", columns=[
        code, "TRADE_DT", "S_DQ_PRECLOSE", "S_DQ_OPEN", "S_DQ_HIGH", "S_DQ_LOW", "S_DQ_CLOSE",
        "S_DQ_VOLUME", "S_DQ_AMOUNT", "S_DQ_ADJFACTOR", "S_DQ_TRADESTATUSCODE"])
    derivative = pd.read_parquet(market / "AShareEODDerivativeIndicator.parquet",
                                 columns=[code, "TRADE_DT", "S_VAL_MV", "S_DQ_TURN",
                                          "S_DQ_FREETURNOVER"])
    description = pd.read_parquet(market / "AShareDescription.parquet",
                                  columns=[code, "S_INFO_LISTDATE", "S_INFO_LISTBOARDNAME"])
    st = pd.read_parquet(market / "AShareST.parquet")
    calendar = pd.read_parquet(market / "AShareCalendar.parquet")

    df = prices.merge(derivative, on=[code, "TRADE_DT"], how="left")
    df = df.merge(description, on=code)
    del prices, derivative
    df["trade_date"] = to_date(df["TRADE_DT"])
    df["list_date"] = to_date(df["S_INFO_LISTDATE"])
    df = df.sort_values([code, "trade_date"], ignore_index=True)

    out = pd.DataFrame({"stock_id": df[code], "trade_date": df["trade_date"]})
    for column in ("open", "high", "low", "close"):
        out[f"adj_{column}"] = df[f"S_DQ_{column.upper()}"] * df["S_DQ_ADJFACTOR"]
    vwap = np.where(df["S_DQ_VOLUME"] > 0,
                    df["S_DQ_AMOUNT"] * 1000 / (df["S_DQ_VOLUME"] * 100), df["S_DQ_CLOSE"])
    out["adj_vwap"] = vwap * df["S_DQ_ADJFACTOR"]
    out["volume_shares"] = df["S_DQ_VOLUME"] * 100
    out["amount_yuan"] = df["S_DQ_AMOUNT"] * 1000
    out["turnover_pct"] = df["S_DQ_TURN"]
    out["free_turnover_pct"] = df["S_DQ_FREETURNOVER"]
    out["ret_1d"] = df["S_DQ_CLOSE"] / df["S_DQ_PRECLOSE"] - 1
    out["is_suspended"] = (df["S_DQ_TRADESTATUSCODE"] == 0) | (df["S_DQ_VOLUME"] == 0)

    # listing age in trading days: positions on the calendar; a listing before the calendar's
    # first day counts back in weekdays
    days = np.sort(to_date(calendar.loc[calendar["S_INFO_EXCHMARKET"].isin(["SSE", "SZSE"]),
                                        "TRADE_DAYS"].unique()))
    list_dates = df["list_date"].to_numpy()
    before = np.busday_count(list_dates.astype("datetime64[D]"), days[0].astype("datetime64[D]"))
    list_position = np.where(list_dates < days[0], -before, np.searchsorted(days, list_dates))
    out["listed_trading_days"] = np.searchsorted(days, df["trade_date"].to_numpy()) - list_position

    # ST: inside an S/P/L period [ENTRY_DT, REMOVE_DT)
    st = st[st["S_TYPE_ST"].isin(["S", "P", "L"])]
    pairs = df[[code, "trade_date"]].reset_index().merge(
        st.assign(entry=to_date(st["ENTRY_DT"]), remove=to_date(st["REMOVE_DT"]))
          [[code, "entry", "remove"]], on=code)
    inside = (pairs["trade_date"] >= pairs["entry"]) & (
        pairs["remove"].isna() | (pairs["trade_date"] < pairs["remove"]))
    out["is_st"] = False
    out.loc[pairs.loc[inside, "index"].unique(), "is_st"] = True

    # price limits on the previous close, rounded half up to 0.01
    board, age = df["S_INFO_LISTBOARDNAME"], out["listed_trading_days"]
    reform = pd.Timestamp("2020-08-24")
    wide = (board == "科创板") | ((board == "创业板") & (df["trade_date"] >= reform))
    free_ipo = (board == "科创板") | ((board == "创业板") & (df["list_date"] >= reform))
    cases = [free_ipo & (age < 5), age == 0, wide, out["is_st"]]
    up = np.select(cases, [np.nan, 0.44, 0.20, 0.05], 0.10)
    down = np.select(cases, [np.nan, 0.36, 0.20, 0.05], 0.10)
    limit_up = np.floor(df["S_DQ_PRECLOSE"] * (1 + up) * 100 + 0.5 + 1e-6) / 100
    limit_down = np.maximum(
        np.floor(df["S_DQ_PRECLOSE"] * (1 - down) * 100 + 0.5 + 1e-6) / 100, 0.01)
    trading = ~out["is_suspended"]
    out["is_limit_up_close"] = trading & (df["S_DQ_CLOSE"] >= limit_up - 1e-9)
    out["is_limit_down_close"] = trading & (df["S_DQ_CLOSE"] <= limit_down + 1e-9)
    out["is_limit_up_open"] = trading & (df["S_DQ_OPEN"] >= limit_up - 1e-9)

    out["in_universe"] = (age >= 120) & ~out["is_st"] & ~out["is_suspended"]

    # forward returns, and their excess over the day's universe mean
    by_stock = out.groupby("stock_id", sort=False)
    vwap_t1 = by_stock["adj_vwap"].shift(-1)
    for h in (5, 10, 15, 20):
        out[f"fwd_ret_vwap_{h}d"] = by_stock["adj_vwap"].shift(-(1 + h)) / vwap_t1 - 1
        out[f"fwd_ret_close_{h}d"] = by_stock["adj_close"].shift(-h) / out["adj_close"] - 1
    for h in (5, 10, 15, 20):
        for kind in ("vwap", "close"):
            ret = out[f"fwd_ret_{kind}_{h}d"]
            mean = ret.where(out["in_universe"]).groupby(out["trade_date"]).transform("mean")
            out[f"fwd_excess_{kind}_{h}d"] = ret - mean

    # price-based style factors
    out["momentum_20d"] = out["adj_close"] / by_stock["adj_close"].shift(20) - 1
    out["volatility_20d"] = (by_stock["ret_1d"].rolling(20).std()
                             .reset_index(level=0, drop=True))
    mean_turnover = by_stock["turnover_pct"].rolling(20).mean().reset_index(level=0, drop=True)
    out["liquidity_20d"] = np.log(mean_turnover.where(mean_turnover > 0))
    out["size"] = np.log(df["S_VAL_MV"] * 10000)
    for factor in ("momentum_20d", "volatility_20d", "liquidity_20d", "size"):
        out[factor] = _winsorised_zscore(out, factor)
    return out


def _winsorised_zscore(df, column: str):
    """Clip at the day's universe median +- 3 x 1.483 x MAD, then z-score by the universe."""
    value, day = df[column], df["trade_date"]
    universe = value.where(df["in_universe"])
    median = universe.groupby(day).transform("median")
    mad = (universe - median).abs().groupby(day).transform("median")
    clipped = value.clip(median - 3 * 1.483 * mad, median + 3 * 1.483 * mad)
    by_day = clipped.where(df["in_universe"]).groupby(day)
    return (clipped - by_day.transform("mean")) / by_day.transform("std")


def pandas_baseline(market: Path, output: Path, result: Path) -> None:
    """Child process: time `pandas_features`, then keep the checked columns for comparison."""
    started = time.perf_counter()
    features = pandas_features(market)
    seconds = time.perf_counter() - started
    features[["stock_id", "trade_date", *CHECKED_COLUMNS]].to_parquet(output)
    result.write_text(json.dumps({"seconds": seconds, "rows": len(features),
                                  "columns": features.shape[1]}))


def compare_with_sql(warehouse: Path, baseline: Path) -> dict:
    """Per checked column: rows compared, max |difference| (or mismatching rows for flags)."""
    import duckdb

    with duckdb.connect(str(warehouse), read_only=True) as con:
        have = {f"{s}.{t}" for s, t in con.execute(
            "SELECT table_schema, table_name FROM information_schema.tables").fetchall()}
        con.execute("CREATE TEMP VIEW baseline AS SELECT * EXCLUDE (trade_date), "
                    f"CAST(trade_date AS DATE) AS trade_date FROM read_parquet('{baseline}')")
        report: dict[str, dict] = {}
        for column, (model, sql_column) in CHECKED_COLUMNS.items():
            if model not in have:
                continue
            flag = column.startswith(("is_", "in_", "listed_"))
            differ = (f"count(*) FILTER (WHERE b.{column} IS DISTINCT FROM m.{sql_column})"
                      if flag else f"max(abs(b.{column} - m.{sql_column}))")
            row = con.execute(
                f"SELECT count(*), {differ}, "
                f"count(*) FILTER (WHERE (b.{column} IS NULL) <> (m.{sql_column} IS NULL)) "
                f"FROM baseline AS b JOIN {model} AS m USING (stock_id, trade_date)"
            ).fetchone()
            report[column] = {"model": model, "rows": row[0],
                              "mismatching_rows" if flag else "max_abs_diff": row[1],
                              "null_mismatches": row[2]}
    return report


def write_floor(warehouse: Path, models: list[str]) -> dict[str, float]:
    """Seconds to copy each model's table (`CREATE TABLE AS SELECT *`), then drop the copy.

    The same DuckDB memory limit as the SQLMesh connection (transforms/config.py).
    """
    import duckdb

    limit = os.environ.get("ZOO_DUCKDB_MEMORY_LIMIT", "4GB")
    seconds: dict[str, float] = {}
    with duckdb.connect(str(warehouse), config={"memory_limit": limit}) as con:
        con.execute("CREATE SCHEMA IF NOT EXISTS bench_floor")
        for model in models:
            started = time.perf_counter()
            con.execute(f"CREATE OR REPLACE TABLE bench_floor.copy AS SELECT * FROM {model}")
            seconds[model] = round(time.perf_counter() - started, 3)
            con.execute("DROP TABLE bench_floor.copy")
        con.execute("DROP SCHEMA bench_floor")
    return seconds


# --------------------------------------------------------------------------- the benchmark
def _new_day_rows(warehouse: Path, day: str) -> int:
    import duckdb

    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(
            "SELECT count(*) FROM intermediate.int_daily_prices WHERE trade_date = ?",
            [datetime.strptime(day, "%Y%m%d").date()],
        ).fetchone()[0]


def measure(stocks: int, start: str, end: str, seed: int = 7, keep: bool = False) -> dict:
    """Run the four steps in a scratch $ZOO_HOME and return the figures (nothing printed)."""
    from zoo.paths import bench_dir

    scratch = Path(tempfile.mkdtemp(prefix="refresh-", dir=bench_dir()))
    load_before = os.getloadavg()  # other work on the machine slows every figure
    market, extract, logs = scratch / "market", scratch / "extract", scratch / "logs"
    warehouse = scratch / "warehouse.duckdb"
    env = dict(os.environ)
    try:
        config = dict(stocks=stocks, start=start, end=end, seed=seed)
        prepared_path = scratch / "prepared.json"
        _python_child("prepare", _child_call("prepare", market, extract, warehouse,
                                             prepared_path, config=config), env, logs)
        prepared = json.loads(prepared_path.read_text())
        shutil.rmtree(extract)

        plan = _sqlmesh("plan", scratch, logs)
        model_seconds = parse_model_seconds(plan.stdout)
        if not model_seconds:
            raise RuntimeError("no model timings found in the plan's output:\n"
                               + plan.stdout[-4000:])

        loaded_path = scratch / "loaded.json"
        _python_child("load_full", _child_call("load_full", market, warehouse, loaded_path),
                      env, logs)
        loaded = json.loads(loaded_path.read_text())
        daily_run = _sqlmesh("run", scratch, logs)
        new_day_rows = _new_day_rows(warehouse, prepared["last_day"])
        if new_day_rows == 0:
            raise RuntimeError(f"`sqlmesh run` did not fill {prepared['last_day']}:\n"
                               + daily_run.stdout[-4000:])

        baseline_path, pandas_path = scratch / "baseline.parquet", scratch / "pandas.json"
        baseline = _python_child(
            "pandas_baseline",
            _child_call("pandas_baseline", market, baseline_path, pandas_path), env, logs)
        pandas_result = json.loads(pandas_path.read_text())
        agreement = compare_with_sql(warehouse, baseline_path)
        floor_seconds = write_floor(warehouse, [m for m in SAME_FEATURE_MODELS
                                                if m in model_seconds])
    finally:
        if not keep:
            shutil.rmtree(scratch, ignore_errors=True)

    same_models = [m for m in SAME_FEATURE_MODELS if m in model_seconds]
    staging = [v for v in staging_views_read(same_models) if v in model_seconds]
    sql_seconds = sum(model_seconds[m] for m in same_models + staging)
    figures = {
        "machine": {"platform": platform.platform(), "cpu_count": os.cpu_count(),
                    "python": sys.version.split()[0], "memory_gib": _memory_gib(),
                    "load_average_1min_before_after": [round(load_before[0], 1),
                                                       round(os.getloadavg()[0], 1)]},
        **config,
        "trading_days": prepared["trading_days"],
        "raw_rows": sum(prepared["raw_rows_by_table"].values()),
        "raw_rows_by_table": prepared["raw_rows_by_table"],
        "generate_seconds": round(prepared["generate_seconds"], 2),
        "extract_load_seconds": round(prepared["load_seconds"], 2),
        "plan_seconds": round(plan.seconds, 2),
        "plan_peak_mib": round(plan.peak_mib),
        "plan_peak_polled_mib": round(plan.peak_polled_mib),
        "plan_maxrss_mib": round(plan.maxrss_mib),
        "plan_model_seconds_total": round(sum(model_seconds.values()), 2),
        "model_seconds": model_seconds,
        "new_day": prepared["last_day"],
        "new_day_load_seconds": round(loaded["load_seconds"], 2),
        "new_day_rows_loaded": loaded["rows_inserted"],
        "run_seconds": round(daily_run.seconds, 2),
        "run_peak_mib": round(daily_run.peak_mib),
        "run_peak_polled_mib": round(daily_run.peak_polled_mib),
        "run_maxrss_mib": round(daily_run.maxrss_mib),
        "run_model_seconds": parse_model_seconds(daily_run.stdout),
        "run_new_day_rows_int_daily_prices": new_day_rows,
        "pandas_seconds": round(pandas_result["seconds"], 2),
        "pandas_wall_seconds": round(baseline.seconds, 2),
        "pandas_peak_mib": round(baseline.peak_mib),
        "pandas_peak_polled_mib": round(baseline.peak_polled_mib),
        "pandas_maxrss_mib": round(baseline.maxrss_mib),
        "pandas_rows": pandas_result["rows"],
        "pandas_features": list(PANDAS_FEATURES),
        "sql_models_same_features": same_models,
        "sql_staging_views_same_features": staging,
        "sql_seconds_same_features": round(sql_seconds, 2),
        "ratio": round(pandas_result["seconds"] / sql_seconds, 2) if sql_seconds else None,
        "write_floor_seconds": floor_seconds,
        "write_floor_seconds_same_features": round(sum(floor_seconds.values()), 2),
        "ratio_at_write_floor": (round(pandas_result["seconds"] / sum(floor_seconds.values()), 2)
                                 if floor_seconds else None),
        "pandas_vs_sql": agreement,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    figures["targets"] = {
        "plan_seconds_max": TARGETS["plan_seconds"],
        "plan_peak_mib_max": TARGETS["plan_peak_mib"],
        "run_seconds_max": TARGETS["run_seconds"],
        "ratio_min": TARGETS["ratio"],
    }
    figures["passed"] = {
        "plan_seconds": figures["plan_seconds"] < TARGETS["plan_seconds"],
        "plan_peak_mib": figures["plan_peak_mib"] < TARGETS["plan_peak_mib"],
        "run_seconds": figures["run_seconds"] < TARGETS["run_seconds"],
        "ratio": figures["ratio"] is not None and figures["ratio"] >= TARGETS["ratio"],
    }
    if keep:
        figures["scratch"] = str(scratch)
    return figures


def _memory_gib() -> float:
    import psutil

    return round(psutil.virtual_memory().total / 2**30, 1)


def run(stocks: int = 5000, start: str = "20140101", end: str = "20231231", seed: int = 7,
        keep: bool = False) -> dict:
    """Measure, print the figures, and write $ZOO_HOME/bench/refresh.json; returns them."""
    from rich.console import Console
    from rich.table import Table

    from zoo.paths import bench_dir

    figures = measure(stocks, start, end, seed, keep)
    passed, targets = figures["passed"], figures["targets"]

    def verdict(key: str) -> str:
        return "pass" if passed[key] else "FAIL"

    table = Table(title=f"zoo bench refresh: {stocks} stocks, {start}-{end} "
                        f"({figures['trading_days']:,} trading days, "
                        f"{figures['raw_rows']:,} raw rows)")
    for name, justify in (("measure", "left"), ("value", "right"), ("target", "right"),
                          ("", "left")):
        table.add_column(name, justify=justify)
    table.add_row("sqlmesh plan, seconds", f"{figures['plan_seconds']:,.1f}",
                  f"< {targets['plan_seconds_max']:,.0f}", verdict("plan_seconds"))
    table.add_row("sqlmesh plan, peak MiB", f"{figures['plan_peak_mib']:,}",
                  f"< {targets['plan_peak_mib_max']:,.0f}", verdict("plan_peak_mib"))
    table.add_row("sqlmesh run (one new day), seconds", f"{figures['run_seconds']:,.1f}",
                  f"< {targets['run_seconds_max']:,.0f}", verdict("run_seconds"))
    table.add_row("sqlmesh run, peak MiB", f"{figures['run_peak_mib']:,}", "", "")
    table.add_row("pandas baseline, seconds", f"{figures['pandas_seconds']:,.1f}", "", "")
    table.add_row("pandas baseline, peak MiB", f"{figures['pandas_peak_mib']:,}", "", "")
    table.add_row("SQL, same features, seconds", f"{figures['sql_seconds_same_features']:,.1f}",
                  "", "")
    ratio = figures["ratio"]
    table.add_row("pandas / SQL", "n/a" if ratio is None else f"{ratio:,.1f}x",
                  f">= {targets['ratio_min']:,.0f}x", verdict("ratio"))
    table.add_row("write floor (copying the same tables), seconds",
                  f"{figures['write_floor_seconds_same_features']:,.1f}", "", "")
    floor_ratio = figures["ratio_at_write_floor"]
    table.add_row("pandas / write floor (best case for SQL)",
                  "n/a" if floor_ratio is None else f"{floor_ratio:,.1f}x", "", "")
    console = Console()
    console.print(table)

    models = Table(title="sqlmesh plan: seconds per model (batches summed)")
    for name, justify in (("model", "left"), ("seconds", "right"),
                          ("write floor, seconds", "right"), ("same features", "left")):
        models.add_column(name, justify=justify)
    compared = set(figures["sql_models_same_features"]) | set(
        figures["sql_staging_views_same_features"])
    floors = figures["write_floor_seconds"]
    for model, seconds in sorted(figures["model_seconds"].items(), key=lambda kv: -kv[1]):
        models.add_row(model, f"{seconds:,.2f}",
                       f"{floors[model]:,.2f}" if model in floors else "",
                       "yes" if model in compared else "")
    console.print(models)

    path = bench_dir() / "refresh.json"
    path.write_text(json.dumps(figures, indent=2, ensure_ascii=False, default=str) + "\n")
    console.print(f"written to {path}")
    return figures
