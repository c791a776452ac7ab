"""Failing rows of an audit, shown where the failure is reported (issue 17).

SQLMesh reports a failed audit by name, model, count and query: "'not_null' audit error: 2
rows failed" names neither the rows nor their cause. `AuditRows` is a notification target
(config.py registers it for `audit_failure`, which `sqlmesh plan` and `sqlmesh run` raise for
every failed audit, blocking or not): it runs the failed audit's query again, on SQLMesh's own
connection to the warehouse (the model's rows are written before its audits run), and prints
the first `ROWS_SHOWN` failing rows (the model's grain and the columns the audit names), each
followed by what it came from: the raw rows of the same stock and day (`TRADE_DT`) or report
period (`REPORT_PERIOD`), and the stock's `AShareDescription` row.

Showing rows must never be what breaks a plan: any error while looking them up is printed in
their place. It works on either gateway (config.py): the queries are built with SQLGlot in the
dialect of the engine that ran the audit, DuckDB's warehouse or the Spark session of the plan.
"""

from __future__ import annotations

import typing as t

from sqlglot import exp
from sqlmesh.core.config import DuckDBConnectionConfig, SparkConnectionConfig
from sqlmesh.core.console import get_console
from sqlmesh.core.notification_target import GenericNotificationTarget, NotificationEvent

if t.TYPE_CHECKING:
    from sqlmesh.core.engine_adapter import EngineAdapter
    from sqlmesh.utils.errors import AuditError

ROWS_SHOWN = 5
RAW_ROWS_SHOWN = 3  # per raw table and failing row
COLUMNS_SHOWN = 8  # a failing row with more columns shows its grain and audited columns
STOCK = "stock_id"
# model column -> the Wind column holding the same thing in a raw table
DAYS = {"trade_date": "TRADE_DT", "day": "TRADE_DT", "report_period": "REPORT_PERIOD"}
DESCRIPTION = "AShareDescription"


class AuditRows(GenericNotificationTarget):
    """Prints the first failing rows of each failed audit, and the raw rows behind them."""

    database: str
    notify_on: frozenset[NotificationEvent] = frozenset({NotificationEvent.AUDIT_FAILURE})

    def notify_audit_failure(self, audit_error: AuditError, *args: t.Any, **kwargs: t.Any) -> None:
        try:
            text = self.describe(audit_error)
        except Exception as err:  # noqa: BLE001 - a diagnostic must not fail the plan
            text = f"(could not show the failing rows: {err})"
        get_console().log_error(_escape(text))

    def describe(self, audit_error: AuditError) -> str:
        adapter = self._adapter(audit_error)
        model = audit_error.model
        name = model.name if model else "?"
        args = ", ".join(f"{k} := {v.sql(dialect='duckdb')}"
                         for k, v in audit_error.audit_args.items())
        columns, rows = _fetch(adapter, f"SELECT * FROM ({audit_error.sql(adapter.dialect)}) "
                                        f"AS failing LIMIT {ROWS_SHOWN}")
        shown = _shown_columns(columns, audit_error)
        count = audit_error.count
        lines = [f"Audit '{audit_error.audit_name}' failed on {name}"
                 + (f" ({args})" if args else "")
                 + f": {count} row{'s' if count != 1 else ''}; the first {len(rows)}, with the "
                 "raw rows they came from:"]
        raw_columns = _raw_columns(adapter)
        for row in rows:
            values = dict(zip(columns, row, strict=True))
            lines.append("  " + _format({c: values[c] for c in shown}))
            lines += [f"    from raw.{table}: {_format(found)}"
                      for table, found in _raw_rows(adapter, raw_columns, values)]
        return "\n".join(lines)

    def _adapter(self, audit_error: AuditError) -> EngineAdapter:
        if audit_error.adapter_dialect == "spark":
            # the plan's own session: Spark hands the one open in this process to any builder
            return SparkConnectionConfig(check_import=False).create_engine_adapter()
        # SQLMesh keeps one DuckDB adapter per data file: this is the plan's own connection
        # (a second connection to the file would be refused while the plan holds it).
        return DuckDBConnectionConfig(database=self.database).create_engine_adapter()


def _fetch(adapter: EngineAdapter, sql: str) -> tuple[list[str], list[tuple]]:
    if adapter.dialect == "spark":  # its DB-API cursor names no columns
        frame = adapter.spark.sql(sql)
        return list(frame.columns), [tuple(row) for row in frame.collect()]
    cursor = adapter.cursor
    cursor.execute(sql)
    rows = cursor.fetchall()
    return [d[0] for d in cursor.description], rows


def _shown_columns(columns: list[str], audit_error: AuditError) -> list[str]:
    """All columns of a narrow row; else the model's grain and the columns the audit names."""
    if len(columns) <= COLUMNS_SHOWN:
        return columns
    wanted: list[str] = []
    model = audit_error.model
    for expression in [*(model.grains if model else []), *audit_error.audit_args.values()]:
        wanted += [c.name for c in expression.find_all(exp.Column)]
    shown = [c for c in dict.fromkeys(wanted) if c in columns]
    return shown or columns[:COLUMNS_SHOWN]


def _raw_columns(adapter: EngineAdapter) -> dict[str, list[str]]:
    """raw table -> its columns (upper case), the loader's own tables (_loads, ...) left out."""
    return {table.name: [column.upper() for column in adapter.columns(f"raw.{table.name}")]
            for table in adapter.get_data_objects("raw") if not table.name.startswith("_")}


def _raw_rows(adapter: EngineAdapter, raw_columns: dict[str, list[str]],
              values: dict[str, t.Any]) -> list[tuple[str, dict[str, t.Any]]]:
    """(raw table, row) of the raw rows with the failing row's stock and day or report period,
    and the stock's description row."""
    stock = values.get(STOCK)
    if stock is None:
        return []
    matches = [(table, {"S_INFO_WINDCODE": stock, wind: _wind_date(values[column])})
               for column, wind in DAYS.items() if values.get(column) is not None
               for table, columns in sorted(raw_columns.items())
               if {"S_INFO_WINDCODE", wind} <= set(columns)]
    # Spark's catalog keeps table names in lower case
    matches += [(table, {"S_INFO_WINDCODE": stock}) for table in raw_columns
                if table.lower() == DESCRIPTION.lower()]
    found = []
    for table, where in matches:
        query = (exp.select("*").from_(exp.table_(table, db="raw", quoted=True))
                 .where(exp.and_(*(exp.column(c, quoted=True).eq(exp.convert(v))
                                   for c, v in where.items())))
                 .order_by(*(exp.column(c, quoted=True) for c in raw_columns[table]))
                 .limit(RAW_ROWS_SHOWN))
        columns, rows = _fetch(adapter, query.sql(dialect=adapter.dialect))
        found += [(table, dict(zip(columns, row, strict=True))) for row in rows]
    return found


def _wind_date(value: t.Any) -> str:
    """A DATE (or its text) as Wind writes it: YYYYMMDD."""
    return value.strftime("%Y%m%d") if hasattr(value, "strftime") else str(value).replace("-", "")


def _format(values: dict[str, t.Any]) -> str:
    """`KEY=value ...`, floats to 10 significant digits, as the loader's errors show rows."""

    def text(value: t.Any) -> str:
        if value is None:
            return "null"
        return f"{value:.10g}" if isinstance(value, float) else str(value)

    return " ".join(f"{k}={text(v)}" for k, v in values.items())


def _escape(text: str) -> str:
    """The text as it is: SQLMesh's console reads [brackets] as markup."""
    from rich.markup import escape

    return escape(text)
