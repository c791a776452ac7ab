-- The published A-share trading calendar: one row per trading day (SSE and SZSE share one
-- calendar; see staging.stg_trade_calendar). Consumers outside transforms/ read the calendar
-- here, never from staging (zoo/serving/published.py lists the published relations).
--
-- It lives in its own `reference` schema, not in `features`: it has no stock to key a Feast
-- view on, and `zoo features apply` exports every features/labels model to Feast, so keeping it
-- out of those schemas keeps it out of the Feast export. A view, like the staging model it
-- publishes, so it always holds exactly the trading days of the loaded raw.AShareCalendar.
MODEL (
  name reference.trade_calendar,
  kind VIEW,
  grain trade_date,
  audits (
    unique_values(columns := (trade_date)),
    not_null(columns := (trade_date))
  )
);

SELECT
  trade_date::DATE AS trade_date -- trading day (the exchanges are open)
FROM staging.stg_trade_calendar
