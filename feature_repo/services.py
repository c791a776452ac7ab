"""Versioned feature services: what consumers ask for.

A published service is never edited: changing what one returns means a new `_v2` beside it.
Label views are in `labels_v1` only, never in a service meant for model inputs.
"""

from feast import FeatureService

from features import (
    stock_fundamental_quarterly,
    stock_price_volume_daily,
    stock_style_daily,
    stock_universe_daily,
)
from labels import stock_fwd_return_daily

price_volume_v1 = FeatureService(
    name="price_volume_v1",
    features=[stock_price_volume_daily],
    description="Inputs of the daily price-volume models (the zoo cuts 40-day windows from them).",
    tags={"kind": "inputs"},
)

fundamentals_v1 = FeatureService(
    name="fundamentals_v1",
    features=[stock_fundamental_quarterly],
    description="The point-in-time 12-quarter fundamental vector.",
    tags={"kind": "inputs"},
)

style_v1 = FeatureService(
    name="style_v1",
    features=[stock_style_daily],
    description="Style factor exposures and the CITIC level-1 industry.",
    tags={"kind": "inputs"},
)

portfolio_inputs_v1 = FeatureService(
    name="portfolio_inputs_v1",
    features=[
        # in_universe and is_suspended come from stock_universe_daily only (names must be unique)
        stock_style_daily[[f.name for f in stock_style_daily.features if f.name != "in_universe"]],
        stock_universe_daily,
        stock_price_volume_daily[["adj_close", "adj_vwap", "ret_1d", "is_limit_up_open",
                                  "is_limit_down_close"]],
    ],
    description="What the index-enhancement optimiser needs on a rebalance day: exposures, "
    "industries, benchmark weights, tradability.",
    tags={"kind": "inputs"},
)

labels_v1 = FeatureService(
    name="labels_v1",
    features=[stock_fwd_return_daily],
    description="Forward-return labels for training and evaluation (look into the future).",
    tags={"kind": "labels"},
)
