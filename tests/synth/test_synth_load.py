"""The synthetic market goes through the same contracts and loader as a real Wind export."""

import duckdb

from zoo.ingest.load import load_dir
from zoo.ingest.wind import RAW_TABLES, TRUTH_TABLES


def _counts(path) -> dict[str, int]:
    with duckdb.connect(str(path), read_only=True) as con:
        names = [f"{t.schema}.{t.name}" for t in RAW_TABLES + TRUTH_TABLES]
        return {n: con.execute(f"SELECT COUNT(*) FROM {n}").fetchone()[0] for n in names}


def test_every_generated_table_passes_its_contract_and_loads(tiny_warehouse):
    counts = _counts(tiny_warehouse)
    assert all(n > 0 for n in counts.values()), counts


def test_loading_the_market_again_changes_nothing(tiny_market, tiny_warehouse, tmp_path):
    copy = tmp_path / "warehouse.duckdb"
    copy.write_bytes(tiny_warehouse.read_bytes())
    before = _counts(copy)
    report = load_dir(tiny_market, copy)
    assert report.rows_inserted == 0
    assert _counts(copy) == before
