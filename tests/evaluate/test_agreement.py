"""The fast evaluation steps give the results of the plain ones they replaced (zoo.evaluate.plain)
on the built tiny market, whose suspensions leave VWAP labels NULL and whose fundamentals start
late: the panel and the portfolios' target arrays exactly, correlations and every figure of a
whole evaluation to rounding."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import polars as pl
import pytest

from zoo.evaluate import ic, plain, style, topn
from zoo.evaluate.evaluation import EvalConfig, evaluate
from zoo.evaluate.inputs import connect, load_panel, resolve

ROUNDING = 1e-12


@pytest.mark.parametrize(("name", "horizons", "window", "every"), [
    ("oracle", (5, 10, 15, 20), (None, None), None),
    ("oracle", (5,), (None, None), 1),
    ("fake_good", (5, 10, 15, 20), (None, None), None),
    ("fake_good", (10, 20), (date(2020, 3, 1), date(2020, 9, 30)), None),
    ("stock_style_daily.momentum_20d", (15,), (date(2019, 6, 1), None), None),
])
def test_panel_matches_the_plain_query(eval_home, name, horizons, window, every):
    con = connect(eval_home / "warehouse.duckdb")
    try:
        source = resolve(con, name)
        ours = load_panel(con, source, horizons, *window, every=every)
        reference = load_panel(con, source, horizons, *window, every=every,
                               build_sql=plain.panel_sql)
    finally:
        con.close()
    assert ours.height > 0
    if window == (None, None):
        # the suspensions the price-path lookup exists for are in the sample
        assert ours[f"ret_vwap_{horizons[0]}"].null_count() > 0
    assert ours.equals(reference)


@pytest.fixture(scope="module")
def panel(eval_home) -> pl.DataFrame:
    con = connect(eval_home / "warehouse.duckdb")
    try:
        return load_panel(con, resolve(con, "fake_good"))
    finally:
        con.close()


@pytest.mark.parametrize("horizon", [5, 10, 15, 20])
def test_dense_arrays_match_the_plain_ones(panel, horizon):
    ours, reference = topn.dense(panel, horizon, 7, 10), plain.dense(panel, horizon, 7, 10)
    assert ours.dates == reference.dates and ours.stocks == reference.stocks
    for field in ("present", "ret", "hold", "buyable", "sellable", "tradable_universe"):
        np.testing.assert_array_equal(getattr(ours, field), getattr(reference, field), field)
    for portfolio in topn.PORTFOLIOS:
        assert ours.targets[portfolio].any()
        np.testing.assert_array_equal(ours.targets[portfolio], reference.targets[portfolio])


@pytest.mark.parametrize("horizon", [5, 20])
def test_autocorrelation_matches_the_plain_one(panel, horizon):
    ours, reference = ic.autocorrelation(panel, horizon), plain.autocorrelation(panel, horizon)
    assert ours.height > 10
    assert ours.drop("autocorr").equals(reference.drop("autocorr"))
    np.testing.assert_allclose(ours["autocorr"].to_numpy(), reference["autocorr"].to_numpy(),
                               rtol=0, atol=ROUNDING)


def test_style_correlations_match_the_plain_ones(eval_home, panel):
    con = connect(eval_home / "warehouse.duckdb")
    try:
        ours = style.correlations(con, panel, 20)
        reference = plain.correlations(con, panel, 20)
    finally:
        con.close()
    assert set(ours["group"]) == {"style", "fundamental"}
    assert ours.drop("corr").equals(reference.drop("corr"))
    np.testing.assert_allclose(ours["corr"].to_numpy(), reference["corr"].to_numpy(),
                               rtol=0, atol=ROUNDING)


def _assert_close(ours, reference, path="summary"):
    if isinstance(reference, dict):
        assert ours.keys() == reference.keys(), path
        for key in reference:
            _assert_close(ours[key], reference[key], f"{path}[{key!r}]")
    elif isinstance(reference, float) and math.isnan(reference):
        assert math.isnan(ours), path
    elif isinstance(reference, float):
        assert ours == pytest.approx(reference, rel=0, abs=ROUNDING), path
    else:
        assert ours == reference, path


def _assert_frames_close(ours: pl.DataFrame, reference: pl.DataFrame, keys: list[str]):
    ours, reference = ours.sort(keys), reference.sort(keys)
    floats = [c for c, kind in reference.schema.items() if kind == pl.Float64]
    assert ours.drop(floats).equals(reference.drop(floats))
    for column in floats:
        np.testing.assert_allclose(ours[column].to_numpy(), reference[column].to_numpy(),
                                   rtol=0, atol=ROUNDING, err_msg=column)


@pytest.mark.parametrize("name", ["fake_good", "oracle"])
def test_whole_evaluation_matches_the_plain_steps(eval_home, name):
    warehouse = eval_home / "warehouse.duckdb"
    config = EvalConfig(top_n=7)
    ours = evaluate(name, config, warehouse=warehouse)
    reference = evaluate(name, config, warehouse=warehouse, plain=True)
    assert (ours.first_date, ours.last_date) == (reference.first_date, reference.last_date)
    _assert_close(ours.summary, reference.summary)
    _assert_frames_close(ours.ic, reference.ic, ["horizon", "label", "trade_date"])
    _assert_frames_close(ours.ic_years, reference.ic_years, ["horizon", "label", "year"])
    _assert_frames_close(ours.periods, reference.periods, ["horizon", "portfolio", "trade_date"])
    _assert_frames_close(ours.style, reference.style, ["group", "factor"])
