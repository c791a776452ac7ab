"""Macros for reading Wind conventions in SQL."""

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
def statement_keys(evaluator) -> list[exp.Expression]:
    """The version keys every Wind statement table shares, renamed and typed:

    stock_id (Wind code), ann_date (announcement date of this version), actual_ann_date,
    report_period (quarter end), statement_type (408001000 consolidated, 408004000 restated,
    408005000 before restatement), comp_type (1 non-financial, 2 bank, 3 insurer, 4 broker).
    """
    return [
        exp.cast(exp.column("s_info_windcode"), "TEXT").as_("stock_id"),
        wind_date(evaluator, exp.column("ann_dt")).as_("ann_date"),
        wind_date(evaluator, exp.column("actual_ann_dt")).as_("actual_ann_date"),
        wind_date(evaluator, exp.column("report_period")).as_("report_period"),
        exp.cast(exp.column("statement_type"), "TEXT").as_("statement_type"),
        exp.cast(exp.column("comp_type_code"), "INT").as_("comp_type"),
    ]
