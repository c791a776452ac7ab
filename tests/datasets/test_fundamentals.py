"""The fundamental vectors in force: read a column at a time from one retrieval per distinct
vector, they are what reading every entity row's arrays row by row gave (the code before,
kept as `zoo bench training`'s baseline), and so are the day batches."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

START, END = dt.date(2019, 6, 1), dt.date(2020, 9, 30)


def build(home, monkeypatch, fundamentals=None):
    import zoo.models  # noqa: F401  (registers the models)
    from zoo.datasets import day_batches
    from zoo.registry import model_contract

    monkeypatch.setenv("ZOO_HOME", str(home))
    with pytest.MonkeyPatch.context() as patch:
        if fundamentals is not None:
            patch.setattr(day_batches, "_fundamentals", fundamentals)
        return day_batches.build_day_batches(model_contract("biagru_gat"), START, END,
                                             use_cache=False)


def test_vectors_and_batches_are_those_read_row_by_row(feast_home, monkeypatch):
    from zoo.bench.training import row_by_row_fundamentals
    from zoo.serving import feature_store

    asked = []  # entity rows of each Feast call for the 12-quarter arrays
    real = feature_store.get_historical

    def counting(service, entities, *args, **kwargs):
        if service == "fundamentals_v1":
            asked.append(len(entities))
        return real(service, entities, *args, **kwargs)

    monkeypatch.setattr(feature_store, "get_historical", counting)
    now = build(feast_home, monkeypatch)
    arrays_now = sum(asked)
    before = build(feast_home, monkeypatch, row_by_row_fundamentals)

    assert (now.fund_index >= 0).any()
    assert len(np.unique(now.fund_quarter)) == 4
    for name in ("fund_index", "fund_vectors", "fund_quarter"):
        a, b = getattr(now, name), getattr(before, name)
        assert a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True), name
    # the arrays are asked for once per distinct vector, not for every stock-day
    assert arrays_now == len(now.fund_vectors) < now.present.sum() / 10
    for day in now.score_dates:
        a, b = now.arrays(day), before.arrays(day)
        for key in a:
            assert a[key].dtype == b[key].dtype, (day, key)
            assert np.array_equal(a[key], b[key], equal_nan=True), (day, key)


def fake_retrieval(request, period, announced):
    """A stand-in for Feast's retrieval over `request`'s rows (found by their index): each
    row's identity, and 12-quarter arrays that depend on the identity only (some values
    null)."""
    import pyarrow as pa

    from zoo.vocabulary import FUNDAMENTAL_FIELDS

    def arrays(row: int, k: int) -> list:
        seed = hash((request["stock_id"][row], period[row], announced[row], k)) % 1000
        values = [(-1) ** q * 10.0 ** (seed % 9) * (q + 1) + seed for q in range(12)]
        return [None if (seed + q) % 7 == 0 else v for q, v in enumerate(values)]

    def get_historical(service, entities, fs=None, features=None):
        rows = list(entities.index)
        columns = {"latest_report_period": pa.array([period[r] for r in rows],
                                                    pa.timestamp("us")),
                   "last_announced_date": pa.array([announced[r] for r in rows],
                                                   pa.timestamp("us"))}
        if features is None:
            for k, name in enumerate(FUNDAMENTAL_FIELDS):
                columns[f"{name}_12q"] = pa.array([arrays(r, k) for r in rows],
                                                  pa.list_(pa.float64()))
        return pa.table(columns)

    return get_historical


def test_rows_without_a_statement_repeats_and_chunks_as_row_by_row(monkeypatch):
    """Rows with no statement (-1), identities that come back after another one, and
    identities spread over chunks: numbered as a pass over the rows numbers them."""
    import pandas as pd

    from zoo.bench.training import row_by_row_fundamentals
    from zoo.datasets import day_batches
    from zoo.serving import feature_store

    rng = np.random.default_rng(3)
    n, days = 5, 40
    rows = np.repeat(np.arange(n), days)
    cols = np.tile(np.arange(days), n)
    order = np.lexsort((rows, cols))  # by day, then stock, as the entities come
    rows, cols = rows[order], cols[order]
    request = pd.DataFrame({"stock_id": [f"S{r}" for r in rows],
                            "event_timestamp": pd.Timestamp("2020-01-01", tz="UTC")})
    quarter_ends = ["2019-03-31", "2019-06-30", "2019-09-30", "2019-12-31"]
    period = [None if c < 3 * r else dt.datetime.fromisoformat(quarter_ends[(c // 9 + r) % 4])
              for r, c in zip(rows, cols, strict=True)]
    announced = [None if p is None else dt.datetime(2020, 1, 1) + dt.timedelta(
        days=int(rng.integers(0, 3))) for p in period]
    monkeypatch.setattr(feature_store, "get_historical",
                        fake_retrieval(request, period, announced))
    monkeypatch.setattr(day_batches, "CHUNK_ROWS", 7)
    monkeypatch.setattr(day_batches, "IDENTITY_CHUNK_ROWS", 11)
    shape = (n, days)
    now = day_batches._fundamentals(request, rows, cols, shape, None)
    before = row_by_row_fundamentals(request, rows, cols, shape, None)
    assert (now[0] == -1).any() and len(now[1]) > 8 and set(now[2]) == {1, 2, 3, 4}
    assert np.isnan(now[1]).any()
    for a, b in zip(now, before, strict=True):
        assert a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True)


def test_arrays_of_another_length_are_an_error():
    import pyarrow as pa

    from zoo.datasets.day_batches import QUARTERS, _quarter_arrays

    good = pa.chunked_array([[[float(i)] * QUARTERS for i in range(3)], [[None] * QUARTERS]])
    out = _quarter_arrays(good, "x_12q")
    assert out.shape == (4, QUARTERS) and out.dtype == np.float32
    assert (out[2] == 2).all() and np.isnan(out[3]).all()
    with pytest.raises(ValueError, match="x_12q holds lists of"):
        _quarter_arrays(pa.chunked_array([[[1.0] * QUARTERS, [1.0]]]), "x_12q")
    with pytest.raises(ValueError, match="x_12q holds lists of"):
        _quarter_arrays(pa.chunked_array([[[1.0] * QUARTERS, None]]), "x_12q")
