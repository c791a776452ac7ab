"""Rolling retraining: every `retrain_every_years`, train on the preceding years, validate on
the last of them, score the next block out of sample; the concatenated out-of-sample scores are
the model's factor.

The purge: the label of day T looks at prices up to `label_end(T)` (T+1+h). A day trains or
validates the model that scores a block starting on day S only if `label_end(T) < S`, so no
label of the scored period (or later) reaches a model that scores it. Training days are purged
the same way against the first validation day, so early stopping is not flattered by labels
that overlap the validation period.
"""

from __future__ import annotations

import datetime
import json
import math
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zoo.atomic import write_json
from zoo.datasets.protocol import DayBatches
from zoo.metrics import daily_rank_ic, ic_summary
from zoo.train.config import TrainConfig

if TYPE_CHECKING:
    import polars as pl

__all__ = [
    "RunResult",
    "Split",
    "daily_ic",
    "ensemble",
    "purged_label_end",
    "rolling_splits",
    "run_rolling",
]

Date = datetime.date


@dataclass(frozen=True)
class Split:
    """One retraining: the days a model trains and validates on and the days it scores."""

    index: int
    test_years: tuple[int, ...]
    train_days: tuple[Date, ...]
    valid_days: tuple[Date, ...]
    test_days: tuple[Date, ...]

    @property
    def first_scored(self) -> Date:
        return self.test_days[0]

    def summary(self) -> dict[str, Any]:
        def span(days: Sequence[Date]) -> list[str]:
            return [days[0].isoformat(), days[-1].isoformat()]

        return {
            "index": self.index,
            "test_years": list(self.test_years),
            "train_days": len(self.train_days),
            "valid_days": len(self.valid_days),
            "test_days": len(self.test_days),
            "train_range": span(self.train_days),
            "valid_range": span(self.valid_days),
            "test_range": span(self.test_days),
        }


def rolling_splits(dates: Sequence[Date], *, first_test_year: int, train_years: int,
                   valid_years: int = 1, every_years: int = 1,
                   label_end: Callable[[Date], Date],
                   last_test_year: int | None = None,
                   score_dates: Sequence[Date] | None = None) -> list[Split]:
    """The rolling splits over `dates`, test blocks of `every_years` calendar years from
    `first_test_year` to `last_test_year` (default: the last year of `score_dates`).

    Training and validation days come from `dates` (the labelled days); test days from
    `score_dates` (default `dates`), which may run past the last label: the latest days are
    scored as soon as their features exist, as in production.

    For the block starting on its first trading day S (in year Y): validation days are those of
    years [Y - valid_years, Y) with `label_end(T) < S`; training days those of years
    [Y - valid_years - train_years, Y - valid_years) with `label_end(T) <` the first validation
    day. A block without trading days is skipped.

    Raises:
        ValueError: a block has no training or no validation day left (too little history).
    """
    days = sorted(set(dates))
    scored = sorted(set(score_dates)) if score_dates is not None else days
    if not days or not scored:
        return []
    last_year = last_test_year if last_test_year is not None else scored[-1].year
    splits: list[Split] = []
    for year in range(first_test_year, last_year + 1, every_years):
        test_years = tuple(range(year, min(year + every_years, last_year + 1)))
        test_days = tuple(d for d in scored if test_years[0] <= d.year <= test_years[-1])
        if not test_days:
            continue
        first_scored = test_days[0]
        valid_from = year - valid_years
        train_from = valid_from - train_years
        valid_days = tuple(d for d in days
                           if valid_from <= d.year < year and label_end(d) < first_scored)
        if not valid_days:
            raise ValueError(f"no validation day for the test block from {first_scored} "
                             f"(years {valid_from}..{year - 1} with labels ending before it)")
        train_days = tuple(d for d in days if train_from <= d.year < valid_from
                           and label_end(d) < valid_days[0])
        if not train_days:
            raise ValueError(f"no training day for the test block from {first_scored} "
                             f"(years {train_from}..{valid_from - 1}); lower train_years or "
                             f"raise first_test_year")
        splits.append(Split(len(splits), test_years, train_days, valid_days, test_days))
    return splits


def purged_label_end(data: DayBatches, horizon_days: int) -> Callable[[Date], Date]:
    """The later of the dataset's `label_end(T)` and the trading day 1 + `horizon_days` after T
    (when the dataset has it): a dataset that under-reports its horizon still gets purged."""
    dates = list(data.dates)
    index = {day: i for i, day in enumerate(dates)}

    def label_end(day: Date) -> Date:
        end = data.label_end(day)
        ahead = index[day] + 1 + horizon_days
        if ahead < len(dates):
            end = max(end, dates[ahead])
        return end

    return label_end


# =========================================================================== scores and ICs
def daily_ic(scores: pl.DataFrame, labels: pl.DataFrame) -> pl.DataFrame:
    """Rank IC of score and label per day (zoo.metrics): [trade_date, ic], finite days only."""
    import polars as pl

    joined = scores.join(labels, on=["stock_id", "trade_date"], how="inner")
    return (daily_rank_ic(joined, "score", "label").filter(pl.col("ic").is_finite())
            .select("trade_date", "ic"))


def run_ic_record(ics: pl.DataFrame) -> dict[str, float | int]:
    """A run's record of its daily ICs: the summary of zoo.metrics under the run's keys."""
    s = ic_summary(ics)
    return {"rank_ic_mean": s["mean"], "rank_ic_std": s["std"], "icir": s["icir"],
            "positive_share": s["win_rate"], "days": s["periods"]}


def ensemble(frames: Sequence[pl.DataFrame]) -> pl.DataFrame:
    """The seeds' scores, each standardised across the day's stocks (so a seed whose scores
    happen to have a larger scale does not dominate), averaged per stock and day.

    Returns [stock_id, trade_date, score] sorted by day then stock.
    """
    import polars as pl

    standardised = []
    # The mean and deviation of each day alone (aggregate, then `over`): a day's score must
    # not depend on the other days of its block, which may lie after it.
    mean = pl.col("score").mean().over("trade_date")
    std = pl.col("score").std(ddof=0).over("trade_date")
    for seed, frame in enumerate(frames):
        standardised.append(frame.with_columns(
            ((pl.col("score") - mean) / std).fill_nan(0.0).alias("score"),
            pl.lit(seed).alias("seed"),
        ))
    return (pl.concat(standardised).group_by("stock_id", "trade_date")
            .agg(pl.col("score").mean()).sort("trade_date", "stock_id"))


# =========================================================================== the rolling run
@dataclass
class RunResult:
    """A finished rolling run: its folder, the concatenated out-of-sample scores, metrics."""

    run_dir: Path
    run_id: str
    splits: list[Split]
    scores: pl.DataFrame
    metrics: dict[str, Any]


def _speed(result: Any) -> dict[str, float]:
    """Wall and CPU seconds per epoch and training samples (labelled stock-days) per second
    of a fit."""
    history = result.history
    if not history:
        return {}
    train_seconds = sum(row.train_seconds for row in history)
    return {"seconds_per_epoch": round(sum(row.seconds for row in history) / len(history), 3),
            "cpu_seconds_per_epoch": round(sum(row.cpu_seconds for row in history)
                                           / len(history), 3),
            "train_samples_per_second": round(sum(row.train_samples for row in history)
                                              / train_seconds, 1) if train_seconds else 0.0}


def _finite(values: Any) -> Any:
    """JSON has no NaN or infinity: they become null."""
    if isinstance(values, float) and not math.isfinite(values):
        return None
    if isinstance(values, dict):
        return {key: _finite(value) for key, value in values.items()}
    if isinstance(values, list | tuple):
        return [_finite(value) for value in values]
    return values


def _json(path: Path, values: Any) -> None:
    write_json(path, _finite(values), default=str, allow_nan=False)


class _Progress:
    """Progress of a run: rich bars on a terminal; with `enabled` False (`zoo train --quiet`, a
    log file) one plain line per epoch and per split, each with an estimate of the time left.

    The estimate assumes every remaining fit runs all `max_epochs` (early stopping only makes
    it shorter), at the mean seconds per epoch so far.
    """

    def __init__(self, enabled: bool, total_fits: int, max_epochs: int,
                 echo: Callable[[str], None] | None = None) -> None:
        self.enabled = enabled
        self.max_epochs = max_epochs
        self.total_fits = total_fits
        self.bars: Any = None
        self.echo = echo or _echo
        self.fits_done = 0
        self.epochs_done = 0  # over the whole run
        self.epoch_seconds = 0.0
        self.fit_epochs = 0  # of the current fit

    @contextmanager
    def running(self) -> Iterator[_Progress]:
        if not self.enabled:
            yield self
            return
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self.bars = Progress(TextColumn("{task.description}"), BarColumn(),
                             MofNCompleteColumn(), TimeElapsedColumn(),
                             TextColumn("{task.fields[info]}"))
        with self.bars:
            self.overall = self.bars.add_task("fits", total=self.total_fits, info="")
            yield self

    def eta(self) -> str:
        """'about N min left' (or seconds), at most: every remaining fit run to max_epochs."""
        if not self.epochs_done:
            return ""
        left = ((self.total_fits - self.fits_done) * self.max_epochs - self.fit_epochs)
        seconds = max(0, left) * self.epoch_seconds / self.epochs_done
        return (f"at most {seconds / 60:.0f} min left" if seconds >= 90
                else f"at most {seconds:.0f} s left")

    def start_fit(self, label: str) -> Callable[[Any], None]:
        self.fit_epochs = 0
        task = self.bars.add_task(label, total=self.max_epochs, info="") if self.bars else None
        self.current = task

        def on_epoch(stats: Any) -> None:
            self.fit_epochs += 1
            self.epochs_done += 1
            self.epoch_seconds += stats.seconds
            info = f"loss {stats.train_loss:.4f} valid IC {stats.valid_ic:+.4f}"
            if self.bars is not None:
                self.bars.update(task, advance=1, info=info)
            else:
                self.echo(f"{label} epoch {stats.epoch + 1}/{self.max_epochs}: {info}, "
                          f"{stats.seconds:.0f} s; fit {self.fits_done + 1}/{self.total_fits},"
                          f" {self.eta()}")

        return on_epoch

    def end_fit(self, info: str) -> None:
        self.fits_done += 1
        self.fit_epochs = 0
        if self.bars is not None:
            self.bars.update(self.current, completed=self.max_epochs, info=info)
            self.bars.update(self.overall, advance=1)

    def print(self, text: str) -> None:
        if self.bars is not None:
            self.bars.console.print(text)
        else:
            self.echo(text)


def _echo(text: str) -> None:
    print(text, flush=True)


def _silent(text: str) -> None:
    pass


def run_rolling(config: TrainConfig, data: DayBatches, run_dir: str | Path, *,
                progress: bool = True, resume: bool = False) -> RunResult:
    """Train and score `config.model` over rolling splits; write the run folder.

    For each split and each seed: fit on the split's training days with early stopping on its
    validation days; then the split's test days are scored once, by every seed in one pass
    (`score_block`), and the seeds' scores averaged (`ensemble`); the splits' test scores are
    concatenated, each test day scored once.

    Torch's CPU threads are set first (`zoo.train.loop.set_threads`: `config.threads`, by
    default one). Writes under `run_dir`: `config.json`, `metrics.json` (updated after every
    split), `checkpoints/split<k>_seed<s>.pt` (plus `.xgb.json` for a two-stage model) and
    `scores.parquet` [stock_id, trade_date, score, run_id].

    Under `torchrun` every process calls this: each fit is shared among them
    (`zoo.train.distributed`); rank 0 alone scores the test blocks, writes the folder and
    reports progress; the other processes return the splits with no scores.

    Args:
        resume: reuse the checkpoints already in `run_dir` (finished fits are loaded, an
            unfinished one continues); the folder's config must be this config.
    """
    import polars as pl

    from zoo.train import distributed
    from zoo.train.loop import resolve_device, set_threads
    from zoo.train.trainers import make_trainer, score_block

    current = distributed.world()
    distributed.check_config(config, current.size)
    run_dir = Path(run_dir)
    run_id = run_dir.name
    config_path = run_dir / "config.json"
    if resume and config_path.exists():
        stored = TrainConfig.from_dict(json.loads(config_path.read_text()))
        if stored.replace(device=config.device, threads=config.threads) != config:
            raise ValueError(f"{run_dir} holds a run of another config; cannot resume it")
    if current.is_main:
        run_dir.mkdir(parents=True, exist_ok=True)
        _json(config_path, config.to_dict())

    splits = rolling_splits(
        data.dates, first_test_year=config.first_test_year, train_years=config.train_years,
        valid_years=config.valid_years, every_years=config.retrain_every_years,
        label_end=purged_label_end(data, config.horizon_days),
        last_test_year=config.last_test_year, score_dates=data.score_dates)
    if not splits:
        raise ValueError(f"no trading day to score from {config.first_test_year} in the data "
                         f"({data.dates[0] if data.dates else 'empty'}..."
                         f"{data.dates[-1] if data.dates else ''})")

    device = resolve_device(config.device)
    threads = set_threads(config.threads)
    started = time.perf_counter()
    metrics: dict[str, Any] = {"run_id": run_id, "model": config.model, "device": str(device),
                               "devices": current.size, "threads": threads, "splits": []}
    all_scores, all_labels = [], []
    bars = _Progress(progress and current.is_main, len(splits) * len(config.seeds),
                     config.max_epochs, echo=None if current.is_main else _silent)
    with bars.running():
        for split in splits:
            trainers, seeds = [], []
            for seed in config.seeds:
                on_epoch = bars.start_fit(f"split {split.index} ({split.test_years[0]}) "
                                          f"seed {seed}")
                trainer = make_trainer(config, seed)
                checkpoint = run_dir / "checkpoints" / f"split{split.index}_seed{seed}.pt"
                result = trainer.fit(data, split.train_days, split.valid_days,
                                     checkpoint=checkpoint, resume=resume, on_epoch=on_epoch)
                trainers.append(trainer)
                seeds.append({"seed": seed, "best_epoch": result.best_epoch,
                              "epochs_run": result.epochs_run,
                              "stopped_early": result.stopped_early,
                              "valid_ic": result.best_valid_ic,
                              "valid_days_scored": result.valid_days_scored,
                              "seconds": round(result.seconds, 3), **_speed(result),
                              **result.extra,
                              "checkpoint": str(checkpoint.relative_to(run_dir))})
                bars.end_fit(f"best epoch {result.best_epoch}, valid IC "
                             f"{result.best_valid_ic:+.4f}")
            if not current.is_main:
                continue  # rank 0 scores the block; this process goes on to the next fit
            # The test block is scored once, after every seed is trained: one pass over its
            # days, each day's batch built once for all the seeds and the labels.
            tic = time.perf_counter()
            frames, labels = score_block(trainers, data, split.test_days)
            for frame, row in zip(frames, seeds, strict=True):
                row["test_rank_ic_mean"] = run_ic_record(daily_ic(frame, labels))["rank_ic_mean"]
            all_labels.append(labels)
            scores = ensemble(frames)
            test = run_ic_record(daily_ic(scores, labels))
            all_scores.append(scores)
            metrics["splits"].append({**split.summary(), "seeds": seeds,
                                      "valid_ic_mean": sum(s["valid_ic"] for s in seeds)
                                      / len(seeds),
                                      "test": test,
                                      "test_seconds": round(time.perf_counter() - tic, 3)})
            _json(run_dir / "metrics.json", metrics)
            bars.print(f"split {split.index} {split.test_years[0]}-{split.test_years[-1]}: "
                       f"test Rank IC {test['rank_ic_mean']:+.4f}, ICIR {test['icir']:.2f} "
                       f"over {test['days']} days (seeds: "
                       + ", ".join(f"{row['test_rank_ic_mean']:+.4f}" for row in seeds) + ")")

    if not current.is_main:
        return RunResult(run_dir, run_id, splits, pl.DataFrame(), metrics)
    scores = pl.concat(all_scores).with_columns(pl.lit(run_id).alias("run_id"))
    metrics["test"] = run_ic_record(daily_ic(scores, pl.concat(all_labels)))
    metrics["rows"] = scores.height
    metrics["seconds"] = round(time.perf_counter() - started, 3)
    scores.write_parquet(run_dir / "scores.parquet")
    _json(run_dir / "metrics.json", metrics)
    return RunResult(run_dir, run_id, splits, scores, metrics)
