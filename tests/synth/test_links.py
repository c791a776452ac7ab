"""The latent links (`SynthConfig.links="latent"`, zoo.synth.links): the knobs do what they say,
the truth tables hold the links the market uses, and the project's graph finds them only as
far as the statements show them."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from click.testing import CliRunner

from tests.synth.test_synth import BASE, CODE, DAY, _published_figures, read
from zoo.datasets.graph import knn_edges
from zoo.synth import SynthConfig, generate, oracle_ic, published_ratios
from zoo.synth.links import LatentLinks, nearest_neighbours, standardised

# Larger and calmer than the base market, with k = 5: chance (k over the listed stocks) is
# ~3 %, so the graph's recall can tell the knobs apart.
RECALL = dict(stocks=160, start="20190101", end="20201231", seed=3, neighbours_k=5)


# --------------------------------------------------------------------------- config
def test_the_latent_knobs_are_set_like_any_field():
    cfg = SynthConfig.from_overrides({}, ("links=latent", "latent_visibility=0.5",
                                          "hidden_link_share=0.25"))
    assert (cfg.links, cfg.latent_visibility, cfg.hidden_link_share) == ("latent", 0.5, 0.25)
    assert SynthConfig().links == "ratios"


@pytest.mark.parametrize("overrides, message", [
    (("links=graph",), "links must be one of ratios, latent"),
    (("links=latent", "latent_visibility=1.5"), "latent_visibility must be in"),
    (("links=latent", "hidden_link_share=-0.1"), "hidden_link_share must be in"),
    (("hidden_link_share=0.5",), "links=latent only"),  # would do nothing on a ratios market
])
def test_bad_latent_knobs_are_errors(overrides, message):
    with pytest.raises(ValueError, match=message):
        SynthConfig.from_overrides({}, overrides)


def test_zoo_data_synth_takes_the_latent_knobs(tmp_path, monkeypatch):
    from zoo.cli import main
    from zoo.synth.record import recorded_config

    monkeypatch.setenv("ZOO_HOME", str(tmp_path / "home"))
    out = tmp_path / "market"
    done = CliRunner().invoke(main, [
        "data", "synth", "--stocks", "24", "--start", "20200101", "--end", "20200601",
        "--no-load", "--out", str(out), "--set", "neighbours_k=4", "--set", "links=latent",
        "--set", "latent_visibility=0.3"])
    assert done.exit_code == 0, done.output
    assert "links latent (visibility 0.3, hidden share 0.2)" in done.output
    assert recorded_config(out) == SynthConfig(
        stocks=24, start="20200101", end="20200601", neighbours_k=4, links="latent",
        latent_visibility=0.3)


# --------------------------------------------------------------------------- the mechanism
def _links(n: int = 300, k: int = 10, **knobs: float) -> LatentLinks:
    return LatentLinks.draw(SynthConfig(stocks=n, neighbours_k=k, links="latent", **knobs), n)


def test_fully_visible_links_are_the_nearest_by_the_characteristics():
    links = _links(latent_visibility=1.0, hidden_link_share=0.0)
    listed = np.arange(0, 300, 2)  # some stocks are not listed
    c = np.random.default_rng(0).normal(size=(len(listed), 6)) * [1, 2, 3, 4, 5, 6]
    expected = listed[nearest_neighbours(standardised(c), 10)]
    assert np.array_equal(links.neighbours(listed, c), expected)


def test_all_hidden_links_ignore_the_characteristics():
    links = _links(hidden_link_share=1.0)
    listed = np.arange(300)
    rng = np.random.default_rng(0)
    first = links.neighbours(listed, rng.normal(size=(300, 6)))
    assert np.array_equal(first, links.neighbours(listed, rng.normal(size=(300, 6))))
    assert np.array_equal(first, nearest_neighbours(links.hidden, 10))


def test_the_hidden_share_is_met_in_expectation_and_links_are_k_distinct_others():
    links = _links(hidden_link_share=0.25, latent_visibility=0.6)
    assert set(links.hidden_count.tolist()) == {2, 3}
    assert abs(links.hidden_count.mean() - 2.5) < 0.2
    listed = np.arange(300)
    c = np.random.default_rng(1).normal(size=(300, 6))
    out = links.neighbours(listed, c)
    assert out.shape == (300, 10) and (out != listed[:, None]).all()
    assert all(len(set(row)) == 10 for row in out.tolist())
    # the first k - hidden links are the nearest by the link position, the rest by q
    near = nearest_neighbours(links.positions(listed, c), 10)
    by_q = nearest_neighbours(links.hidden, 10)
    for i, row in enumerate(out.tolist()):
        visible = 10 - links.hidden_count[i]
        assert row[:visible] == near[i, :visible].tolist()
        assert set(row[visible:]) <= set(by_q[i].tolist())


def test_visibility_blends_the_characteristics_with_what_the_statements_do_not_show():
    listed = np.arange(300)
    c = np.random.default_rng(2).normal(size=(300, 6))
    unseen = _links(latent_visibility=0.0)
    assert np.array_equal(unseen.positions(listed, c), unseen.unseen)
    half = _links(latent_visibility=0.5).positions(listed, c)
    assert np.allclose(half, np.sqrt(0.5) * (standardised(c) + unseen.unseen))


def test_the_ratios_market_draws_no_latent_links():
    from zoo.synth.market import _Simulation

    sim = _Simulation(SynthConfig(**BASE), Path("unused"), progress=False)
    assert sim.links is None


# --------------------------------------------------------------------------- the markets
@cache
def _market(root: Path, **knobs: float | str) -> Path:
    out = root / "_".join(f"{k}{v}" for k, v in knobs.items())
    generate(SynthConfig(**{**RECALL, "links": "latent", **knobs}), out)
    return out


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("links")


def graph_recall(folder: Path, months: int = 4) -> tuple[float, float]:
    """Mean share of the planted (stock, neighbour) pairs that the project's graph recipe
    (zoo.datasets.graph.knn_edges over the six ratios published before the month) finds, on
    `months` months spread over the second year, and the chance level."""
    nbr = read(folder, "fundamental_neighbours")
    starts = sorted(nbr["VALID_FROM"].unique())
    recalls, chances = [], []
    for valid_from in starts[12::12 // months]:
        codes, figures, latest = _published_figures(folder, valid_from)
        ratios = published_ratios(figures, latest)
        k = nbr.filter(pl.col("VALID_FROM") == valid_from).group_by(CODE).len()["len"].max()
        edges = knn_edges(ratios, k)
        graph = {(codes[s], codes[t]) for t, s in edges.T.tolist()}  # (stock, neighbour)
        month = nbr.filter((pl.col("VALID_FROM") == valid_from) & pl.col(CODE).is_in(codes)
                           & pl.col("NEIGHBOUR_WINDCODE").is_in(codes))
        planted = set(zip(month[CODE], month["NEIGHBOUR_WINDCODE"], strict=True))
        recalls.append(len(graph & planted) / len(planted))
        chances.append(k / (len(codes) - 1))
    return float(np.mean(recalls)), float(np.mean(chances))


def test_the_graph_finds_fewer_links_as_visibility_falls(root):
    visible = graph_recall(_market(root, latent_visibility=1.0, hidden_link_share=0.0))
    blurred = graph_recall(_market(root, latent_visibility=0.7, hidden_link_share=0.0))
    unseen = graph_recall(_market(root, latent_visibility=0.0, hidden_link_share=0.0))
    assert visible[0] > 0.4 > blurred[0] > unseen[0], (visible, blurred, unseen)
    assert unseen[0] < 2 * unseen[1]
    # the same recipe on the default links finds nearly all of them
    ratios = _market(root, links="ratios")
    assert graph_recall(ratios)[0] > 0.9


def test_hidden_links_are_found_only_by_chance(root):
    recall, chance = graph_recall(_market(root, latent_visibility=1.0, hidden_link_share=1.0))
    assert recall < 2 * chance


def test_the_truth_holds_the_links_the_neighbour_effect_follows(root):
    """In a market with only the neighbour effect, each day's impulse of SIG_NEIGHBOUR
    (S_t - rho S_{t-1}) follows the mean return of the stock's neighbours in
    truth.fundamental_neighbours, and not that of as many other stocks."""
    folder = _market(root, latent_visibility=0.5, hidden_link_share=0.2, reversal=0.0,
                     turnover=0.0, earnings=0.0)
    assert oracle_ic(folder, "SIG_NEIGHBOUR") > 0.03
    truth = read(folder, "expected_return").sort(CODE, DAY).with_columns(
        (pl.col("SIG_NEIGHBOUR") - 0.8 * pl.col("SIG_NEIGHBOUR").shift(1).over(CODE))
        .alias("impulse"))
    eod = read(folder, "AShareEODPrices").sort(CODE, DAY).with_columns(
        (pl.col("S_DQ_CLOSE") * pl.col("S_DQ_ADJFACTOR")).log().diff().over(CODE).alias("r"))
    eod = eod.with_columns((pl.col("r") - pl.col("r").mean().over(DAY)).alias("r"))
    returns = eod.select(pl.col(CODE).alias("NEIGHBOUR_WINDCODE"), DAY, "r")
    links = read(folder, "fundamental_neighbours").sort("VALID_FROM")
    days = truth.select(DAY).unique().sort(DAY)
    # the links in force on each day: the latest VALID_FROM on or before it
    starts = links.select("VALID_FROM").unique().sort("VALID_FROM")
    in_force = days.join_asof(starts, left_on=DAY, right_on="VALID_FROM")

    def follows(table: pl.DataFrame) -> float:
        mean = (in_force.join(table, on="VALID_FROM")
                .join(returns, on=["NEIGHBOUR_WINDCODE", DAY])
                .group_by(CODE, DAY).agg(pl.col("r").mean().alias("neighbours_r")))
        joined = truth.join(mean, on=[CODE, DAY]).drop_nulls(["impulse", "neighbours_r"])
        assert joined.height > 10_000
        return joined.select(pl.corr("impulse", "neighbours_r")).item()

    others = links.with_columns(pl.col("NEIGHBOUR_WINDCODE").shuffle(seed=0).over("VALID_FROM"))
    assert follows(links) > 0.5 > 0.1 > follows(others)
