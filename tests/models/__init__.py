"""Tests of the model zoo; `make_batch` builds one hand-made trading day for them."""

from __future__ import annotations

import torch
from torch import Tensor

MASKED_STOCKS = (3, 10)  # no full price window; their windows hold NaN
DAYS, PRICE_FEATURES, QUARTERS, FUND_FIELDS, STYLE_FACTORS = 40, 6, 12, 19, 11


def make_batch(n: int = 16, seed: int = 0, degree: int = 3) -> dict[str, Tensor]:
    """One day of `n` stocks shaped like the datasets' batches.

    Price windows are close to 1 (prices over the last close) with volume ratios around 1;
    stocks in `MASKED_STOCKS` have NaN windows and `price_mask` False. Fundamentals are
    standard normal with the oldest quarters unknown for some stocks (NaN there, `fund_mask`
    False), one stock with no known quarter. The graph gives each stock `degree` random
    in-neighbours (no self loops), and the masked stocks some out-edges. Stocks belong to
    three industries, the last stock's unknown (-1).
    """
    g = torch.Generator().manual_seed(seed)
    price = 1.0 + 0.02 * torch.randn(n, DAYS, PRICE_FEATURES, generator=g).cumsum(1)
    price[..., 5] = torch.rand(n, DAYS, generator=g) * 2.0
    price_mask = torch.ones(n, dtype=torch.bool)
    for i in MASKED_STOCKS:
        if i < n:
            price_mask[i] = False
            price[i] = float("nan")

    fund = torch.randn(n, QUARTERS, FUND_FIELDS, generator=g)
    known_from = torch.randint(0, QUARTERS, (n,), generator=g)
    known_from[::2] = 0  # half the stocks have every quarter
    known_from[1] = QUARTERS  # and one has none
    fund_mask = torch.arange(QUARTERS)[None, :] >= known_from[:, None]
    fund = fund.masked_fill(~fund_mask[..., None], float("nan"))

    sources, targets = [], []
    for i in range(n):
        others = torch.tensor([j for j in range(n) if j != i])
        picked = others[torch.randperm(n - 1, generator=g)[:degree]]
        sources += picked.tolist()
        targets += [i] * degree
    for i in MASKED_STOCKS:
        if i < n:
            sources.append(i)
            targets.append((i + 1) % n)
    edge_index = torch.tensor([sources, targets], dtype=torch.long)

    industry = torch.arange(n) % 3
    industry[n - 1] = -1

    label = torch.randn(n, generator=g)
    label_mask = torch.ones(n, dtype=torch.bool)
    label_mask[n - 1] = False
    label[n - 1] = float("nan")
    return {
        "price_volume": price,
        "price_mask": price_mask,
        "fundamentals": fund,
        "fund_mask": fund_mask,
        "style": torch.randn(n, STYLE_FACTORS, generator=g),
        "edge_index": edge_index,
        "industry": industry,
        "label": label,
        "label_mask": label_mask,
    }

# The models here are tiny: one intra-op thread avoids thread hand-offs that cost more than
# the work, especially on a shared machine.
torch.set_num_threads(1)
