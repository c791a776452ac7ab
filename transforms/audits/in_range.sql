-- A column within bounds: `low` <= value <= `high`, or strictly above `low` with
-- `low_inclusive := false`; NULL passes (not_null audits it). Fails with the rows outside.
-- The project's form of SQLMesh's accepted_range, whose `@IF(@min_v IS NOT NULL ...)` is
-- evaluated as Python and warns '"is not" with a literal' on every number bound.
AUDIT (
  name in_range,
  defaults (
    low = -1e300,
    high = 1e300,
    low_inclusive = TRUE
  )
);

SELECT *
FROM @this_model
WHERE @column < @low
  OR @column > @high
  OR (NOT @low_inclusive AND @column = @low)
