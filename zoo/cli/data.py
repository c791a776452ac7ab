"""`zoo data ...`: load a Wind export, make the synthetic market, retract raw rows, summarise
the warehouse."""

from __future__ import annotations

from pathlib import Path

import click

from zoo.cli.options import DATE
from zoo.dates import wind_date


@click.group()
def data() -> None:
    """Raw Wind-style tables: load an export, or make the synthetic market."""


@data.command("load")
@click.argument("src", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--warehouse", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="DuckDB file (default $ZOO_HOME/warehouse.duckdb).")
@click.option("--format", "source_format", type=click.Choice(["wind", "baostock"]),
              default="wind", show_default=True,
              help="The layout of SRC: Wind tables, or baostock's own files (converted first, "
                   "as `zoo data convert` does, into a temporary folder).")
@click.option("--quarantine", is_flag=True,
              help="Set aside the rows that break a row rule (kept in raw._rejects with their "
                   "rule) and load the rest, instead of refusing the whole load.")
def data_load(src: Path, warehouse: Path | None, source_format: str, quarantine: bool) -> None:
    """Load a folder of Wind tables (one <Table>.csv or <Table>.parquet each) into `raw`.

    Every file is checked against its contract first; if any breaks one, nothing is written
    (with --quarantine, only what concerns a whole file, such as a missing column, stops the
    load). Rows already loaded are skipped, so loading the same files twice changes nothing.
    Files of tables alphazoo does not read are ignored and listed.
    """
    from zoo.ingest.load import LoadError, load_dir
    from zoo.paths import warehouse_path

    warehouse = warehouse or warehouse_path()
    try:
        if source_format == "baostock":
            _load_baostock(src, warehouse, quarantine)
            return
        report = load_dir(src, warehouse, quarantine=quarantine)
    except LoadError as err:
        raise click.ClickException(str(err)) from err
    click.echo(report.summary())


def _load_baostock(src: Path, warehouse: Path, quarantine: bool) -> None:
    """Convert, say what the conversion did, then load it all (or nothing)."""
    from contextlib import ExitStack

    from zoo.ingest.baostock import converted
    from zoo.ingest.load import load_dir

    with ExitStack() as stack:
        try:
            conversion, folder = stack.enter_context(converted(src, warehouse.parent))
        except (FileNotFoundError, ValueError) as err:  # BaostockFormatError is a ValueError
            raise click.ClickException(f"cannot convert {src}: {err}") from err
        click.echo(conversion.summary())
        click.echo("")
        report = load_dir(folder, warehouse, quarantine=quarantine,
                          origin=f"baostock files in {src.resolve()}")
    click.echo(report.summary())


@data.command("convert")
@click.option("--format", "source_format", type=click.Choice(["baostock"]), required=True,
              help="The layout of SRC.")
@click.argument("src", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
def data_convert(source_format: str, src: Path, out: Path) -> None:
    """Write another source's files in SRC as Wind tables (<Table>.parquet) in OUT, without
    loading them, and say what was written, what the source cannot feed and which rows were
    dropped or flagged and why."""
    from zoo.ingest.baostock import BaostockFormatError, convert

    try:
        report = convert(src, out)
    except BaostockFormatError as err:
        raise click.ClickException(str(err)) from err
    click.echo(report.summary())


@data.command("synth")
@click.option("--stocks", type=int, default=None, help="Number of stocks (default 500).")
@click.option("--start", type=DATE, default=None,
              help="First calendar date, YYYY-MM-DD or YYYYMMDD.")
@click.option("--end", type=DATE, default=None, help="Last calendar date.")
@click.option("--seed", type=int, default=None, help="Random seed; same seed, same market.")
@click.option("--signal-strength", type=float, default=None,
              help="Scale of all planted predictability (0 = none).")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Any other SynthConfig field, e.g. --set neighbour=0.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where the files go (default $ZOO_HOME/synth).")
@click.option("--no-load", is_flag=True, help="Only write the files, do not load the warehouse.")
@click.option("--replace", is_flag=True,
              help="Replace another market: the files under --out, and everything in the "
                   "warehouse (raw, truth, and what SQLMesh and `zoo score` built from it).")
@click.option("--hold-out-days", type=click.IntRange(min=0), default=0, show_default=True,
              help="Load the market without its last N trading days and write each of them "
                   "as the extract of that evening, under --out/extracts/YYYYMMDD, for `zoo "
                   "daily --extract` (the daily cycle).")
def data_synth(stocks, start, end, seed, signal_strength, overrides, out, no_load,
               replace, hold_out_days) -> None:
    """Make the synthetic A-share market and load it into the warehouse.

    Writes every raw table as parquet under --out, the planted truth under --out/truth and the
    config in --out/synth_config.json, and loads the tables (through the same contracts as a
    real export) into $ZOO_HOME/warehouse.duckdb. Without --replace it refuses, before writing
    anything, when --out holds a market of another config or the warehouse holds other data.
    """
    from zoo.paths import warehouse_path, zoo_home
    from zoo.synth import SynthConfig, generate
    from zoo.synth.record import OtherMarket, check_same_market

    try:
        config = SynthConfig.from_overrides(
            dict(stocks=stocks, start=start and wind_date(start), end=end and wind_date(end),
                 seed=seed,
                 signal_strength=signal_strength),
            overrides,
        )
    except ValueError as err:
        raise click.BadParameter(str(err), param_hint="--set") from err
    out = out or zoo_home() / "synth"
    from zoo.ingest.load import LoadError, load_dir, reset_schemas

    warehouse = warehouse_path()
    try:
        if not replace:
            check_same_market(config, out, None if no_load else warehouse)
        result = generate(config, out, progress=True)
    # another market (OtherMarket), a folder holding other files (ValueError), a held warehouse
    except (OtherMarket, ValueError, LoadError) as err:
        raise click.ClickException(str(err)) from err
    click.echo(result.summary())
    first_load = out
    if hold_out_days:
        from zoo.synth.holdout import hold_out

        try:
            held = hold_out(out, hold_out_days, out)
        except ValueError as err:
            raise click.ClickException(str(err)) from err
        click.echo(held.summary())
        first_load = held.first_load
    if no_load:
        return
    try:
        if replace:
            reset_schemas(warehouse)
        report = load_dir(first_load, warehouse)
        truth = load_dir(out / "truth", warehouse, schema="truth")
    except LoadError as err:
        raise click.ClickException(str(err)) from err
    click.echo(report.summary())
    click.echo(truth.summary())


@data.command("retract")
@click.argument("table")
@click.option("--where", "where", multiple=True, metavar="KEY=VALUE",
              help="A key column of TABLE and its value (repeat for more key columns); dates "
                   "YYYY-MM-DD or YYYYMMDD.")
@click.option("--reason", default="", help="Why: kept with the rows in raw._retracted.")
@click.option("--dry-run", is_flag=True, help="Only show the rows it would remove.")
@click.option("--warehouse", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="DuckDB file (default $ZOO_HOME/warehouse.duckdb).")
def data_retract(table: str, where: tuple[str, ...], reason: str, dry_run: bool,
                 warehouse: Path | None) -> None:
    """Remove raw rows that should not have got in: the rows of TABLE matching every --where
    (key columns only), kept in raw._retracted with the reason and recorded in raw._loads.

    What was built from them is marked for rebuild (SQLMesh does not notice rows that
    disappear): `zoo data refresh` (or `sqlmesh run` in transforms/) builds it again; until
    that and `zoo features apply` have run, the exports are stale and are not served.
    """
    from zoo.ingest.load import LoadError
    from zoo.ingest.retract import RetractError, retract
    from zoo.overrides import split
    from zoo.paths import warehouse_path

    try:
        pairs = [split(item) for item in where]
    except ValueError as err:
        raise click.BadParameter(str(err), param_hint="--where") from err
    try:
        done = retract(warehouse or warehouse_path(), table, pairs, reason, dry_run)
    except (RetractError, LoadError) as err:
        raise click.ClickException(str(err)) from err
    click.echo(done.summary())


@data.command("refresh")
def data_refresh() -> None:
    """Bring every model up to the raw data: `sqlmesh run` in transforms/ after marking what
    changed raw rows affect for rebuild (`zoo data load` and `retract` mark it themselves;
    this catches a load that was killed before it could). On a warehouse nothing was built in
    yet it runs the first `sqlmesh plan`. After any sequence of loads the models then equal a
    full build from scratch."""
    from zoo.daily.refresh import RefreshError, refresh

    try:
        done = refresh()
    except RefreshError as err:
        raise click.ClickException(str(err)) from err
    click.echo(done.summary())


@data.command("to-spark")
def data_to_spark() -> None:
    """Land the raw tables for SQLMesh's spark gateway: each Wind table of the warehouse as
    parquet under $ZOO_HOME/spark/raw/<Table>/, registered in the Spark catalog as raw.<Table>
    (replaced whole). Then `sqlmesh --gateway spark plan` in transforms/. Needs the spark
    extra (pyspark); the session is the gateway's (ZOO_SPARK_MASTER, ZOO_SPARK_CONF)."""
    import importlib.util

    if importlib.util.find_spec("pyspark") is None:
        raise click.ClickException("pyspark is not installed: pip install -e '.[spark]'")
    from zoo.ingest.spark import to_spark

    for item in to_spark():
        click.echo(f"raw.{item.table}: {item.rows} rows <- {item.path}")


@data.command("summary")
def data_summary() -> None:
    """Rows and date range of every raw table and every SQLMesh-built model."""
    from zoo.ingest.load import LoadError, warehouse_summary
    from zoo.paths import warehouse_path

    try:
        click.echo(warehouse_summary(warehouse_path()))
    except LoadError as err:
        raise click.ClickException(str(err)) from err
    from zoo.serving.coverage import coverage_report  # which features it cannot serve, and why

    if gaps := coverage_report(warehouse_path()):
        click.echo(gaps)
