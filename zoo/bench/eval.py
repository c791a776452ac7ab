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
2. Children measured by zoo.bench.harness run `evaluate_once`, which times one
   `zoo.evaluate.evaluation.evaluate("bench")` -- every horizon of zoo.vocabulary.HORIZONS:
   Rank IC at T0 close and T1 VWAP, by year, autocorrelation, Top10% and Top100 portfolios
   with fees, the style and fundamental correlations -- around `evaluate` only (wall and
   process CPU seconds; imports and a first connection are made before the timer). Ours and
   the baseline, `evaluate(..., plain=True)` (the plain steps of zoo.evaluate.plain, which the
   fast ones replaced: whole tables joined, long-frame correlations, targets joined back), run
   alternately, one child each, `repeats` times each (ours first in even rounds, the baseline
   first in odd ones), so both meet the same load. Medians, their ratio (baseline / ours), the
   largest difference between the two runs' figures, each path's peak memory (its children's
   `ru_maxrss`, DuckDB's buffers included) and the load average before and after.
3. Prints a table and writes $ZOO_HOME/bench/eval.json.

Target: ours under TARGET_SECONDS (median) at 5000 stocks x 8 years.
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
TARGET_SECONDS = 30.0
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


def evaluate_once(warehouse: Path, plain: bool) -> dict:
    """In a child: time one evaluation of the model (ours, or the plain baseline); its
    seconds, CPU seconds and summary."""
    from zoo.evaluate.evaluation import EvalConfig, evaluate
    from zoo.evaluate.inputs import connect, resolve

    con = connect(warehouse)  # the first connection's lazy imports, outside the timer
    resolve(con, MODEL)
    con.close()
    started, cpu_started = time.perf_counter(), time.process_time()
    result = evaluate(MODEL, EvalConfig(), warehouse=warehouse, plain=plain)
    return {"seconds": time.perf_counter() - started,
            "cpu_seconds": time.process_time() - cpu_started, "summary": result.summary}


def _largest_gap(ours: object, other: object) -> float:
    """The largest absolute difference between two nested dicts of figures (NaN = NaN)."""
    if isinstance(ours, dict) and isinstance(other, dict):
        if ours.keys() != other.keys():
            return float("inf")
        return max((_largest_gap(ours[k], other[k]) for k in ours), default=0.0)
    if isinstance(ours, float) and isinstance(other, float):
        return 0.0 if ours != ours and other != other else abs(ours - other)
    return 0.0 if ours == other else float("inf")


def measure(stocks: int, years: int, repeats: int, keep: bool = False) -> dict:
    """Build the scratch warehouse, time `repeats` evaluations of ours and of the baseline in
    alternating children; the figures."""
    from zoo.paths import bench_dir

    runs: dict[str, list] = {"ours": [], "plain": []}
    with harness.scratch_dir("eval-", bench_dir(), keep=keep) as scratch:
        warehouse = scratch / "warehouse.duckdb"
        started = time.perf_counter()
        rows = make_warehouse(warehouse, stocks, years)
        generate_seconds = time.perf_counter() - started
        load_before = os.getloadavg()
        for k in range(repeats):
            for path in ("ours", "plain") if k % 2 == 0 else ("plain", "ours"):
                runs[path].append(harness.measure(evaluate_once, warehouse, path == "plain",
                                                  name=f"eval-{path}"))
        load_after = os.getloadavg()
    figures = {}
    for path, done in runs.items():
        seconds = [d.value["seconds"] for d in done]
        cpu = [d.value["cpu_seconds"] for d in done]
        figures[path] = {
            "seconds": [round(x, 2) for x in seconds],
            "median_seconds": round(statistics.median(seconds), 2),
            "cpu_seconds": [round(x, 2) for x in cpu],
            "median_cpu_seconds": round(statistics.median(cpu), 2),
            "child_wall_seconds": [round(d.wall_seconds, 2) for d in done],
            "child_cpu_seconds": [round(d.cpu_seconds, 2) for d in done],
            "peak_rss_mib": round(max(d.maxrss_mib for d in done)),
            "peak_rss_polled_mib": round(max(d.peak_polled_mib for d in done)),
        }
    ours, plain = figures["ours"], figures["plain"]
    summary = runs["ours"][-1].value["summary"]
    return {
        "stocks": stocks, "years": years, "trading_days": years * DAYS_PER_YEAR,
        "horizons": list(HORIZONS), "rows_by_table": rows,
        "generate_seconds": round(generate_seconds, 2), "repeats": repeats,
        **ours, "plain": plain,
        "speedup": round(plain["median_seconds"] / ours["median_seconds"], 2),
        "cpu_speedup": round(plain["median_cpu_seconds"] / ours["median_cpu_seconds"], 2),
        "max_figure_gap": max(_largest_gap(o.value["summary"], p.value["summary"])
                              for o, p in zip(runs["ours"], runs["plain"], strict=True)),
        "target_seconds": TARGET_SECONDS,
        "within_target": ours["median_seconds"] < TARGET_SECONDS,
        "summary": {h: {"ic_vwap": s["ic_vwap"], "top10pct": s["top10pct"]["excess_gross"]}
                    for h, s in summary.items()},
        "scratch": str(scratch) if keep else None,
        **harness.machine(),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average": [round(x, 2) for x in load_after],
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def run(stocks: int = 5000, years: int = 8, repeats: int = 3, keep: bool = False) -> dict:
    """Measure, print a table, and write $ZOO_HOME/bench/eval.json; returns the figures."""
    from rich.console import Console

    figures = measure(stocks, years, repeats, keep)
    ours, plain = figures, figures["plain"]
    harness.print_table(
        f"zoo bench eval: {stocks:,} stocks x {figures['trading_days']:,} days, horizons "
        f"{'/'.join(map(str, HORIZONS))}, one model (ratio: plain / ours)",
        ["measure", "ours", "plain steps", "ratio", "target"],
        [(f"evaluation wall, median of {repeats}", f"{ours['median_seconds']:.2f} s",
          f"{plain['median_seconds']:.2f} s", f"{figures['speedup']:.2f}x",
          f"< {TARGET_SECONDS:.0f} s"),
         ("  runs", " ".join(f"{x:.1f}" for x in ours["seconds"]),
          " ".join(f"{x:.1f}" for x in plain["seconds"]), "", ""),
         ("  CPU", f"{ours['median_cpu_seconds']:.2f} s", f"{plain['median_cpu_seconds']:.2f} s",
          f"{figures['cpu_speedup']:.2f}x", ""),
         ("peak RSS", f"{ours['peak_rss_mib']:,} MiB", f"{plain['peak_rss_mib']:,} MiB", "", ""),
         ("largest figure gap", f"{figures['max_figure_gap']:.1e}", "", "", ""),
         ("score rows", f"{figures['rows_by_table'][f'scores.score_{MODEL}']:,}", "", "", ""),
         ("generating the warehouse", f"{figures['generate_seconds']:.1f} s", "", "", "")])
    signal = {h: (round(s["ic_vwap"], 4), round(s["top10pct"], 4))
              for h, s in figures["summary"].items()}
    Console().print(
        f"planted-signal check (h: T1 IC, Top10% excess): {signal}; load average "
        f"1/5/15 min before {'/'.join(map(str, figures['load_average_before']))}, after "
        f"{'/'.join(map(str, figures['load_average']))}")
    harness.write_result("eval", figures)
    return figures
