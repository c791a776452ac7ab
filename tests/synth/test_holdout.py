"""A market held out as a first load and daily extracts: loading them in order gives the whole
market, row for row, and the first load knows nothing of the held-out days."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl

from zoo.ingest import wind
from zoo.ingest.load import load_dir
from zoo.synth.holdout import hold_out


def _raw(warehouse: Path) -> dict[str, pl.DataFrame]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return {t.name: con.execute(f"SELECT * FROM raw.{t.name} ORDER BY ALL").pl()
                for t in wind.RAW_TABLES}


def test_the_first_load_and_the_extracts_make_the_market(tiny_market, tiny_warehouse,
                                                         tmp_path):
    held = hold_out(tiny_market, 3, tmp_path / "held")
    assert [p.name for p in held.extracts] == ["20201229", "20201230", "20201231"]
    assert held.cut == "20201228"
    first = pl.read_parquet(held.first_load / "AShareEODPrices.parquet")
    assert first["TRADE_DT"].max() == held.cut
    day = pl.read_parquet(held.extracts[0] / "AShareEODPrices.parquet")
    assert day["TRADE_DT"].unique().to_list() == ["20201229"]
    for table in ("AShareST", "AIndexMembers", "AShareDescription"):
        ends = [c.name for c in wind.TABLES[table].columns if c.closes and c.kind == wind.DATE]
        frame = pl.read_parquet(held.first_load / f"{table}.parquet")
        assert frame.filter(pl.any_horizontal(pl.col(c) > held.cut for c in ends)).is_empty()

    warehouse = tmp_path / "warehouse.duckdb"
    for folder in (held.first_load, *held.extracts):
        load_dir(folder, warehouse)
    mine, whole = _raw(warehouse), _raw(tiny_warehouse)
    for name, frame in whole.items():
        assert mine[name].equals(frame), name
