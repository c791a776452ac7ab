"""`zoo list`, `zoo train` and `zoo score`: the model zoo, rolling training and write-back."""

from __future__ import annotations

import datetime

import click

from zoo.cli.options import DATE


@click.command("list")
@click.argument("pattern", default="*")
def list_cmd(pattern: str) -> None:
    """Registered models matching PATTERN (fnmatch, e.g. 'biagru*') and their data contracts."""
    from rich.table import Table

    import zoo.models  # noqa: F401  (registers the models)
    from zoo.evaluate.report import wide_console
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
                      "yes" if c.two_stage else "trees only" if c.tree_only else "",
                      "\n".join(c.feature_services))
    wide_console().print(table)


@click.command("train")
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
@click.option("--quiet", is_flag=True,
              help="Plain lines instead of progress bars: one per epoch (loss, validation IC, "
                   "seconds, time left) and one per split.")
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
    from zoo.train.runs import check_run_id, load_run, new_run_dir, run_summary, runs_dir

    settings = [f"model={name}", *overrides] + ([f"device={device}"] if device else [])
    try:
        config = TrainConfig.from_overrides(settings)
        contract = model_contract(config.model)
        create_model(config.model, **config.model_overrides)  # unknown options fail here
    except ValueError as err:
        raise click.BadParameter(str(err), param_hint="NAME / --set") from err

    if resume_id:  # checked before any data is built
        try:
            run_dir = runs_dir(config.model) / check_run_id(resume_id)
        except ValueError as err:
            raise click.BadParameter(str(err), param_hint="--resume") from err
        if not (run_dir / "config.json").is_file():
            raise click.BadParameter(f"no run {resume_id!r} under {runs_dir(config.model)}",
                                     param_hint="--resume")

    if fake:
        data = fake_for_config(config, n_stocks=fake_stocks,
                               sequence_days=contract.sequence_days, quarters=contract.quarters)
    else:
        from zoo.datasets import day_batches as datasets

        start = datetime.date(config.first_test_year - config.valid_years - config.train_years,
                              1, 1)
        end = (datetime.date(config.last_test_year, 12, 31) if config.last_test_year
               else datetime.date.today())
        import time

        click.echo(f"reading features and labels {start}..{end} from the feature store ...")
        started = time.perf_counter()
        try:
            data = datasets.build_day_batches(contract, start, end)
        except (FileNotFoundError, ValueError) as err:
            raise click.ClickException(f"{err}\n(or train on synthetic cross-sections with "
                                       "--fake)") from err
        click.echo(f"  {len(data.dates):,} days in {time.perf_counter() - started:.0f} s"
                   + (f" (from the cache {data.cache_path})" if data.from_cache else ""))

    if not resume_id:
        run_dir = new_run_dir(config.model)
    click.echo(f"run {run_dir.name}: {run_dir}")
    try:
        run_rolling(config, data, run_dir, progress=not quiet, resume=bool(resume_id))
    except ValueError as err:
        raise click.ClickException(str(err)) from err
    click.echo(run_summary(load_run(config.model, run_dir.name)))


@click.command("score")
@click.argument("name")
@click.option("--run", "run_id", default=None, metavar="RUN_ID",
              help="Which run (default: the latest finished one).")
@click.option("--no-write", "write", is_flag=True, flag_value=False, default=True,
              help="Only summarise; do not write the scores to the warehouse and Feast.")
@click.option("--through", type=DATE, default=None, metavar="DATE",
              help="Score the days with features after the last scored day, up to DATE, with "
                   "the run's checkpoints, and append them to the scores (warehouse + Feast).")
@click.option("--rescore", is_flag=True,
              help="With --through: score again the days after the run's own scores that "
                   "are already scored.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default=None,
              help="With --through: where the checkpoints run (default auto: CUDA when "
                   "present).")
def score_cmd(name: str, run_id: str | None, write: bool, through: datetime.date | None,
              rescore: bool, device: str | None) -> None:
    """Summarise a run's out-of-sample scores and write them back (warehouse + Feast view),
    replacing the model's scores; or, with --through DATE, score the days after the last
    scored day with the run's models and append them."""
    import zoo.models  # noqa: F401  (registers the models)
    from zoo.registry import model_contract
    from zoo.train.runs import load_run, run_summary

    if through is None and (rescore or device):
        raise click.BadParameter("--rescore and --device go with --through DATE",
                                 param_hint="--rescore / --device")
    if through is not None and not write:
        raise click.BadParameter("--no-write summarises a run's own scores; --through "
                                 "scores new days and writes them", param_hint="--no-write")
    try:
        model_contract(name)  # only a registered model has runs and a score view
        run = load_run(name, run_id)
    except ValueError as err:
        raise click.BadParameter(str(err), param_hint="NAME / --run") from err
    except FileNotFoundError as err:
        raise click.ClickException(str(err)) from err
    if through is not None:
        from zoo.train.inference import score_new_days

        try:
            done = score_new_days(name, through, run_id=run.run_id, rescore=rescore,
                                  device=device)
        except (FileNotFoundError, RuntimeError, ValueError) as err:
            raise click.ClickException(str(err)) from err
        click.echo(done.describe())
        return
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
