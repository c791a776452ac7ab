"""The backtest's accounting: the benchmark earns the benchmark, foresight pays, costs are
turnover x rate, and no weight depends on a later score."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from portfolios.backtest import BacktestConfig, expected_returns, run_backtest
from portfolios.constraints import PortfolioConstraints
from portfolios.performance import excess_metrics, max_drawdown, yearly_table

from .conftest import make_market


def test_benchmark_backtest_earns_zero_excess_before_costs(market):
    # zero deviation forces the index's own weights; zero scores: no view at all
    market.scores[:] = 0.0
    config = BacktestConfig(constraints=PortfolioConstraints(stock_deviation=0.0,
                                                             max_turnover=None))
    result = run_backtest(market, config)
    gross = result.daily["excess_gross"].to_numpy()
    assert np.abs(gross).max() < 1e-9
    assert result.rebalances["relaxed"].to_list() == [""] * result.rebalances.height
    # only building from cash costs anything: a one-way turnover of 0.5
    assert result.daily["turnover"][0] == pytest.approx(0.5)
    assert result.daily["turnover"][1:].max() < 1e-8


def test_perfect_foresight_earns_a_large_excess():
    days = 5
    market = make_market(days=120, stocks=80, members=25, rebalance_days=days, seed=3)
    for k, t in enumerate(market.decisions):
        end = min(t + 1 + days, len(market.dates) - 1)
        market.scores[k] = market.close[end] / market.vwap[t + 1] - 1  # the future return
    result = run_backtest(market, BacktestConfig(rebalance_days=days))
    figures = excess_metrics(result.daily["trade_date"].to_list(),
                             result.daily["excess"].to_numpy())
    assert figures["annual_excess"] > 0.2   # within 0.5% stock bands and 30% turnover
    assert figures["information_ratio"] > 5
    # and a random score does not
    market.scores[:] = np.random.default_rng(9).standard_normal(market.scores.shape)
    noise = run_backtest(market, BacktestConfig(rebalance_days=days))
    assert noise.daily["excess_nav"][-1] < result.daily["excess_nav"][-1] - 0.1


def test_costs_are_turnover_times_rate(market):
    rate = 0.003
    result = run_backtest(market, BacktestConfig(cost_rate=rate))
    daily = result.daily
    np.testing.assert_allclose(daily["cost"].to_numpy(), rate * daily["turnover"].to_numpy(),
                               rtol=0, atol=1e-15)
    np.testing.assert_allclose(1 + daily["ret"].to_numpy(),
                               (1 + daily["ret_gross"].to_numpy()) * (1 - daily["cost"].to_numpy()),
                               rtol=0, atol=1e-12)
    assert daily["turnover"].to_numpy()[1:].max() <= 0.30 + 1e-6   # the cap holds when traded
    free = run_backtest(market, BacktestConfig(cost_rate=0.0))
    np.testing.assert_allclose(free.daily["ret"].to_numpy(), daily["ret_gross"].to_numpy(),
                               atol=1e-12)
    drag = np.prod(1 - daily["cost"].to_numpy())
    assert daily["nav"][-1] == pytest.approx(free.daily["nav"][-1] * drag, rel=1e-10)


def test_no_look_ahead(market):
    base = run_backtest(market, BacktestConfig())
    cut = market.decisions[len(market.decisions) // 2]
    poisoned = dataclasses.replace(market, scores=market.scores.copy())
    later = [k for k, t in enumerate(market.decisions) if t >= cut]
    poisoned.scores[later] = -poisoned.scores[later] * 1e3
    shifted = run_backtest(poisoned, BacktestConfig())
    before = market.dates[cut]
    for a, b in ((base, shifted),):
        wa = a.weights.filter(a.weights["decision_date"] < before)
        wb = b.weights.filter(b.weights["decision_date"] < before)
        assert wa.height > 0 and wa.equals(wb)
        da = a.daily.filter(a.daily["trade_date"] <= before)
        db = b.daily.filter(b.daily["trade_date"] <= before)
        assert da.equals(db)
    after = base.weights.filter(base.weights["decision_date"] >= before)
    assert not after.equals(shifted.weights.filter(shifted.weights["decision_date"] >= before))


def test_untradable_stocks_are_not_traded():
    market = make_market(rebalance_days=1)
    # no costs: they are charged pro rata on NAV, which would shrink even a frozen position
    result = run_backtest(market, BacktestConfig(rebalance_days=1, cost_rate=0.0))
    # stock 0 is suspended on days 10-19, so its price is flat: the money in it must not move
    # (decided weight x NAV at each decision's close stays the same)
    weights = result.weights.filter(result.weights["stock_id"] == market.stocks[0])
    decided = dict(zip(weights["decision_date"].to_list(), weights["weight"].to_list(),
                       strict=True))
    nav = dict(zip(result.daily["trade_date"].to_list(), result.daily["nav"].to_list(),
                   strict=True))
    money = [decided[market.dates[t]] * nav[market.dates[t]] for t in range(10, 19)]
    assert money[0] > 0.01
    np.testing.assert_allclose(money, money[0], rtol=1e-9)


def test_expected_returns_are_zscores_with_missing_as_no_view():
    mu = expected_returns(np.array([1.0, 2.0, np.nan, 3.0]))
    assert mu[2] == 0.0 and mu[0] < 0 < mu[3]
    assert mu[[0, 1, 3]].mean() == pytest.approx(0.0)


def test_performance_figures_on_a_known_series():
    import datetime as dt

    dates = [dt.date(2021, 1, 4) + dt.timedelta(days=i) for i in range(60)]
    excess = np.full(60, 0.001)
    excess[10] = -0.05
    figures = excess_metrics(dates, excess)
    assert figures["annual_excess"] == pytest.approx(
        (np.prod(1 + excess)) ** (252 / 60) - 1)
    assert figures["max_drawdown"] == pytest.approx(0.05)   # the one bad day, from a peak
    assert figures["tracking_error"] == pytest.approx(excess.std(ddof=1) * np.sqrt(252))
    assert figures["monthly_win_rate"] == pytest.approx(2 / 3)   # January loses, Feb, Mar win
    assert max_drawdown(np.array([1.1, 0.99, 1.2])) == pytest.approx(1 - 0.99 / 1.1)
    assert max_drawdown(np.array([0.9, 1.0])) == pytest.approx(0.1)


def test_yearly_table_has_years_and_the_whole_period():
    market = make_market(days=400)   # 2021-01-04 + 400 calendar days: two years
    daily = run_backtest(market, BacktestConfig()).daily
    table = yearly_table(daily)
    assert table["period"].to_list() == ["2021", "2022", "Full period"]
    whole = excess_metrics(daily["trade_date"].to_list(), daily["excess"].to_numpy())
    assert table.row(2, named=True)["annual_excess"] == pytest.approx(whole["annual_excess"])
