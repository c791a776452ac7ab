"""Saved backtests: $ZOO_HOME/backtests/<model>/<index>_<universe>/.

Each folder holds `daily.parquet` (returns, NAVs, turnover, costs), `weights.parquet` (target
weights per decision), `rebalances.parquet` (solver status and relaxations per decision),
`summary.json` (whole-period figures and the yearly table) and `config.json`. A folder is
written beside its final place and renamed into it, so a reader never sees half a backtest.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from portfolios.backtest import BacktestResult
from zoo.atomic import replace_dir
from zoo.registry import check_model_name

if TYPE_CHECKING:
    import polars as pl


def backtests_dir() -> Path:
    from zoo.paths import zoo_home

    return zoo_home() / "backtests"


def folder(model: str, index: str, universe: str) -> Path:
    """Where a backtest is saved; ValueError for a model name that is not one (so no path
    leaves backtests/)."""
    return backtests_dir() / check_model_name(model) / f"{index}_{universe}"


def save(model: str, result: BacktestResult) -> Path:
    """Write `result` under its folder, replacing an earlier run of the same setting at once."""
    from portfolios.performance import summary, yearly_table

    config = result.config
    target = folder(model, config.index, config.universe)
    with replace_dir(target) as scratch:  # a reader sees the old run or the new, never a mix
        result.daily.write_parquet(scratch / "daily.parquet")
        result.weights.write_parquet(scratch / "weights.parquet")
        result.rebalances.write_parquet(scratch / "rebalances.parquet")
        figures = {
            "model": model, "seconds": result.seconds,
            "rebalances": result.rebalances.height,
            "relaxed_rebalances": int((result.rebalances["relaxed"] != "").sum()),
            **summary(result.daily),
            "yearly": yearly_table(result.daily).to_dicts(),
            "yearly_gross": yearly_table(result.daily, gross=True).to_dicts(),
        }
        (scratch / "summary.json").write_text(json.dumps(figures, indent=2) + "\n")
        (scratch / "config.json").write_text(json.dumps(config.as_dict(), indent=2) + "\n")
    return target


def load_daily(model: str, index: str, universe: str) -> pl.DataFrame | None:
    """The saved daily frame of one setting, or None when that backtest was not run."""
    import polars as pl

    path = folder(model, index, universe) / "daily.parquet"
    return pl.read_parquet(path) if path.exists() else None
