-- A-share trading days (raw.AShareCalendar). SSE and SZSE share one calendar; a day is a
-- trading day when either exchange trades, so the two exchanges' rows collapse to one.
MODEL (
  name staging.stg_trade_calendar,
  kind VIEW,
  grain trade_date,
  audits (unique_values(columns := (trade_date)))
);

SELECT DISTINCT
  @wind_date(trade_days) AS trade_date -- trading day
FROM raw.asharecalendar
WHERE s_info_exchmarket IN ('SSE', 'SZSE')
