"""Options several commands share, so each is spelled, parsed and explained once."""

from __future__ import annotations

import datetime as dt

import click

from zoo.vocabulary import COST_RATE, HORIZONS


class DateParam(click.ParamType):
    """A day as `YYYY-MM-DD` or `YYYYMMDD` (zoo.dates), given to the command as a `date`."""

    name = "date"

    def convert(self, value, param, ctx) -> dt.date:
        from zoo.dates import parse_date

        try:
            return parse_date(value)
        except ValueError as err:
            self.fail(str(err), param, ctx)


DATE = DateParam()


def horizons_param(ctx: click.Context, param: click.Parameter, value: str) -> tuple[int, ...]:
    """"5,20" -> (5, 20); only the label horizons of zoo.vocabulary."""
    try:
        horizons = tuple(sorted({int(part) for part in value.split(",") if part.strip()}))
    except ValueError:
        raise click.BadParameter(f"{value!r}: give trading-day counts like 5,10,15,20") from None
    bad = [h for h in horizons if h not in HORIZONS]
    if not horizons or bad:
        known = ", ".join(map(str, HORIZONS[:-1])) + f" and {HORIZONS[-1]}"
        raise click.BadParameter(f"{value!r}: labels exist for {known} days only")
    return horizons


def positive_ints_param(ctx: click.Context, param: click.Parameter,
                        value: str) -> tuple[int, ...]:
    """"2,5,10" -> (2, 5, 10): one or more positive whole numbers, in the order given."""
    try:
        numbers = tuple(int(part) for part in value.split(",") if part.strip())
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a list of numbers") from None
    if not numbers or min(numbers) < 1:
        raise click.BadParameter(f"{value!r}: give one or more positive numbers")
    return numbers


def cost_option(*names: str):
    """`--cost`: the round-trip cost rate, one convention for every command (zoo.vocabulary)."""
    return click.option(*(names or ("--cost",)), "cost", type=click.FloatRange(0, 1, max_open=True),
                        default=COST_RATE, show_default=True,
                        help="Round-trip cost rate (双边; 0.003 = 3‰), charged as rate x one-way "
                             "turnover.")
