"""Scoring new days with a trained run: `zoo score NAME --through DATE`.

A finished rolling run scored its test blocks when it was trained. A day whose features were
exported since is scored here by the run's checkpoints, the way training scored its test block:
- the day goes to the latest window (split) whose first test day is on or before it: the
  model of its own test block when it falls inside one, the latest window's after the last
  block. A window never scores a day before its first test day, so no label it was trained or
  validated on reaches past the day (the purge of zoo.train.rolling);
- every seed of the window scores the day (`score_block` with the trainers of `load_checkpoint`,
  trees and all) and the seeds' scores are combined by `ensemble`, as the block's were
  (it standardises each day by that day alone, so a day scored alone gets its block score);
- the day's batch is made by the dataset code of training (`build_day_batches` with the
  model's contract and the defaults `zoo train` uses, the kNN graph included), over a span
  ending on the last day to score that starts early enough for every price window. A batch
  holds only what is known at its day's close, whatever the span, and needs no label: the
  latest days have none yet (they are the dataset's `score_dates`, not its `dates`).

`score_new_days(model, through)` picks the days (those with features after the last day in
the model's score table), scores them and appends them to the table and its Feast view
(zoo.serving.scores.append_scores); `NewScores` says what it did.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from zoo.train.runs import Run, load_run

if TYPE_CHECKING:
    import polars as pl

    from zoo.datasets.day_batches import FeastDayBatches
    from zoo.datasets.protocol import DayBatches
    from zoo.registry import DataContract

__all__ = ["NewScores", "Window", "inference_dataset", "run_windows", "score_days",
           "score_new_days"]

Date = datetime.date


@dataclass(frozen=True)
class Window:
    """One window (split) of a run: the first day it scored out of sample and the checkpoints
    of its seeds."""

    index: int
    first_scored: Date
    checkpoints: tuple[Path, ...]


def run_windows(run: Run) -> list[Window]:
    """The windows of a finished run, by first scored day, from its metrics.json.

    Raises:
        FileNotFoundError: the run has not finished, or a checkpoint is missing.
        ValueError: its metrics record no window.
    """
    if not run.finished:
        raise FileNotFoundError(f"run {run.run_id} of {run.model} has not finished (no "
                                f"{run.scores_path.name}): its windows cannot score yet")
    splits = run.metrics.get("splits") or []
    if not splits:
        raise ValueError(f"run {run.run_id} of {run.model} records no window in metrics.json")
    windows = []
    for split in splits:
        paths = tuple(run.path / seed["checkpoint"] for seed in split["seeds"])
        missing = [str(p) for p in paths if not p.is_file()]
        if missing:
            raise FileNotFoundError(f"run {run.run_id} of {run.model}: checkpoint "
                                    f"{', '.join(missing)} is missing")
        windows.append(Window(split["index"], Date.fromisoformat(split["test_range"][0]),
                              paths))
    return sorted(windows, key=lambda w: w.first_scored)


def _window_of(windows: Sequence[Window], day: Date) -> Window | None:
    earlier = [w for w in windows if w.first_scored <= day]
    return earlier[-1] if earlier else None


def score_days(run: Run, data: DayBatches, days: Sequence[Date],
               device: str | None = None) -> tuple[pl.DataFrame, tuple[Window, ...]]:
    """The run's scores of `days` (days of `data`), each by its window's seeds combined as in
    training (`ensemble`).

    Args:
        device: where the checkpoints run; default "auto" (CUDA when present, else CPU).

    Returns:
        [stock_id, trade_date, score, run_id] by day then stock, and the windows used.

    Raises:
        ValueError: a day precedes the run's first scored day (no window may score it).
    """
    import polars as pl

    from zoo.train.rolling import ensemble
    from zoo.train.trainers import load_checkpoint, score_block

    windows = run_windows(run)
    by_window: dict[int, list[Date]] = {}
    for day in sorted(set(days)):
        window = _window_of(windows, day)
        if window is None:
            raise ValueError(f"{day} precedes the first day run {run.run_id} of {run.model} "
                             f"scored ({windows[0].first_scored}): every window of it trained "
                             f"on labels that reach past that day")
        by_window.setdefault(window.index, []).append(day)
    used = tuple(w for w in windows if w.index in by_window)
    frames = []
    for window in used:
        trainers = [load_checkpoint(path, device or "auto") for path in window.checkpoints]
        seeds, _ = score_block(trainers, data, by_window[window.index])
        frames.append(ensemble(seeds))
    if not frames:
        scores = pl.DataFrame(schema={"stock_id": pl.String, "trade_date": pl.Date,
                                      "score": pl.Float64})
    else:
        scores = pl.concat(frames).sort("trade_date", "stock_id")
    return scores.with_columns(pl.lit(run.run_id, dtype=pl.String).alias("run_id")), used


def inference_dataset(contract: DataContract, days: Sequence[Date]) -> FeastDayBatches:
    """The dataset training would build, over a span holding `days`: from far enough before
    the first day that its price windows are whole (the builder adds its own warm-up), to
    the last day. Not cached: a span of a few days is quick to build, and an entry per day
    would evict the training sets from the cache."""
    from zoo.datasets.day_batches import build_day_batches

    first, last = min(days), max(days)
    # Two calendar days per trading day of the window: holidays never make it longer.
    start = first - datetime.timedelta(days=2 * contract.sequence_days)
    return build_day_batches(contract, start, last, progress=False, use_cache=False)


@dataclass(frozen=True)
class NewScores:
    """What `score_new_days` did.

    Attributes:
        days: the days scored now (each with features; `rows` scores over them).
        unscorable: those of `days` without a stock the model can score (none with a whole
            price window, say): they have no row.
        skipped: days after the run's own scores, up to `through`, already in the table and
            left as they are (`rescore` scores them again).
        checkpoints: the checkpoints that scored, relative to the run folder.
        run_rows_written: the run's own out-of-sample scores written first, when the model
            had no score table yet (0 otherwise).
        other_runs: runs other than this one whose scores the table holds (they stay).
        after: the days scored are those after this day (None: from the run's first).
        table, view, path: where the scores went (None when nothing was written).
    """

    model: str
    run_id: str
    through: Date
    after: Date | None
    days: tuple[Date, ...]
    rows: int
    skipped: tuple[Date, ...]
    checkpoints: tuple[str, ...]
    device: str
    unscorable: tuple[Date, ...] = ()
    run_rows_written: int = 0
    other_runs: tuple[str, ...] = ()
    table: str | None = None
    view: str | None = None
    path: Path | None = None

    @property
    def first(self) -> Date | None:
        return self.days[0] if self.days else None

    @property
    def last(self) -> Date | None:
        return self.days[-1] if self.days else None

    def describe(self) -> str:
        """What was done, a line per fact (what `zoo score --through` prints)."""
        lines = []
        if self.run_rows_written:
            lines.append(f"{self.table} did not exist: wrote run {self.run_id}'s "
                         f"{self.run_rows_written:,} out-of-sample scores first")
        if self.days:
            lines.append(f"scored {len(self.days)} day{'s' * (len(self.days) != 1)} "
                         f"{self.first}..{self.last}: {self.rows:,} rows, by run "
                         f"{self.run_id} of {self.model} on {self.device}")
            lines.extend(f"  checkpoint {path}" for path in self.checkpoints)
            if self.unscorable:
                lines.append(f"  {len(self.unscorable)} of the days had no stock the model can "
                             f"score ({self.unscorable[0]}..{self.unscorable[-1]}): no row")
        else:
            since = f"after {self.after} " if self.after else ""
            lines.append(f"no new day with features {since}up to {self.through}: nothing "
                         f"to score")
        if self.skipped:
            lines.append(f"skipped {len(self.skipped)} day{'s' * (len(self.skipped) != 1)} "
                         f"already scored ({self.skipped[0]}..{self.skipped[-1]}); --rescore "
                         f"scores them again")
        if self.table and (self.days or self.run_rows_written):
            lines.append(f"appended to {self.table} and the Feast view {self.view} "
                         f"({self.path})")
        if self.other_runs:
            lines.append(f"note: the table also holds scores of run "
                         f"{', '.join(self.other_runs)}; `zoo score {self.model} --run "
                         f"{self.run_id}` replaces them with this run's")
        return "\n".join(lines)


def score_new_days(model: str, through: Date, run_id: str | None = None,
                   rescore: bool = False, apply: bool = True, device: str | None = None,
                   data: DayBatches | None = None) -> NewScores:
    """Score the days with features after the last day in the model's score table, up to
    `through`, with the run's checkpoints, and append them to the table and its Feast view.

    With no score table yet, the run's out-of-sample scores are written first (as
    `zoo score NAME` does) and the days after them are scored. A day the table already holds
    is left alone unless `rescore`: then every day after the run's own scores (or after the
    table's last day, if that is earlier) is scored again and replaces its rows.

    Args:
        run_id: the run (default: the latest finished one).
        apply: apply the Feast repo after the export.
        device: where the checkpoints run; default "auto" (CUDA when present, else CPU).
        data: the cross-sections to score (default: built through Feast with the training
            dataset code, `inference_dataset`); `score_dates` says which days have features.

    Raises:
        FileNotFoundError: no such (finished) run, or no exports.
        ValueError: an unknown model, or a day with features missing from the dataset.
    """
    import polars as pl

    import zoo.models  # noqa: F401  (registers the models)
    from zoo.registry import model_contract
    from zoo.serving.scores import COLUMNS, append_scores, scored_days, scored_runs
    from zoo.train.loop import resolve_device, set_threads

    contract = model_contract(model)
    run = load_run(model, run_id)
    windows = run_windows(run)
    device = str(resolve_device(device or "auto"))
    set_threads()  # as training does: $OMP_NUM_THREADS, else one
    run_last = pl.scan_parquet(run.scores_path).select(pl.col("trade_date").max()).collect()
    run_last = run_last.item()

    table_days = scored_days(model)
    own = None  # the run's own scores, written first when there is no table yet
    if not table_days:
        own = run.scores()
        table_days = sorted(set(own["trade_date"].to_list()))
    other_runs = tuple(r for r in scored_runs(model) if r != run.run_id)
    table_last = table_days[-1] if table_days else None
    after = table_last
    if rescore and run_last is not None and (after is None or run_last < after):
        after = run_last
    # A day before the first window's first test day is beyond every window's reach.
    before_first = windows[0].first_scored - datetime.timedelta(days=1)
    after = max(after, before_first) if after is not None else before_first
    skipped = () if rescore else tuple(
        d for d in table_days if (run_last is None or d > run_last) and d <= through)

    if data is not None:
        days = [d for d in data.score_dates if after < d <= through]
    else:
        from zoo.datasets.day_batches import universe_days

        days = universe_days(after, through)
    summary = NewScores(model=model, run_id=run.run_id, through=through, after=after,
                        days=tuple(days), rows=0, skipped=skipped, checkpoints=(),
                        device=device, other_runs=other_runs)
    if not days and own is None:
        return summary

    frames, used = [], ()
    if own is not None:
        frames.append(own.select(COLUMNS))
    scores = None
    if days:
        if data is None:
            data = inference_dataset(contract, days)
        absent = sorted(set(days) - set(data.score_dates))
        if absent:
            raise ValueError(f"{len(absent)} day(s) with features are missing from the "
                             f"dataset built to score them ({absent[0]}...)")
        scores, used = score_days(run, data, days, device)
        frames.append(scores)
    written = append_scores(model, pl.concat(frames), apply=apply)
    return dataclasses.replace(
        summary, rows=scores.height if scores is not None else 0,
        unscorable=tuple(sorted(set(days) - set(scores["trade_date"].to_list())))
        if scores is not None else (),
        checkpoints=tuple(str(p.relative_to(run.path)) for w in used for p in w.checkpoints),
        run_rows_written=own.height if own is not None else 0,
        table=written.table, view=written.view, path=written.path)
