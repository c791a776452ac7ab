-- Every calendar day since the exchanges opened, mapped to the trading calendar: whether it is a
-- trading day, the last trading day on or before it, and the first trading day strictly after
-- it (when a statement announced that day becomes usable: announcements come after the close).
-- Days before the first trading day of the calendar map to that first trading day.
MODEL (
  name intermediate.int_calendar_days,
  kind FULL,
  grain calendar_date,
  audits (
    unique_values(columns := (calendar_date)),
    not_null(columns := (calendar_date, is_trading_day))
  )
);

WITH trading_days AS (
  SELECT trade_date FROM staging.stg_trade_calendar
), bounds AS (
  SELECT MAX(trade_date) AS last_trade_date FROM trading_days
), calendar_days AS (
  SELECT CAST(day AS DATE) AS calendar_date
  FROM bounds
  CROSS JOIN UNNEST(
    GENERATE_SERIES(DATE '1990-01-01', bounds.last_trade_date, INTERVAL 1 DAY)
  ) AS series(day)
)
SELECT
  d.calendar_date::DATE AS calendar_date, -- calendar day
  (t.trade_date IS NOT NULL)::BOOLEAN AS is_trading_day, -- the exchanges are open that day
  MAX(t.trade_date) OVER (
    ORDER BY d.calendar_date ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
  )::DATE AS trading_day_on_or_before, -- last trading day on or before the day (NULL before the first)
  MIN(t.trade_date) OVER (
    ORDER BY d.calendar_date ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING
  )::DATE AS next_trading_day -- first trading day strictly after the day (NULL after the last)
FROM calendar_days AS d
LEFT JOIN trading_days AS t
  ON t.trade_date = d.calendar_date
