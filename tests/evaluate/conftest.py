"""A $ZOO_HOME with the built tiny market and two fake score tables, for warehouse tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def eval_home(built_warehouse, tmp_path_factory) -> Path:
    """A copy of the built tiny market with scores.score_fake_{good,noise}: the oracle's ER_5D
    plus a little noise, and pure noise (2020 only). Tests set ZOO_HOME to it themselves."""
    import duckdb
    import polars as pl

    from zoo.serving.scores import write_back

    home = tmp_path_factory.mktemp("eval_home")
    warehouse = home / "warehouse.duckdb"
    shutil.copy(built_warehouse / "warehouse.duckdb", warehouse)
    con = duckdb.connect(str(warehouse), read_only=True)
    truth = pl.from_arrow(con.execute(
        "SELECT S_INFO_WINDCODE AS stock_id, strptime(TRADE_DT, '%Y%m%d')::DATE AS trade_date, "
        "ER_5D FROM truth.expected_return WHERE TRADE_DT >= '20200101' ORDER BY 1, 2"
    ).to_arrow_table())
    con.close()
    assert isinstance(truth, pl.DataFrame)
    rng = __import__("numpy").random.default_rng(4)
    noise = rng.standard_normal(truth.height)
    scale = float(truth["ER_5D"].std())
    with pytest.MonkeyPatch.context() as env:
        env.setenv("ZOO_HOME", str(home))
        for model, score in (("fake_good", truth["ER_5D"] + 0.5 * scale * noise),
                             ("fake_noise", pl.Series(noise))):
            frame = truth.select("stock_id", "trade_date").with_columns(
                score.alias("score"), run_id=pl.lit("test"))
            write_back(model, frame, apply=False, warehouse=warehouse)
    return home
