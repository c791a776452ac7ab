"""`zoo backtest`: index-enhancement portfolios of a model's scores."""

from __future__ import annotations

from datetime import date

import click

from portfolios.backtest import INDEXES, UNIVERSES
from zoo.cli.options import DATE, cost_option


@click.command("backtest")
@click.argument("name")
@click.option("--index", type=click.Choice(INDEXES), default="csi500", show_default=True,
              help="The benchmark index (weights from stock_universe_daily).")
@click.option("--universe", type=click.Choice(sorted(UNIVERSES)), default="all",
              show_default=True, help="Whole market, or at least 80% in index constituents.")
@click.option("--rebalance-days", type=int, default=5, show_default=True,
              help="Trading days between decisions.")
@cost_option()
@click.option("--start", type=DATE, default=None,
              help="First decision day, YYYY-MM-DD or YYYYMMDD (default: first score).")
@click.option("--end", type=DATE, default=None,
              help="Last day (default: a holding period after the last score).")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="A constraint, e.g. --set stock_deviation=0.01 --set max_turnover=none.")
def backtest_command(name: str, index: str, universe: str, rebalance_days: int, cost: float,
                     start: date | None, end: date | None, overrides: tuple[str, ...]) -> None:
    """Backtest an enhanced-index portfolio built from model NAME's scores.

    Reads scores.score_NAME and the feature tables from $ZOO_HOME/warehouse.duckdb, rebalances
    every --rebalance-days, trades at the next day's VWAP, and saves the result under
    $ZOO_HOME/backtests/NAME/INDEX_UNIVERSE/ (shown by `zoo report`).
    """
    from tqdm import tqdm

    from portfolios.backtest import BacktestConfig, BacktestError, backtest
    from portfolios.constraints import PortfolioConstraints
    from portfolios.optimiser import PortfolioError
    from portfolios.store import save
    from zoo.evaluate.report import wide_console

    try:
        constraints = PortfolioConstraints.from_overrides(list(overrides))
        config = BacktestConfig(index=index, universe=universe, rebalance_days=rebalance_days,
                                cost_rate=cost, start=start, end=end,
                                constraints=constraints)
    except ValueError as err:
        raise click.BadParameter(str(err)) from err
    # no bar where stderr is a file or a pipe: its redraws would run together there
    bar = tqdm(total=0, unit="day", desc=f"{name} {index} {universe}", disable=None)

    def progress(done: int, total: int) -> None:
        bar.total = total
        bar.update(done - bar.n)

    try:
        result = backtest(name, config, progress=progress)
    except (BacktestError, PortfolioError) as err:
        raise click.ClickException(str(err)) from err
    finally:
        bar.close()
    path = save(name, result)
    console = wide_console()
    console.print(_yearly_rich(name, result.daily, config))
    relaxed = int((result.rebalances["relaxed"] != "").sum())
    console.print(f"{result.rebalances.height} rebalances in {result.seconds:.1f}s, "
                  f"{relaxed} with relaxed constraints; saved to {path}")


def _yearly_rich(name: str, daily, config) -> object:
    from rich.table import Table

    from portfolios.performance import FORMATS, LABELS, METRICS, summary, yearly_table

    net, gross = yearly_table(daily), yearly_table(daily, gross=True)
    figures = summary(daily)
    table = Table(title=f"{name}: {config.index} enhanced, {config.universe} "
                        f"(excess net of {config.cost_rate:.2%} round-trip costs)",
                  caption=f"annual turnover {figures['turnover_per_year']:.1f}x, costs "
                          f"{figures['cost_per_year']:.2%}/yr; gross excess "
                          f"{figures['annual_excess_gross']:.1%}/yr")
    table.add_column("period")
    for metric in METRICS:
        table.add_column(LABELS[metric], justify="right")
    table.add_column("Excess before costs", justify="right")
    for row, row_gross in zip(net.iter_rows(named=True), gross.iter_rows(named=True),
                              strict=True):
        table.add_row(row["period"], *[format(row[m], FORMATS[m]) for m in METRICS],
                      format(row_gross["annual_excess"], ".1%"))
    return table
