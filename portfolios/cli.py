"""`zoo backtest` and `zoo bench portfolio`: index-enhancement portfolios of a model's scores."""

from __future__ import annotations

import click


@click.command("backtest")
@click.argument("name")
def backtest_command(name: str) -> None:
    """Backtest an enhanced-index portfolio built from a model's scores."""
    raise click.ClickException("zoo backtest: not implemented yet")


@click.command("portfolio")
def bench_portfolio() -> None:
    """Time one full-market rebalance and a CSI 1000 enhanced backtest."""
    raise click.ClickException("zoo bench portfolio: not implemented yet")
