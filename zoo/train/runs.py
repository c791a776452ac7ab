"""Run folders: every `zoo train` writes `$ZOO_HOME/runs/<model>/<run_id>/`.

A run folder holds `config.json` (the `TrainConfig`), `metrics.json`, `checkpoints/` and, once
finished, `scores.parquet` (the out-of-sample scores). Run ids are the UTC start time plus a
short random suffix, so they sort by time and two runs started in the same second differ.
"""

from __future__ import annotations

import datetime
import json
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zoo.paths import zoo_home
from zoo.registry import check_model_name
from zoo.train.config import TrainConfig

if TYPE_CHECKING:
    import polars as pl

__all__ = ["Run", "check_run_id", "latest_run", "load_run", "new_run_dir",
           "run_summary", "runs_dir"]


# A model name is a Python identifier (the factory's name); a run id is what new_run_dir makes
# or any plain folder name: letters, digits, '.', '_', '-', not starting with a dot. Nothing
# else reaches a path, so `../x` or a name holding SQL never leaves $ZOO_HOME/runs.
_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


def check_run_id(run_id: str) -> str:
    """`run_id` if it can name a run folder.

    Raises:
        ValueError: it cannot (a path, a hidden name, or other characters).
    """
    if not (isinstance(run_id, str) and _RUN_ID.fullmatch(run_id) and ".." not in run_id):
        raise ValueError(f"{run_id!r} is not a run id (letters, digits, '.', '_' and '-')")
    return run_id


def runs_dir(model: str | None = None) -> Path:
    """`$ZOO_HOME/runs`, or the folder of one model's runs."""
    root = zoo_home() / "runs"
    return root / check_model_name(model) if model else root


def new_run_dir(model: str) -> Path:
    """Create and return a fresh `$ZOO_HOME/runs/<model>/<run_id>/`."""
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    path = runs_dir(model) / f"{stamp}-{secrets.token_hex(3)}"
    path.mkdir(parents=True, exist_ok=False)
    return path


@dataclass(frozen=True)
class Run:
    """A run folder as written by `run_rolling`."""

    model: str
    run_id: str
    path: Path
    config: TrainConfig
    metrics: dict[str, Any]

    @property
    def scores_path(self) -> Path:
        return self.path / "scores.parquet"

    @property
    def finished(self) -> bool:
        return self.scores_path.exists()

    def scores(self) -> pl.DataFrame:
        """The out-of-sample scores [stock_id, trade_date, score, run_id]."""
        import polars as pl

        if not self.finished:
            raise FileNotFoundError(f"run {self.run_id} of {self.model} has no scores yet "
                                    f"({self.scores_path})")
        return pl.read_parquet(self.scores_path)


def _run_ids(model: str) -> list[str]:
    folder = runs_dir(model)
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if (p / "config.json").is_file())


def latest_run(model: str, *, finished: bool = True) -> Run:
    """The newest run of `model` (with scores, unless `finished=False`).

    Raises:
        FileNotFoundError: there is none.
    """
    for run_id in reversed(_run_ids(model)):
        run = load_run(model, run_id)
        if run.finished or not finished:
            return run
    kind = "finished run" if finished else "run"
    raise FileNotFoundError(f"no {kind} of {model!r} under {runs_dir(model)}; "
                            f"train one with `zoo train {model}`")


def load_run(model: str, run_id: str | None = None) -> Run:
    """The run `run_id` of `model` (default: the latest finished one).

    Raises:
        FileNotFoundError: no such run (the message lists the model's runs).
    """
    if run_id is None:
        return latest_run(model)
    path = runs_dir(model) / check_run_id(run_id)
    if not (path / "config.json").is_file():
        known = ", ".join(_run_ids(model)[-5:]) or "none"
        raise FileNotFoundError(f"no run {run_id!r} of {model!r} under {runs_dir(model)} "
                                f"(latest runs: {known})")
    config = TrainConfig.from_dict(json.loads((path / "config.json").read_text()))
    metrics_path = path / "metrics.json"
    metrics = json.loads(metrics_path.read_text()) if metrics_path.is_file() else {}
    return Run(model, run_id, path, config, metrics)


def run_summary(run: Run) -> str:
    """Where a run's scores are, what they cover, and their out-of-sample Rank IC."""
    lines = [f"run {run.run_id} of {run.model}: {run.path}"]
    if not run.finished:
        lines.append("  not finished: no scores.parquet yet")
        return "\n".join(lines)
    scores = run.scores()
    lines.append(f"  scores: {run.scores_path}")
    if scores.height:
        lines.append(f"  {scores.height:,} rows, {scores['stock_id'].n_unique():,} stocks, "
                     f"{scores['trade_date'].n_unique():,} days "
                     f"{scores['trade_date'].min()}..{scores['trade_date'].max()}")

    def fmt(value: Any, spec: str) -> str:
        return format(value, spec) if isinstance(value, int | float) else "n/a"

    for split in run.metrics.get("splits", []):
        test = split["test"]
        years = split["test_years"]
        lines.append(f"  split {split['index']} ({years[0]}-{years[-1]}): train "
                     f"{split['train_days']} / valid {split['valid_days']} / test "
                     f"{split['test_days']} days; valid IC {fmt(split['valid_ic_mean'], '+.4f')}"
                     f", test Rank IC {fmt(test['rank_ic_mean'], '+.4f')}, ICIR "
                     f"{fmt(test['icir'], '.2f')}")
    if "test" in run.metrics:
        test = run.metrics["test"]
        lines.append(f"  out of sample: Rank IC {fmt(test['rank_ic_mean'], '+.4f')}, ICIR "
                     f"{fmt(test['icir'], '.2f')}, positive on "
                     f"{fmt(test['positive_share'], '.0%')} of {test['days']} days")
    return "\n".join(lines)
