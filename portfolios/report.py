"""The index-enhancement part of `zoo report`: the seed report's tables 7-9, figures 11-12.

Built from the backtests saved under $ZOO_HOME/backtests (run `zoo backtest` first); a model
or setting without a saved backtest is left blank (table 7) or out (tables 8-9, figures).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from zoo.evaluate.sections import Figure, Section, Table

if TYPE_CHECKING:
    import polars as pl

SETTINGS = (("csi500", "all"), ("csi500", "constituents80"),
            ("csi1000", "all"), ("csi1000", "constituents80"))
NAMES = {"csi500": "CSI 500", "csi1000": "CSI 1000", "all": "all market",
         "constituents80": "80% constituents"}


def _label(index: str, universe: str) -> str:
    return f"{NAMES[index]} {NAMES[universe]}"


def _excess_figure(title: str, frames: dict[str, pl.DataFrame]) -> object:
    from matplotlib.figure import Figure as MplFigure

    figure = MplFigure(figsize=(8, 3.5))
    ax = figure.add_subplot()
    for model, daily in frames.items():
        ax.plot(daily["trade_date"].to_list(), daily["excess_nav"].to_list(), label=model)
    ax.axhline(1.0, color="grey", linewidth=0.5)
    ax.set_title(title)
    ax.set_ylabel("excess NAV (net of costs)")
    ax.legend(loc="upper left")
    figure.autofmt_xdate()
    return figure


def sections(models: list[str]) -> list[Section]:
    """Tables 7-9 and the excess NAV figures for `models` (empty if none was backtested)."""
    import polars as pl

    from portfolios.performance import (
        excess_metrics,
        side_by_side,
        side_by_side_formats,
        yearly_table,
    )
    from portfolios.store import load_daily

    saved = {(m, i, u): load_daily(m, i, u) for m in models for i, u in SETTINGS}
    if all(frame is None for frame in saved.values()):
        return []
    columns: dict[str, list] = {"model": list(models)}
    for index, universe in SETTINGS:
        values = []
        for model in models:
            daily = saved[(model, index, universe)]
            values.append(None if daily is None else excess_metrics(
                daily["trade_date"].to_list(), daily["excess"].to_numpy())["annual_excess"])
        columns[_label(index, universe)] = values
    table7 = pl.DataFrame(columns, schema={"model": pl.String, **{
        _label(i, u): pl.Float64 for i, u in SETTINGS}})
    first = min(f["trade_date"][0] for f in saved.values() if f is not None)
    last = max(f["trade_date"][-1] for f in saved.values() if f is not None)
    period = f"{first:%Y.%m}-{last:%Y.%m}"
    tables = [Table(
        title=f"Table 7. Annualised excess return of the enhanced portfolios ({period})",
        frame=table7, formats={_label(i, u): ".1%" for i, u in SETTINGS},
        note="Excess over the index's daily weights, net of 0.3% round-trip costs, trading "
             "at the next day's VWAP; blank: not backtested.")]
    figures = []
    for number, index in ((8, "csi500"), (9, "csi1000")):
        frames = {m: saved[(m, index, "all")] for m in models
                  if saved[(m, index, "all")] is not None}
        if not frames:
            continue
        wide = side_by_side({m: yearly_table(f) for m, f in frames.items()})
        tables.append(Table(
            title=f"Table {number}. {NAMES[index]} enhanced (all market): risk and return of "
                  f"the excess by calendar year ({period})",
            frame=wide, formats=side_by_side_formats(wide),
            note="Excess return annualised; drawdown of the excess NAV; tracking error and "
                 "information ratio from daily excess returns; share of months with a "
                 "positive excess."))
        figures.append(Figure(
            title=f"Figure {number + 3}. {NAMES[index]} enhanced portfolios (all market): "
                  f"excess NAV",
            figure=_excess_figure(f"{NAMES[index]} enhanced: excess NAV", frames)))
    return [Section(
        title="Index-enhancement portfolios",
        intro="Maximise the score-implied expected return subject to: stock weights within "
              "0.5% of the benchmark's; value and size neutral, other style factors within "
              "0.5 s.d.; CITIC level-1 industry neutral; whole market or at least 80% of the "
              "weight in index constituents; one-way turnover at most 30% per weekly "
              "rebalance. Rebalances that were infeasible relaxed these in the documented "
              "order (see each backtest's rebalances.parquet).",
        tables=tables, figures=figures)]
