-- Daily unadjusted prices of A-shares (raw.AShareEODPrices), renamed and typed.
-- Units stay Wind's and are named in the columns: volume in lots, amount in thousand yuan.
-- Raw keys are enforced by `zoo data load` (primary key), so no deduplication is needed.
MODEL (
  name staging.stg_eod_prices,
  kind VIEW,
  grain (stock_id, trade_date),
  audits (not_null(columns := (stock_id, trade_date, close)))
);

SELECT
  s_info_windcode::TEXT AS stock_id, -- Wind code, e.g. 600000.SH
  @wind_date(trade_dt) AS trade_date, -- trading day
  trade_dt::TEXT AS wind_trade_dt, -- the trading day as Wind text: filter on it (@wind_text), the scan skips other days
  s_dq_preclose::DOUBLE AS pre_close, -- previous close, yuan (ex-rights adjusted on ex-dates)
  s_dq_open::DOUBLE AS open, -- open, yuan
  s_dq_high::DOUBLE AS high, -- high, yuan
  s_dq_low::DOUBLE AS low, -- low, yuan
  s_dq_close::DOUBLE AS close, -- close, yuan
  s_dq_pctchange::DOUBLE AS pct_change, -- close / pre_close - 1, percent
  s_dq_volume::DOUBLE AS volume_lots, -- volume, lots of 100 shares
  s_dq_amount::DOUBLE AS amount_kyuan, -- amount, thousand yuan
  s_dq_adjfactor::DOUBLE AS adj_factor, -- back-adjustment factor: adjusted = raw x factor
  s_dq_avgprice::DOUBLE AS vwap, -- volume-weighted average price, yuan
  s_dq_tradestatus::TEXT AS trade_status, -- 交易, 停牌, XD, XR, DR, N
  s_dq_tradestatuscode::INT AS trade_status_code -- 0 suspended, -1 normal
FROM raw.ashareeodprices
