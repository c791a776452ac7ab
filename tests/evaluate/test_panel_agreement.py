"""load_panel's date-filtered query gives, row for row, the panel of the plain query it replaced
(every table joined whole, a holder's price path looked up for every row) on the built tiny
market, whose suspensions leave VWAP labels NULL."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from zoo.evaluate.inputs import connect, load_panel, resolve
from zoo.serving import published


def plain_panel(con, source, horizons: tuple[int, ...], start: date | None = None,
                end: date | None = None, every: int | None = None) -> pl.DataFrame:
    """The panel as load_panel built it before issue 22: the reference."""
    hs = sorted(set(horizons))
    steps = (every,) if every else tuple(hs)
    keep = " OR ".join(f"day_index % {s} = 0" for s in steps)
    window = [f"trade_date >= DATE '{start.isoformat()}'"] if start else []
    window += [f"trade_date <= DATE '{end.isoformat()}'"] if end else []
    where = ("WHERE " + " AND ".join(window)) if window else ""
    returns = ", ".join(f"l.fwd_ret_close_{h}d AS ret_close_{h}, l.fwd_ret_vwap_{h}d AS "
                        f"ret_vwap_{h}, COALESCE(l.fwd_ret_vwap_{h}d, x{h}.adj_vwap / n.adj_vwap "
                        f"- 1) AS hold_vwap_{h}" for h in hs)
    exits = ", ".join(f"LEAD(trade_date, {1 + h}) OVER (ORDER BY trade_date) AS exit_date_{h}"
                      for h in hs)
    exit_joins = "\n".join(
        f"LEFT JOIN {published.PRICE_VOLUME.sql} AS x{h} "
        f"ON x{h}.stock_id = l.stock_id AND x{h}.trade_date = c.exit_date_{h}" for h in hs)
    sql = f"""
    WITH factor AS (SELECT * FROM ({source.sql}) {where}),
    days AS (
        SELECT trade_date, (ROW_NUMBER() OVER (ORDER BY trade_date) - 1)::INTEGER AS day_index
        FROM (SELECT DISTINCT trade_date FROM factor
              WHERE trade_date IN (SELECT DISTINCT trade_date FROM {published.LABELS.sql}))
    ), rebalance AS (SELECT * FROM days WHERE {keep}),
    calendar AS (
        SELECT trade_date, LEAD(trade_date) OVER (ORDER BY trade_date) AS next_date, {exits}
        FROM {published.CALENDAR.sql}
    )
    SELECT l.stock_id, l.trade_date, r.day_index, f.factor,
           COALESCE(u.in_universe, FALSE) AS in_universe, {returns},
           COALESCE(l.is_buyable_t1, FALSE) AS buyable,
           COALESCE(NOT (n.is_suspended OR n.is_limit_down_close), FALSE) AS sellable
    FROM {published.LABELS.sql} AS l
    JOIN rebalance AS r ON r.trade_date = l.trade_date
    LEFT JOIN factor AS f ON f.stock_id = l.stock_id AND f.trade_date = l.trade_date
    LEFT JOIN {published.UNIVERSE.sql} AS u
        ON u.stock_id = l.stock_id AND u.trade_date = l.trade_date
    LEFT JOIN calendar AS c ON c.trade_date = l.trade_date
    LEFT JOIN {published.PRICE_VOLUME.sql} AS n
        ON n.stock_id = l.stock_id AND n.trade_date = c.next_date
    {exit_joins}
    ORDER BY l.trade_date, l.stock_id"""
    return pl.from_arrow(con.execute(sql).to_arrow_table())


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
        plain = plain_panel(con, source, horizons, *window, every=every)
    finally:
        con.close()
    assert ours.height > 0
    if window == (None, None):
        # the suspensions the price-path lookup exists for are in the sample
        assert ours[f"ret_vwap_{horizons[0]}"].null_count() > 0
    assert ours.equals(plain)
