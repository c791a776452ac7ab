"""`zoo daily`: load the evening's extract, refresh, export, fill the online store, score the
new days, and say what happened on one screen (zoo.daily.cycle)."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("daily")
@click.option("--extract", type=click.Path(exists=True, file_okay=False, path_type=Path),
              default=None, help="The evening's extract to load first (a folder of Wind "
                                 "tables, or baostock files with --format baostock).")
@click.option("--format", "source_format", type=click.Choice(["wind", "baostock"]),
              default="wind", show_default=True, help="The layout of --extract.")
@click.option("--quarantine", is_flag=True,
              help="Set aside rows of the extract that break a rule instead of refusing it.")
@click.option("--models", default=None, metavar="A,B",
              help="Models whose new days to score (default: every model with a score "
                   "table; '' for none).")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Also write the report (each step's seconds, days built, "
                                 "scores) to this JSON file, for monitoring.")
def daily_command(extract: Path | None, source_format: str, quarantine: bool,
                  models: str | None, json_path: Path | None) -> None:
    """The daily cycle: load --extract, refresh the features (`sqlmesh run`: the new days and
    the days a late row changed), export them for Feast, fill the online store, score the new
    days of each model with its trained run and write the scores back; then a summary of rows
    in, days built, features missing or stale, scores written, and each step's time."""
    from zoo.daily.cycle import DailyError, run_daily

    names = None if models is None else [m.strip() for m in models.split(",") if m.strip()]
    if names:
        import zoo.models  # noqa: F401  (registers the models)
        from zoo.registry import model_contract

        for name in names:
            try:
                model_contract(name)
            except ValueError as err:
                raise click.BadParameter(str(err), param_hint="--models") from err
    try:
        report = run_daily(extract, names, source_format=source_format, quarantine=quarantine,
                           echo=lambda text: click.echo(f"... {text}", err=True))
    except DailyError as err:
        click.echo(err.report.summary(), err=True)
        if json_path:
            _write(json_path, {**err.report.as_dict(), "error": str(err)})
        raise click.ClickException(str(err)) from err
    if json_path:
        _write(json_path, report.as_dict())
    click.echo(report.summary())


def _write(path: Path, values: dict) -> None:
    from zoo.atomic import write_json

    write_json(path, values, default=str)
