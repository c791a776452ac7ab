-- No look-ahead: a statement is used only from the first trading day strictly after its
-- announcement. Fails on rows whose as-of date is on or before the announcement date.
AUDIT (
  name statement_not_before_announcement
);

SELECT *
FROM @this_model
WHERE @as_of <= @announced
