"""`zoo eval` and `zoo report`: factor evaluation of scored models.

A NAME is a scored model (table scores.score_<model>), `oracle` (the synthetic market's planted
expected return), `truth.<ER column>`, or a feature column such as
`stock_style_daily.momentum_20d`; see zoo/evaluate/inputs.py.
"""

from __future__ import annotations

from datetime import date

import click

from zoo.cli.options import DATE, cost_option, horizons_param
from zoo.vocabulary import HORIZONS

DEFAULT_HORIZONS = ",".join(map(str, HORIZONS))


_options = [
    click.option("--horizon", "horizons", default=DEFAULT_HORIZONS, show_default=True,
                 callback=horizons_param, help="Rebalance intervals in trading days."),
    cost_option("--cost", "--fee"),
    click.option("--start", type=DATE,
                 help="First day (YYYY-MM-DD or YYYYMMDD); default: the first day every scored "
                      "model among NAMES has scores (else the factors' first)."),
    click.option("--end", type=DATE,
                 help="Last day; default: the last day every scored model has scores."),
    click.option("--style-date", type=DATE,
                 help="Day of the one-date style correlations (default: the last)."),
]


def _with_options(command):
    for option in reversed(_options):
        command = option(command)
    return command


def _check_fresh(con, sources: list) -> None:
    """Refuse to evaluate when the published exports of what it reads (labels, universe,
    prices, style, fundamentals, the factors' tables) are older than the warehouse's raw data:
    the refresh has not run since the last load (or `zoo data synth --replace`). A home without
    exports is not checked."""
    from zoo.paths import export_path, warehouse_path
    from zoo.serving import published
    from zoo.serving.freshness import check_fresh

    read = [published.LABELS, published.UNIVERSE, published.PRICE_VOLUME, published.STYLE,
            published.FUNDAMENTALS]
    tables = {r.table for r in read} | {s.table.partition(".")[2] for s in sources
                                        if s.kind != "oracle"}
    check_fresh([export_path(t) for t in sorted(tables)], con,
                warehouse_path())


def _evaluate_all(names: list[str], horizons: tuple[int, ...], cost: float,
                  start: date | None, end: date | None,
                  style_date: date | None) -> list:
    from zoo.evaluate.evaluation import EvalConfig, evaluate
    from zoo.evaluate.inputs import common_window, connect, resolve
    from zoo.serving.published import WarehouseBusy

    try:
        EvalConfig(horizons=horizons, fee=cost, start=start, end=end, style_date=style_date)
        con = connect()
    except (ValueError, FileNotFoundError, WarehouseBusy) as err:
        raise click.ClickException(str(err)) from None
    try:
        # every name is checked before any is evaluated
        sources = [resolve(con, name) for name in names]
        _check_fresh(con, sources)
        window = common_window(con, sources) if len(sources) > 1 else None
        if window and (start is None or end is None):
            start, end = start or window[0], end or window[1]
            click.echo(f"window {start}..{end}: where --start/--end do not say, the days "
                       f"every scored model has scores")
        config = EvalConfig(horizons=horizons, fee=cost, start=start, end=end,
                            style_date=style_date)
        return [evaluate(name, config, con=con) for name in names]
    except ValueError as err:  # UnknownFactor and StaleExport included: they say what to do
        raise click.ClickException(str(err)) from None
    finally:
        con.close()


@click.command("eval")
@click.argument("names", nargs=-1, required=True)
@_with_options
@click.option("--json/--no-json", "write_json", default=True, show_default=True,
              help="Also write $ZOO_HOME/reports/eval/<name>.json.")
def eval_command(names: tuple[str, ...], horizons: tuple[int, ...], cost: float,
                 start: date | None, end: date | None, style_date: date | None,
                 write_json: bool) -> None:
    """Evaluate scored models (or feature columns, or `oracle`) as factors."""
    import json

    from zoo.atomic import write_text
    from zoo.evaluate import tables
    from zoo.evaluate.report import print_tables
    from zoo.paths import zoo_home

    evaluations = _evaluate_all(list(names), horizons, cost, start, end, style_date)
    print_tables([tables.ability_table(evaluations), tables.weekly_table(evaluations),
                  tables.ic_table(evaluations), tables.yearly_table(evaluations),
                  tables.correlation_table(evaluations, "style", on_date=False)])
    if write_json:
        for e in evaluations:
            path = zoo_home() / "reports" / "eval" / f"{e.name}.json"
            write_text(path, json.dumps(e.to_json(), indent=2, ensure_ascii=False) + "\n")
            click.echo(f"{e.name}: {e.seconds:.1f} s, written to {path}")


def _demo_values(evaluations: list) -> dict[str, float | None]:
    """The numbers zoo.evaluate.guide.DEMO_EXPECTED names, from the evaluations (5-day
    horizon) and biagru_gat's saved CSI 1000 backtest."""
    from portfolios.performance import excess_metrics
    from portfolios.store import load_daily

    found = {e.name: e.summary[5] for e in evaluations if 5 in e.summary}
    ic = {name: s["ic_vwap"] for name, s in found.items()}
    values: dict[str, float | None] = {
        "ic_biagru_gat": ic.get("biagru_gat"), "ic_biagru": ic.get("biagru"),
        "ic_oracle": ic.get("oracle"),
        "top10_biagru_gat": (found["biagru_gat"]["top10pct"]["excess_net"]
                             if "biagru_gat" in found else None)}
    if "biagru_gat" in ic and "biagru" in ic:
        values["ic_margin"] = ic["biagru_gat"] - ic["biagru"]
    daily = load_daily("biagru_gat", "csi1000", "all")
    if daily is not None:
        values["csi1000_biagru_gat"] = excess_metrics(
            daily["trade_date"].to_list(), daily["excess"].to_numpy())["annual_excess"]
    return values


@click.command("report")
@click.argument("names", nargs=-1)
@_with_options
@click.option("--demo", is_flag=True,
              help="End with what `make demo` should show: its key numbers, the range each "
                   "should fall in, and why they differ from the README's benchmark.")
def report_command(names: tuple[str, ...], horizons: tuple[int, ...], cost: float,
                   start: date | None, end: date | None,
                   style_date: date | None, demo: bool) -> None:
    """Write the HTML and Markdown report for scored models to $ZOO_HOME/reports/.

    Without NAMES: every scored model (scores.score_* tables)."""
    from portfolios.report import sections as portfolio_sections
    from zoo.evaluate import tables
    from zoo.evaluate.inputs import connect, scored_models
    from zoo.evaluate.report import print_tables, write_report
    from zoo.paths import warehouse_path, zoo_home
    from zoo.serving.published import WarehouseBusy

    if not names:
        try:
            con = connect()
        except (FileNotFoundError, WarehouseBusy) as err:
            raise click.ClickException(str(err)) from None
        try:
            names = tuple(scored_models(con))
        finally:
            con.close()
        if not names:
            raise click.ClickException(
                f"no scored model in {warehouse_path()} (no scores.score_* table): run "
                f"`zoo score NAME` first, or name factors, e.g. `zoo report oracle`")
    evaluations = _evaluate_all(list(names), horizons, cost, start, end, style_date)
    print_tables([tables.weekly_table(evaluations), tables.yearly_table(evaluations)])
    models = [e.name for e in evaluations if e.kind == "model"]
    sections = tables.sections(evaluations) + portfolio_sections(models)
    html_path, md_path = write_report(sections, zoo_home() / "reports",
                                      subtitle=f"因子：{', '.join(e.name for e in evaluations)}。")
    click.echo(f"report written to {html_path} (Markdown: {md_path})")
    if demo:
        from zoo.evaluate.guide import demo_guide

        click.echo("")
        click.echo(demo_guide(html_path, _demo_values(evaluations)))
