"""`zoo eval`, `zoo report` and `zoo bench eval`: factor evaluation of scored models."""

from __future__ import annotations

import click


@click.command("eval")
@click.argument("names", nargs=-1, required=True)
def eval_command(names: tuple[str, ...]) -> None:
    """Evaluate scored models (or feature columns) as factors."""
    raise click.ClickException("zoo eval: not implemented yet")


@click.command("report")
@click.argument("names", nargs=-1)
def report_command(names: tuple[str, ...]) -> None:
    """Write the HTML and Markdown report for scored models to $ZOO_HOME/reports/."""
    raise click.ClickException("zoo report: not implemented yet")


@click.command("eval")
def bench_eval() -> None:
    """Time a full evaluation of one model on full-market synthetic scores."""
    raise click.ClickException("zoo bench eval: not implemented yet")
