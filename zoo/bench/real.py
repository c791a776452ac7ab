"""Benchmark on real data: a baostock folder through the whole pipeline, the known A-share
factors as a sanity check, and the seed report's models trained on it.

`run(src)` works in a fresh scratch home, $ZOO_HOME/bench/real/home (replaced each run), as a
user would, each step a child process measured by zoo.bench.harness (wall and CPU seconds,
peak memory):

1. import (`zoo data load --format baostock SRC`), plan (`sqlmesh plan`) and apply
   (`zoo features apply`);
2. a factor table over the whole sample: weekly Rank IC (5-day rebalances entered at T+1 VWAP),
   ICIR and the share of years with a negative IC, of 20-day momentum, size, turnover
   (liquidity_20d), 20-day volatility and EP from the published style table. On A-shares
   2013-2023 the first four are known to be negative and EP positive (`EXPECTED_SIGNS`): a
   sign the other way points at the importer or the transforms, not at the market;
3. biagru, fund_gru_mlp and biagru_gat, and the peers (gats, alstm, xgb_window), trained on
   the sample with a stated small configuration (`DEFAULT_SETTINGS`, the demo's), one
   `zoo train` child each, their out-of-sample scores written back and evaluated like any
   factor: weekly Rank IC, ICIR and the annualised Top10% excess return before fees; wall and
   CPU seconds per epoch.

Nothing is tuned to the sample: the settings are the demo's, fixed before the sample was seen.
"""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path
from typing import Any

from zoo.bench import harness
from zoo.bench.zoo import PEERS, build_real_home, train

MODELS = ("biagru", "fund_gru_mlp", "biagru_gat", *PEERS)
# factor -> the sign its weekly Rank IC is known to carry on A-shares 2013-2023
EXPECTED_SIGNS = {"momentum_20d": -1, "size": -1, "liquidity_20d": -1, "volatility_20d": -1,
                  "ep": 1}
# The demo's small configuration: train 3 years, validate 1, test from 2019 to the sample's
# end, retrained every year.
DEFAULT_SETTINGS = ("first_test_year=2019", "train_years=3", "valid_years=1",
                    "model.hidden_channels=32", "days_per_epoch=120", "max_epochs=4",
                    "patience=2")
HORIZON = 5
STYLE_TABLE = "stock_style_daily"  # the published table the factors are read from



def factor_table(warehouse: Path, factors: dict[str, int] = EXPECTED_SIGNS) -> list[dict]:
    """Weekly Rank IC, ICIR and share of negative years of each factor over the warehouse's
    labelled days, with the sign it should carry."""
    from zoo.evaluate.evaluation import EvalConfig, evaluate

    rows = []
    for factor, sign in factors.items():
        figures = evaluate(f"{STYLE_TABLE}.{factor}", EvalConfig(horizons=(HORIZON,)),
                           warehouse=warehouse).summary[HORIZON]
        by_year = [v for v in figures["ic_vwap_by_year"].values() if _finite(v)]
        ic = figures["ic_vwap"]
        rows.append({
            "factor": factor, "weekly_rank_ic": ic, "icir": figures["icir_vwap"],
            "negative_years": (sum(v < 0 for v in by_year) / len(by_year)) if by_year
            else math.nan, "years": len(by_year), "expected_sign": sign,
            "sign_as_expected": _finite(ic) and math.copysign(1, ic) == sign,
        })
    return rows


def evaluate_model(home: Path, trained: dict[str, Any]) -> dict[str, Any]:
    """Write the run's scores to the warehouse and evaluate them: weekly Rank IC, ICIR and the
    annualised Top10% excess before fees over the scored days."""
    import polars as pl

    from zoo.evaluate.evaluation import EvalConfig, evaluate
    from zoo.serving.scores import write_back

    warehouse = home / "warehouse.duckdb"
    name = f"bench_real_{trained['model']}_s{trained['seed']}"
    scores = pl.read_parquet(Path(trained["run_dir"]) / "scores.parquet")
    write_back(name, scores, apply=False, warehouse=warehouse)
    window = EvalConfig(horizons=(HORIZON,), start=scores["trade_date"].min(),
                        end=scores["trade_date"].max())
    figures = evaluate(name, window, warehouse=warehouse).summary[HORIZON]
    return {"weekly_rank_ic": figures["ic_vwap"], "icir": figures["icir_vwap"],
            "top10pct_excess": figures["top10pct"]["excess_gross"],
            "first_date": str(window.start), "last_date": str(window.end)}


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _fmt(value: Any, spec: str) -> str:
    return format(value, spec) if _finite(value) else "n/a"


def run(src: Path, models: tuple[str, ...] = MODELS, seeds: tuple[int, ...] = (0,),
        settings: tuple[str, ...] = ()) -> dict[str, Any]:
    """Measure, print the tables and write $ZOO_HOME/bench/real.json; returns the figures."""
    from rich.console import Console

    from zoo.paths import bench_dir

    src = Path(src).resolve()
    if not src.is_dir():
        raise FileNotFoundError(f"{src} is not a folder of baostock files")
    console = Console(width=None if sys.stdout.isatty() else 160)
    root = bench_dir() / "real"
    home, logs = root / "home", root / "logs"
    settings = (*DEFAULT_SETTINGS, *settings)
    results: dict[str, Any] = {"src": str(src), "settings": list(settings),
                               "started": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    console.print(f"[bold]zoo bench real[/] {src} -> {home}")
    results["build"] = build_real_home(src, home, logs)
    harness.print_table(
        "import, plan and apply", [("step", "left"), "wall s", "CPU s", "peak MiB"],
        [(step, f"{f['seconds']:.1f}", f"{f['cpu_seconds']:.1f}", f"{f['peak_mib']:,}")
         for step, f in results["build"].items()], console)

    results["factors"] = factor_table(home / "warehouse.duckdb")
    harness.print_table(
        f"known factors, weekly Rank IC ({HORIZON}-day, T+1 VWAP) over the sample",
        [("factor", "left"), "Rank IC", "ICIR", "negative years", "expected", "as expected"],
        [(f["factor"], _fmt(f["weekly_rank_ic"], "+.4f"), _fmt(f["icir"], "+.2f"),
          f"{_fmt(f['negative_years'], '.0%')} of {f['years']}",
          "+" if f["expected_sign"] > 0 else "-", "yes" if f["sign_as_expected"] else "NO")
         for f in results["factors"]], console)
    harness.write_result("real", results, quiet=True)

    results["runs"] = []
    for model in models:
        for seed in seeds:
            trained = train(home, model, seed, settings, logs)
            row = {**trained, **evaluate_model(home, trained)}
            results["runs"].append(row)
            console.print(f"  {model} s{seed}: weekly Rank IC {_fmt(row['weekly_rank_ic'], '+.4f')}"
                          f", {row['seconds']:.0f} s ({row['cpu_seconds']:.0f} CPU s)")
            harness.write_result("real", results, quiet=True)
    harness.print_table(
        "models on the real sample, out of sample (weekly Rank IC, Top10% excess before fees)",
        [("model", "left"), "seed", "test window", "Rank IC", "ICIR", "Top10% excess/yr",
         "wall s/epoch", "CPU s/epoch", "wall s", "CPU s", "peak MiB"],
        [(r["model"], str(r["seed"]), f"{r['first_date']}..{r['last_date']}",
          _fmt(r["weekly_rank_ic"], "+.4f"), _fmt(r["icir"], "+.2f"),
          _fmt(r["top10pct_excess"], "+.1%"), f"{r['seconds_per_epoch']:.1f}",
          _fmt(r.get("cpu_seconds_per_epoch"), ".1f"),
          f"{r['seconds']:.0f}", f"{r['cpu_seconds']:.0f}", f"{r['peak_rss_mib']:,}")
         for r in results["runs"]], console)
    harness.write_result("real", results)
    return results
