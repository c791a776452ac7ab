-- Index weights add up: on every day where an index has members with a known weight, the
-- weights in `weight` (percent, one column per index) sum to at most 100 + `tolerance`. Less
-- than 100 is legitimate: an extract covering part of the market holds only part of each
-- index (features.stock_universe_daily scales them to the share it covers). More is a bug.
-- Fails with the offending days and their sums.
AUDIT (
  name index_weights_sum,
  defaults (
    tolerance = 0.01,
    date_column = trade_date
  )
);

SELECT
  @date_column AS day,
  SUM(@weight) AS weight_sum
FROM @this_model
GROUP BY @date_column
HAVING SUM(CASE WHEN @weight > 0 THEN 1 ELSE 0 END) > 0
  AND SUM(@weight) > 100 + @tolerance
