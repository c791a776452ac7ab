"""`zoo`: the command line of alphazoo.

Heavy libraries (polars, duckdb, torch, feast, ...) are imported inside the commands that need
them, so `zoo --help` answers at once.
"""

from __future__ import annotations

from pathlib import Path

import click


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """alphazoo: point-in-time A-share features and a model zoo.

    Everything is written under $ZOO_HOME (default ./data).
    """


# --------------------------------------------------------------------------- data
@main.group()
def data() -> None:
    """Raw Wind-style tables: load an export, or make the synthetic market."""


@data.command("load")
@click.argument("src", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--warehouse", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="DuckDB file (default $ZOO_HOME/warehouse.duckdb).")
def data_load(src: Path, warehouse: Path | None) -> None:
    """Load a folder of Wind tables (one <Table>.csv or <Table>.parquet each) into `raw`.

    Every file is checked against its contract first; if any breaks one, nothing is written.
    Rows already loaded are skipped, so loading the same files twice changes nothing.
    """
    from zoo.data.load import LoadError, load_dir
    from zoo.paths import warehouse_path

    try:
        report = load_dir(src, warehouse or warehouse_path())
    except LoadError as err:
        raise click.ClickException(str(err)) from err
    click.echo(report.summary())


@data.command("synth")
@click.option("--stocks", type=int, default=None, help="Number of stocks (default 500).")
@click.option("--start", default=None, help="First calendar date, YYYYMMDD.")
@click.option("--end", default=None, help="Last calendar date, YYYYMMDD.")
@click.option("--seed", type=int, default=None, help="Random seed; same seed, same market.")
@click.option("--signal-strength", type=float, default=None,
              help="Scale of all planted predictability (0 = none).")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Any other SynthConfig field, e.g. --set neighbour=0.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where the files go (default $ZOO_HOME/synth).")
@click.option("--no-load", is_flag=True, help="Only write the files, do not load the warehouse.")
@click.option("--replace", is_flag=True,
              help="Drop the warehouse's raw and truth schemas first (a different market).")
def data_synth(stocks, start, end, seed, signal_strength, overrides, out, no_load,
               replace) -> None:
    """Make the synthetic A-share market and load it into the warehouse.

    Writes every raw table as parquet under --out, the planted truth under --out/truth, and
    loads both (through the same contracts as a real export) into $ZOO_HOME/warehouse.duckdb.
    """
    from zoo.data.synth import SynthConfig, generate
    from zoo.paths import warehouse_path, zoo_home

    try:
        config = SynthConfig.from_overrides(
            dict(stocks=stocks, start=start, end=end, seed=seed,
                 signal_strength=signal_strength),
            overrides,
        )
    except ValueError as err:
        raise click.BadParameter(str(err), param_hint="--set") from err
    out = out or zoo_home() / "synth"
    result = generate(config, out, progress=True)
    click.echo(result.summary())
    if no_load:
        return
    from zoo.data.load import LoadError, load_dir, reset_schemas

    warehouse = warehouse_path()
    try:
        if replace:
            reset_schemas(warehouse)
        report = load_dir(out, warehouse)
        truth = load_dir(out / "truth", warehouse, schema="truth")
    except LoadError as err:
        raise click.ClickException(str(err)) from err
    click.echo(report.summary())
    click.echo(truth.summary())


@data.command("summary")
def data_summary() -> None:
    """Rows and date range of every raw table in the warehouse."""
    from zoo.data.load import LoadError, warehouse_summary
    from zoo.paths import warehouse_path

    try:
        click.echo(warehouse_summary(warehouse_path()))
    except LoadError as err:
        raise click.ClickException(str(err)) from err


# --------------------------------------------------------------------------- bench
@main.group()
def bench() -> None:
    """Benchmarks (speed and memory); results go to $ZOO_HOME/bench/*.json."""


@bench.command("synth")
@click.option("--stocks", type=int, default=5000, show_default=True)
@click.option("--start", default="20140101", show_default=True)
@click.option("--end", default="20231231", show_default=True)
def bench_synth(stocks: int, start: str, end: str) -> None:
    """Full-market synthetic market: rows per second and peak memory."""
    from zoo.bench.synth import run

    run(stocks=stocks, start=start, end=end)


@bench.command("refresh")
@click.option("--stocks", type=int, default=5000, show_default=True)
@click.option("--start", default="20140101", show_default=True)
@click.option("--end", default="20231231", show_default=True)
def bench_refresh(stocks: int, start: str, end: str) -> None:
    """Full-market `sqlmesh plan`, one new day through `sqlmesh run`, and a pandas baseline."""
    from zoo.bench.refresh import run

    run(stocks=stocks, start=start, end=end)


@bench.command("retrieve")
@click.option("--rows", type=int, default=10_000_000, show_default=True,
              help="Entity rows (stock, event_timestamp) to retrieve.")
def bench_retrieve(rows: int) -> None:
    """Point-in-time retrieval through Feast vs a hand-written DuckDB ASOF join."""
    from zoo.bench.retrieve import run

    run(rows=rows)


# --------------------------------------------------------------------------- features
from zoo.cli_features import features  # noqa: E402  (click only; heavy imports are inside)

main.add_command(features)


if __name__ == "__main__":
    main()
