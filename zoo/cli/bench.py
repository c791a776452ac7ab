"""`zoo bench ...`: the benchmarks (speed, memory, model quality); results go to
$ZOO_HOME/bench/*.json."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click

from zoo.bench.day import LENGTHS as DAY_LENGTHS
from zoo.bench.real import MODELS as REAL_MODELS
from zoo.bench.retrieve import SIZES as RETRIEVE_SIZES
from zoo.bench.zoo import ALL_MODELS, MARKET_NAMES, MARKETS, REAL, REAL_SAMPLE
from zoo.cli.options import DATE, positive_ints_param
from zoo.dates import wind_date


@click.group()
def bench() -> None:
    """Benchmarks (speed and memory); results go to $ZOO_HOME/bench/*.json."""


@bench.command("synth")
@click.option("--stocks", type=int, default=5000, show_default=True)
@click.option("--start", type=DATE, default="20140101", show_default=True)
@click.option("--end", type=DATE, default="20231231", show_default=True)
def bench_synth(stocks: int, start: date, end: date) -> None:
    """Full-market synthetic market: rows per second and peak memory."""
    from zoo.bench.synth import run

    run(stocks=stocks, start=wind_date(start), end=wind_date(end))


@bench.command("refresh")
@click.option("--stocks", type=int, default=5000, show_default=True)
@click.option("--start", type=DATE, default="20140101", show_default=True)
@click.option("--end", type=DATE, default="20231231", show_default=True)
def bench_refresh(stocks: int, start: date, end: date) -> None:
    """Full-market `sqlmesh plan`, one new day through `sqlmesh run`, and polars and pandas
    baselines of the same features, beside the write floor of their tables."""
    from zoo.bench.refresh import run

    run(stocks=stocks, start=wind_date(start), end=wind_date(end))


@bench.command("day")
@click.option("--stocks", type=int, default=5000, show_default=True)
@click.option("--years", default=",".join(map(str, DAY_LENGTHS)), show_default=True,
              callback=positive_ints_param,
              help="Comma-separated lengths of history, in years ending at --end.")
@click.option("--end", type=DATE, default="20231231", show_default=True)
@click.option("--repeats", type=click.IntRange(1, 10), default=3, show_default=True)
@click.option("--root", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where the prepared markets are kept and reused (default "
                   "$ZOO_HOME/bench/day).")
def bench_day(stocks: int, years: tuple[int, ...], end: date, repeats: int,
              root: Path | None) -> None:
    """One new day through `sqlmesh run` on warehouses of several lengths of history, beside
    SQLMesh's fixed cost (a run with nothing to do, and its import)."""
    from zoo.bench.day import run

    run(stocks=stocks, years=years, end=wind_date(end), repeats=repeats, root=root)


@bench.command("daily")
@click.option("--stocks", type=int, default=5000, show_default=True)
@click.option("--start", type=DATE, default="20140101", show_default=True)
@click.option("--end", type=DATE, default="20231231", show_default=True)
@click.option("--repeats", type=click.IntRange(1, 10), default=3, show_default=True)
@click.option("--root", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where the prepared market is kept and reused (default "
                   "$ZOO_HOME/bench/daily).")
def bench_daily(stocks: int, start: date, end: date, repeats: int, root: Path | None) -> None:
    """`zoo daily` for one new day on the full-market warehouse, step by step (no model)."""
    from zoo.bench.daily import run

    run(stocks=stocks, start=wind_date(start), end=wind_date(end), repeats=repeats, root=root)


@bench.command("retrieve")
@click.option("--rows", default=",".join(map(str, RETRIEVE_SIZES)), show_default=True,
              callback=positive_ints_param,
              help="Comma-separated numbers of entity rows (stock, event_timestamp).")
def bench_retrieve(rows: tuple[int, ...]) -> None:
    """Point-in-time retrieval through Feast and the project's store vs plain DuckDB and
    polars baselines and Feast's stock store, at each number of entity rows."""
    from zoo.bench.retrieve import run

    run(sizes=rows)


@bench.command("zoo")
@click.option("--models", default=",".join(ALL_MODELS), show_default=True,
              help="Comma-separated models to train on the default market, the latent links "
                   "and the real sample.")
@click.option("--seeds", default="0,1,2", show_default=True,
              help="Seeds of biagru and biagru_gat (their spread judges the graph ablation).")
@click.option("--set", "settings", multiple=True, metavar="KEY=VALUE",
              help="TrainConfig overrides for every run (e.g. the demo's small configuration, "
                   "or device=cuda).")
@click.option("--market", "markets", multiple=True,
              type=click.Choice(list(MARKET_NAMES)),
              help="Only these markets (default all: the default market, links=latent, "
                   "no neighbour effect, and `real`, the baostock sample, when it is there).")
@click.option("--real-src", type=click.Path(file_okay=False, path_type=Path),
              default=REAL_SAMPLE, show_default=True,
              help="The baostock folder of the `real` market.")
@click.option("--skip-full-market", is_flag=True, help="Skip the 5000-stock day's memory.")
@click.option("--jobs", type=click.IntRange(min=1), default=1, show_default=True,
              help="Trainings at once, the cores shared out between them.")
def bench_zoo(models: str, seeds: str, settings: tuple[str, ...], markets: tuple[str, ...],
              real_src: Path, skip_full_market: bool, jobs: int) -> None:
    """Out-of-sample weekly Rank IC of every model beside the oracle, the graph ablation, style
    correlations, speed and memory. Trains every model on the default market, the latent links
    and the real sample, and biagru and biagru_gat on the market with no neighbour effect:
    long on a CPU with the defaults."""
    import zoo.models  # noqa: F401  (registers the models)
    from zoo.bench.zoo import run
    from zoo.registry import model_contract

    names = tuple(m.strip() for m in models.split(",") if m.strip())
    for name in names:  # before any market is built or a run folder named
        try:
            model_contract(name)
        except ValueError as err:
            raise click.BadParameter(str(err), param_hint="--models") from None
    if REAL in markets and not real_src.is_dir():
        raise click.BadParameter(f"{real_src} is not a folder of baostock files",
                                 param_hint="--real-src")
    run(models=names,
        seeds=tuple(int(s) for s in seeds.split(",") if s.strip()), settings=settings,
        markets=markets or (*MARKETS, *((REAL,) if real_src.is_dir() else ())),
        full_market=not skip_full_market, jobs=jobs, real_src=real_src)


@bench.command("training")
@click.option("--year", type=click.IntRange(1995, 2100), default=2020, show_default=True,
              help="The year whose day batches are built.")
@click.option("--repeats", type=click.IntRange(1, 10), default=3, show_default=True,
              help="Builds each way (before, now).")
@click.option("--epochs", type=click.IntRange(1, 20), default=3, show_default=True,
              help="Shuffled epochs of batch assembly per build.")
@click.option("--steps", type=click.IntRange(1, 1000), default=20, show_default=True,
              help="Measured day steps per thread setting.")
@click.option("--stocks", type=click.IntRange(10, 6000), default=500, show_default=True,
              help="Stocks of the day step's day.")
@click.option("--home", type=click.Path(exists=True, file_okay=False, path_type=Path),
              default=None, help="A built $ZOO_HOME to build the batches from (default: the "
                                 "`zoo bench zoo` neighbour market, built when missing).")
@click.option("--skip-threads", is_flag=True, help="Skip the day step by thread setting.")
@click.option("--skip-batches", is_flag=True, help="Skip building the day batches.")
def bench_training(year: int, repeats: int, epochs: int, steps: int, stocks: int,
                   home: Path | None, skip_threads: bool, skip_batches: bool) -> None:
    """Training throughput on CPU: a biagru_gat day step by torch threads, as the machine is
    and with every core busy; a year of day batches built the old way and now."""
    from zoo.bench.training import run

    run(year=year, repeats=repeats, epochs=epochs, steps=steps, stocks=stocks, home=home,
        threads=not skip_threads, batches=not skip_batches)


@bench.command("eval")
@click.option("--stocks", type=click.IntRange(10), default=5000, show_default=True)
@click.option("--years", type=click.IntRange(1, 30), default=8, show_default=True)
@click.option("--repeats", type=click.IntRange(1, 10), default=3, show_default=True)
@click.option("--keep", is_flag=True, help="Keep the scratch warehouse under $ZOO_HOME/bench.")
def bench_eval(stocks: int, years: int, repeats: int, keep: bool) -> None:
    """Time a full evaluation of one model on full-market synthetic scores."""
    from zoo.bench.eval import run

    run(stocks=stocks, years=years, repeats=repeats, keep=keep)


@bench.command("portfolio")
@click.option("--repeats", type=int, default=5, show_default=True,
              help="Solves per formulation for the rebalance medians.")
@click.option("--years", type=float, default=7.0, show_default=True,
              help="Length of the CSI 1000 backtest.")
@click.option("--skip-backtest", is_flag=True, help="Only time the rebalance.")
def bench_portfolio(repeats: int, years: float, skip_backtest: bool) -> None:
    """Time one full-market rebalance and a CSI 1000 enhanced backtest."""
    from zoo.bench.portfolio import run

    run(repeats=repeats, years=years, backtest=not skip_backtest)


@bench.command("real")
@click.argument("src", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--models", default=",".join(REAL_MODELS), show_default=True,
              help="Comma-separated models to train on the sample.")
@click.option("--seeds", default="0", show_default=True)
@click.option("--set", "settings", multiple=True, metavar="KEY=VALUE",
              help="TrainConfig overrides on top of the stated small configuration.")
def bench_real(src: Path, models: str, seeds: str, settings: tuple[str, ...]) -> None:
    """A baostock folder through import, plan and apply in a scratch home; the known A-share
    factors' weekly Rank IC; the seed report's models trained on it, out of sample."""
    from zoo.bench.real import run

    run(src, models=tuple(m.strip() for m in models.split(",") if m.strip()),
        seeds=tuple(int(s) for s in seeds.split(",") if s.strip()), settings=settings)
