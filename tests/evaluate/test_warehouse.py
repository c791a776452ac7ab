"""Evaluation on the built tiny market: the oracle, fake models, feature columns, bad names."""

from __future__ import annotations

import json
from datetime import date

import polars as pl
import pytest

from zoo.evaluate.evaluation import EvalConfig, evaluate
from zoo.evaluate.inputs import UnknownFactor, connect, load_panel, resolve


def test_oracle_rank_ic_matches_the_synthetic_markets_oracle(eval_home, tiny_market):
    """The truth schema's ER_5D as a factor: clearly positive Rank IC, and, on every day over
    every stock, the oracle IC that zoo.synth.oracle_ic computes from the raw prices."""
    from zoo.evaluate.ic import ic_summary, rank_ic
    from zoo.synth import oracle_ic

    result = evaluate("oracle", EvalConfig(horizons=(5,)), warehouse=eval_home / "warehouse.duckdb")
    assert result.kind == "oracle" and result.source == "truth.expected_return.ER_5D"
    assert result.summary[5]["ic_vwap"] > 0.05
    assert result.summary[5]["ic_close"] > 0.05
    assert result.summary[5]["top10pct"]["excess_gross"] > 0
    assert result.summary[5]["top10pct"]["excess_net"] < result.summary[5]["top10pct"][
        "excess_gross"]
    con = connect(eval_home / "warehouse.duckdb")
    daily = load_panel(con, resolve(con, "oracle"), (5,), every=1)
    con.close()
    ours = ic_summary(rank_ic(daily, 5, "vwap", step=1, universe_only=False))["mean"]
    # oracle_ic also counts the last days whose 21-day label has not arrived, so the day sets
    # differ slightly; the definition (Spearman of ER_5D and the T+1 VWAP return) is the same
    assert ours == pytest.approx(oracle_ic(tiny_market), abs=0.01)


def test_fake_model_is_evaluated_on_its_scored_days(eval_home):
    warehouse = eval_home / "warehouse.duckdb"
    good = evaluate("fake_good", warehouse=warehouse)
    noise = evaluate("score_fake_noise", warehouse=warehouse)
    assert good.kind == "model" and good.name == "fake_good"
    assert good.first_date >= date(2020, 1, 1)
    for h in (5, 10, 15, 20):
        assert good.summary[h]["ic_vwap"] > noise.summary[h]["ic_vwap"]
        # about 40 universe stocks: one date's IC has a standard error near 1 / sqrt(40)
        periods = noise.summary[h]["ic_periods"]
        assert abs(noise.summary[h]["ic_vwap"]) < 4 / (40 * periods) ** 0.5
        # after fees is below before fees by the fee on the period's turnover
        for p in ("top10pct", "top100"):
            assert good.summary[h][p]["excess_net"] < good.summary[h][p]["excess_gross"]
    assert good.style is not None and {"style", "fundamental"} <= set(good.style["group"])
    json.dumps(good.to_json())  # plain JSON values only


def test_a_holder_earns_the_move_through_a_suspension(eval_home):
    """Where T+1 is suspended the label is NULL (no buyer could earn it), but the panel's
    hold return is the stock's VWAP path from T+1 to T+1+h (its holder cannot sell and keeps
    the move); elsewhere the hold return is the label."""
    con = connect(eval_home / "warehouse.duckdb")
    panel = load_panel(con, resolve(con, "oracle"), (5,), every=1)
    path = pl.from_arrow(con.execute("""
        WITH c AS (SELECT trade_date, LEAD(trade_date) OVER w AS t1,
                          LEAD(trade_date, 6) OVER w AS t6
                   FROM reference.trade_calendar WINDOW w AS (ORDER BY trade_date))
        SELECT p1.stock_id, c.trade_date, p1.is_suspended AS suspended_t1,
               p6.adj_vwap / p1.adj_vwap - 1 AS path
        FROM c JOIN features.stock_price_volume_daily p1 ON p1.trade_date = c.t1
        JOIN features.stock_price_volume_daily p6
          ON p6.trade_date = c.t6 AND p6.stock_id = p1.stock_id""").to_arrow_table())
    con.close()
    both = panel.join(path, on=["stock_id", "trade_date"])
    suspended = both.filter(pl.col("suspended_t1"))
    assert suspended.height > 0 and suspended["ret_vwap_5"].null_count() == suspended.height
    assert (suspended["hold_vwap_5"] - suspended["path"]).abs().max() < 1e-12
    trading = both.filter(~pl.col("suspended_t1"))
    assert (trading["hold_vwap_5"] - trading["ret_vwap_5"]).abs().max() < 1e-12


def test_a_feature_column_is_a_factor(eval_home):
    result = evaluate("stock_style_daily.momentum_20d", EvalConfig(horizons=(5,)),
                      warehouse=eval_home / "warehouse.duckdb")
    momentum = result.style.filter(pl.col("factor") == "momentum_20d")
    assert momentum["mean"][0] == pytest.approx(1.0)  # correlated with itself


def test_start_and_end_bound_the_evaluation(eval_home):
    config = EvalConfig(horizons=(5,), start=date(2020, 3, 1), end=date(2020, 6, 30))
    result = evaluate("fake_good", config, warehouse=eval_home / "warehouse.duckdb")
    assert result.first_date >= date(2020, 3, 1) and result.last_date <= date(2020, 6, 30)


@pytest.mark.parametrize("name, message", [
    ("no_such_model", "no table scores.score_no_such_model"),
    ("stock_style_daily.no_such_column", "no numeric column 'no_such_column'"),
    ("stock_style_daily.industry_l1_name", "no numeric column 'industry_l1_name'"),
    ("no_table.x", "no table features.no_table"),
    ("truth.NOPE", "no numeric column 'NOPE'"),
    ("a.b.c.d", "unknown factor"),
])
def test_unknown_factors_name_what_exists(eval_home, name, message):
    with pytest.raises(UnknownFactor, match=message) as err:
        evaluate(name, warehouse=eval_home / "warehouse.duckdb")
    if "scores" in message:
        assert "fake_good" in str(err.value)  # the error lists the scored models


def test_bad_configs_are_refused():
    with pytest.raises(ValueError, match="horizons"):
        EvalConfig(horizons=(7,))
    with pytest.raises(ValueError, match="after end"):
        EvalConfig(start=date(2021, 1, 1), end=date(2020, 1, 1))
    with pytest.raises(ValueError, match="fee"):
        EvalConfig(fee=-0.1)


def test_a_window_without_values_says_so(eval_home):
    config = EvalConfig(horizons=(5,), start=date(2030, 1, 1))
    with pytest.raises(ValueError, match="no values of scores.score_fake_good.score"):
        evaluate("fake_good", config, warehouse=eval_home / "warehouse.duckdb")
