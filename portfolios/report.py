"""The index-enhancement part of `zoo report`: the seed report's tables 7-9 and its excess NAV
figures, in Chinese like the factor part.

Built from the backtests saved under $ZOO_HOME/backtests (run `zoo backtest` first); a model
or setting without a saved backtest is left blank (table 7) or out (tables 8-9, figures).
Tables 8 and 9 have the rows of both universes, whole market and at least 80% in
constituents, as the seed report's do; where the two backtests of a model are the same day
for day (the constraint never bound: the whole-market portfolio already held 80% in
constituents), the tables' notes say so.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from zoo.evaluate.sections import Figure, Section, Table, chinese_figures

if TYPE_CHECKING:
    import polars as pl

SETTINGS = (("csi500", "all"), ("csi500", "constituents80"),
            ("csi1000", "all"), ("csi1000", "constituents80"))
NAMES = {"csi500": "中证500", "csi1000": "中证1000", "all": "全市场选股",
         "constituents80": "成分股权重≥80%"}
METRIC_LABELS = {"annual_excess": "年化超额", "max_drawdown": "超额最大回撤",
                 "tracking_error": "跟踪误差", "information_ratio": "信息比",
                 "monthly_win_rate": "月度胜率"}
WHOLE_PERIOD = "全区间"
TABLE_NUMBERS = {"csi500": 8, "csi1000": 9}
FIGURE_NUMBERS = {"csi500": 11, "csi1000": 12}


def _label(index: str, universe: str) -> str:
    return f"{NAMES[index]} {NAMES[universe]}"


def _excess_figure(title: str, frames: dict[str, pl.DataFrame]) -> object:
    from matplotlib.figure import Figure as MplFigure

    chinese_figures()
    figure = MplFigure(figsize=(9, 3.5), layout="constrained")
    ax = figure.add_subplot()
    for model, daily in frames.items():
        ax.plot(daily["trade_date"].to_list(), daily["excess_nav"].to_list(), label=model)
    ax.axhline(1.0, color="grey", linewidth=0.5)
    ax.set_title(title, fontsize=10)
    ax.set_ylabel("超额净值（扣费后）")
    ax.legend(loc="upper left", fontsize=8)
    ax.tick_params(axis="x", labelrotation=30, labelsize=8)
    return figure


def _same_both_ways(saved: dict, model: str, index: str) -> bool:
    """Whether a model's whole-market and 80%-constituent backtests on `index` are the same
    day for day (both run)."""
    every, inside = saved[(model, index, "all")], saved[(model, index, "constituents80")]
    if every is None or inside is None or every.height != inside.height:
        return False
    return bool((every["excess"] - inside["excess"]).abs().max() < 1e-12)


def sections(models: list[str]) -> list[Section]:
    """Tables 7-9 and the excess NAV figures for `models` (empty if none was backtested)."""
    import polars as pl

    from portfolios.performance import (
        WHOLE,
        excess_metrics,
        side_by_side,
        side_by_side_formats,
        yearly_table,
    )
    from portfolios.store import load_daily

    saved = {(m, i, u): load_daily(m, i, u) for m in models for i, u in SETTINGS}
    if all(frame is None for frame in saved.values()):
        return []
    columns: dict[str, list] = {"模型": list(models)}
    for index, universe in SETTINGS:
        values = []
        for model in models:
            daily = saved[(model, index, universe)]
            values.append(None if daily is None else excess_metrics(
                daily["trade_date"].to_list(), daily["excess"].to_numpy())["annual_excess"])
        columns[_label(index, universe)] = values
    table7 = pl.DataFrame(columns, schema={"模型": pl.String, **{
        _label(i, u): pl.Float64 for i, u in SETTINGS}})
    first = min(f["trade_date"][0] for f in saved.values() if f is not None)
    last = max(f["trade_date"][-1] for f in saved.values() if f is not None)
    period = f"（{first:%Y.%m}-{last:%Y.%m}）"
    same = {index: [m for m in models if _same_both_ways(saved, m, index)]
            for index in TABLE_NUMBERS}
    same_note = "".join(
        f"{NAMES[index]}：{'、'.join(names)} 的全市场选股与成分股权重≥80% 逐日相同——全市场"
        f"组合的成分股权重已不低于 80%，约束没有起作用。" for index, names in same.items() if names)
    tables = [Table(
        title=f"表 7 指数增强组合年化超额收益{period}",
        frame=table7, formats={_label(i, u): ".1%" for i, u in SETTINGS},
        note="相对指数每日权重的超额，扣除双边 0.3% 交易成本，次日均价成交；空白：未回测。"
             + same_note)]
    figures = []
    for index, number in TABLE_NUMBERS.items():
        parts = []
        for universe in ("all", "constituents80"):
            frames = {m: saved[(m, index, universe)] for m in models
                      if saved[(m, index, universe)] is not None}
            if not frames:
                continue
            wide = side_by_side({m: yearly_table(f) for m, f in frames.items()}, METRIC_LABELS)
            parts.append(wide.select(pl.lit(NAMES[universe]).alias("选股范围"),
                                     pl.col("period").replace(WHOLE, WHOLE_PERIOD).alias("区间"),
                                     pl.exclude("period")))
            name = f"{NAMES[index]}增强组合超额净值（{NAMES[universe]}）{period}"
            figures.append(Figure(title=f"图 {FIGURE_NUMBERS[index]} {name}",
                                  figure=_excess_figure(name, frames)))
        if not parts:
            continue
        wide = pl.concat(parts, how="diagonal")
        tables.append(Table(
            title=f"表 {number} {NAMES[index]}增强组合分年度超额收益表现{period}",
            frame=wide, formats=side_by_side_formats(wide, METRIC_LABELS),
            note="超额收益年化（不足一年的年份也按年化计）；最大回撤为超额净值的回撤；跟踪误差与信息比由"
                 "日超额收益计算；月度胜率为超额为正的月份占比。"
                 + (f"{'、'.join(same[index])} 的两种选股范围逐日相同（成分股约束未起作用）。"
                    if same[index] else "")))
    return [Section(
        title="指数增强组合",
        intro="以模型得分为预期收益最大化组合收益，约束：个股权重偏离基准不超过 0.5%；"
              "市值、估值中性，其余风格因子暴露不超过 0.5 倍标准差；中信一级行业中性；"
              "全市场选股或成分股权重不低于 80%；每周调仓，单边换手不超过 30%。"
              "不可行的调仓按文档顺序放松约束（见各回测的 rebalances.parquet）。",
        tables=tables, figures=figures)]
