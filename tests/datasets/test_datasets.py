"""Training sets built through Feast: shapes, masks, no look-ahead, and the fundamental graph."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

START, END = dt.date(2020, 1, 1), dt.date(2020, 6, 30)


@pytest.fixture(scope="module")
def datasets(feast_home):
    """The biagru_gat dataset for [START, END] and for a longer period (to END + 4 months)."""
    import zoo.models  # noqa: F401  (registers the models)
    from zoo.datasets.day_batches import build_day_batches
    from zoo.registry import model_contract

    contract = model_contract("biagru_gat")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("ZOO_HOME", str(feast_home))
        short = build_day_batches(contract, START, END)
        longer = build_day_batches(contract, START, END + dt.timedelta(days=120))
    return short, longer


def test_a_day_is_the_universe_cross_section_with_the_model_shapes(datasets, feast_home):
    import duckdb

    from zoo.datasets.protocol import BATCH_KEYS

    data, _ = datasets
    day = data.dates[-1]
    batch = data.arrays(day)
    assert set(batch) == set(BATCH_KEYS)
    n = len(batch["stock_index"])
    universe = duckdb.sql(
        f"SELECT stock_id FROM read_parquet('{feast_home}/offline/stock_universe_daily/"
        f"*.parquet') "
        f"WHERE in_universe AND trade_date = DATE '{day}' ORDER BY 1").fetchall()
    assert [data.stock_ids[i] for i in batch["stock_index"]] == [r[0] for r in universe]
    assert batch["price_volume"].shape == (n, 40, 6)
    assert batch["fundamentals"].shape == (n, 12, 19) and batch["fund_mask"].shape == (n, 12)
    assert batch["style"].shape == (n, 11)
    assert batch["edge_index"].shape[0] == 2 and batch["edge_index"].max() < n
    assert np.isfinite(batch["fundamentals"]).all() and np.isfinite(batch["label"]).all()
    window = batch["price_volume"][batch["price_mask"]]
    assert np.allclose(window[:, -1, 3], 1.0)  # divided by the last close
    assert np.allclose(window[:, :, 5].mean(axis=1), 1.0, atol=1e-5)  # volume by its mean
    label = batch["label"][batch["label_mask"]]
    assert abs(label.mean()) < 1e-5 and abs(label.std() - 1) < 1e-3


def test_industry_is_the_level_1_industry_in_force_that_day(datasets, feast_home):
    import duckdb

    data, _ = datasets
    day = data.dates[len(data.dates) // 3]
    batch = data.arrays(day)
    rows = dict(duckdb.sql(
        f"SELECT stock_id, industry_l1_code FROM read_parquet('{feast_home}/offline/"
        f"stock_style_daily/*.parquet') WHERE trade_date = DATE '{day}'").fetchall())
    codes = [rows.get(data.stock_ids[i]) for i in batch["stock_index"]]
    ids = batch["industry"]
    assert ids.dtype == np.int64 and len(set(c for c in codes if c)) > 1
    # one id per code and one code per id; -1 exactly where the day has no industry
    pairs = {(c, int(i)) for c, i in zip(codes, ids, strict=True)}
    assert len({c for c, _ in pairs}) == len(pairs) == len({i for _, i in pairs})
    assert all((i == -1) == (c is None) for c, i in pairs)


def test_the_window_matches_the_feature_store(datasets, feast_home):
    import duckdb

    data, _ = datasets
    day = data.dates[len(data.dates) // 2]
    batch = data.arrays(day)
    i = int(np.flatnonzero(batch["price_mask"])[0])
    stock = data.stock_ids[batch["stock_index"][i]]
    rows = duckdb.sql(
        f"SELECT adj_close, volume_shares FROM read_parquet('{feast_home}/offline/"
        f"stock_price_volume_daily/*.parquet') WHERE stock_id = '{stock}' AND trade_date <= "
        f"DATE '{day}' ORDER BY trade_date DESC LIMIT 40").fetchnumpy()
    close = rows["adj_close"][::-1]
    volume = rows["volume_shares"][::-1]
    assert np.allclose(batch["price_volume"][i, :, 3], close / close[-1], rtol=1e-5)
    assert np.allclose(batch["price_volume"][i, :, 5], volume / volume.mean(), rtol=1e-4)


def test_inputs_of_a_day_do_not_depend_on_later_data(datasets):
    """Built to END or four months later, every day up to END has the same inputs."""
    short, longer = datasets
    for day in short.dates[::10]:
        a, b = short.arrays(day), longer.arrays(day)
        ids_a = [short.stock_ids[i] for i in a["stock_index"]]
        ids_b = [longer.stock_ids[i] for i in b["stock_index"]]
        assert ids_a == ids_b
        for key in ("price_volume", "price_mask", "fundamentals", "fund_mask", "style",
                    "edge_index", "industry"):
            assert np.array_equal(a[key], b[key], equal_nan=True), (day, key)


def test_label_end_is_the_trading_day_the_label_looks_at(datasets):
    data, _ = datasets
    day = data.dates[0]
    i = data.calendar.index(day)
    assert data.label_end(day) == data.calendar[i + 6]  # T+1 VWAP entry, 5 days held
    assert data.label_end(data.dates[-1]) > END


def test_graph_links_similar_stocks_and_rebuilds_only_on_new_statements(datasets):
    from zoo.datasets.graph import knn_edges

    data, _ = datasets
    rebuilt_before = data.graph.rebuilds
    day = data.dates[5]
    data.arrays(day)
    data.arrays(day)  # same day again: no rebuild
    assert data.graph.rebuilds <= rebuilt_before + 1
    # knn on planted clusters: neighbours come from the own cluster
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(3, 8)) * 5
    points = np.repeat(centres, 10, axis=0) + rng.normal(size=(30, 8)) * 0.1
    edges = knn_edges(points, k=4)
    assert edges.shape == (2, 120)
    assert (edges[0] // 10 == edges[1] // 10).all()
    assert (edges[0] != edges[1]).all()
    strict = knn_edges(points, k=4, max_distance=1e-6)
    assert strict.shape == (2, 0)


def test_a_states_graph_is_built_once_and_is_the_graph_rebuilt_every_time(datasets):
    """Shuffled epochs seldom visit two days of a fundamentals state in a row: graphs kept by
    state are built once per state, and every day gets the edges of a graph rebuilt for it."""
    from zoo.datasets.graph import FundamentalGraph

    _, data = datasets
    kept, rebuilt = FundamentalGraph(data), FundamentalGraph(data, cache_mib=0)
    states = {kept.state_key(data.calendar.index(day)) for day in data.dates}
    assert 1 < len(states) < len(data.dates)  # statements arrive on some days only
    rng = np.random.default_rng(0)
    for _ in range(2):
        for i in rng.permutation(len(data.dates)):
            day = data.dates[i]
            stocks = data.stocks_on(day)
            a, b = kept.edges(day, stocks), rebuilt.edges(day, stocks)
            assert a.dtype == b.dtype == np.int64 and np.array_equal(a, b), day
    assert kept.rebuilds == len(states)
    assert rebuilt.rebuilds > 1.5 * len(states)


def test_graphs_beyond_the_cache_are_dropped_least_recent_first_and_rebuilt(datasets):
    from zoo.datasets.graph import FundamentalGraph

    _, data = datasets
    full = FundamentalGraph(data)
    days = data.dates[::7]
    one = full.edges(days[0], data.stocks_on(days[0]))
    size = full._cached_bytes
    small = FundamentalGraph(data, cache_mib=2.5 * size / 2**20)  # room for about two states
    for day in days:
        assert np.array_equal(small.edges(day, data.stocks_on(day)),
                              full.edges(day, data.stocks_on(day)))
        assert small._cached_bytes <= small.cache_bytes and len(small._graphs) <= 3
    assert small.rebuilds > len(small._graphs)
    assert np.array_equal(small.edges(days[0], data.stocks_on(days[0])), one)  # rebuilt


def test_profiles_recover_the_ratios_and_the_sign_of_seasonality():
    """Two firms built from known ratios: the profile gives them back, and a Q4-heavy firm's
    seasonality is positive whatever quarter its latest report is."""
    from zoo.datasets.graph import PROFILE, profiles
    from zoo.vocabulary import FUNDAMENTAL_FIELDS as FUND_FIELDS

    f = {name: i for i, name in enumerate(FUND_FIELDS)}
    vectors = np.full((2, 12, len(FUND_FIELDS)), np.nan, dtype=np.float32)
    latest = np.array([4, 2])  # latest report: Q4 for one, Q2 for the other
    for u, season in enumerate((0.3, 0.3)):
        quarter_of_slot = (latest[u] - 1 - np.arange(11, -1, -1)) % 4  # 0 = Q1
        revenue_q = 100.0 * (1 + season * (quarter_of_slot - 1.5) / 1.5) / 4
        revenue_q = revenue_q * 1.02 ** np.arange(12)  # growing 2 % a quarter
        revenue_ttm = np.convolve(revenue_q, np.ones(4))[:12]
        revenue_ttm[:3] = np.nan
        money = {"revenue_q": revenue_q, "revenue_ttm": revenue_ttm,
                 "net_profit_ttm": 0.1 * revenue_ttm, "operating_cash_flow_ttm": 0.15 * revenue_ttm,
                 "total_assets": 2.0 * revenue_ttm}
        for name, values in money.items():
            vectors[u, :, f[name]] = np.sign(values) * np.log1p(np.abs(values))
        vectors[u, :, f["leverage"]] = 0.5
    out = dict(zip(PROFILE, profiles(vectors, latest).T, strict=True))
    np.testing.assert_allclose(out["net_margin"], 0.1, rtol=1e-4)
    np.testing.assert_allclose(out["cash_conversion"], 0.05, atol=1e-4)
    np.testing.assert_allclose(out["log_asset_turnover"], np.log(0.5), atol=1e-4)
    np.testing.assert_allclose(out["leverage_logit"], 0.0, atol=1e-4)
    np.testing.assert_allclose(out["revenue_growth"], 4 * np.log(1.02), atol=2e-3)
    assert (out["seasonality"] > 0.2).all()


def test_the_latest_days_are_scored_before_their_labels_arrive(feast_home):
    """The market ends 2020-12-31: its last 21 trading days have no label yet. They do not
    train, but they are scored (score_dates), with features and no label."""
    import zoo.models  # noqa: F401
    from zoo.datasets.day_batches import build_day_batches
    from zoo.registry import model_contract

    with pytest.MonkeyPatch.context() as env:
        env.setenv("ZOO_HOME", str(feast_home))
        data = build_day_batches(model_contract("biagru"), dt.date(2020, 10, 1),
                                 dt.date(2020, 12, 31))
    unlabelled = [d for d in data.score_dates if d not in set(data.dates)]
    assert data.dates == [d for d in data.score_dates if d <= data.dates[-1]]
    assert len(unlabelled) >= 15 and unlabelled[-1] == data.calendar[-1]
    batch = data.arrays(unlabelled[-1])
    assert batch["price_mask"].any() and not batch["label_mask"].any()


def test_graph_finds_the_planted_neighbours_far_above_chance(datasets, tiny_warehouse):
    """The synthetic market links firms by the ratios their statements publish
    (truth.fundamental_neighbours); the day graphs, built from Feast's point-in-time
    fundamentals only, find most of them."""
    from zoo.bench.diagnostics import planted_recall

    data, _ = datasets
    found = planted_recall(data, tiny_warehouse, data.dates[-60::10])
    assert found["days"] == 6
    assert found["recall"] > 2.5 * found["chance"], found  # ~3x on 50 stocks


def test_planted_recall_needs_a_graph(datasets, tiny_warehouse):
    from zoo.bench.diagnostics import planted_recall

    data, _ = datasets
    graph, data.graph = data.graph, None
    try:
        with pytest.raises(ValueError, match="needs a dataset built with a graph"):
            planted_recall(data, tiny_warehouse)
    finally:
        data.graph = graph


def test_ridge_probe_brackets_what_the_graph_can_carry(datasets, tiny_warehouse):
    """The linear probes of zoo.bench.probe: finite out-of-sample Rank ICs, training days
    purged of labels that reach the first test day, and the planted neighbours' returns worth
    more than the stock's own features alone (the neighbour signal is planted)."""
    from zoo.bench.diagnostics import ridge_probe

    _, data = datasets
    first_test = dt.date(2020, 7, 1)
    probe = ridge_probe(data, tiny_warehouse, first_test)
    before = [d for d in data.dates if d < first_test]
    assert 0 < probe["train_days"] <= len(before) - (data.offset + data.horizon)
    assert probe["test_days"] == len([d for d in data.dates if d >= first_test])
    assert all(-1 < probe[k] < 1 for k in ("own", "own_graph", "own_planted"))
    assert probe["own_planted"] > probe["own"] + 0.02, probe
    with pytest.raises(ValueError, match="training and"):
        ridge_probe(data, tiny_warehouse, dt.date(2030, 1, 1))


def test_probe_nets_neighbour_returns_of_their_industry_within_the_universe():
    from zoo.bench.diagnostics import _industry_demeaned

    x = np.array([[1.0, 2.0], [3.0, 0.0], [5.0, 4.0], [7.0, 9.0], [2.0, 1.0]])
    industry = np.array([[0, 0], [0, 0], [1, 1], [0, 1], [-1, -1]], dtype=np.int16)
    universe = np.array([[1, 1], [1, 1], [1, 1], [0, 1], [1, 1]], dtype=bool)
    out = _industry_demeaned(x, industry, universe)
    # day 0: industry 0's universe members are stocks 0 and 1 (mean 2); stock 3 is outside
    # the universe, enters no mean, but is netted of its industry's mean all the same
    assert np.allclose(out[:, 0], [-1.0, 1.0, 0.0, 5.0, 2.0])
    # day 1: industry 0 = stocks 0, 1 (mean 1); industry 1 = stocks 2, 3 (mean 6.5)
    assert np.allclose(out[:, 1], [1.0, -1.0, -2.5, 2.5, 1.0])
    assert _industry_demeaned(x, None, universe) is x


def test_the_exports_are_read_from_a_home_with_an_apostrophe_and_a_space(feast_home, tmp_path,
                                                                        monkeypatch):
    """The paths reach DuckDB as bound parameters, not pasted into the SQL text."""
    import shutil

    from zoo.datasets import day_batches

    home = tmp_path / "it's a home"
    shutil.copytree(feast_home / "offline", home / "offline")
    monkeypatch.setenv("ZOO_HOME", str(home))
    rows = day_batches._entities(dt.date(2020, 1, 1), dt.date(2020, 3, 31))
    assert len(rows) and rows["trade_date"].max().date() <= dt.date(2020, 3, 31)
    later = day_batches._later_trading_days(dt.date(2020, 3, 31), days=5)
    assert len(later) == 5 and min(later) > dt.date(2020, 3, 31)
