"""Wind tables as Arrow and parquet: every table has exactly `zoo.ingest.wind`'s columns, order
and kinds (dates 'YYYYMMDD' strings, floats float64, ints int64), and a non-nullable column
with a missing value is a bug that stops the generation. The daily stock tables are buffered
for `chunk_days` trading days and written one row group at a time, which bounds memory.
"""

from __future__ import annotations

import typing
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from zoo.ingest import wind

_ARROW_TYPES = {wind.STR: pa.string(), wind.DATE: pa.string(), wind.FLOAT: pa.float64(),
                wind.INT: pa.int64()}


def _arrow_schema(table: wind.Table) -> pa.Schema:
    return pa.schema([pa.field(c.name, _ARROW_TYPES[c.kind], nullable=c.nullable)
                      for c in table.columns])


def _arrow_column(col: wind.Column, values: typing.Any) -> pa.Array:
    if isinstance(values, pa.Array):
        arr = values
    elif col.kind == wind.FLOAT:
        v = np.asarray(values, dtype=np.float64)
        arr = pa.array(v, mask=~np.isfinite(v)) if col.nullable else pa.array(v)
    elif col.kind == wind.INT:
        arr = pa.array(np.asarray(values, dtype=np.int64))
    else:
        arr = pa.array(np.asarray(values, dtype=object), type=pa.string())
    if not col.nullable and (arr.null_count or (col.kind == wind.FLOAT
                                                and not np.isfinite(arr.to_numpy()).all())):
        raise RuntimeError(f"synth bug: non-nullable {col.name} has missing values")
    return arr


def _arrow_table(table: wind.Table, data: dict[str, typing.Any]) -> pa.Table:
    """A table with exactly `table`'s columns, order and kinds."""
    if list(data) != table.column_names:
        raise RuntimeError(f"synth bug: {table.name} columns {list(data)}")
    arrays = [_arrow_column(c, data[c.name]) for c in table.columns]
    return pa.Table.from_arrays(arrays, schema=_arrow_schema(table))


def _labels(index: np.ndarray, labels: Sequence[str]) -> pa.Array:
    """Strings by index through a dictionary (fast for millions of rows)."""
    dictionary = pa.array(list(labels), type=pa.string())
    return pa.DictionaryArray.from_arrays(pa.array(index, type=pa.int32()), dictionary).cast(
        pa.string())


def _write_parquet(path: Path, table: pa.Table) -> int:
    pq.write_table(table, path, compression="zstd")
    return table.num_rows


class _DailyWriter:
    """Buffers a daily stock table for `chunk_days` days, then writes one row group."""

    def __init__(self, table: wind.Table, path: Path, n: int, chunk_days: int,
                 codes: np.ndarray, day_labels: np.ndarray,
                 categories: dict[str, Sequence[str]] | None = None) -> None:
        self.table, self.codes, self.day_labels = table, list(codes), day_labels
        self.categories = categories or {}
        self.values = [c.name for c in table.columns
                       if c.kind in (wind.FLOAT, wind.INT) or c.name in self.categories]
        self.buffers = {name: np.zeros((chunk_days, n)) for name in self.values}
        self.mask = np.zeros((chunk_days, n), dtype=bool)
        self.days = np.zeros(chunk_days, dtype=np.int64)
        self.fill = 0
        self.rows = 0
        self.writer = pq.ParquetWriter(path, _arrow_schema(table), compression="zstd")

    def add(self, day: int, mask: np.ndarray, values: dict[str, np.ndarray]) -> None:
        i = self.fill
        self.days[i], self.mask[i] = day, mask
        for name in self.values:
            self.buffers[name][i] = values[name]
        self.fill += 1
        if self.fill == len(self.days):
            self.flush()

    def flush(self) -> None:
        if self.fill == 0:
            return
        mask = self.mask[: self.fill]
        day_pos, stock = np.nonzero(mask)
        data: dict[str, typing.Any] = {}
        for col in self.table.columns:
            if col.name == "S_INFO_WINDCODE":
                data[col.name] = _labels(stock, self.codes)
            elif col.name == "TRADE_DT":
                data[col.name] = _labels(day_pos, self.day_labels[self.days[: self.fill]])
            elif col.name == "CRNCY_CODE":
                data[col.name] = _labels(np.zeros(len(stock), np.int32), ["CNY"])
            elif col.name in self.categories:
                codes = self.buffers[col.name][: self.fill][mask].astype(np.int32)
                data[col.name] = _labels(codes, self.categories[col.name])
            else:
                data[col.name] = self.buffers[col.name][: self.fill][mask]
        self.writer.write_table(_arrow_table(self.table, data))
        self.rows += len(stock)
        self.fill = 0

    def close(self) -> int:
        self.flush()
        self.writer.close()
        return self.rows
