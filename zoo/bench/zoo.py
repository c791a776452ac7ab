"""Benchmark of the model zoo on the synthetic market: quality against the planted truth, the
fundamental-graph ablation, style correlations, and speed.

`run(models, seeds, settings)` works in scratch homes under $ZOO_HOME/bench/zoo/ (kept, so a
second run reuses the markets and only trains). Every child is measured by zoo.bench.harness
(wall and CPU seconds, peak memory):

1. Three synthetic markets with the same seed, each built as users build theirs (`zoo data
   synth`, `sqlmesh plan`, `zoo features apply`, in child processes): `neighbour`, the default
   market, whose planted signal includes the fundamental-neighbour part (a stock drifts with
   the idiosyncratic shocks of its nearest neighbours by published fundamental ratios, the
   ratios the graph reads: `links=ratios`); `latent`, the same market with neighbourhoods the
   statements show only partly (`links=latent`, zoo.synth.links: the graph has to earn its
   edges); and `no_neighbour`, the default market with that part off (`neighbour=0`). A market
   already built with the same configuration and synthesiser is reused.
   Beside them, `real`: the baostock sample (../shared/realdata/baostock, or `real_src`)
   imported, planned and applied as `zoo bench real` does (`build_real_home`), with no
   planted truth (no oracle, no recall); rebuilt when the sample or the importer changed.
2. Training: on `neighbour`, `latent` and `real` every model of `models` (the seed report's
   five and the peers a researcher would run instead: Qlib's GATs and ALSTM, XGBoost on the
   window; `PEERS`), with the same settings, seeds and evaluator; on `no_neighbour` only
   biagru and biagru_gat (the ablation). Each (model, seed) is
   its own `zoo train` child process, so its peak memory is its own, with `--set seeds=<seed>`
   and the shared `settings` (less the `model.*` options a model does not take: the trees have no
   `hidden_channels`).
3. Each run's out-of-sample scores go to the market's warehouse as `score_bench_<model>_s<seed>`
   and are evaluated by `zoo.evaluate` like any model: the weekly Rank IC is the mean Rank IC of
   5-day rebalances entered at T+1 VWAP (the seed report's "周度" figures). The oracle is the
   truth schema's ER_5D evaluated the same way over the same days.
4. Style: the mean cross-sectional correlation of each model with the style factors, split into
   fundamental (FUNDAMENTAL_STYLE) and price-volume/size ones. Also what the graph can carry
   (zoo.bench.diagnostics.graph_reach, in a child): its recall of the planted neighbourhoods
   and the ridge probes (own price-volume features, plus graph-neighbour or planted-neighbour
   returns), which bracket what the models learn.
5. Speed, from the fits' own records (`EpochStats.train_samples`, `train_seconds`,
   `cpu_seconds`): training samples (labelled stock-days) per second, wall and CPU seconds per
   epoch (a tree model's epoch is its one boosting fit; on a shared machine wall time is not
   a speed); the wall and CPU seconds and peak RSS of each training process; and a
   full-market day (5000 stocks, k = 10 neighbours) through biagru_gat, forward and backward,
   in a fresh process (`full_market_step`): its peak RSS.

Targets (`verdicts`): biagru_gat >= 70 % of the oracle's weekly Rank IC; on `neighbour`,
biagru_gat - biagru larger than the seed-to-seed spread (the larger standard deviation of the
two over seeds), on `no_neighbour` not; fund_gru_mlp's mean |correlation| with the fundamental
style factors more than twice biagru's; the full-market day under 8 GiB. Beside them,
biagru_gat's margin over each peer on `neighbour`, and the share of its margin over biagru on
`neighbour` that it keeps on `latent`. A second table gives, per market, the graph's recall of
the planted pairs beside biagru's and biagru_gat's mean weekly Rank IC over seeds with their
spread (`market_rows`); a third, every model's mean weekly Rank IC on every market
(`model_rows`): the zoo beside its peers on both link mechanisms and on real data.

`settings` override the defaults (DEFAULT_SETTINGS), e.g. the demo's small configuration or
`device=cuda`.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from zoo.bench import harness

SEED_REPORT_MODELS = ("biagru", "fund_gru_mlp", "biagru_composite", "biagru_xgb", "biagru_gat")
PEERS = ("gats", "alstm", "xgb_window")
ALL_MODELS = (*SEED_REPORT_MODELS, *PEERS)
ABLATION_MODELS = ("biagru", "biagru_gat")
# The SynthConfig overrides of each market; `latent` names its knobs so that its figures stay
# tied to them if the defaults move.
MARKETS: dict[str, dict[str, float | str]] = {
    "neighbour": {},
    "latent": {"links": "latent", "latent_visibility": 0.9, "hidden_link_share": 0.2},
    "no_neighbour": {"neighbour": 0.0},
}
# The baostock sample: a market with no planted truth, built from real files.
REAL = "real"
REAL_SAMPLE = Path(__file__).resolve().parents[3] / "shared" / "realdata" / "baostock"
MARKET_NAMES = (*MARKETS, REAL)
# where every model trains, the peers included: both link mechanisms and the real sample
ALL_MODEL_MARKETS = ("neighbour", "latent", REAL)
# Train 2017-2019 (valid the last year), score 2020 onwards, retrained every year.
DEFAULT_SETTINGS = ("first_test_year=2020", "train_years=3", "valid_years=1")
FUNDAMENTAL_STYLE = ("bp", "ep", "profitability", "growth", "sue")
TARGET_ORACLE_SHARE = 0.7
FULL_MARKET_STOCKS, FULL_MARKET_K = 5000, 10
TRANSFORMS = Path(__file__).resolve().parents[2] / "transforms"



# --------------------------------------------------------------------------- markets
def build_market(home: Path, overrides: dict[str, float | str], logs: Path) -> dict[str, Any]:
    """Synthesise, transform and register one market in `home` (skipped when already built
    with the same overrides); returns what was done and how long it took."""
    import dataclasses
    import hashlib

    from zoo import synth

    stamp = home / "bench_market.json"
    # the synthesiser's defaults and code too: an older synthesiser's market is not reused
    digest = hashlib.sha256()
    for source in sorted(Path(synth.__file__).parent.glob("*.py")):  # the whole generator
        digest.update(source.name.encode() + source.read_bytes())
    code = digest.hexdigest()[:16]
    wanted = {"overrides": overrides, "synth_defaults": dataclasses.asdict(synth.SynthConfig()),
              "synth_code": code}
    if stamp.is_file() and all(json.loads(stamp.read_text()).get(key) == value
                               for key, value in wanted.items()):
        return {**json.loads(stamp.read_text()), "reused": True}
    home.mkdir(parents=True, exist_ok=True)
    env = {"ZOO_HOME": str(home), "COLUMNS": "200"}
    sets = [arg for key, value in overrides.items() for arg in ("--set", f"{key}={value}")]
    started = time.perf_counter()
    for name, args, cwd in (
        ("synth", harness.zoo_command("data", "synth", "--replace", *sets), None),
        ("plan", harness.sqlmesh_command(
            "plan", "--auto-apply", "--no-prompts", "--skip-tests"), TRANSFORMS),
        ("features", harness.zoo_command("features", "apply"), None),
    ):
        harness.measure_command(args, cwd=cwd, env=env, logs=logs, name=f"{home.name}_{name}")
    built = {**wanted, "build_seconds": round(time.perf_counter() - started, 1)}
    stamp.write_text(json.dumps(built, indent=2) + "\n")
    return {**built, "reused": False}


def build_real_home(src: Path, home: Path, logs: Path) -> dict[str, dict[str, float]]:
    """Import the baostock folder `src`, plan and apply in a fresh `home` (as `zoo bench real`
    does); wall and CPU seconds and peak MiB of each step."""
    if home.exists():
        shutil.rmtree(home)
    home.mkdir(parents=True)
    env = {"ZOO_HOME": str(home), "COLUMNS": "200"}
    steps = {}
    for name, args, cwd in (
        ("import", harness.zoo_command("data", "load", "--format", "baostock", str(src)),
         None),
        ("plan", harness.sqlmesh_command(
            "plan", "--auto-apply", "--no-prompts", "--skip-tests"), TRANSFORMS),
        ("apply", harness.zoo_command("features", "apply"), None),
    ):
        done = harness.measure_command(args, cwd=cwd, env=env, logs=logs, name=f"real_{name}")
        steps[name] = {"seconds": round(done.wall_seconds, 1),
                       "cpu_seconds": round(done.cpu_seconds, 1),
                       "peak_mib": round(done.peak_mib)}
    return steps


def build_real(src: Path, home: Path, logs: Path) -> dict[str, Any]:
    """Import, plan and apply the baostock folder `src` in `home` (`build_real_home`),
    skipped when already built from the same files by the same importer and transforms."""
    import hashlib

    from zoo import ingest

    stamp = home / "bench_market.json"
    digest = hashlib.sha256()
    for folder, pattern in ((Path(ingest.__file__).parent, "*.py"), (TRANSFORMS, "**/*.sql")):
        for source in sorted(folder.glob(pattern)):
            digest.update(source.name.encode() + source.read_bytes())
    files = sorted((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in src.iterdir())
    wanted = {"src": str(src), "files": hashlib.sha256(repr(files).encode()).hexdigest()[:16],
              "code": digest.hexdigest()[:16]}
    if stamp.is_file() and all(json.loads(stamp.read_text()).get(key) == value
                               for key, value in wanted.items()):
        return {**json.loads(stamp.read_text()), "reused": True}
    started = time.perf_counter()
    steps = build_real_home(src, home, logs)  # a fresh home: the stamp goes with it
    built = {**wanted, "steps": steps, "build_seconds": round(time.perf_counter() - started, 1)}
    stamp.write_text(json.dumps(built, indent=2) + "\n")
    return {**built, "reused": False}


# --------------------------------------------------------------------------- training
def model_settings(model: str, settings: tuple[str, ...]) -> tuple[str, ...]:
    """`settings` less the `model.KEY=VALUE` options that `model`'s factory does not take: one
    configuration serves models of different makes (`model.hidden_channels=32` sizes the
    GRUs and means nothing to xgb_window's trees)."""
    import zoo.models  # noqa: F401  (registers the models)
    from zoo.overrides import split
    from zoo.registry import model_options

    options = model_options(model)
    return tuple(item for item in settings if not split(item)[0].startswith("model.")
                 or split(item)[0].removeprefix("model.") in options)


def train(home: Path, model: str, seed: int, settings: tuple[str, ...],
          logs: Path, threads: int | None = None) -> dict[str, Any]:
    """One `zoo train` child (with `threads` CPU threads when given); returns its run folder,
    metrics, speed and peak memory."""
    env = {"ZOO_HOME": str(home)}
    if threads is not None:
        env["OMP_NUM_THREADS"] = str(threads)
    sets = [arg for item in (*model_settings(model, settings), f"seeds={seed}")
            for arg in ("--set", item)]
    done = harness.measure_command(harness.zoo_command("train", model, "--quiet", *sets),
                                   env=env, logs=logs, name=f"{home.name}_{model}_s{seed}")
    found = re.search(r"^run (\S+): (.+)$", done.stdout, re.MULTILINE)
    if not found:
        raise RuntimeError(f"zoo train {model}: no run folder in its output:\n"
                           f"{done.stdout[-2000:]}")
    run_dir = Path(found[2].strip())
    metrics = json.loads((run_dir / "metrics.json").read_text())
    fits = [s for split in metrics["splits"] for s in split["seeds"]]
    return {
        "model": model, "seed": seed, "run_dir": str(run_dir),
        "seconds": round(done.wall_seconds, 1), "cpu_seconds": round(done.cpu_seconds, 1),
        "peak_rss_mib": round(done.peak_mib),
        "train_samples_per_second": round(statistics.mean(
            f.get("train_samples_per_second", 0.0) for f in fits), 1),
        "seconds_per_epoch": round(statistics.mean(f.get("seconds_per_epoch", 0.0)
                                                   for f in fits), 2),
        "cpu_seconds_per_epoch": round(statistics.mean(f.get("cpu_seconds_per_epoch", 0.0)
                                                       for f in fits), 2),
        "epochs": sum(f["epochs_run"] for f in fits),
        "run_test_rank_ic": metrics["test"]["rank_ic_mean"],
    }


# --------------------------------------------------------------------------- evaluation
def evaluate_run(home: Path, trained: dict[str, Any], truth: bool = True) -> dict[str, Any]:
    """Write the run's scores to the market's warehouse and evaluate them and, on a market
    with a planted `truth`, the oracle over the same days: the weekly (5-day, T+1 VWAP) Rank IC
    and the style correlations."""
    import polars as pl

    from zoo.evaluate.evaluation import EvalConfig, evaluate
    from zoo.serving.scores import write_back

    warehouse = home / "warehouse.duckdb"
    name = f"bench_{trained['model']}_s{trained['seed']}"
    scores = pl.read_parquet(Path(trained["run_dir"]) / "scores.parquet")
    write_back(name, scores, apply=False, warehouse=warehouse)
    window = EvalConfig(horizons=(5,), start=scores["trade_date"].min(),
                        end=scores["trade_date"].max())
    model = evaluate(name, window, warehouse=warehouse)
    oracle = _weekly_ic(evaluate("oracle", window, warehouse=warehouse)) if truth else math.nan
    return {"weekly_rank_ic": _weekly_ic(model), "oracle_weekly_rank_ic": oracle,
            "style": _style_means(model)}


def _weekly_ic(result: Any) -> float:
    """Mean Rank IC of the 5-day rebalances entered at T+1 VWAP."""
    ic = result.ic
    rows = ic.filter((ic["horizon"] == 5) & (ic["label"] == "vwap"))["ic"].drop_nans()
    return float(rows.mean()) if rows.len() else math.nan


def _style_means(result: Any) -> dict[str, float]:
    """Mean |time-averaged cross-sectional correlation| with the fundamental style factors and
    with the others."""
    style = result.style
    if style is None or style.is_empty():
        return {}
    means = {row["factor"]: row["mean"] for row in style.to_dicts()}
    fundamental = [abs(v) for k, v in means.items() if k in FUNDAMENTAL_STYLE and _finite(v)]
    other = [abs(v) for k, v in means.items() if k not in FUNDAMENTAL_STYLE and _finite(v)]
    return {"fundamental_abs_corr": statistics.mean(fundamental) if fundamental else math.nan,
            "price_volume_abs_corr": statistics.mean(other) if other else math.nan,
            "by_factor": means}


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


# --------------------------------------------------------------------------- full-market day
def full_market_step(stocks: int = FULL_MARKET_STOCKS, k: int = FULL_MARKET_K) -> dict[str, Any]:
    """One day of `stocks` stocks with `k` graph neighbours each through biagru_gat, forward
    and backward, on CPU; the day's shape and the process's peak RSS before the forward pass.
    Run in a fresh process, whose peak memory is then the step's."""
    import datetime as dt
    import resource

    import torch

    import zoo.models  # noqa: F401  (registers the models)
    from zoo.datasets.protocol import FakeDayBatches
    from zoo.registry import create_model

    torch.manual_seed(0)
    data = FakeDayBatches(n_stocks=stocks, neighbours=k, start=dt.date(2020, 1, 1),
                          end=dt.date(2020, 1, 10), cache=False)
    model = create_model("biagru_gat")
    batch = data.batch(data.dates[-1])
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    score = model(batch)
    loss = ((score - batch["label"]) ** 2)[batch["label_mask"]].mean()
    loss.backward()
    return {"nodes": int(batch["stock_index"].numel()),
            "edges": int(batch["edge_index"].shape[1]),
            "rss_before_forward_mib": before / 1024}


def full_market_day(logs: Path) -> dict[str, Any]:
    """Peak RSS of one full-market day through biagru_gat (forward and backward) on CPU."""
    done = harness.measure(full_market_step, logs=logs, name="full_market_day")
    return {**done.value, "seconds": round(done.wall_seconds, 1),
            "cpu_seconds": round(done.cpu_seconds, 1), "peak_rss_mib": round(done.peak_mib)}


# --------------------------------------------------------------------------- graph reach
def graph_reach(home: Path, settings: tuple[str, ...], logs: Path) -> dict[str, Any]:
    """What the graph can carry on the market `home` (zoo.bench.diagnostics.graph_reach), in a
    child process: the planted recall over the scored years and the ridge probes fitted before
    the first scored year and tested on the scored ones."""
    from zoo.bench import diagnostics
    from zoo.train.config import TrainConfig

    first = TrainConfig.from_overrides(settings).first_test_year
    return harness.measure(diagnostics.graph_reach, first, env={"ZOO_HOME": str(home)},
                           logs=logs, name=f"{home.name}_graph").value


# --------------------------------------------------------------------------- verdicts
def verdicts(results: dict[str, Any]) -> dict[str, Any]:
    """The issue's targets, judged from the measured figures."""
    def per(market: str, model: str) -> list[float]:
        return [r["weekly_rank_ic"] for r in results["runs"]
                if r["market"] == market and r["model"] == model and _finite(r["weekly_rank_ic"])]

    def spread(values: list[float]) -> float:
        return statistics.stdev(values) if len(values) > 1 else math.nan

    out: dict[str, Any] = {}
    margins: dict[str, float] = {}
    gat, oracle = per("neighbour", "biagru_gat"), [
        r["oracle_weekly_rank_ic"] for r in results["runs"]
        if r["market"] == "neighbour" and r["model"] == "biagru_gat"]
    if gat and oracle:
        share = statistics.mean(gat) / statistics.mean(oracle)
        out["biagru_gat_share_of_oracle"] = round(share, 3)
        out["biagru_gat_reaches_70pct_of_oracle"] = share >= TARGET_ORACLE_SHARE
    for market in MARKET_NAMES:
        g, b = per(market, "biagru_gat"), per(market, "biagru")
        if g and b:
            margins[market] = margin = statistics.mean(g) - statistics.mean(b)
            noise = max(spread(g), spread(b))
            out[f"{market}_gat_minus_biagru"] = round(margin, 4)
            out[f"{market}_seed_spread"] = None if math.isnan(noise) else round(noise, 4)
            out[f"{market}_gat_beats_biagru_beyond_spread"] = (
                None if math.isnan(noise) else margin > noise)
    # how much of the graph's gain survives when the market's links are not the graph's ratios
    if "latent" in margins and margins.get("neighbour", 0.0) > 0:
        out["latent_keeps_share_of_gat_gain"] = round(margins["latent"] / margins["neighbour"], 3)
    # the zoo against what a researcher would run instead: on the market with neighbours
    # (`biagru_gat_minus_<peer>`), on the latent links and on real data (`<market>_...`)
    for market in ALL_MODEL_MARKETS:
        gat = per(market, "biagru_gat")
        prefix = "" if market == "neighbour" else f"{market}_"
        for peer in PEERS:
            others = per(market, peer)
            if gat and others:
                out[f"{prefix}biagru_gat_minus_{peer}"] = round(
                    statistics.mean(gat) - statistics.mean(others), 4)
    style = {r["model"]: r["style"].get("fundamental_abs_corr") for r in results["runs"]
             if r["market"] == "neighbour" and r["style"]}
    if style.get("fund_gru_mlp") is not None and style.get("biagru") is not None:
        out["fund_gru_mlp_vs_biagru_fundamental_corr"] = [round(style["fund_gru_mlp"], 3),
                                                         round(style["biagru"], 3)]
        out["fund_gru_mlp_more_fundamental"] = style["fund_gru_mlp"] > 2 * style["biagru"]
    day = results.get("full_market_day")
    if day:
        out["full_market_day_under_8gib"] = day["peak_rss_mib"] < 8 * 1024
    return out


# --------------------------------------------------------------------------- the table
TABLE_COLUMNS = [("market", "left"), ("model", "left"), "seed", "Rank IC", "oracle", "share",
                 "fund. |corr|", "samples/s", "wall s/epoch", "CPU s/epoch", "CPU s",
                 "peak MiB"]


def table_rows(runs: list[dict[str, Any]]) -> list[tuple[str, ...]]:
    """One row of the printed table per run, in the order of `TABLE_COLUMNS`: quality beside
    the oracle, then speed: wall and CPU seconds per epoch from the fits' records (a tree
    model's epoch is its one fit), the whole training process's CPU seconds, peak memory."""
    rows = []
    for r in runs:
        oracle = r["oracle_weekly_rank_ic"]
        share = r["weekly_rank_ic"] / oracle if _finite(oracle) and oracle else math.nan
        rows.append((r["market"], r["model"], str(r["seed"]), f"{r['weekly_rank_ic']:+.4f}",
                     f"{oracle:+.4f}" if _finite(oracle) else "-",
                     f"{share:.0%}" if _finite(share) else "-",
                     f"{r['style'].get('fundamental_abs_corr', math.nan):.3f}",
                     f"{r['train_samples_per_second']:,.0f}", f"{r['seconds_per_epoch']:.1f}",
                     f"{r.get('cpu_seconds_per_epoch', math.nan):.1f}",
                     f"{r['cpu_seconds']:,.0f}", f"{r['peak_rss_mib']:,}"))
    return rows


MARKET_COLUMNS = [("market", "left"), "graph recall", "chance", "biagru", "biagru_gat",
                  "gat - biagru", "oracle", "probe: own", "+ graph nbrs", "+ planted nbrs"]


def _mean_spread(values: list[float]) -> str:
    """'+0.1234 ± 0.0056 (n)': the mean over seeds and their standard deviation."""
    if not values:
        return "-"
    sd = f" ± {statistics.stdev(values):.4f}" if len(values) > 1 else ""
    return f"{statistics.mean(values):+.4f}{sd} ({len(values)})"


def market_rows(results: dict[str, Any]) -> list[tuple[str, ...]]:
    """One row per market, in the order of `MARKET_COLUMNS`: what the graph can carry (its
    recall of the planted pairs, the chance level, the ridge probes) beside biagru's and
    biagru_gat's weekly Rank IC (mean ± standard deviation over seeds, and how many), their
    margin and the oracle's."""
    rows = []
    for market, built in results["markets"].items():
        runs = [r for r in results["runs"] if r["market"] == market
                and _finite(r["weekly_rank_ic"])]
        ics = {m: [r["weekly_rank_ic"] for r in runs if r["model"] == m] for m in ABLATION_MODELS}
        oracle = [r["oracle_weekly_rank_ic"] for r in runs if _finite(r["oracle_weekly_rank_ic"])]
        recall, probe = built.get("recall", {}), built.get("probe", {})
        margin = (f"{statistics.mean(ics['biagru_gat']) - statistics.mean(ics['biagru']):+.4f}"
                  if all(ics.values()) else "-")

        def cell(value: Any, spec: str) -> str:
            return format(value, spec) if _finite(value) else "-"

        rows.append((market, cell(recall.get("recall"), ".0%"), cell(recall.get("chance"), ".1%"),
                     _mean_spread(ics["biagru"]), _mean_spread(ics["biagru_gat"]), margin,
                     cell(statistics.mean(oracle) if oracle else None, "+.4f"),
                     *(cell(probe.get(k), "+.4f") for k in ("own", "own_graph", "own_planted"))))
    return rows


def model_rows(results: dict[str, Any]) -> tuple[list[str], list[tuple[str, ...]]]:
    """The columns (model, then each market run) and one row per model: its mean weekly Rank
    IC over seeds on each market, with the spread and how many seeds (`_mean_spread`)."""
    runs = [r for r in results["runs"] if _finite(r["weekly_rank_ic"])]
    markets = [m for m in results["markets"] if any(r["market"] == m for r in runs)]
    models = list(dict.fromkeys(r["model"] for r in runs))
    rows = [(model, *(_mean_spread([r["weekly_rank_ic"] for r in runs
                                    if r["market"] == market and r["model"] == model])
                      for market in markets)) for model in models]
    return ["model", *markets], rows


# --------------------------------------------------------------------------- run
def run(models: tuple[str, ...] = ALL_MODELS, seeds: tuple[int, ...] = (0, 1, 2),
        settings: tuple[str, ...] = (), markets: tuple[str, ...] = tuple(MARKETS),
        full_market: bool = True, jobs: int = 1,
        real_src: Path = REAL_SAMPLE) -> dict[str, Any]:
    """Measure, print tables, and write $ZOO_HOME/bench/zoo.json (also after each evaluated
    run); returns the figures.

    `jobs` trainings run at once, each with the machine's cores shared out between them
    (OMP_NUM_THREADS); speeds are then those of a share of the cores per run.
    """
    import concurrent.futures

    from rich.console import Console

    from zoo.paths import bench_dir

    console = Console(width=None if sys.stdout.isatty() else 160)
    root = bench_dir() / "zoo"
    logs = root / "logs"
    settings = (*DEFAULT_SETTINGS, *settings)
    threads = max(1, (os.cpu_count() or 1) // jobs) if jobs > 1 else None
    results: dict[str, Any] = {"models": list(models), "seeds": list(seeds),
                               "settings": list(settings), "markets": {}, "runs": [],
                               "jobs": jobs, "threads_per_run": threads,
                               "started": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    for market in markets:
        home = root / market
        console.print(f"[bold]market {market}[/]: {home}")
        if market == REAL:  # no planted truth: no recall of planted pairs, no probes
            results["markets"][market] = build_real(Path(real_src).resolve(), home, logs)
            continue
        results["markets"][market] = build_market(home, MARKETS[market], logs)
        reach = graph_reach(home, settings, logs)
        results["markets"][market].update(reach)
        recall, probe = reach["recall"], reach["probe"]
        console.print(f"  the day graphs find {recall['recall']:.0%} of the planted "
                      f"neighbour pairs (chance {recall['chance']:.1%}); ridge probes' Rank "
                      f"IC: own {probe['own']:+.4f}, with graph neighbours "
                      f"{probe['own_graph']:+.4f}, with planted neighbours "
                      f"{probe['own_planted']:+.4f}")
    plan = [(market, model, seed) for market in markets
            for model in (models if market in ALL_MODEL_MARKETS else
                          tuple(m for m in models if m in ABLATION_MODELS))
            # seeds for the models whose spread is judged, one seed for the others
            for seed in (seeds if model in ABLATION_MODELS else seeds[:1])]
    console.print(f"training {len(plan)} runs, {jobs} at a time"
                  + (f", {threads} thread(s) each" if threads else ""))
    trained: dict[tuple[str, str, int], dict[str, Any]] = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = {pool.submit(train, root / market, model, seed, settings, logs, threads):
                   (market, model, seed) for market, model, seed in plan}
        for future in concurrent.futures.as_completed(futures):
            market, model, seed = futures[future]
            trained[futures[future]] = done = future.result()
            console.print(f"  trained {market} {model} s{seed}: "
                          f"{done['train_samples_per_second']:,.0f} samples/s, "
                          f"{done['seconds_per_epoch']:.1f} s/epoch "
                          f"({done['cpu_seconds_per_epoch']:.1f} CPU s), "
                          f"peak {done['peak_rss_mib']:,} MiB")
    # evaluated once every training child is gone: evaluation writes to the warehouses
    for market, model, seed in plan:
        row = {"market": market, **trained[(market, model, seed)],
               **evaluate_run(root / market, trained[(market, model, seed)],
                              truth=market != REAL)}
        results["runs"].append(row)
        console.print(f"  {market} {model} s{seed}: weekly Rank IC "
                      f"{row['weekly_rank_ic']:+.4f} (oracle {row['oracle_weekly_rank_ic']:+.4f})")
        harness.write_result("zoo", results, quiet=True)
    if full_market:
        results["full_market_day"] = full_market_day(logs)
    results["verdicts"] = verdicts(results)

    harness.print_table(
        "zoo bench zoo: out-of-sample weekly Rank IC (5-day, T+1 VWAP) and speed",
        TABLE_COLUMNS, table_rows(results["runs"]), console)
    harness.print_table(
        "per market: the graph's recall of the planted neighbours, biagru vs biagru_gat over "
        "seeds (mean ± sd)", MARKET_COLUMNS, market_rows(results), console)
    columns, rows = model_rows(results)
    harness.print_table("every model on every market: weekly Rank IC, mean ± sd over seeds (n)",
                        columns, rows, console)
    if "full_market_day" in results:
        day = results["full_market_day"]
        console.print(f"full-market day through biagru_gat: {day['nodes']:,} nodes, "
                      f"{day['edges']:,} edges, peak {day['peak_rss_mib']:,} MiB")
    console.print(f"verdicts: {results['verdicts']}")
    harness.write_result("zoo", results)
    return results
