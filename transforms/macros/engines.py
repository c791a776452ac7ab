"""Macros that write one query in each engine's own best form.

The models are written in DuckDB's dialect and SQLGlot transpiles them for the other engines
(the spark gateway of config.py); where DuckDB has a construct that another engine lacks, a
macro here emits DuckDB's form on DuckDB and a portable equivalent elsewhere, so the same model
gives the same rows on both.
"""

from __future__ import annotations

from sqlglot import exp
from sqlmesh import macro

NEXT = "_next_as_of"  # the right side's next as-of key, in the portable form


def _engine(evaluator) -> str:
    """The dialect of the engine the query runs on; the model's own while models load (no
    engine yet: SQLMesh renders then for column types and lineage, not to run)."""
    adapter = evaluator.locals.get("engine_adapter")
    return adapter.dialect if adapter is not None else evaluator.dialect


def _names(columns: exp.Expression | list) -> list[str]:
    items = columns.expressions if isinstance(columns, exp.Array | exp.Tuple) else columns
    return [item.name for item in (items if isinstance(items, list) else [items])]


@macro()
def as_of_left_join(
    evaluator,
    left: exp.Expression,
    right: exp.Expression,
    key: exp.Expression,
    left_on: exp.Expression,
    right_on: exp.Expression,
    columns: exp.Expression | list,
) -> exp.Expression:
    """Every row of `left` with `columns` of the row of `right` in force then, as a SELECT:
    the row with the same `key` and the latest `right_on` on or before the left row's
    `left_on` (NULLs where there is none). `right` must be unique on (`key`, `right_on`).

    On DuckDB an ASOF LEFT JOIN (one merge of both sides sorted); elsewhere (Spark has no
    as-of join) a LEFT JOIN on the key and the range [`right_on`, the key's next `right_on`),
    the next one found with LEAD: the same rows.
    """
    dialect = evaluator.dialect
    left_table = exp.to_table(left.sql(dialect=dialect), dialect=dialect)
    right_table = exp.to_table(right.sql(dialect=dialect), dialect=dialect)
    key_name, left_name, right_name = key.name, left_on.name, right_on.name
    names = _names(columns)
    picked = ", ".join(f"r.{name}" for name in names)
    condition = f"r.{key_name} = l.{key_name} AND r.{right_name} <= l.{left_name}"
    if _engine(evaluator) == "duckdb":
        return exp.maybe_parse(
            f"SELECT l.*, {picked} FROM {left_table.sql(dialect)} AS l "
            f"ASOF LEFT JOIN {right_table.sql(dialect)} AS r ON {condition}",
            dialect=dialect,
        )
    return exp.maybe_parse(
        f"SELECT l.*, {picked} FROM {left_table.sql(dialect)} AS l "
        f"LEFT JOIN (SELECT {', '.join([key_name, right_name, *names])}, "
        f"LEAD({right_name}) OVER (PARTITION BY {key_name} "
        f"ORDER BY {right_name}) AS {NEXT} FROM {right_table.sql(dialect)}) AS r "
        f"ON {condition} AND (l.{left_name} < r.{NEXT} OR r.{NEXT} IS NULL)",
        dialect=dialect,
    )


@macro()
def duckdb_or(evaluator, on_duckdb: exp.Expression, elsewhere: exp.Expression) -> exp.Expression:
    """`on_duckdb` on DuckDB and `elsewhere` on every other engine: the relation a query reads
    where it is written two ways, each the better for its engine. Given as subqueries, the
    form not chosen is gone before SQLMesh qualifies and types the query. The Spark test and
    tests/transforms/test_two_forms.py hold the two to the same rows."""
    return on_duckdb if _engine(evaluator) == "duckdb" else elsewhere
