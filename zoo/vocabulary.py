"""The project's shared terms, each named once: label horizons, the fields of a quarter, the
style factors, the price-volume window's columns and the keys of a day's batch.

The SQL models in transforms/ and the Feast views in feature_repo/ are the source of the
columns themselves; this module names the subsets the Python stages agree on.
"""

from __future__ import annotations

__all__ = [
    "BATCH_KEYS", "COST_RATE", "FUNDAMENTAL_FACTORS", "FUNDAMENTAL_FIELDS", "HORIZONS",
    "MONEY_FIELDS", "PRICE_COLUMNS", "STYLE_FACTORS", "STYLE_SLOTS", "ZSCORE_CLIP",
]

# Forward-return labels exist for these holding periods, in trading days
# (labels.stock_fwd_return_daily: fwd_ret_vwap_{h}d and fwd_ret_close_{h}d; truth ER_{h}D).
HORIZONS: tuple[int, ...] = (5, 10, 15, 20)

# Trading costs, one convention everywhere: a round-trip rate (the seed report's "双边 3‰" =
# 0.003), charged as rate x one-way turnover (one-way = sum |w_new - w_old| / 2), i.e. half the
# rate per yuan bought and half per yuan sold.
COST_RATE = 0.003

# The 19 fields of each quarter, in the order of the last axis of batch["fundamentals"]
# (columns of features.stock_fundamental_quarterly).
FUNDAMENTAL_FIELDS: tuple[str, ...] = (
    "revenue_q", "revenue_ttm", "operating_profit_q", "operating_profit_ttm", "net_profit_q",
    "net_profit_ttm", "operating_cash_flow_q", "operating_cash_flow_ttm", "parent_equity",
    "total_assets", "roe_ttm", "roa_ttm", "gross_margin_q", "net_margin_q", "revenue_yoy",
    "net_profit_yoy", "accruals_ttm", "leverage", "sue",
)
# The amounts in yuan among them (they span orders of magnitude).
MONEY_FIELDS: tuple[str, ...] = FUNDAMENTAL_FIELDS[:10]

# The style factors of features.stock_style_daily (z-scored on the universe), with the seed
# report's name for each, in the order of the last axis of batch["style"].
STYLE_FACTORS: dict[str, str] = {
    "size": "市值", "midcap": "中盘", "bp": "BP", "ep": "EP", "momentum_20d": "1个月动量",
    "liquidity_20d": "流动性", "volatility_20d": "波动率", "profitability": "盈利",
    "growth": "成长", "sue": "SUE",
}
# The models' style width: the ten factors and one reserved zero slot.
STYLE_SLOTS = len(STYLE_FACTORS) + 1

# Point-in-time fundamentals the factor evaluation correlates scores with.
FUNDAMENTAL_FACTORS: dict[str, str] = {
    "roe_ttm": "ROE (TTM)", "roa_ttm": "ROA (TTM)", "gross_margin_q": "毛利率",
    "net_margin_q": "净利率", "revenue_yoy": "营收同比", "net_profit_yoy": "净利润同比",
    "accruals_ttm": "应计", "leverage": "杠杆", "sue": "SUE",
}

# Standardised model inputs are clipped to this many standard deviations.
ZSCORE_CLIP = 5.0

# The daily columns of the price-volume window (features.stock_price_volume_daily).
PRICE_COLUMNS: tuple[str, ...] = ("adj_open", "adj_high", "adj_low", "adj_close", "adj_vwap",
                                  "volume_shares")

# The keys of a day's batch (zoo.datasets.protocol.DayBatches) and their meaning.
BATCH_KEYS: tuple[str, ...] = (
    "price_volume",  # float [N, T, 6], may hold NaN outside price_mask
    "price_mask",  # bool [N]: the stock has a full price window
    "fundamentals",  # float [N, Q, G], standardised, 0 where unknown
    "fund_mask",  # bool [N, Q]: quarter known
    "style",  # float [N, S]
    "edge_index",  # long [2, E], indices into the day's N stocks
    "industry",  # long [N]: the day's industry of each stock (0, 1, ...), -1 unknown
    "label",  # float [N], standardised forward excess return, 0 outside label_mask
    "label_mask",  # bool [N]
    "stock_index",  # long [N], index into `stock_ids`
)
