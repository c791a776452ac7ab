"""`zoo list`, `zoo train` and `zoo score`: the model zoo, rolling training and write-back."""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING

import click

from zoo.cli.options import DATE

if TYPE_CHECKING:
    from zoo.registry import DataContract
    from zoo.train.config import TrainConfig
    from zoo.train.distributed import World


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
@click.option("--devices", type=click.IntRange(min=1), default=None, metavar="N",
              help="Train in N processes (one per GPU on CUDA, else on CPU), launched with "
                   "torchrun; each step's days (--set days_per_step, a multiple of N) are "
                   "shared among them.")
def train_cmd(name: str, overrides: tuple[str, ...], device: str | None, fake: bool,
              fake_stocks: int, resume_id: str | None, quiet: bool,
              devices: int | None) -> None:
    """Rolling retraining of model NAME; writes $ZOO_HOME/runs/NAME/<run_id>/.

    Every year (retrain_every_years) a model is trained on the preceding years, validated on
    the last of them and scores the next year out of sample; scores.parquet concatenates them.
    With --devices N (or under `torchrun --nproc-per-node N -m zoo.cli train ...`) N processes
    share each step's days and average their gradients: the weights of one process with the
    same seed and days_per_step, sooner.
    """
    import zoo.models  # noqa: F401  (registers the models)
    from zoo.registry import create_model, model_contract
    from zoo.train import distributed
    from zoo.train.config import TrainConfig
    from zoo.train.runs import check_run_id, runs_dir

    settings = [f"model={name}", *overrides] + ([f"device={device}"] if device else [])
    try:
        config = TrainConfig.from_overrides(settings)
        contract = model_contract(config.model)
        create_model(config.model, **config.model_overrides)  # unknown options fail here
    except ValueError as err:
        raise click.BadParameter(str(err), param_hint="NAME / --set") from err
    launched = distributed.under_launcher()
    processes = launched or devices or 1
    if launched and devices and devices != launched:
        raise click.BadParameter(f"torchrun started {launched} processes, not {devices}",
                                 param_hint="--devices")
    try:
        distributed.check_config(config, processes)
        if processes > 1:
            distributed.check_gpus(processes, config.device)
    except (RuntimeError, ValueError) as err:
        hint = "--devices" if devices else "torchrun --nproc-per-node"
        raise click.BadParameter(str(err), param_hint=hint) from err

    if resume_id:  # checked before any data is built
        try:
            run_dir = runs_dir(config.model) / check_run_id(resume_id)
        except ValueError as err:
            raise click.BadParameter(str(err), param_hint="--resume") from err
        if not (run_dir / "config.json").is_file():
            raise click.BadParameter(f"no run {resume_id!r} under {runs_dir(config.model)}",
                                     param_hint="--resume")

    if processes > 1 and not launched:
        _launch(devices or 1, name, overrides, device, fake, fake_stocks, resume_id, quiet)
        return
    current = distributed.init_from_env(config.device)
    try:
        _train(config, contract, fake, fake_stocks, resume_id, quiet, current)
    finally:
        distributed.close()


def _launch(devices: int, name: str, overrides: tuple[str, ...], device: str | None,
            fake: bool, fake_stocks: int, resume_id: str | None, quiet: bool) -> None:
    """Run this `zoo train` again in `devices` processes under torchrun, on the code this
    process runs (its folder goes first on the children's PYTHONPATH)."""
    import os
    import shlex
    import subprocess
    from pathlib import Path

    import zoo
    from zoo.train.distributed import launch_command

    arguments = ["train", name, *(part for item in overrides for part in ("--set", item))]
    arguments += ["--device", device] if device else []
    arguments += ["--fake", "--fake-stocks", str(fake_stocks)] if fake else []
    arguments += ["--resume", resume_id] if resume_id else []
    arguments += ["--quiet"] if quiet else []
    arguments += ["--devices", str(devices)]
    command = launch_command(devices, arguments)
    root = str(Path(zoo.__file__).resolve().parents[1])
    path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH", "")) if p)
    click.echo(f"launching {devices} processes: {shlex.join(command)}")
    done = subprocess.run(command, env={**os.environ, "PYTHONPATH": path}, check=False)
    if done.returncode:
        raise click.ClickException(f"the {devices} training processes failed (exit status "
                                   f"{done.returncode}); their messages are above")


def _train(config: TrainConfig, contract: DataContract, fake: bool, fake_stocks: int,
           resume_id: str | None, quiet: bool, current: World) -> None:
    """Build the data, make (or find) the run folder and run the rolling training, in this
    process or as one of several (`current`: rank 0 writes and prints)."""
    import datetime
    from pathlib import Path

    from zoo.train import distributed
    from zoo.train.config import fake_for_config
    from zoo.train.rolling import run_rolling
    from zoo.train.runs import check_run_id, load_run, new_run_dir, run_summary, runs_dir

    echo = click.echo if current.is_main else _quiet
    if resume_id:
        run_dir = runs_dir(config.model) / check_run_id(resume_id)
    if not current.is_main:
        distributed.barrier()  # rank 0 builds the dataset first: the others read its cache
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

        echo(f"reading features and labels {start}..{end} from the feature store ...")
        started = time.perf_counter()
        try:
            data = datasets.build_day_batches(contract, start, end)
        except (FileNotFoundError, ValueError) as err:
            raise click.ClickException(f"{err}\n(or train on synthetic cross-sections with "
                                       "--fake)") from err
        echo(f"  {len(data.dates):,} days in {time.perf_counter() - started:.0f} s"
             + (f" (from the cache {data.cache_path})" if data.from_cache else ""))
    if current.is_main:
        distributed.barrier()

    if not resume_id:
        # One folder for the run, made by rank 0 and named to the others.
        made = str(new_run_dir(config.model)) if current.is_main else None
        run_dir = Path(distributed.broadcast_object(made))
    echo(f"run {run_dir.name}: {run_dir}" + (f" ({current.size} processes)"
                                            if current.distributed else ""))
    try:
        run_rolling(config, data, run_dir, progress=not quiet, resume=bool(resume_id))
    except ValueError as err:
        raise click.ClickException(str(err)) from err
    distributed.barrier()  # rank 0 scores the last block; leave the group together
    echo(run_summary(load_run(config.model, run_dir.name)))


def _quiet(*args, **kwargs) -> None:
    pass


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
