"""Label views: forward returns, which look into the future by construction.

Tagged `kind: labels`; no feature service meant for model inputs contains them (a test checks).
The zoo joins them to its training sets itself, point in time, from the same view.

A label belongs to its own day only: its TTL is under a day, so a day whose label has not
arrived yet (the latest 21 trading days) gets no label instead of the day before's, which a
daily feature's TTL of two weeks would hand it.
"""

from datetime import timedelta

from feast import FeatureView, Field
from feast.types import Bool, Float64

from entities import stock
from sources import offline_source

LABEL_TTL = timedelta(hours=23)

stock_fwd_return_daily = FeatureView(
    name="stock_fwd_return_daily",
    entities=[stock],
    ttl=LABEL_TTL,
    source=offline_source("stock_fwd_return_daily", schema="labels"),
    description="Forward returns over 5/10/15/20 trading days from T+1 VWAP and from T close "
    "(NULL when the entry day is suspended), their excess over the mean of the day's universe "
    "(for VWAP: its stocks buyable at T+1), and whether the stock could be bought at T+1.",
    tags={"kind": "labels", "grain": "stock, trade_date"},
    schema=[
        Field(name="fwd_ret_vwap_5d", dtype=Float64),
        Field(name="fwd_ret_vwap_10d", dtype=Float64),
        Field(name="fwd_ret_vwap_15d", dtype=Float64),
        Field(name="fwd_ret_vwap_20d", dtype=Float64),
        Field(name="fwd_ret_close_5d", dtype=Float64),
        Field(name="fwd_ret_close_10d", dtype=Float64),
        Field(name="fwd_ret_close_15d", dtype=Float64),
        Field(name="fwd_ret_close_20d", dtype=Float64),
        Field(name="fwd_excess_vwap_5d", dtype=Float64),
        Field(name="fwd_excess_vwap_10d", dtype=Float64),
        Field(name="fwd_excess_vwap_15d", dtype=Float64),
        Field(name="fwd_excess_vwap_20d", dtype=Float64),
        Field(name="fwd_excess_close_5d", dtype=Float64),
        Field(name="fwd_excess_close_10d", dtype=Float64),
        Field(name="fwd_excess_close_15d", dtype=Float64),
        Field(name="fwd_excess_close_20d", dtype=Float64),
        Field(name="is_buyable_t1", dtype=Bool),
    ],
)
