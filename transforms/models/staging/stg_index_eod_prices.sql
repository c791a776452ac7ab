-- Daily index levels (raw.AIndexEODPrices).
MODEL (
  name staging.stg_index_eod_prices,
  kind VIEW,
  grain (index_id, trade_date),
  audits (not_null(columns := (index_id, trade_date, close)))
);

SELECT
  s_info_windcode::TEXT AS index_id, -- index code, e.g. 000905.SH
  @wind_date(trade_dt) AS trade_date, -- trading day
  s_dq_preclose::DOUBLE AS pre_close, -- previous close, points
  s_dq_open::DOUBLE AS open, -- open, points
  s_dq_high::DOUBLE AS high, -- high, points
  s_dq_low::DOUBLE AS low, -- low, points
  s_dq_close::DOUBLE AS close, -- close, points
  s_dq_volume::DOUBLE AS volume_lots, -- volume, lots of 100 shares
  s_dq_amount::DOUBLE AS amount_kyuan -- amount, thousand yuan
FROM raw.aindexeodprices
