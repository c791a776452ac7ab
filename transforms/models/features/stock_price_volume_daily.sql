-- The inputs of the daily price-volume models, per stock and trading day: back-adjusted
-- OHLC and VWAP, volume and amount, turnover, the day's total return and the tradability
-- flags. Everything is known at the day's close; each row uses only its own day.
--
-- A view of intermediate.int_daily_prices, which computes and audits every one of these
-- columns (free_turnover_pct's rule is explained there): the rows are stored once, not
-- written a second time here, and a new day costs this model nothing.
MODEL (
  name features.stock_price_volume_daily,
  kind VIEW,
  grain (stock_id, trade_date)
);

SELECT
  p.stock_id::TEXT AS stock_id, -- Wind code
  p.trade_date::DATE AS trade_date, -- trading day
  p.adj_open::DOUBLE AS adj_open, -- back-adjusted open, yuan
  p.adj_high::DOUBLE AS adj_high, -- back-adjusted high, yuan
  p.adj_low::DOUBLE AS adj_low, -- back-adjusted low, yuan
  p.adj_close::DOUBLE AS adj_close, -- back-adjusted close, yuan
  p.adj_vwap::DOUBLE AS adj_vwap, -- back-adjusted VWAP, yuan (close on days without trade)
  p.volume_shares::DOUBLE AS volume_shares, -- volume, shares
  p.amount_yuan::DOUBLE AS amount_yuan, -- amount, yuan
  p.turnover_pct::DOUBLE AS turnover_pct, -- volume / float A shares, percent
  p.free_turnover_pct::DOUBLE AS free_turnover_pct, -- volume / free-float shares, percent (NULL: free float unknown)
  p.ret_1d::DOUBLE AS ret_1d, -- total return close to close: adj_close / previous adj_close - 1 (listing day: from the issue price)
  p.is_suspended::BOOLEAN AS is_suspended, -- no trading that day
  p.is_st::BOOLEAN AS is_st, -- under special treatment that day
  p.is_limit_up_close::BOOLEAN AS is_limit_up_close, -- closed at limit-up
  p.is_limit_down_close::BOOLEAN AS is_limit_down_close, -- closed at limit-down
  p.is_limit_up_open::BOOLEAN AS is_limit_up_open -- opened at limit-up
FROM intermediate.int_daily_prices AS p
