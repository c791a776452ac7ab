"""Benchmark of `zoo eval`: the full evaluation of one model on full-market synthetic scores.

`run(stocks, years)` works in a scratch folder under $ZOO_HOME/bench (deleted unless `keep`):

1. It creates a scratch DuckDB warehouse holding only the tables evaluation reads, with the
   warehouse's table names, column names and types, filled by DuckDB itself with random data
   (no Python loops; a fixed `setseed`): the trade calendar (the first years x 242 weekdays
   from 2016-01-04), and for every (stock, day) of `stocks` x days:
   `labels.stock_fwd_return_daily` (all 19 columns; returns are a planted signal times a
   latent alpha plus noise, growing with the horizon; the fwd_excess_* columns repeat the
   raw returns; 2% of days not buyable at T+1), `features.stock_universe_daily` (90% in the
   universe), `features.stock_price_volume_daily` (only is_suspended and
   is_limit_down_close, 1% each, and a flat adj_vwap: the columns evaluation reads; the labels
   are never NULL, so a holder's return is always the label), `features.stock_style_daily`
   (the ten style factors, standard normal) and `features.stock_fundamental_quarterly`
   (one row per stock per quarter, the nine fundamentals evaluation correlates with); and
   the model `scores.score_bench` (the latent alpha plus noise, every day, every stock).
2. A child process measured by zoo.bench.harness runs `evaluate_repeatedly`:
   `zoo.evaluate.evaluation.evaluate("bench")` -- every horizon of zoo.vocabulary.HORIZONS:
   Rank IC at T0 close and T1 VWAP, by year, autocorrelation, Top10% and Top100 portfolios
   with fees, the style and fundamental correlations -- `repeats` times, each timed around
   `evaluate` only (wall and process CPU seconds). Peak memory is the child's `ru_maxrss`
   (imports and DuckDB's buffers included); the child's own wall and CPU seconds (imports
   included) are reported too.
3. Prints a table and writes $ZOO_HOME/bench/eval.json.

Target: a median under TARGET_SECONDS at 5000 stocks x 8 years.
"""

from __future__ import annotations

import os
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path

from zoo.bench import harness
from zoo.vocabulary import HORIZONS

MODEL = "bench"
TARGET_SECONDS = 60.0
DAYS_PER_YEAR = 242
SEED = 0.42


def _normal() -> str:
    """A standard normal draw in DuckDB SQL (Box-Muller on two uniform draws)."""
    return "(sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()))"


def make_warehouse(path: Path, stocks: int, years: int) -> dict[str, int]:
    """Create the scratch warehouse described in the module docstring; rows per table."""
    import duckdb

    z = _normal()
    days = years * DAYS_PER_YEAR
    horizons = (5, 10, 15, 20)
    con = duckdb.connect(str(path))
    try:
        con.execute("SET enable_progress_bar = false")
        con.execute(f"SELECT setseed({SEED})")
        for schema in ("reference", "labels", "features", "scores"):
            con.execute(f"CREATE SCHEMA {schema}")
        con.execute(f"""
            CREATE TABLE reference.trade_calendar AS
            SELECT d::DATE AS trade_date FROM range(DATE '2016-01-04', DATE '2060-01-01',
                                                    INTERVAL 1 DAY) AS t(d)
            WHERE dayofweek(d) BETWEEN 1 AND 5 ORDER BY d LIMIT {days}""")
        con.execute(f"""
            CREATE TEMP TABLE grid AS
            SELECT printf('%06d.SZ', s) AS stock_id, c.trade_date, {z} AS alpha
            FROM range({stocks}) AS t(s) CROSS JOIN reference.trade_calendar AS c""")
        returns = ", ".join(
            f"0.004 * sqrt({h}) * alpha + 0.02 * sqrt({h}) * {z} AS fwd_ret_{kind}_{h}d"
            for kind in ("vwap", "close") for h in horizons)
        excess = ", ".join(f"fwd_ret_{kind}_{h}d AS fwd_excess_{kind}_{h}d"
                           for kind in ("vwap", "close") for h in horizons)
        con.execute(f"""
            CREATE TABLE labels.stock_fwd_return_daily AS
            SELECT *, {excess}, random() > 0.02 AS is_buyable_t1
            FROM (SELECT stock_id, trade_date, {returns} FROM grid)""")
        con.execute("""
            CREATE TABLE features.stock_universe_daily AS
            SELECT stock_id, trade_date, 500::INTEGER AS listed_trading_days, FALSE AS is_st,
                   FALSE AS is_suspended, random() > 0.1 AS in_universe,
                   NULL::DOUBLE AS csi300_weight_pct, NULL::DOUBLE AS csi500_weight_pct,
                   NULL::DOUBLE AS csi1000_weight_pct
            FROM grid""")
        con.execute("""
            CREATE TABLE features.stock_price_volume_daily AS
            SELECT stock_id, trade_date, random() < 0.01 AS is_suspended,
                   random() < 0.01 AS is_limit_down_close, 10.0 AS adj_vwap
            FROM grid""")
        styles = ", ".join(f"{z} AS {c}" for c in (
            "size", "midcap", "bp", "ep", "momentum_20d", "liquidity_20d", "volatility_20d",
            "profitability", "growth", "sue"))
        con.execute(f"""
            CREATE TABLE features.stock_style_daily AS
            SELECT stock_id, trade_date, 'X' AS industry_l1_code, 'X' AS industry_l1_name,
                   TRUE AS in_universe, 1e10 AS total_mv_yuan, {styles}
            FROM grid""")
        fundamentals = ", ".join(f"{z} AS {c}" for c in (
            "roe_ttm", "roa_ttm", "gross_margin_q", "net_margin_q", "revenue_yoy",
            "net_profit_yoy", "accruals_ttm", "leverage", "sue"))
        con.execute(f"""
            CREATE TABLE features.stock_fundamental_quarterly AS
            SELECT printf('%06d.SZ', s) AS stock_id,
                   (DATE '2015-10-30' + INTERVAL (3 * q) MONTH)::DATE AS available_date,
                   {fundamentals}
            FROM range({stocks}) AS t(s) CROSS JOIN range({4 * years + 1}) AS u(q)""")
        con.execute(f"""
            CREATE TABLE scores.score_{MODEL} AS
            SELECT stock_id, trade_date, (alpha + 2 * {z})::DOUBLE AS score,
                   'bench' AS run_id
            FROM grid""")
        tables = ["reference.trade_calendar", "labels.stock_fwd_return_daily",
                  "features.stock_universe_daily", "features.stock_price_volume_daily",
                  "features.stock_style_daily", "features.stock_fundamental_quarterly",
                  f"scores.score_{MODEL}"]
        return {t: con.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in tables}
    finally:
        con.close()


def evaluate_repeatedly(warehouse: Path, repeats: int) -> dict:
    """Evaluate the model `repeats` times; the seconds of each and the last run's summary."""
    from zoo.evaluate.evaluation import EvalConfig, evaluate

    seconds, cpu_seconds, summary = [], [], {}
    for _ in range(repeats):
        started, cpu_started = time.perf_counter(), time.process_time()
        result = evaluate(MODEL, EvalConfig(), warehouse=warehouse)
        seconds.append(time.perf_counter() - started)
        cpu_seconds.append(time.process_time() - cpu_started)
        summary = {h: {"ic_vwap": s["ic_vwap"], "top10pct": s["top10pct"]["excess_gross"]}
                   for h, s in result.summary.items()}
    return {"seconds": seconds, "cpu_seconds": cpu_seconds, "summary": summary}


def measure(stocks: int, years: int, repeats: int, keep: bool = False) -> dict:
    """Build the scratch warehouse, time `repeats` evaluations in a child; the figures."""
    from zoo.paths import bench_dir

    with harness.scratch_dir("eval-", bench_dir(), keep=keep) as scratch:
        warehouse = scratch / "warehouse.duckdb"
        started = time.perf_counter()
        rows = make_warehouse(warehouse, stocks, years)
        generate_seconds = time.perf_counter() - started
        done = harness.measure(evaluate_repeatedly, warehouse, repeats)
    result = done.value
    median = statistics.median(result["seconds"])
    return {
        "stocks": stocks, "years": years, "trading_days": years * DAYS_PER_YEAR,
        "horizons": list(HORIZONS), "rows_by_table": rows,
        "generate_seconds": round(generate_seconds, 2),
        "seconds": [round(s, 2) for s in result["seconds"]], "median_seconds": round(median, 2),
        "cpu_seconds": [round(s, 2) for s in result["cpu_seconds"]],
        "median_cpu_seconds": round(statistics.median(result["cpu_seconds"]), 2),
        "child_wall_seconds": round(done.wall_seconds, 2),
        "child_cpu_seconds": round(done.cpu_seconds, 2),
        "peak_rss_mib": round(done.maxrss_mib), "peak_rss_polled_mib": round(done.peak_polled_mib),
        "target_seconds": TARGET_SECONDS,
        "within_target": median < TARGET_SECONDS, "summary": result["summary"],
        "scratch": str(scratch) if keep else None,
        **harness.machine(), "load_average": [round(x, 2) for x in os.getloadavg()],
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def run(stocks: int = 5000, years: int = 8, repeats: int = 3, keep: bool = False) -> dict:
    """Measure, print a table, and write $ZOO_HOME/bench/eval.json; returns the figures."""
    from rich.console import Console

    figures = measure(stocks, years, repeats, keep)
    harness.print_table(
        f"zoo bench eval: {stocks:,} stocks x {figures['trading_days']:,} days, horizons "
        f"{'/'.join(map(str, HORIZONS))}, one model",
        ["score rows", "generate s", "median s", "runs s", "median CPU s", "peak RSS MiB",
         f"< {TARGET_SECONDS:.0f} s"],
        [(f"{figures['rows_by_table'][f'scores.score_{MODEL}']:,}",
          f"{figures['generate_seconds']:.1f}", f"{figures['median_seconds']:.2f}",
          " ".join(f"{s:.2f}" for s in figures["seconds"]),
          f"{figures['median_cpu_seconds']:.2f}", f"{figures['peak_rss_mib']:,}",
          "yes" if figures["within_target"] else "NO")])
    Console().print(f"planted-signal check (h: T1 IC, Top10% excess): {figures['summary']}; "
                    f"load average {figures['load_average']}")
    harness.write_result("eval", figures)
    return figures
