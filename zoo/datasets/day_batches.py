"""Training sets from the feature store: daily cross-sections built by Feast point-in-time
retrieval, the same path other teams use.

`build_day_batches(contract, start, end)` retrieves, for the (stock, trade date) entity rows of
the universe, the services the model's contract names plus the labels, and holds them as dense
panels indexed by (stock, day), built once:
- price-volume: [S, D, 6] adjusted open, high, low, close, VWAP and volume; a day's 40-day
  window is sliced from it and divided by the last close (volume by its window mean);
- fundamentals: the distinct point-in-time 12-quarter vectors [U, 12, 19] and, per (stock,
  day), which one was in force; standardised per day across the day's stocks;
- style factors [S, D, 11], the CITIC level-1 industry in force each day [S, D] (as ids
  0, 1, ... in order of first appearance, -1 unknown) and the label [S, D] (standardised
  across the day's tradable universe: in the universe at T and buyable at T+1);
- the fundamental-similarity graph of a day (zoo/datasets/graph.py), built once per fundamentals
  state (which vector is in force for each stock) and kept.
No value dated after a day reaches that day's batch except the label, which is what it is.

The panels depend on the label, the span and the exports only (every model's dataset retrieves
the same services), so they are cached under $ZOO_HOME/cache/day_batches/<key>/
(zoo.datasets.cache): a second `zoo train` on the same span, of the same model or another,
reads them back instead of calling Feast. The key holds the label, the span (its end clamped
to the last exported day, so "until today" is the same span all day), the size and mtime of
every export Feast reads, the Feast declarations and this file's code: re-exported features,
a changed feature view or a changed builder make a new entry.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from zoo.datasets import cache
from zoo.paths import cache_dir, export_path, feature_repo_path, offline_dir, parquet_files

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa
    import torch

    from zoo.registry import DataContract

from zoo.vocabulary import (
    FUNDAMENTAL_FIELDS,
    MONEY_FIELDS,
    PRICE_COLUMNS,
    STYLE_FACTORS,
    STYLE_SLOTS,
    ZSCORE_CLIP,
)

log = logging.getLogger(__name__)

# Amounts in yuan span orders of magnitude: a signed log before standardising.
_MONEY_INDEX = [i for i, f in enumerate(FUNDAMENTAL_FIELDS) if f in MONEY_FIELDS]
STYLE_COLUMNS = tuple(STYLE_FACTORS)
WARMUP_DAYS = 70  # calendar days before `start` retrieved for the first 40-day windows
CHUNK_ROWS = 400_000  # entity rows per Feast call for the fundamental arrays
IDENTITY_CHUNK_ROWS = 4_000_000  # entity rows per Feast call for the vectors' identities
QUARTERS = 12  # quarters of each fundamental array, oldest first
FUNDAMENTAL_VIEW = "stock_fundamental_quarterly"  # the feature view of fundamentals_v1


def _label_horizon(label: str) -> tuple[int, int]:
    """(h, offset): the label of day T looks at T+offset+h (offset 1 for T+1 VWAP entry)."""
    digits = label.rsplit("_", 1)[-1].removesuffix("d")
    return int(digits), (1 if "vwap" in label else 0)


def _zscore(x: np.ndarray, mask: np.ndarray, axis: int = 0) -> np.ndarray:
    """Standardise over `axis` where `mask`; NaN-safe; clipped to +-ZSCORE_CLIP; 0 elsewhere."""
    values = np.where(mask, x, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.nanmean(values, axis=axis, keepdims=True)
        std = np.nanstd(values, axis=axis, keepdims=True)
        z = (values - mean) / np.where(std > 0, std, np.nan)
    return np.nan_to_num(np.clip(z, -ZSCORE_CLIP, ZSCORE_CLIP), nan=0.0).astype(np.float32)


@dataclass
class FeastDayBatches:
    """Daily cross-sections for the zoo's trainer (implements zoo.datasets.protocol.DayBatches)."""

    dates: list[dt.date]  # days with a labelled universe stock (what trains)
    stock_ids: list[str]
    calendar: list[dt.date]  # every trading day held, warm-up included
    present: np.ndarray  # [S, D] bool: the stock has a row that day (listed)
    prices: np.ndarray  # [S, D, 6] float32
    universe: np.ndarray  # [S, D] bool: in the universe that day
    label: np.ndarray  # [S, D] float32 raw label, NaN unknown
    buyable: np.ndarray  # [S, D] bool
    style: np.ndarray  # [S, D, 10] float32
    fund_index: np.ndarray  # [S, D] int32 into fund_vectors, -1 unknown
    fund_vectors: np.ndarray  # [U, 12, 19] float32 (NaN unknown)
    fund_quarter: np.ndarray  # [U] int8: quarter of year (1-4) of the vector's latest period
    industry: np.ndarray | None = None  # [S, D] int16: level-1 industry id, -1 unknown
    sequence_days: int = 40
    horizon: int = 5
    offset: int = 1
    graph: object | None = None  # zoo.datasets.graph.FundamentalGraph when the contract needs one
    later_days: list[dt.date] = field(default_factory=list)  # trading days after the calendar
    # days with a universe stock, labelled or not: `dates` plus the latest days, to score
    score_dates: list[dt.date] = field(default_factory=list)
    cache_path: Path | None = None  # its cache entry (None: not cached)
    from_cache: bool = False  # read from `cache_path` rather than retrieved through Feast
    _day_index: dict[dt.date, int] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._day_index = {day: i for i, day in enumerate(self.calendar)}

    def label_end(self, day: dt.date) -> dt.date:
        i = self._day_index[day] + self.offset + self.horizon
        days = self.calendar + self.later_days
        if i < len(days):
            return days[i]
        # beyond the known calendar: a date surely not earlier than the real one
        return days[-1] + dt.timedelta(days=2 * (i - len(days) + 1))

    def stocks_on(self, day: dt.date) -> np.ndarray:
        """Indices of the stocks in the day's batch: the day's universe."""
        return np.flatnonzero(self.universe[:, self._day_index[day]])

    def arrays(self, day: dt.date) -> dict[str, np.ndarray]:
        """The day's batch as numpy arrays (see zoo.datasets.protocol.BATCH_KEYS)."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices: handled as NaN
            return self._arrays(day)

    def _arrays(self, day: dt.date) -> dict[str, np.ndarray]:
        t = self._day_index[day]
        stocks = self.stocks_on(day)
        n, T = len(stocks), self.sequence_days
        window = np.full((n, T, 6), np.nan, dtype=np.float32)
        first = max(0, t - T + 1)
        window[:, T - (t - first + 1):] = self.prices[stocks, first:t + 1]
        last_close = window[:, -1, 3:4]
        volume_mean = np.nanmean(window[:, :, 5], axis=1, keepdims=True) if n else last_close
        with np.errstate(invalid="ignore", divide="ignore"):
            window[:, :, :5] /= last_close[:, None, :]
            window[:, :, 5] /= np.where(volume_mean > 0, volume_mean, np.nan)
        # a stock whose volume is zero all window long (suspended) keeps volume ratio 0
        window[:, :, 5] = np.where(volume_mean > 0, window[:, :, 5], 0.0)
        price_mask = np.isfinite(window).all(axis=(1, 2))

        index = self.fund_index[stocks, t]
        known = index >= 0
        fund = np.full((n, QUARTERS, len(FUNDAMENTAL_FIELDS)), np.nan, dtype=np.float32)
        fund[known] = self.fund_vectors[index[known]]
        fund_mask = np.isfinite(fund[:, :, FUNDAMENTAL_FIELDS.index("net_profit_q")])
        fundamentals = _zscore(fund, np.isfinite(fund), axis=0)

        style = np.zeros((n, STYLE_SLOTS), dtype=np.float32)
        style[:, :len(STYLE_COLUMNS)] = np.nan_to_num(self.style[stocks, t], nan=0.0)

        raw = self.label[stocks, t]
        label_mask = np.isfinite(raw) & self.buyable[stocks, t]
        label = _zscore(raw, label_mask)

        edges = (self.graph.edges(day, stocks) if self.graph is not None
                 else np.zeros((2, 0), dtype=np.int64))
        return {
            "price_volume": window, "price_mask": price_mask,
            "fundamentals": fundamentals, "fund_mask": fund_mask,
            "style": style, "edge_index": edges,
            "industry": (self.industry[stocks, t].astype(np.int64) if self.industry is not None
                         else np.full(n, -1, dtype=np.int64)),
            "label": label, "label_mask": label_mask,
            "stock_index": stocks.astype(np.int64),
        }

    def batch(self, day: dt.date, device: torch.device | str = "cpu") -> dict[str, torch.Tensor]:
        import torch

        out = {}
        for key, value in self.arrays(day).items():
            tensor = torch.from_numpy(np.ascontiguousarray(value))
            if str(device).startswith("cuda"):
                tensor = tensor.pin_memory().to(device, non_blocking=True)
            out[key] = tensor
        return out


def _entities(start: dt.date, end: dt.date) -> pd.DataFrame:
    """(stock, trade date at the close) rows of every stock listed in [start - warm-up, end].

    All listed stocks, not only those that will be in the universe: which stocks a day's graph
    links must not depend on whether they join the universe later.
    """
    import duckdb

    path = export_path("stock_universe_daily")
    files = [str(f) for f in parquet_files(path)]
    if not files:
        raise FileNotFoundError(f"{path} is missing: run `sqlmesh plan` in transforms/ and "
                                f"`zoo features apply` first")
    return duckdb.execute("""
        SELECT stock_id, trade_date, event_timestamp, in_universe
        FROM read_parquet($files)
        WHERE trade_date BETWEEN $start AND $end
        ORDER BY trade_date, stock_id
    """, {"files": files, "start": start - dt.timedelta(days=WARMUP_DAYS), "end": end}).df()


def _later_trading_days(end: dt.date, days: int = 60) -> list[dt.date]:
    """Trading days after `end` known to the exports (for label_end near the end)."""
    import duckdb

    files = [str(f) for f in parquet_files(export_path("stock_universe_daily"))]
    rows = duckdb.execute("SELECT DISTINCT trade_date FROM read_parquet($files) WHERE trade_date "
                          "> $end ORDER BY 1 LIMIT $days",
                          {"files": files, "end": end, "days": int(days)}).fetchall()
    return [r[0] for r in rows]


def universe_days(after: dt.date, through: dt.date) -> list[dt.date]:
    """The days in (after, through] with a universe stock in the exports, labelled or not:
    the `score_dates` of a dataset over them (what `zoo score --through` scores)."""
    import duckdb

    path = export_path("stock_universe_daily")
    files = [str(f) for f in parquet_files(path)]
    if not files:
        raise FileNotFoundError(f"{path} is missing: run `sqlmesh plan` in transforms/ and "
                                f"`zoo features apply` first")
    rows = duckdb.execute("SELECT DISTINCT trade_date FROM read_parquet($files) WHERE trade_date"
                          " > $after AND trade_date <= $through AND in_universe ORDER BY 1",
                          {"files": files, "after": after, "through": through}).fetchall()
    return [r[0] for r in rows]


def build_day_batches(contract: DataContract, start: dt.date, end: dt.date,
                      progress: bool = True, graph_k: int = 10,
                      graph_max_distance: float | None = None,
                      use_cache: bool = True) -> FeastDayBatches:
    """The dataset of `contract` for trade dates in [start, end], retrieved through Feast, or
    read from the cache of an earlier build from the same exports (`use_cache`; see the
    module's docstring). The graph, when the contract needs one, is built on top either way.
    """
    data = None
    folder = None
    if use_cache:
        key = _cache_key(contract.label, start, end)
        folder = cache_dir() / "day_batches" / key if key else None
        data = _read_cache(folder) if folder is not None else None
    if data is None:
        data = _retrieve(contract.label, start, end)
        if folder is not None:
            _write_cache(folder, data)
    data.sequence_days = contract.sequence_days
    if contract.needs_graph:
        from zoo.datasets.graph import FundamentalGraph

        data.graph = FundamentalGraph(data, k=graph_k, max_distance=graph_max_distance)
    return data


# The panels as cached: arrays, and the plain values that rebuild the rest.
_CACHED_ARRAYS = ("present", "prices", "universe", "label", "buyable", "style", "fund_index",
                  "fund_vectors", "fund_quarter", "industry")
_CACHED_DATES = ("dates", "calendar", "later_days", "score_dates")


def _cache_key(label: str, start: dt.date, end: dt.date) -> str | None:
    """The cache entry's name for these panels, or None when nothing is exported (the build
    then fails with the reason)."""
    import duckdb

    universe = [str(f) for f in parquet_files(export_path("stock_universe_daily"))]
    if not universe:
        return None
    last = duckdb.execute("SELECT MAX(trade_date) FROM read_parquet($files) "
                          "WHERE trade_date <= $end", {"files": universe, "end": end}
                          ).fetchone()[0]
    # every monthly file of every view but the scores: a month an export rewrote has a new mtime
    exports = [f for view in offline_dir().iterdir()
               if not view.name.startswith(("score_", ".", "_"))
               for f in parquet_files(view)]
    repo = sorted(p for p in feature_repo_path().iterdir()
                  if p.suffix in (".py", ".yaml") and p.is_file())
    declarations = hashlib.sha256(b"".join(p.name.encode() + p.read_bytes() for p in repo))
    return cache.entry_key({
        "label": label, "start": start.isoformat(),
        "end": (last or end).isoformat(),
        "exports": cache.file_fingerprint(exports, offline_dir()),
        "feature_repo": declarations.hexdigest(),
        "code": hashlib.sha256(Path(__file__).read_bytes()).hexdigest(),
    })


def _write_cache(folder: Path, data: FeastDayBatches) -> None:
    meta: dict[str, Any] = {name: [d.isoformat() for d in getattr(data, name)]
                            for name in _CACHED_DATES}
    meta.update(stock_ids=list(data.stock_ids), horizon=data.horizon, offset=data.offset)
    cache.write_entry(folder, {name: getattr(data, name) for name in _CACHED_ARRAYS}, meta)
    data.cache_path = folder if folder.is_dir() else None


def _read_cache(folder: Path) -> FeastDayBatches | None:
    entry = cache.read_entry(folder)
    if entry is None:
        return None
    arrays, meta = entry
    try:
        values: dict[str, Any] = {name: [dt.date.fromisoformat(d) for d in meta[name]]
                                  for name in _CACHED_DATES}
        data = FeastDayBatches(**values, **{name: arrays[name] for name in _CACHED_ARRAYS},
                               stock_ids=list(meta["stock_ids"]), horizon=int(meta["horizon"]),
                               offset=int(meta["offset"]), cache_path=folder, from_cache=True)
        shape = (len(data.stock_ids), len(data.calendar))
        if data.prices.shape[:2] != shape or data.universe.shape != shape:
            raise ValueError(f"panels of shape {data.prices.shape[:2]}, not {shape}")
    except (KeyError, TypeError, ValueError) as err:
        log.warning("cache entry %s does not hold day batches (%s): rebuilding", folder, err)
        return None
    log.info("day batches read from the cache entry %s", folder)
    return data


def _retrieve(label_name: str, start: dt.date, end: dt.date) -> FeastDayBatches:
    """The panels for trade dates in [start, end], retrieved through Feast."""
    import pandas as pd

    from zoo.serving.feature_store import get_historical, store
    entities = _entities(start, end)
    if entities.empty:
        raise ValueError(f"no universe stocks between {start} and {end} in the exports")
    calendar = sorted(entities["trade_date"].unique())
    calendar = [d.date() if hasattr(d, "date") else d for d in pd.to_datetime(calendar)]
    stock_ids = sorted(entities["stock_id"].unique())
    s_index = {s: i for i, s in enumerate(stock_ids)}
    d_index = {d: i for i, d in enumerate(calendar)}
    rows = entities["stock_id"].map(s_index).to_numpy()
    cols = pd.to_datetime(entities["trade_date"]).dt.date.map(d_index).to_numpy()
    S, D = len(stock_ids), len(calendar)
    fs = store()
    request = entities[["stock_id", "event_timestamp"]]

    def panel(table: pa.Table, columns: tuple[str, ...], dtype=np.float32) -> np.ndarray:
        out = np.full((S, D, len(columns)), np.nan, dtype=dtype)
        for k, column in enumerate(columns):
            out[rows, cols, k] = table.column(column).to_numpy(zero_copy_only=False)
        return out

    log.info("retrieving %d entity rows for %d stocks", len(entities), S)
    prices = panel(get_historical("price_volume_v1", request, fs), PRICE_COLUMNS)
    style_table = get_historical("style_v1", request, fs)
    style = panel(style_table, STYLE_COLUMNS)
    industry = _industry_ids(style_table.column("industry_l1_code"), rows, cols, (S, D))
    labels = get_historical("labels_v1", request, fs)
    label = np.full((S, D), np.nan, dtype=np.float32)
    label[rows, cols] = labels.column(label_name).to_numpy(zero_copy_only=False)
    buyable = np.zeros((S, D), dtype=bool)
    buyable[rows, cols] = labels.column("is_buyable_t1").fill_null(False).to_numpy(
        zero_copy_only=False)
    universe = np.zeros((S, D), dtype=bool)
    universe[rows, cols] = entities["in_universe"].fillna(False).to_numpy(dtype=bool)
    present = np.zeros((S, D), dtype=bool)
    present[rows, cols] = True
    fund_index, fund_vectors, fund_quarter = _fundamentals(request, rows, cols, (S, D), fs)

    h, offset = _label_horizon(label_name)
    score_dates = [d for d in calendar if start <= d <= end and universe[:, d_index[d]].any()]
    dates = [d for d in score_dates
             if np.isfinite(label[universe[:, d_index[d]], d_index[d]]).any()]
    data = FeastDayBatches(
        dates=dates, stock_ids=stock_ids, calendar=calendar, present=present, prices=prices,
        universe=universe, label=label, buyable=buyable, style=style, fund_index=fund_index,
        fund_vectors=fund_vectors, fund_quarter=fund_quarter, industry=industry,
        horizon=h, offset=offset, later_days=_later_trading_days(end),
        score_dates=score_dates,
    )
    return data


def _industry_ids(codes: pa.ChunkedArray, rows: np.ndarray, cols: np.ndarray,
                  shape: tuple[int, int]) -> np.ndarray:
    """[S, D] int16 ids of the industry codes, -1 where unknown.

    Ids are numbered in order of first appearance (day, then code), so a day's ids never
    depend on codes that appear only later: a longer dataset numbers its first days the same.
    """
    out = np.full(shape, -1, dtype=np.int16)
    if len(codes) == 0:
        return out
    encoded = codes.combine_chunks().dictionary_encode()
    names = encoded.dictionary.to_pylist()
    if not names:
        return out
    index = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    known = index >= 0
    first = np.full(len(names), np.iinfo(np.int64).max)
    np.minimum.at(first, index[known], cols[known])
    order = sorted(range(len(names)), key=lambda k: (first[k], names[k]))
    ids = np.empty(len(names), dtype=np.int16)
    ids[order] = np.arange(len(names))
    out[rows[known], cols[known]] = ids[index[known]]
    return out


def _fundamentals(request: pd.DataFrame, rows: np.ndarray, cols: np.ndarray,
                  shape: tuple[int, int], fs) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distinct fundamental vectors in force, the quarter of year (1-4) of each one's latest
    report period, and, per (stock, day), which vector (-1: none).

    A vector is identified by (stock, latest report period, last announcement): it changes only
    when a statement is announced. So Feast is asked twice: for every entity row, only that
    identity (two timestamps); then, for the first row of each distinct identity, the
    12-quarter arrays (228 numbers a row), flattened a column at a time. Both in chunks, so time
    and memory follow the number of statements, not of stock-days. Vectors are numbered in the
    order of their first row in `request`.
    """
    from zoo.serving.feature_store import get_historical

    identity = [f"{FUNDAMENTAL_VIEW}:{name}" for name in ("latest_report_period",
                                                          "last_announced_date")]
    periods, announcements = [], []
    for lo in range(0, len(request), IDENTITY_CHUNK_ROWS):
        table = get_historical(None, request.iloc[lo:lo + IDENTITY_CHUNK_ROWS], fs,
                               features=identity)
        periods.append(_timestamps(table.column("latest_report_period")))
        announcements.append(_timestamps(table.column("last_announced_date")))
    period = np.concatenate(periods) if periods else np.zeros(0, "datetime64[us]")
    announced = np.concatenate(announcements) if announcements else period
    held = np.flatnonzero(~np.isnat(period))
    keys = np.stack([rows[held], period[held].view(np.int64), announced[held].view(np.int64)],
                    axis=1)
    _, first, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    # number the distinct vectors by their first row, as a pass over the rows would
    order = np.argsort(first)
    number = np.empty(len(first), dtype=np.int32)
    number[order] = np.arange(len(first), dtype=np.int32)
    index = np.full(shape, -1, dtype=np.int32)
    index[rows[held], cols[held]] = number[inverse.reshape(-1)]

    firsts = held[first[order]]  # the request row of each vector, in vector order
    vectors = np.empty((len(firsts), QUARTERS, len(FUNDAMENTAL_FIELDS)), dtype=np.float32)
    for lo in range(0, len(firsts), CHUNK_ROWS):
        part = firsts[lo:lo + CHUNK_ROWS]
        table = get_historical("fundamentals_v1", request.iloc[part], fs)
        for k, name in enumerate(FUNDAMENTAL_FIELDS):
            vectors[lo:lo + len(part), :, k] = _quarter_arrays(table.column(f"{name}_12q"),
                                                               f"{name}_12q")
    money = vectors[:, :, _MONEY_INDEX]
    vectors[:, :, _MONEY_INDEX] = np.sign(money) * np.log1p(np.abs(money))
    months = period[firsts].astype("datetime64[M]").astype(np.int64) % 12 + 1
    return index, vectors, ((months + 2) // 3).astype(np.int8)


def _timestamps(column: pa.ChunkedArray) -> np.ndarray:
    """A timestamp column as datetime64[us], NaT where null."""
    import pyarrow as pa

    return column.cast(pa.timestamp("us")).to_numpy(zero_copy_only=False).astype(
        "datetime64[us]")


def _quarter_arrays(column: pa.ChunkedArray, name: str) -> np.ndarray:
    """A column of QUARTERS-long lists as float32 [rows, QUARTERS] (NaN for a null value)."""
    import pyarrow.compute as pc

    lengths = pc.list_value_length(column).to_numpy(zero_copy_only=False)
    if len(lengths) and not (lengths == QUARTERS).all():
        raise ValueError(f"{name} holds lists of {sorted(set(lengths.tolist()))} values, "
                         f"not {QUARTERS}")
    flat = pc.list_flatten(column).to_numpy(zero_copy_only=False)
    return flat.astype(np.float32).reshape(-1, QUARTERS)
