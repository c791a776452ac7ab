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
    from zoo.ingest.load import LoadError, load_dir
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
              help="Drop everything in the warehouse first (a different market): raw, truth, "
                   "and what SQLMesh and `zoo score` built from the old one.")
def data_synth(stocks, start, end, seed, signal_strength, overrides, out, no_load,
               replace) -> None:
    """Make the synthetic A-share market and load it into the warehouse.

    Writes every raw table as parquet under --out, the planted truth under --out/truth, and
    loads both (through the same contracts as a real export) into $ZOO_HOME/warehouse.duckdb.
    """
    from zoo.paths import warehouse_path, zoo_home
    from zoo.synth import SynthConfig, generate

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
    from zoo.ingest.load import LoadError, load_dir, reset_schemas

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
    """Rows and date range of every raw table and every SQLMesh-built model."""
    from zoo.ingest.load import LoadError, warehouse_summary
    from zoo.paths import warehouse_path

    try:
        click.echo(warehouse_summary(warehouse_path()))
    except LoadError as err:
        raise click.ClickException(str(err)) from err


# --------------------------------------------------------------------------- models
@main.command("list")
@click.argument("pattern", default="*")
def list_cmd(pattern: str) -> None:
    """Registered models matching PATTERN (fnmatch, e.g. 'biagru*') and their data contracts."""
    from rich.console import Console
    from rich.table import Table

    import zoo.models  # noqa: F401  (registers the models)
    from zoo.registry import list_models, model_contract

    names = list_models(pattern)
    if not names:
        raise click.ClickException(f"no model matches {pattern!r}; `zoo list` shows them all")
    table = Table()
    table.add_column("model", no_wrap=True)
    for title in ("inputs", "label", "window", "2-stage", "feature services"):
        table.add_column(title, overflow="fold")
    for name in names:
        c = model_contract(name)
        inputs = [key for key in c.inputs if not key.endswith("_mask")]  # masks go with them
        table.add_row(name, "\n".join(inputs), c.label, f"{c.sequence_days}d {c.quarters}q",
                      "yes" if c.two_stage else "", "\n".join(c.feature_services))
    Console().print(table)


@main.command("train")
@click.argument("name")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="A TrainConfig field (lr=3e-4, seeds=0,1,2, first_test_year=2019) or a "
                   "model option (model.hidden_channels=32); repeatable.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default=None,
              help="Where to train (default auto: CUDA when present).")
@click.option("--fake", is_flag=True,
              help="Train on seeded synthetic cross-sections instead of the Feast dataset.")
@click.option("--fake-stocks", type=int, default=100, show_default=True,
              help="Stocks in the --fake dataset.")
@click.option("--resume", "resume_id", default=None, metavar="RUN_ID",
              help="Continue an interrupted run (same config) instead of starting a new one.")
@click.option("--quiet", is_flag=True, help="No progress bars.")
def train_cmd(name: str, overrides: tuple[str, ...], device: str | None, fake: bool,
              fake_stocks: int, resume_id: str | None, quiet: bool) -> None:
    """Rolling retraining of model NAME; writes $ZOO_HOME/runs/NAME/<run_id>/.

    Every year (retrain_every_years) a model is trained on the preceding years, validated on
    the last of them and scores the next year out of sample; scores.parquet concatenates them.
    """
    import datetime

    import zoo.models  # noqa: F401  (registers the models)
    from zoo.registry import create_model, model_contract
    from zoo.train.config import TrainConfig, fake_for_config
    from zoo.train.rolling import run_rolling
    from zoo.train.runs import load_run, new_run_dir, run_summary, runs_dir

    settings = [f"model={name}", *overrides] + ([f"device={device}"] if device else [])
    try:
        config = TrainConfig.from_overrides(settings)
        contract = model_contract(config.model)
        create_model(config.model, **config.model_overrides)  # unknown options fail here
    except ValueError as err:
        raise click.BadParameter(str(err), param_hint="NAME / --set") from err

    if fake:
        data = fake_for_config(config, n_stocks=fake_stocks,
                               sequence_days=contract.sequence_days, quarters=contract.quarters)
    else:
        from zoo.datasets import day_batches as datasets

        start = datetime.date(config.first_test_year - config.valid_years - config.train_years,
                              1, 1)
        end = (datetime.date(config.last_test_year, 12, 31) if config.last_test_year
               else datetime.date.today())
        try:
            data = datasets.build_day_batches(contract, start, end)
        except (FileNotFoundError, ValueError) as err:
            raise click.ClickException(f"{err}\n(or train on synthetic cross-sections with "
                                       "--fake)") from err

    if resume_id:
        run_dir = runs_dir(config.model) / resume_id
        if not (run_dir / "config.json").is_file():
            raise click.BadParameter(f"no run {resume_id!r} under {runs_dir(config.model)}",
                                     param_hint="--resume")
    else:
        run_dir = new_run_dir(config.model)
    click.echo(f"run {run_dir.name}: {run_dir}")
    try:
        run_rolling(config, data, run_dir, progress=not quiet, resume=bool(resume_id))
    except ValueError as err:
        raise click.ClickException(str(err)) from err
    click.echo(run_summary(load_run(config.model, run_dir.name)))


@main.command("score")
@click.argument("name")
@click.option("--run", "run_id", default=None, metavar="RUN_ID",
              help="Which run (default: the latest finished one).")
@click.option("--no-write", "write", is_flag=True, flag_value=False, default=True,
              help="Only summarise; do not write the scores to the warehouse and Feast.")
def score_cmd(name: str, run_id: str | None, write: bool) -> None:
    """Summarise a run's out-of-sample scores and write them back (warehouse + Feast view)."""
    from zoo.train.runs import load_run, run_summary

    try:
        run = load_run(name, run_id)
    except FileNotFoundError as err:
        raise click.ClickException(str(err)) from err
    click.echo(run_summary(run))
    if not write:
        return
    from zoo.serving.scores import write_back

    try:
        written = write_back(name, run.scores())
    except (RuntimeError, ValueError) as err:
        raise click.ClickException(str(err)) from err
    click.echo(f"wrote {written.rows:,} scores to {written.table} and the Feast view "
               f"{written.view} ({written.path})")


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


@bench.command("zoo")
@click.option("--models", default=",".join(("biagru", "fund_gru_mlp", "biagru_composite",
                                            "biagru_xgb", "biagru_gat")), show_default=True,
              help="Comma-separated models to train on the default market.")
@click.option("--seeds", default="0,1,2", show_default=True,
              help="Seeds of biagru and biagru_gat (their spread judges the graph ablation).")
@click.option("--set", "settings", multiple=True, metavar="KEY=VALUE",
              help="TrainConfig overrides for every run (e.g. the demo's small configuration, "
                   "or device=cuda).")
@click.option("--market", "markets", multiple=True,
              type=click.Choice(["neighbour", "no_neighbour"]),
              help="Only these markets (default both).")
@click.option("--skip-full-market", is_flag=True, help="Skip the 5000-stock day's memory.")
@click.option("--jobs", type=click.IntRange(min=1), default=1, show_default=True,
              help="Trainings at once, the cores shared out between them.")
def bench_zoo(models: str, seeds: str, settings: tuple[str, ...], markets: tuple[str, ...],
              skip_full_market: bool, jobs: int) -> None:
    """Out-of-sample weekly Rank IC of every model beside the oracle, the graph ablation, style
    correlations, speed and memory. Hours on a 2-core CPU with the defaults."""
    from zoo.bench.zoo import MARKETS, run

    run(models=tuple(m.strip() for m in models.split(",") if m.strip()),
        seeds=tuple(int(s) for s in seeds.split(",") if s.strip()), settings=settings,
        markets=markets or tuple(MARKETS), full_market=not skip_full_market, jobs=jobs)


# --------------------------------------------------------------------------- features
from zoo.cli.features import features  # noqa: E402  (click only; heavy imports are inside)

main.add_command(features)

# --------------------------------------------------------------------------- eval, report, backtest
from zoo.cli.backtest import backtest_command, bench_portfolio  # noqa: E402
from zoo.cli.evaluate import bench_eval, eval_command, report_command  # noqa: E402

main.add_command(eval_command)
main.add_command(report_command)
main.add_command(backtest_command)
bench.add_command(bench_eval)
bench.add_command(bench_portfolio)


if __name__ == "__main__":
    main()
