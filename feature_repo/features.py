"""Feature views over the SQLMesh `features` models (one view per model, same name and columns).

TTLs: a daily view's row is served for at most 14 days after its date (long enough to cross
the Spring Festival and National Day closures, short enough that a delisted or missing stock
is not served as if fresh); the quarterly fundamental view's row lives until the next report
is due: the longest gap between two legal deadlines is from the Q3 window (opening 1 October)
to the annual report (30 April), about seven months.

A test (tests/features/test_repo.py) checks that every column of every SQLMesh features model
is declared here with a matching type, and nothing else.
"""

from datetime import timedelta

from feast import FeatureView, Field
from feast.types import Array, Bool, Float64, Int32, String, UnixTimestamp

from entities import stock
from sources import offline_source

DAILY_TTL = timedelta(days=14)
QUARTERLY_TTL = timedelta(days=215)

stock_price_volume_daily = FeatureView(
    name="stock_price_volume_daily",
    entities=[stock],
    ttl=DAILY_TTL,
    source=offline_source("stock_price_volume_daily"),
    description="Daily inputs of the price-volume models: adjusted prices, volume, turnover, "
    "flags.",
    tags={"kind": "features", "grain": "stock, trade_date"},
    schema=[
        Field(name="adj_open", dtype=Float64),
        Field(name="adj_high", dtype=Float64),
        Field(name="adj_low", dtype=Float64),
        Field(name="adj_close", dtype=Float64),
        Field(name="adj_vwap", dtype=Float64),
        Field(name="volume_shares", dtype=Float64),
        Field(name="amount_yuan", dtype=Float64),
        Field(name="turnover_pct", dtype=Float64),
        Field(name="free_turnover_pct", dtype=Float64),
        Field(name="ret_1d", dtype=Float64),
        Field(name="is_suspended", dtype=Bool),
        Field(name="is_st", dtype=Bool),
        Field(name="is_limit_up_close", dtype=Bool),
        Field(name="is_limit_down_close", dtype=Bool),
        Field(name="is_limit_up_open", dtype=Bool),
    ],
)

stock_universe_daily = FeatureView(
    name="stock_universe_daily",
    entities=[stock],
    ttl=DAILY_TTL,
    source=offline_source("stock_universe_daily"),
    description="The day's universe (listed >= 120 trading days, not ST, not suspended) "
    "and index weights.",
    tags={"kind": "features", "grain": "stock, trade_date"},
    schema=[
        Field(name="listed_trading_days", dtype=Int32),
        Field(name="is_st", dtype=Bool),
        Field(name="is_suspended", dtype=Bool),
        Field(name="in_universe", dtype=Bool),
        Field(name="csi300_weight_pct", dtype=Float64),
        Field(name="csi500_weight_pct", dtype=Float64),
        Field(name="csi1000_weight_pct", dtype=Float64),
    ],
)

stock_style_daily = FeatureView(
    name="stock_style_daily",
    entities=[stock],
    ttl=DAILY_TTL,
    source=offline_source("stock_style_daily"),
    description="Style factor exposures (z-scores on the day's universe) and the CITIC "
    "level-1 industry.",
    tags={"kind": "features", "grain": "stock, trade_date"},
    schema=[
        Field(name="industry_l1_code", dtype=String),
        Field(name="industry_l1_name", dtype=String),
        Field(name="in_universe", dtype=Bool),
        Field(name="total_mv_yuan", dtype=Float64),
        Field(name="size", dtype=Float64),
        Field(name="midcap", dtype=Float64),
        Field(name="bp", dtype=Float64),
        Field(name="ep", dtype=Float64),
        Field(name="momentum_20d", dtype=Float64),
        Field(name="liquidity_20d", dtype=Float64),
        Field(name="volatility_20d", dtype=Float64),
        Field(name="profitability", dtype=Float64),
        Field(name="growth", dtype=Float64),
        Field(name="sue", dtype=Float64),
    ],
)

stock_fundamental_quarterly = FeatureView(
    name="stock_fundamental_quarterly",
    entities=[stock],
    ttl=QUARTERLY_TTL,
    source=offline_source("stock_fundamental_quarterly"),
    description="The point-in-time fundamental vector: the latest quarter and the last 12 quarters "
    "as arrays (oldest first, NaN = unknown), from the first trading day after the announcement.",
    tags={"kind": "features", "grain": "stock, available_date"},
    schema=[
        Field(name="latest_report_period", dtype=UnixTimestamp),
        Field(name="last_announced_date", dtype=UnixTimestamp),
        Field(name="is_restated", dtype=Bool),
        Field(name="comp_type", dtype=Int32),
        Field(name="quarters_known", dtype=Int32),
        Field(name="revenue_q", dtype=Float64),
        Field(name="revenue_ttm", dtype=Float64),
        Field(name="operating_profit_q", dtype=Float64),
        Field(name="operating_profit_ttm", dtype=Float64),
        Field(name="net_profit_q", dtype=Float64),
        Field(name="net_profit_ttm", dtype=Float64),
        Field(name="operating_cash_flow_q", dtype=Float64),
        Field(name="operating_cash_flow_ttm", dtype=Float64),
        Field(name="parent_equity", dtype=Float64),
        Field(name="total_assets", dtype=Float64),
        Field(name="roe_ttm", dtype=Float64),
        Field(name="roa_ttm", dtype=Float64),
        Field(name="gross_margin_q", dtype=Float64),
        Field(name="net_margin_q", dtype=Float64),
        Field(name="revenue_yoy", dtype=Float64),
        Field(name="net_profit_yoy", dtype=Float64),
        Field(name="accruals_ttm", dtype=Float64),
        Field(name="leverage", dtype=Float64),
        Field(name="sue", dtype=Float64),
        Field(name="revenue_q_12q", dtype=Array(Float64)),
        Field(name="revenue_ttm_12q", dtype=Array(Float64)),
        Field(name="operating_profit_q_12q", dtype=Array(Float64)),
        Field(name="operating_profit_ttm_12q", dtype=Array(Float64)),
        Field(name="net_profit_q_12q", dtype=Array(Float64)),
        Field(name="net_profit_ttm_12q", dtype=Array(Float64)),
        Field(name="operating_cash_flow_q_12q", dtype=Array(Float64)),
        Field(name="operating_cash_flow_ttm_12q", dtype=Array(Float64)),
        Field(name="parent_equity_12q", dtype=Array(Float64)),
        Field(name="total_assets_12q", dtype=Array(Float64)),
        Field(name="roe_ttm_12q", dtype=Array(Float64)),
        Field(name="roa_ttm_12q", dtype=Array(Float64)),
        Field(name="gross_margin_q_12q", dtype=Array(Float64)),
        Field(name="net_margin_q_12q", dtype=Array(Float64)),
        Field(name="revenue_yoy_12q", dtype=Array(Float64)),
        Field(name="net_profit_yoy_12q", dtype=Array(Float64)),
        Field(name="accruals_ttm_12q", dtype=Array(Float64)),
        Field(name="leverage_12q", dtype=Array(Float64)),
        Field(name="sue_12q", dtype=Array(Float64)),
    ],
)
