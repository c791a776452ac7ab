"""Macros for reading Wind conventions in SQL."""

from datetime import date

from sqlglot import exp
from sqlmesh import macro


@macro()
def wind_date(evaluator, column: exp.Expression) -> exp.Expression:
    """A Wind 'YYYYMMDD' string as a DATE (NULL stays NULL).

    Written as a SQLGlot expression rather than DuckDB text so the project also renders for
    Spark or Trino.
    """
    return exp.cast(exp.StrToTime(this=column, format=exp.Literal.string("%Y%m%d")), "DATE")


@macro()
def wind_text(evaluator, day: exp.Expression) -> exp.Expression:
    """A date as Wind 'YYYYMMDD' text.

    For filtering a daily table on its raw date text (`wind_trade_dt`): Wind text sorts as the
    dates do, and a filter on the stored column itself lets the scan skip every row group
    outside the range, where a filter on `@wind_date(...)` parses every row of history first.
    A literal (`@start_ds`, `@end_ds`) is converted when the model is rendered.
    """
    if isinstance(day, exp.Literal) and day.is_string:
        return exp.Literal.string(date.fromisoformat(day.this[:10]).strftime("%Y%m%d"))
    return exp.TimeToStr(this=exp.cast(day, "DATE"), format=exp.Literal.string("%Y%m%d"))


@macro()
def statement_keys(evaluator) -> list[exp.Expression]:
    """The version keys every Wind statement table shares, renamed and typed:

    stock_id (Wind code), ann_date (announcement date of this version), actual_ann_date (and
    both as stored, wind_ann_dt and wind_actual_ann_dt, to filter on), report_period (quarter
    end), statement_type (408001000 consolidated, 408004000 restated, 408005000 before
    restatement), comp_type (1 non-financial, 2 bank, 3 insurer, 4 broker).
    """
    return [
        exp.cast(exp.column("s_info_windcode"), "TEXT").as_("stock_id"),
        wind_date(evaluator, exp.column("ann_dt")).as_("ann_date"),
        wind_date(evaluator, exp.column("actual_ann_dt")).as_("actual_ann_date"),
        # the same two dates as stored, Wind text: a filter on them skips the scan's other
        # row groups and parses no date (@wind_text)
        exp.cast(exp.column("ann_dt"), "TEXT").as_("wind_ann_dt"),
        exp.cast(exp.column("actual_ann_dt"), "TEXT").as_("wind_actual_ann_dt"),
        wind_date(evaluator, exp.column("report_period")).as_("report_period"),
        exp.cast(exp.column("statement_type"), "TEXT").as_("statement_type"),
        exp.cast(exp.column("comp_type_code"), "INT").as_("comp_type"),
    ]


# Statement types (zoo/ingest/wind.py): consolidated, restated, before restatement.
_CONSOLIDATED, _RESTATED, _BEFORE_RESTATEMENT = "408001000", "408004000", "408005000"


@macro()
def pit_versions(evaluator, table: exp.Expression) -> exp.Expression:
    """The point-in-time versions of one staged statement table, as a SELECT.

    Keeps every column of `table` and adds `version_date` (from when the row's figures were
    public) and `is_restated`. Which rows are versions, for one stock and report period:
    - with a 408005000 row (a correction: 408005000 original under the original ANN_DT,
      408004000 corrected under the correction's), those two are the versions; the 408001000
      row is skipped because Wind rewrites it with the corrected figures under the original
      ANN_DT;
    - without one, the 408001000 row is the original version, dated at the later of ANN_DT
      and ACTUAL_ANN_DT (a late in-place update is not trusted before it happened), and any
      408004000 row (restated comparatives: last year's figures restated in this year's annual
      report, the 408001000 row keeping the original figures) is a later version from its
      ANN_DT. A 408001000 dated on or after the first 408004000 (rewritten then, says its
      ACTUAL_ANN_DT) cannot be told from the restated figures and is not a version.
    One row per stock, report period and version date (a correction wins over an original on
    the same day).
    """
    name = table.sql(dialect="duckdb")
    return exp.maybe_parse(
        f"""
        SELECT *
        FROM (
          SELECT
            s.*,
            CASE
              WHEN s.statement_type = '{_CONSOLIDATED}'
                THEN GREATEST(s.ann_date, COALESCE(s.actual_ann_date, s.ann_date))
              ELSE s.ann_date
            END AS version_date,
            s.statement_type = '{_RESTATED}' AS is_restated,
            MAX(s.statement_type = '{_BEFORE_RESTATEMENT}')
              OVER (PARTITION BY s.stock_id, s.report_period) AS has_original_row,
            MIN(CASE WHEN s.statement_type = '{_RESTATED}' THEN s.ann_date END)
              OVER (PARTITION BY s.stock_id, s.report_period) AS first_restated_date
          FROM {name} AS s
          WHERE s.statement_type IN ('{_CONSOLIDATED}', '{_RESTATED}', '{_BEFORE_RESTATEMENT}')
        ) AS versions
        WHERE statement_type <> '{_CONSOLIDATED}'
          OR (NOT has_original_row
              AND version_date < COALESCE(first_restated_date, DATE '9999-12-31'))
        QUALIFY ROW_NUMBER() OVER (
          PARTITION BY stock_id, report_period, version_date
          ORDER BY statement_type = '{_RESTATED}' DESC
        ) = 1
        """,
        dialect="duckdb",
    )


@macro()
def ttm_from_ytd(evaluator, ytd: exp.Expression) -> exp.Expression:
    """Trailing twelve months of a year-to-date column, from year-to-date figures only:

        TTM_t = YTD_t + FY_{y-1} - YTD_{t, y-1}     (at Q4: TTM = YTD_t, the annual itself)

    with the annual FY_{y-1} as reported. For use over rows of one stock's known reports
    carrying `quarter_index` (4 x year + quarter) and `report_period`, partitioned by stock_id
    and as_of_date; the earlier figures are RANGE frames on the quarter index, so a missing
    report gives NULL, never a pairing of the wrong periods. It needs no single quarter: where
    all four single quarters are known it equals their sum, and it is also defined where one of
    them is not (a report missing between the two year-to-date figures it uses).
    """
    column = ytd.sql(dialect="duckdb")

    def back(k: int) -> str:
        return (f"MAX({column}) OVER (PARTITION BY stock_id, as_of_date ORDER BY quarter_index "
                f"RANGE BETWEEN {k} PRECEDING AND {k} PRECEDING)")

    # the previous annual report is `quarter` periods back; the same period last year 4
    return exp.maybe_parse(
        f"""
        CASE QUARTER(report_period)
          WHEN 4 THEN {column}
          WHEN 1 THEN {column} + {back(1)} - {back(4)}
          WHEN 2 THEN {column} + {back(2)} - {back(4)}
          WHEN 3 THEN {column} + {back(3)} - {back(4)}
        END
        """,
        dialect="duckdb",
    )


@macro()
def last_quarters(
    evaluator, column: exp.Expression, n: exp.Expression | int = 12
) -> exp.Expression:
    """An aggregate: the last `n` quarters of `column` as an array, oldest first.

    For use in a GROUP BY over rows that carry `quarters_back` (0 = the latest known report
    period). Element i is the value `n - 1 - i` quarters back; a quarter that is missing or
    NULL is NaN, so the array always has `n` elements and never holds NULLs (Feast's list
    types cannot carry NULL elements).
    """
    count = int(n.this) if isinstance(n, exp.Literal) else int(n)
    nan = exp.cast(exp.Literal.string("NaN"), "DOUBLE")
    elements = [
        exp.func(
            "COALESCE",
            exp.Max(
                this=exp.If(
                    this=exp.EQ(this=exp.column("quarters_back"), expression=exp.Literal.number(k)),
                    true=column.copy(),
                )
            ),
            nan.copy(),
        )
        for k in range(count - 1, -1, -1)
    ]
    return exp.Array(expressions=elements)
