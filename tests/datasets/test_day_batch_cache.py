"""The cache of built day batches: a second build from the same exports reads it (no Feast
call), changed exports make a new entry, and a corrupt entry is rebuilt, not trusted."""

from __future__ import annotations

import datetime as dt
import os
import shutil

import numpy as np
import pytest

START, END = dt.date(2020, 3, 1), dt.date(2020, 8, 31)
PANELS = ("present", "prices", "universe", "label", "buyable", "style", "fund_index",
          "fund_vectors", "fund_quarter", "industry")


@pytest.fixture
def home(feast_home, tmp_path, monkeypatch):
    """A private copy of the Feast home: the cache writes into its home, and exports are
    changed here (the copy's registry reads the copy's own files)."""
    copy = tmp_path / "home"
    shutil.copytree(feast_home, copy, ignore=shutil.ignore_patterns("cache"))
    monkeypatch.setenv("ZOO_HOME", str(copy))
    return copy


@pytest.fixture
def feast_calls(monkeypatch):
    """Counts the Feast retrievals of every build."""
    from zoo.serving import feature_store

    calls = []
    real = feature_store.get_historical

    def counting(service, *args, **kwargs):
        calls.append(service)
        return real(service, *args, **kwargs)

    monkeypatch.setattr(feature_store, "get_historical", counting)
    return calls


def build(name: str, **kwargs):
    import zoo.models  # noqa: F401  (registers the models)
    from zoo.datasets.day_batches import build_day_batches
    from zoo.registry import model_contract

    return build_day_batches(model_contract(name), START, END, **kwargs)


def same_dataset(a, b) -> bool:
    return (all(np.array_equal(getattr(a, k), getattr(b, k), equal_nan=k in ("prices", "label",
                                                                            "style",
                                                                            "fund_vectors"))
                for k in PANELS)
            and (a.dates, a.calendar, a.score_dates, a.later_days, a.stock_ids)
            == (b.dates, b.calendar, b.score_dates, b.later_days, b.stock_ids)
            and (a.horizon, a.offset, a.sequence_days) == (b.horizon, b.offset, b.sequence_days))


def entries(home):
    root = home / "cache" / "day_batches"
    return sorted(p for p in root.iterdir() if not p.name.startswith(".")) if root.is_dir() \
        else []


def test_a_second_build_reads_the_cache_for_any_model_on_the_span(home, feast_calls):
    first = build("biagru")
    assert feast_calls and not first.from_cache
    (entry,) = entries(home)
    assert first.cache_path == entry
    feast_calls.clear()

    again = build("biagru")
    assert feast_calls == [] and again.from_cache and again.cache_path == entry
    assert same_dataset(first, again)
    day = first.dates[len(first.dates) // 2]
    for key, value in first.arrays(day).items():
        np.testing.assert_array_equal(again.arrays(day)[key], value, err_msg=key)

    # another model with the same label reads the same panels and builds its own graph
    gat = build("biagru_gat")
    assert feast_calls == [] and gat.from_cache and gat.graph is not None
    assert gat.arrays(day)["edge_index"].shape[1] > 0
    assert entries(home) == [entry]
    # and without the cache it is the same dataset again, through Feast
    fresh = build("biagru", use_cache=False)
    assert feast_calls and not fresh.from_cache and same_dataset(first, fresh)


def test_changed_exports_make_a_new_entry(home, feast_calls):
    from zoo.serving import feature_store

    build("biagru")
    (old,) = entries(home)
    feast_calls.clear()
    import duckdb

    with duckdb.connect(str(home / "warehouse.duckdb")) as con:  # a restated day
        (view,), = con.execute("SELECT sql FROM duckdb_views() WHERE schema_name = 'features' "
                               "AND view_name = 'stock_style_daily'").fetchall()
        table = view.rstrip(";").rsplit(" FROM ", 1)[1]  # SQLMesh's table behind the view
        con.execute(f"UPDATE {table} SET size = size + 1 WHERE trade_date = DATE '2020-06-30'")
    (written,) = feature_store.export(names=["stock_style_daily"])  # re-exported features
    assert "2020-06" in written.months_written  # (others too, when a test restated them)
    data = build("biagru")
    assert feast_calls and not data.from_cache
    assert len(entries(home)) == 2 and data.cache_path != old
    feast_calls.clear()
    os.utime(home / "offline" / "stock_price_volume_daily" / "2020-01.parquet")  # same bytes
    assert not build("biagru").from_cache and feast_calls
    # a written-back score is not a feature: the entry stands
    feast_calls.clear()
    (home / "offline" / "score_x").mkdir()
    (home / "offline" / "score_x" / "2020-06.parquet").write_bytes(b"not read by the datasets")
    assert build("biagru").from_cache and not feast_calls


@pytest.mark.parametrize("damage", ["truncate", "flip", "missing", "meta"])
def test_a_corrupt_entry_is_rebuilt_not_trusted(home, feast_calls, damage):
    first = build("biagru")
    (entry,) = entries(home)
    prices = entry / "prices.npy"
    if damage == "truncate":
        prices.write_bytes(prices.read_bytes()[:-100])
    elif damage == "flip":  # same size, one value changed
        raw = bytearray(prices.read_bytes())
        raw[-5] ^= 0xFF
        prices.write_bytes(bytes(raw))
    elif damage == "missing":
        (entry / "label.npy").unlink()
    else:
        (entry / "entry.json").write_text("{not json")
    feast_calls.clear()
    data = build("biagru")
    assert feast_calls and not data.from_cache and same_dataset(first, data)
    assert entries(home) == [entry]  # rebuilt in its place
    feast_calls.clear()
    assert build("biagru").from_cache and not feast_calls


def test_old_entries_are_evicted(tmp_path):
    from zoo.datasets import cache

    root = tmp_path / "entries"
    for k in range(cache.KEEP + 2):
        cache.write_entry(root / f"e{k}", {"x": np.arange(3)}, {"k": k})
        os.utime(root / f"e{k}" / "entry.json", ns=(k * 10**9, k * 10**9))
    cache.read_entry(root / "e2")  # reading makes it the newest
    cache.write_entry(root / "new", {"x": np.arange(3)}, {})
    assert sorted(p.name for p in root.iterdir()) == ["e2", "e4", "e5", "new"]
