"""`zoo bench zoo`: the verdicts it draws from measured figures (the training is a benchmark)."""

from __future__ import annotations

import math

from zoo.bench.zoo import verdicts


def _run(market: str, model: str, seed: int, ic: float, oracle: float = 0.15,
         fundamental: float = 0.1) -> dict:
    return {"market": market, "model": model, "seed": seed, "weekly_rank_ic": ic,
            "oracle_weekly_rank_ic": oracle, "style": {"fundamental_abs_corr": fundamental}}


def test_verdicts_judge_the_oracle_share_the_ablation_and_style():
    runs = [
        *[_run("neighbour", "biagru_gat", s, ic) for s, ic in enumerate((0.12, 0.11, 0.13))],
        *[_run("neighbour", "biagru", s, ic) for s, ic in enumerate((0.08, 0.09, 0.085))],
        _run("neighbour", "fund_gru_mlp", 0, 0.05, fundamental=0.4),
        *[_run("no_neighbour", "biagru_gat", s, ic) for s, ic in enumerate((0.08, 0.09, 0.07))],
        *[_run("no_neighbour", "biagru", s, ic) for s, ic in enumerate((0.08, 0.085, 0.075))],
    ]
    out = verdicts({"runs": runs, "full_market_day": {"peak_rss_mib": 1600}})
    assert math.isclose(out["biagru_gat_share_of_oracle"], 0.12 / 0.15, abs_tol=1e-3)
    assert out["biagru_gat_reaches_70pct_of_oracle"] is True
    assert out["neighbour_gat_beats_biagru_beyond_spread"] is True
    assert out["no_neighbour_gat_beats_biagru_beyond_spread"] is False
    assert out["fund_gru_mlp_more_fundamental"] is True
    assert out["full_market_day_under_8gib"] is True


def test_one_seed_gives_no_spread_verdict_and_a_weak_model_fails():
    runs = [_run("neighbour", "biagru_gat", 0, 0.03), _run("neighbour", "biagru", 0, 0.02)]
    out = verdicts({"runs": runs})
    assert out["biagru_gat_reaches_70pct_of_oracle"] is False
    assert out["neighbour_gat_beats_biagru_beyond_spread"] is None
