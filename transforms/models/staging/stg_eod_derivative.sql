-- Daily market values, share counts, turnover and limit status (raw.AShareEODDerivativeIndicator).
-- Units stay Wind's and are named in the columns.
MODEL (
  name staging.stg_eod_derivative,
  kind VIEW,
  grain (stock_id, trade_date),
  audits (not_null(columns := (stock_id, trade_date, total_mv_10k)))
);

SELECT
  s_info_windcode::TEXT AS stock_id, -- Wind code
  @wind_date(trade_dt) AS trade_date, -- trading day
  trade_dt::TEXT AS wind_trade_dt, -- the trading day as Wind text: filter on it (@wind_text), the scan skips other days
  s_val_mv::DOUBLE AS total_mv_10k, -- total market value, 10 thousand yuan
  s_dq_mv::DOUBLE AS float_mv_10k, -- float A-share market value, 10 thousand yuan
  tot_shr_today::DOUBLE AS total_shares_10k, -- total shares, 10 thousand shares
  float_a_shr_today::DOUBLE AS float_shares_10k, -- float A shares, 10 thousand shares
  free_shares_today::DOUBLE AS free_shares_10k, -- free-float shares, 10 thousand shares
  s_dq_turn::DOUBLE AS turnover_pct, -- turnover on float shares, percent
  s_dq_freeturnover::DOUBLE AS free_turnover_pct, -- turnover on free-float shares, percent
  s_val_pe_ttm::DOUBLE AS pe_ttm, -- total MV / TTM parent net profit
  s_val_pb_new::DOUBLE AS pb, -- total MV / latest parent equity
  up_down_limit_status::INT AS limit_status -- 1 closed limit-up, -1 limit-down, 0 neither
FROM raw.ashareeodderivativeindicator
