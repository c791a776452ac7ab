"""Everything `zoo eval` reports for one factor: `evaluate(name)` -> `Evaluation`.

One DuckDB query builds the panel (inputs.py); IC, autocorrelation and style correlations are
polars group-bys over it (ic.py, style.py); the portfolios loop over rebalance dates with numpy
over stocks (topn.py). plain.py keeps the plain forms of the steps that were made fast, as the
reference the tests and `zoo bench eval` compare against.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zoo.evaluate.inputs import HORIZONS
from zoo.evaluate.topn import DEFAULT_FEE, PORTFOLIOS

if TYPE_CHECKING:
    import duckdb
    import polars as pl


@dataclass(frozen=True)
class EvalConfig:
    """What to measure: rebalance horizons (trading days), the two-sided fee, the date window,
    the portfolio sizes and the date of the single-day style correlations."""

    horizons: tuple[int, ...] = HORIZONS
    fee: float = DEFAULT_FEE
    start: date | None = None
    end: date | None = None
    top_n: int = 100
    top_quantiles: int = 10
    style_date: date | None = None

    def __post_init__(self) -> None:
        if not self.horizons or any(h not in HORIZONS for h in self.horizons):
            raise ValueError(f"horizons must be among {HORIZONS} (the labels' horizons), "
                             f"got {self.horizons}")
        if not 0 <= self.fee < 1:
            raise ValueError(f"fee is a fraction per unit of two-sided turnover, got {self.fee}")
        if self.start and self.end and self.start > self.end:
            raise ValueError(f"start {self.start} is after end {self.end}")


@dataclass
class Evaluation:
    """The measures of one factor. `summary[h]` holds the scalar figures of horizon h."""

    name: str
    kind: str
    source: str
    config: EvalConfig
    first_date: date
    last_date: date
    summary: dict[int, dict[str, Any]] = field(default_factory=dict)
    ic: pl.DataFrame | None = None  # horizon, label, trade_date, ic, stocks
    ic_years: pl.DataFrame | None = None  # horizon, label, year, ic, periods
    periods: pl.DataFrame | None = None  # horizon, portfolio, trade_date, ... (topn.py)
    style: pl.DataFrame | None = None  # group, factor, name, mean, on_date, date
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        """The scalar figures, per-year tables and style correlations as plain JSON values."""
        style = [] if self.style is None else [
            {**row, "date": str(row["date"])} for row in self.style.to_dicts()]
        return {
            "name": self.name, "kind": self.kind, "source": self.source,
            "first_date": str(self.first_date), "last_date": str(self.last_date),
            "fee": self.config.fee, "horizons": list(self.config.horizons),
            "summary": {str(h): _plain(v) for h, v in self.summary.items()},
            "style": style, "seconds": round(self.seconds, 3),
        }


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, float) and value != value:
        return None
    return value


def evaluate(name: str, config: EvalConfig | None = None, warehouse: Path | None = None,
             con: duckdb.DuckDBPyConnection | None = None, plain: bool = False) -> Evaluation:
    """Evaluate factor `name` (a model, `oracle`, or a feature column; see inputs.py).

    `plain` takes the plain steps of zoo.evaluate.plain, the slower reference (same results).
    """
    import time

    import polars as pl

    from zoo.evaluate import ic as ic_mod
    from zoo.evaluate import plain as plain_steps
    from zoo.evaluate import style, topn
    from zoo.evaluate.inputs import connect, load_panel, resolve

    config = config or EvalConfig()
    correlations = plain_steps.correlations if plain else style.correlations
    dense = plain_steps.dense if plain else topn.dense
    autocorrelation = plain_steps.autocorrelation if plain else ic_mod.autocorrelation
    started = time.perf_counter()
    own = con is None
    con = con or connect(warehouse)
    try:
        source = resolve(con, name)
        panel = load_panel(con, source, config.horizons, config.start, config.end,
                           build_sql=plain_steps.panel_sql if plain else None)
        # on the longest horizon's dates (monthly by default): an average over about 100
        # dates is as steady as one over 400, at a quarter of the time and memory
        style_rows = correlations(con, panel, max(config.horizons))
    finally:
        if own:
            con.close()
    dated = panel.filter(pl.col("factor").is_not_null())["trade_date"]
    result = Evaluation(name=source.name, kind=source.kind,
                        source=f"{source.table}.{source.column}", config=config,
                        first_date=dated.min(), last_date=dated.max())
    ics, years, periods = [], [], []
    for h in config.horizons:
        figures: dict[str, Any] = {}
        # the horizon's rebalance rows, filtered once (each measure's own filter is then cheap)
        rows = panel if plain else panel.filter(pl.col("day_index") % h == 0)
        for label in ("close", "vwap"):
            series = ic_mod.rank_ic(rows, h, label)
            stats = ic_mod.ic_summary(series)
            figures[f"ic_{label}"] = stats["mean"]
            figures[f"icir_{label}"] = stats["icir"]
            figures[f"win_rate_{label}"] = stats["win_rate"]
            figures["ic_periods"] = stats["periods"]
            by_year = ic_mod.ic_by_year(series)
            figures[f"ic_{label}_by_year"] = dict(zip(by_year["year"].to_list(),
                                                      by_year["ic"].to_list(), strict=True))
            ics.append(series.select(pl.lit(h).alias("horizon"), pl.lit(label).alias("label"),
                                     "trade_date", "ic", "stocks"))
            years.append(by_year.select(pl.lit(h).alias("horizon"), pl.lit(label).alias("label"),
                                        "year", "ic", "periods"))
        auto = autocorrelation(rows, h)
        figures["autocorr"] = float(auto["autocorr"].mean()) if auto.height else float("nan")
        arrays = dense(rows, h, config.top_n, config.top_quantiles)
        for portfolio in PORTFOLIOS:
            run = topn.simulate(arrays, portfolio, config.fee)
            figures[portfolio] = topn.summarise(run, h)
            periods.append(run.select(pl.lit(h).alias("horizon"),
                                      pl.lit(portfolio).alias("portfolio"), pl.all()))
        result.summary[h] = figures
    result.ic = pl.concat(ics)
    result.ic_years = pl.concat(years)
    result.periods = pl.concat(periods)
    result.style = style.summary(style_rows, config.style_date)
    result.seconds = time.perf_counter() - started
    return result
