"""The stocks of the synthetic market and what is fixed about each when it is drawn.

`listed_fraction` of the stocks are listed before `start` (list dates back to 1991, skewed to
recent years), the rest IPO during the sample. Boards follow the list date: SSE main
600/601/603/605, SZSE main 000/001 and 002/003, ChiNext 300/301 (from 2009-10-30), STAR 688
(from 2019-07-22); codes are handed out in list-date order with occasional gaps. Industries are
the 30 CITIC level-1 industries, drawn with relative listing counts. `delist_fraction` of the
stocks (listed long before `start`) are drawn to delist during the sample, after an ST period
of 150-350 trading days.

Each stock also draws its market size and price at `start` (or its fair value after the IPO),
its price-to-sales ratio, its IPO pop, its market beta and industry loading, its idiosyncratic
volatility (higher for small caps), its normal turnover (higher for small caps), its float and
free-float ratios (IPO lock-ups expire after 250 and 750 trading days) and, for stocks listed
before `start`, a back-adjustment factor above 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from zoo.synth.calendar import _Calendar, as_day
from zoo.synth.config import SynthConfig

# Boards and their rules.
MAIN, CHINEXT, STAR = 0, 1, 2
BOARD_NAMES = ("主板", "创业板", "科创板")
CHINEXT_OPEN, STAR_OPEN, CHINEXT_REFORM = "20091030", "20190722", "20200824"
LIMIT_MAIN, LIMIT_ST, LIMIT_WIDE = 0.10, 0.05, 0.20
IPO_CAP, IPO_FLOOR = 0.44, -0.36

# CITIC level-1 industries, in code order 'b101'..'b10u', with relative listing counts.
INDUSTRY_CHARS = "123456789abcdefghijklmnopqrstu"
INDUSTRIES = (
    ("石油石化", 1.0), ("煤炭", 0.8), ("有色金属", 2.5), ("电力及公用事业", 2.5), ("钢铁", 0.9),
    ("基础化工", 6.5), ("建筑", 2.0), ("建材", 1.5), ("轻工制造", 3.0), ("机械", 8.0),
    ("电力设备及新能源", 5.5), ("国防军工", 2.0), ("汽车", 4.5), ("商贸零售", 2.0),
    ("消费者服务", 1.0), ("家电", 1.8), ("纺织服装", 2.0), ("医药", 8.0), ("食品饮料", 2.5),
    ("农林牧渔", 2.0), ("银行", 0.8), ("非银行金融", 1.6), ("房地产", 2.2), ("交通运输", 2.4),
    ("电子", 7.5), ("通信", 2.5), ("计算机", 6.5), ("传媒", 3.0), ("综合", 0.6), ("综合金融", 0.3),
)
BANK, NON_BANK = 20, 21
INDUSTRY_ROOT = "b1" + "0" * 14

# Code pools per segment: (prefix ranges as integers), in allocation order.
_SEGMENTS = (  # name, exchange, board, share of listings, first list date, code ranges
    ("sh_main", "SSE", MAIN, 0.40, "19901219", ((600000, 600999), (601000, 601999),
                                                (603000, 603999), (605000, 605999))),
    ("sz_main", "SZSE", MAIN, 0.13, "19901219", ((1, 999), (1201, 1999))),
    ("sz_sme", "SZSE", MAIN, 0.20, "20040625", ((2001, 2999), (3001, 3999))),
    ("chinext", "SZSE", CHINEXT, 0.20, CHINEXT_OPEN, ((300001, 301999),)),
    ("star", "SSE", STAR, 0.12, STAR_OPEN, ((688001, 688999),)),
)
_NAME_HEADS = "华中国东南西北新金天海长江山恒泰宏鑫盛信达安康瑞丰永隆光明大成通汇嘉德兴富远"
_NAME_TAILS = ("石化", "能源", "矿业", "电力", "钢铁", "化工", "建设", "建材", "家居", "机械",
               "电气", "航科", "汽车", "商业", "旅游", "电器", "服饰", "药业", "食品", "农业",
               "银行", "证券", "地产", "物流", "电子", "通信", "软件", "传媒", "股份", "控股")


@dataclass


class _Universe:
    """Static facts and parameters of each stock (index i = position in every array)."""

    codes: np.ndarray  # 'xxxxxx.SH'
    names: np.ndarray
    exchange: np.ndarray  # 'SSE' / 'SZSE'
    board: np.ndarray  # MAIN / CHINEXT / STAR
    list_day: np.ndarray  # calendar index of the first trading day
    # Calendar index of the first day no longer listed (huge if never) and of the ST entry
    # before it (-1 if none); the par-value rule can bring both forward during the simulation.
    delist_day: np.ndarray
    delist_st_day: np.ndarray
    ipo: np.ndarray  # listed during the sample
    industry: np.ndarray  # CITIC level-1 index at listing
    size: np.ndarray  # total market cap at `start` (listed) or at fair IPO value, yuan
    price: np.ndarray  # price at `start` (listed) or fair price after the IPO pop, yuan
    ps_ratio: np.ndarray  # market cap / annual revenue
    ipo_pop: np.ndarray  # log(fair price / issue price)
    beta: np.ndarray
    gamma: np.ndarray
    sigma: np.ndarray  # idiosyncratic daily vol
    log_tau: np.ndarray  # log of the stock's normal daily turnover (fraction of float)
    float_ratios: np.ndarray  # [3, n] float/total before 250, before 750, after (trading days)
    free_ratio: np.ndarray  # free float / float
    factor0: np.ndarray  # adjustment factor on the first day

    @property
    def n(self) -> int:
        return len(self.codes)

    def wide_limit_from(self, cal: _Calendar) -> np.ndarray:
        """Calendar index from which the stock's normal limit is 20 % (huge if never)."""
        reform = int(cal.on_or_after(as_day(CHINEXT_REFORM)))
        never = len(cal.days) + 1
        return np.where(self.board == STAR, 0, np.where(self.board == CHINEXT, reform, never))

    def unlimited_ipo(self, cal: _Calendar) -> np.ndarray:
        """IPOs with no price limit for five days (STAR; ChiNext after the reform)."""
        return self.wide_limit_from(cal) <= self.list_day


def _draw_universe(cfg: SynthConfig, cal: _Calendar, rng: np.random.Generator) -> _Universe:
    n = cfg.stocks
    n_pre = int(round(n * cfg.listed_fraction))
    ipo = np.arange(n) >= n_pre
    list_day = _draw_list_days(cal, ipo, rng)
    segment = _draw_segments(cal, list_day, rng)
    codes = _assign_codes(segment, list_day, rng)
    industry = rng.choice(len(INDUSTRIES), size=n, p=_industry_weights())
    names = _draw_names(industry, rng)
    delist_day, delist_st_day = _draw_delistings(cfg, cal, list_day, ipo, rng)

    size = np.clip(np.exp(rng.normal(np.log(6e9), 0.95, n)), 1.5e9, 6e11)
    size_z = (np.log(size) - np.log(6e9)) / 0.95
    price = np.round(np.clip(np.exp(rng.normal(np.log(15.0), 0.6, n)), 5.0, 100.0), 2)
    board = np.array([_SEGMENTS[s][2] for s in segment], dtype=np.int8)
    new_rules = np.where(board == STAR, True, board == CHINEXT) & (
        list_day >= int(cal.on_or_after(as_day(CHINEXT_REFORM))))
    pop = np.where(new_rules, rng.normal(np.log(2.2), 0.4, n),
                   np.log1p(IPO_CAP) + 0.1 + rng.exponential(0.5, n))
    float_final = rng.uniform(0.6, 1.0, n)
    float_ratios = np.stack([np.where(ipo, rng.uniform(0.2, 0.3, n), float_final),
                             np.where(ipo, rng.uniform(0.45, 0.7, n), float_final),
                             np.where(ipo, rng.uniform(0.85, 1.0, n), float_final)])
    return _Universe(
        codes=codes,
        names=names,
        exchange=np.array([_SEGMENTS[s][1] for s in segment]),
        board=board,
        list_day=list_day,
        delist_day=delist_day,
        delist_st_day=delist_st_day,
        ipo=ipo,
        industry=industry,
        size=size,
        price=price,
        ps_ratio=np.exp(rng.normal(np.log(2.5), 0.5, n)),
        ipo_pop=pop,
        beta=np.clip(rng.normal(1.0, 0.25, n), 0.4, 1.6),
        gamma=rng.uniform(0.6, 1.4, n),
        sigma=np.clip(0.020 - 0.0045 * size_z + rng.normal(0, 0.003, n), 0.015, 0.035),
        log_tau=np.clip(np.log(0.02) - 0.4 * size_z + rng.normal(0, 0.4, n),
                        np.log(0.002), np.log(0.15)),
        float_ratios=float_ratios,
        free_ratio=rng.uniform(0.35, 0.9, n),
        factor0=np.where(ipo, 1.0, np.exp(rng.uniform(0.0, 1.5, n))),
    )


def _draw_list_days(cal: _Calendar, ipo: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Pre-sample list days skewed to recent years; IPOs uniform inside the sample."""
    n = len(ipo)
    before = np.floor((cal.first - 1) * rng.random(n) ** 0.35).astype(np.int64)
    inside = rng.integers(cal.first + 3, max(cal.stop - 3, cal.first + 4), n)
    return np.where(ipo, inside, before)


def _draw_segments(cal: _Calendar, list_day: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    opens = cal.on_or_after(np.array([as_day(s[4]) for s in _SEGMENTS]))
    allowed = list_day[:, None] >= opens[None, :]
    weights = allowed * np.array([s[3] for s in _SEGMENTS])[None, :]
    cum = np.cumsum(weights / weights.sum(axis=1, keepdims=True), axis=1)
    return np.minimum((rng.random(len(list_day))[:, None] > cum).sum(axis=1), len(_SEGMENTS) - 1)


def _assign_codes(segment: np.ndarray, list_day: np.ndarray,
                  rng: np.random.Generator) -> np.ndarray:
    """Sequential codes per segment in list-date order, with occasional gaps."""
    codes = np.empty(len(segment), dtype=object)
    for s, (name, exchange, _, _, _, ranges) in enumerate(_SEGMENTS):
        members = np.nonzero(segment == s)[0]
        members = members[np.argsort(list_day[members], kind="stable")]
        pool = np.concatenate([np.arange(lo, hi + 1) for lo, hi in ranges])
        picks = np.cumsum(1 + (rng.random(len(members)) < 0.15)) - 1
        if len(members) and picks[-1] >= len(pool):
            raise ValueError(f"too many stocks for the {name} code range")
        suffix = ".SH" if exchange == "SSE" else ".SZ"
        codes[members] = [f"{c:06d}{suffix}" for c in pool[picks]]
    return codes.astype(str)


def _industry_weights() -> np.ndarray:
    w = np.array([weight for _, weight in INDUSTRIES])
    return w / w.sum()


def _draw_names(industry: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    heads = rng.integers(0, len(_NAME_HEADS), (len(industry), 2))
    return np.array([f"{_NAME_HEADS[a]}{_NAME_HEADS[b]}{_NAME_TAILS[i]}"
                     for (a, b), i in zip(heads, industry, strict=True)])


def _draw_delistings(cfg: SynthConfig, cal: _Calendar, list_day: np.ndarray, ipo: np.ndarray,
                     rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Delist a few long-listed stocks inside the sample, each after a 150-350 day ST period."""
    n = len(list_day)
    never = np.full(n, len(cal.days) + 10, dtype=np.int64)
    st_day = np.full(n, -1, dtype=np.int64)
    candidates = np.nonzero(~ipo & (list_day <= cal.first - 250))[0]
    count = min(int(round(n * cfg.delist_fraction)), len(candidates))
    if count == 0 or cal.stop - cal.first < 130:
        return never, st_day
    chosen = np.sort(rng.choice(candidates, size=count, replace=False))
    never[chosen] = rng.integers(cal.first + 120, cal.stop, count)
    st_day[chosen] = never[chosen] - rng.integers(150, 350, count)
    return never, st_day
