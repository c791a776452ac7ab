"""The seed report's tables 1-6 and figures 2-4, 6-10 for our evaluations, as report Sections.

Tables keep raw numbers (formatted by `Table.formats`) so the Markdown, HTML and terminal views
agree. Column names follow the seed report, its two header rows joined with a space
("Top10%超额 费前"). Figures are labelled in Chinese too (zoo.evaluate.sections.chinese_figures).
The "weekly" tables (3-6) use the shortest evaluated horizon (5 days by default). Every title
carries the window of its numbers; `zoo eval` and `zoo report` align the factors to the days
every scored model has scores, so they share one window.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from zoo.evaluate.sections import Figure, Section, Table, chinese_figures
from zoo.evaluate.topn import PORTFOLIO_NAMES, PORTFOLIOS
from zoo.vocabulary import FUNDAMENTAL_FACTORS, STYLE_FACTORS

if TYPE_CHECKING:
    import polars as pl

    from zoo.evaluate.evaluation import Evaluation

PCT = ".1%"
IC = ".3f"
ORACLE_KIND = "oracle"


def _span(evaluations: list[Evaluation]) -> str:
    first = min(e.first_date for e in evaluations)
    last = max(e.last_date for e in evaluations)
    return f"（{first:%Y.%m}-{last:%Y.%m}）"


def _ability(s: dict) -> dict:
    """The columns tables 1, 3 and 5 share: Rank IC at both entries, Top10%/Top100 excess."""
    return {"Rank IC T0 收盘": s["ic_close"], "Rank IC T1 均价": s["ic_vwap"],
            "Top10%超额 费前": s["top10pct"]["excess_gross"],
            "Top10%超额 费后": s["top10pct"]["excess_net"],
            "Top100 超额 费前": s["top100"]["excess_gross"],
            "Top100 超额 费后": s["top100"]["excess_net"]}


def ability_table(evaluations: list[Evaluation]) -> Table:
    """Table 1: per rebalance interval and factor, Rank IC and Top10%/Top100 excess."""
    import polars as pl

    rows = []
    for h in evaluations[0].config.horizons:
        for e in evaluations:
            s = e.summary[h]
            rows.append({"调仓间隔": f"{h} 日", "因子名称": e.name, **_ability(s)})
    frame = pl.DataFrame(rows)
    return Table(f"表 1 因子选股能力{_span(evaluations)}", frame,
                 note=f"年化超额 vs 等权可交易股票池；费后扣除双边 "
                      f"{evaluations[0].config.fee:.1%} 交易成本。",
                 formats={c: (IC if c.startswith("Rank") else PCT) for c in frame.columns[2:]})


def weekly_table(evaluations: list[Evaluation]) -> Table:
    """Tables 3 and 5: one row per factor at the shortest horizon, with autocorrelation and
    the Top10% portfolio's annual two-sided turnover."""
    import polars as pl

    h = min(evaluations[0].config.horizons)
    rows = []
    for e in evaluations:
        s = e.summary[h]
        rows.append({"因子名称": e.name, **_ability(s),
                     "因子值 自相关性": s["autocorr"],
                     "Top10% 年化双边换手": f"{s['top10pct']['turnover_annual']:.0f} 倍",
                     # factors scored over different spans are not comparable: show each span
                     "区间": f"{e.first_date:%Y.%m}-{e.last_date:%Y.%m}"})
    frame = pl.DataFrame(rows)
    formats = {c: PCT for c in frame.columns if "超额" in c}
    formats.update({"Rank IC T0 收盘": IC, "Rank IC T1 均价": IC, "因子值 自相关性": ".2f"})
    return Table(f"表 3/5 {h} 日调仓选股能力{_span(evaluations)}", frame, formats=formats)


def yearly_table(evaluations: list[Evaluation]) -> Table:
    """Tables 4 and 6: Top10% and Top100 excess (before fees) per calendar year and overall."""
    import polars as pl

    h = min(evaluations[0].config.horizons)
    years = sorted({y for e in evaluations for p in PORTFOLIOS
                    for y in e.summary[h][p]["by_year_gross"]})
    rows = []
    for p in PORTFOLIOS:
        for e in evaluations:
            s = e.summary[h][p]
            rows.append({"组合名称": f"{PORTFOLIO_NAMES[p]}组合", "因子名称": e.name,
                         **{str(y): s["by_year_gross"].get(y) for y in years},
                         "全区间": s["excess_gross"]})
    frame = pl.DataFrame(rows, schema={"组合名称": pl.Utf8, "因子名称": pl.Utf8,
                                       **{str(y): pl.Float64 for y in years},
                                       "全区间": pl.Float64})
    return Table(f"表 4/6 分年度多头超额收益（{h} 日调仓，费前）{_span(evaluations)}", frame,
                 note="每年为当年起始各期超额的复利（不足一年不年化）；全区间为年化。",
                 formats={c: PCT for c in frame.columns[2:]})


def ic_table(evaluations: list[Evaluation]) -> Table:
    """Rank IC detail: mean, ICIR and win rate per horizon, label and factor."""
    import polars as pl

    rows = []
    for h in evaluations[0].config.horizons:
        for e in evaluations:
            s = e.summary[h]
            rows.append({"调仓间隔": f"{h} 日", "因子名称": e.name,
                         "T0 收盘 IC": s["ic_close"], "T0 收盘 ICIR": s["icir_close"],
                         "T0 收盘 胜率": s["win_rate_close"],
                         "T1 均价 IC": s["ic_vwap"], "T1 均价 ICIR": s["icir_vwap"],
                         "T1 均价 胜率": s["win_rate_vwap"], "期数": s["ic_periods"],
                         "Top10% 超额最大回撤": s["top10pct"]["max_drawdown_excess"],
                         "Top100 超额最大回撤": s["top100"]["max_drawdown_excess"]})
    frame = pl.DataFrame(rows)
    formats = {c: (PCT if ("胜率" in c or "回撤" in c) else IC if c.endswith("IC")
                   else ".2f") for c in frame.columns[2:] if c != "期数"}
    return Table(f"Rank IC、ICIR、胜率与超额最大回撤{_span(evaluations)}", frame,
                 note="ICIR = IC 均值 / IC 标准差（不年化）；胜率 = IC > 0 的期数占比。",
                 formats=formats)


def ic_year_table(evaluations: list[Evaluation]) -> Table:
    """Mean T1-VWAP Rank IC per calendar year at the shortest horizon."""
    import polars as pl

    h = min(evaluations[0].config.horizons)
    years = sorted({y for e in evaluations for y in e.summary[h]["ic_vwap_by_year"]})
    rows = [{"因子名称": e.name, **{str(y): e.summary[h]["ic_vwap_by_year"].get(y)
                                   for y in years}, "全区间": e.summary[h]["ic_vwap"]}
            for e in evaluations]
    frame = pl.DataFrame(rows, schema={"因子名称": pl.Utf8, **{str(y): pl.Float64 for y in years},
                                       "全区间": pl.Float64})
    return Table(f"分年度 Rank IC（T1 均价，{h} 日）{_span(evaluations)}", frame,
                 formats={c: IC for c in frame.columns[1:]})


def correlation_table(evaluations: list[Evaluation], group: str, on_date: bool) -> Table:
    """Table 2 (mean over dates) or the one-date view: rows = factors, columns = models."""
    import polars as pl

    names = STYLE_FACTORS if group == "style" else FUNDAMENTAL_FACTORS
    column = "on_date" if on_date else "mean"
    frame = pl.DataFrame({"因子": list(names.values())})
    date = None
    for e in evaluations:
        style = e.style.filter(pl.col("group") == group) if e.style is not None else None
        values = dict(zip(style["factor"].to_list(), style[column].to_list(), strict=True)) \
            if style is not None and style.height else {}
        if style is not None and style.height:
            date = style["date"][0]
        frame = frame.with_columns(pl.Series(e.name, [values.get(k) for k in names],
                                             dtype=pl.Float64))
    kind = "风格、量价因子" if group == "style" else "基本面因子"
    when = f"（{date:%Y.%m.%d}）" if on_date and date else _span(evaluations)
    # the seed report's table 2 is the style correlations averaged over dates
    number = "" if on_date else "表 2 " if group == "style" else "表 2（续）"
    return Table(f"{number}与{kind}截面相关性{when}", frame,
                 note="截面 Spearman 相关系数" + ("" if on_date else "，按调仓日取均值") + "。",
                 formats={e.name: ".2f" for e in evaluations})


# --------------------------------------------------------------------------- figures
def _legend_outside(ax) -> None:
    """The legend right of the axes, where it hides no bar or line."""
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)


def nav_figure(evaluations: list[Evaluation], portfolio: str) -> Figure:
    """Figures 4 and 6: the excess NAV of a portfolio at the shortest horizon, per factor.

    The oracle (the planted expected return) compounds to many times its start, the models to
    a few tens of percent: on one axis the models lie flat at 1, so the oracle has its own."""
    import matplotlib.pyplot as plt
    import polars as pl

    chinese_figures()
    h = min(evaluations[0].config.horizons)
    groups = [g for g in ([e for e in evaluations if e.kind != ORACLE_KIND],
                          [e for e in evaluations if e.kind == ORACLE_KIND]) if g]
    fig, axes = plt.subplots(1, len(groups), figsize=(9, 3.6), squeeze=False, layout="constrained",
                             width_ratios=[2, 1][:len(groups)])
    for ax, group in zip(axes[0], groups, strict=True):
        for e in group:
            run = e.periods.filter((pl.col("horizon") == h) & (pl.col("portfolio") == portfolio))
            ax.plot(run["trade_date"].to_list(),
                    (1 + run["excess_gross"]).cum_prod().to_list(), label=e.name)
        ax.axhline(1.0, color="grey", lw=0.6)
        ax.set_ylabel("超额净值（费前）")
        ax.set_title("oracle（单独坐标）" if group[0].kind == ORACLE_KIND else "模型与因子",
                     fontsize=10)
        ax.legend(fontsize=8, loc="upper left")
        ax.tick_params(axis="x", labelrotation=30, labelsize=8)
    title = f"{PORTFOLIO_NAMES[portfolio]}组合超额净值走势（{h} 日调仓）{_span(evaluations)}"
    fig.suptitle(title, fontsize=11)
    note = ("oracle 是合成市场植入的预期收益（上限参照），其净值增长远超模型，单独一轴，"
            "以免把模型曲线压平。" if len(groups) == 2 else "")
    return Figure(title, fig, note=note)


def correlation_figure(evaluations: list[Evaluation], group: str, on_date: bool) -> Figure:
    """Figures 2, 3, 7-10: grouped bars of the correlations, one colour per factor."""
    import matplotlib.pyplot as plt
    import numpy as np

    chinese_figures()
    table = correlation_table(evaluations, group, on_date)
    title = table.title.removeprefix("表 2（续）").removeprefix("表 2 ")  # a figure, not table 2
    fig, ax = plt.subplots(figsize=(9, 3.4), layout="constrained")
    x = np.arange(table.frame.height)
    width = 0.8 / max(len(evaluations), 1)
    for i, e in enumerate(evaluations):
        values = np.array([np.nan if v is None else v for v in table.frame[e.name].to_list()])
        ax.bar(x + i * width - 0.4 + width / 2, values, width, label=e.name)
    ax.set_xticks(x, table.frame["因子"].to_list(), rotation=30, fontsize=8)
    ax.axhline(0, color="grey", lw=0.6)
    ax.set_ylabel("截面 Spearman 相关")
    ax.set_title(title, fontsize=10)
    _legend_outside(ax)
    return Figure(title, fig)


def ic_year_figure(evaluations: list[Evaluation]) -> Figure:
    """Mean T1-VWAP Rank IC per year, grouped bars per factor."""
    import matplotlib.pyplot as plt
    import numpy as np

    chinese_figures()
    table = ic_year_table(evaluations)
    years = table.frame.columns[1:-1]
    fig, ax = plt.subplots(figsize=(9, 3.2), layout="constrained")
    x = np.arange(len(years))
    width = 0.8 / max(len(evaluations), 1)
    for i, row in enumerate(table.frame.iter_rows(named=True)):
        values = [np.nan if row[y] is None else row[y] for y in years]
        ax.bar(x + i * width - 0.4 + width / 2, values, width, label=row["因子名称"])
    ax.set_xticks(x, years)
    ax.axhline(0, color="grey", lw=0.6)
    ax.set_ylabel("Rank IC 均值")
    ax.set_title(table.title, fontsize=10)
    _legend_outside(ax)
    return Figure(table.title, fig)


def sections(evaluations: list[Evaluation], figures: bool = True) -> list[Section]:
    """The factor part of the report: the seed report's tables 1-6 and figures 2-10."""
    if not evaluations:
        return []
    span = _span(evaluations)
    return [
        Section("因子选股能力", intro=(
            f"Rank IC（T0 收盘 / T1 均价入场）与 Top10%、Top100 多头组合相对等权可交易股票池的"
            f"年化超额，调仓间隔 {', '.join(str(x) for x in evaluations[0].config.horizons)} "
            f"日{span}。T+1 停牌或开盘涨停不买入，T+1 停牌或收盘跌停的持仓不卖出。"),
            tables=[ability_table(evaluations), weekly_table(evaluations),
                    ic_table(evaluations), ic_year_table(evaluations)],
            figures=[ic_year_figure(evaluations)] if figures else []),
        Section("分年度多头超额", tables=[yearly_table(evaluations)],
                figures=[nav_figure(evaluations, p) for p in PORTFOLIOS] if figures else []),
        Section("与常规因子的截面相关性", intro=(
            f"{max(evaluations[0].config.horizons)} 日调仓日上的截面 Spearman 相关"
            f"（表 2，图 2、3、7-10）。"),
            tables=[correlation_table(evaluations, g, d) for d in (False, True)
                    for g in ("style", "fundamental")],
            figures=[correlation_figure(evaluations, g, d) for d in (False, True)
                     for g in ("style", "fundamental")] if figures else []),
    ]


def frame_for(table: Table) -> pl.DataFrame:
    """The table's frame with its number columns formatted as text (for Markdown and rich)."""
    import polars as pl

    def fmt(value: object, spec: str) -> str:
        if value is None or (isinstance(value, float) and value != value):
            return "-"
        return format(value, spec)

    columns = []
    for name in table.frame.columns:
        spec = table.formats.get(name)
        series = table.frame[name]
        if spec:
            columns.append(pl.Series(name, [fmt(v, spec) for v in series.to_list()],
                                     dtype=pl.Utf8))
        else:
            columns.append(pl.Series(name, ["-" if v is None else str(v)
                                            for v in series.to_list()], dtype=pl.Utf8))
    return pl.DataFrame(columns)
