"""The layers: attention pooling, masked batch norm, GRU encoders, orthogonal head, GAT residual;
and the full-market memory test of `biagru_gat` (slow)."""

from __future__ import annotations

import threading

import numpy as np
import psutil
import pytest
import torch

from zoo.layers import (
    AttentionPooling,
    BiAGRUEncoder,
    DayAttention,
    FundamentalGRUEncoder,
    GATResidual,
    MaskedBatchNorm,
    OrthogonalFactorHead,
)


def corr_offdiag(x: torch.Tensor) -> torch.Tensor:
    corr = torch.corrcoef(x.T.double())
    return corr - torch.diag(torch.diag(corr))


# ------------------------------------------------------------------------------ attention
def test_attention_weights_sum_to_one_and_ignore_masked_steps():
    torch.manual_seed(0)
    pool = AttentionPooling(8)
    x = torch.randn(5, 7, 8)
    mask = torch.ones(5, 7, dtype=torch.bool)
    mask[0, :3] = False
    mask[2, 6] = False
    mask[4] = False  # nothing valid
    weights = pool.attention(x, mask)
    torch.testing.assert_close(weights[:4].sum(-1), torch.ones(4))
    assert (weights[~mask] == 0).all()
    assert (weights[mask] > 0).all()
    out = pool(x, mask)
    assert torch.equal(out[4], torch.zeros(8))
    changed = x.clone()
    changed[~mask] = 100.0
    assert torch.equal(pool(changed, mask), out)
    # Without a mask every step counts.
    torch.testing.assert_close(pool.attention(x).sum(-1), torch.ones(5))


def test_day_attention_is_qlibs_pairwise_attention_without_the_pairs():
    """The scores of Qlib's `GATModel.cal_attention`, built as it builds them (every pair
    [x'_j || x'_i], N * N rows), equal the outer-sum form; masked stocks get no weight."""
    torch.manual_seed(0)
    n, c = 7, 5
    layer = DayAttention(c)
    x = torch.randn(n, c)
    with torch.no_grad():
        h = layer.transform(x)
        e_x = h.expand(n, n, c)  # e_x[i, j] = h_j
        pairs = torch.cat((e_x, e_x.transpose(0, 1)), 2).view(-1, 2 * c)
        qlib = torch.softmax(torch.nn.functional.leaky_relu(
            (layer.a[None, :] @ pairs.T).view(n, n), 0.01), dim=1)
        torch.testing.assert_close(layer.attention(x), qlib)
        torch.testing.assert_close(layer(x), x + qlib @ x)
        mask = torch.tensor([True, False, True, True, False, True, True])
        weights = layer.attention(x, mask)
        assert (weights[:, ~mask] == 0).all()
        torch.testing.assert_close(weights.sum(-1), torch.ones(n))
        # what a masked stock holds changes no output
        changed = x.clone()
        changed[~mask] = 100.0
        torch.testing.assert_close(layer(changed, mask)[mask], layer(x, mask)[mask])
        # nobody to attend to: the residual path alone
        nobody = torch.zeros(n, dtype=torch.bool)
        torch.testing.assert_close(layer(x, nobody), x)


def test_masked_batch_norm_takes_statistics_over_valid_stocks_only():
    norm = MaskedBatchNorm(3).train()
    x = torch.randn(20, 10, 3) * 4.0 + 2.0
    mask = torch.ones(20, dtype=torch.bool)
    mask[:4] = False
    out = norm(x, mask)
    valid = out[mask].reshape(-1, 3)
    torch.testing.assert_close(valid.mean(0), torch.zeros(3), atol=1e-5, rtol=0)
    torch.testing.assert_close(valid.std(0, unbiased=False), torch.ones(3), atol=1e-3, rtol=0)
    changed = x.clone()
    changed[:4] = 1e3
    assert torch.equal(norm(changed, mask)[mask], out[mask])
    # Running statistics moved toward the valid stocks' and are used in evaluation.
    assert (norm.running_mean > 0.1).all()
    norm.eval()
    assert torch.equal(norm(changed, mask)[mask], norm(x)[mask])


def test_cross_sectional_rank_gives_normal_scores_of_the_valid_stocks_only():
    from scipy.stats import norm as normal
    from scipy.stats import rankdata

    from zoo.layers.norm import CrossSectionalRank

    torch.manual_seed(0)
    x = torch.randn(9, 3, 2)
    x[2, 0, 0] = x[4, 0, 0]  # a tie
    mask = torch.ones(9, dtype=torch.bool)
    mask[7] = False
    x[7] = float("nan")  # masked stocks may hold NaN
    out = CrossSectionalRank(2, affine=False)(x, mask)
    valid = x[mask].numpy()
    expected = normal.ppf((rankdata(valid, axis=0) - 0.5) / mask.sum().item())
    assert np.allclose(out[mask].numpy(), expected, atol=1e-5)
    assert out[2, 0, 0] == out[4, 0, 0]
    assert torch.equal(out[7], torch.zeros(3, 2))
    # a market move (the same shift for every stock) changes nothing
    assert torch.equal(CrossSectionalRank(2, affine=False)(torch.where(
        mask[:, None, None], x + 0.05, x), mask), out)


def test_group_demeaned_subtracts_the_mean_of_the_valid_stocks_of_each_industry():
    from zoo.layers.norm import group_demeaned

    torch.manual_seed(0)
    x = torch.randn(7, 3, 2)
    group = torch.tensor([0, 0, 1, 1, 1, -1, 0])
    mask = torch.tensor([True, True, True, True, False, True, True])
    out = group_demeaned(x, group, mask)
    for g in (0, 1):
        members = (group == g) & mask
        assert torch.allclose(out[members], x[members] - x[members].mean(0), atol=1e-6)
        assert torch.allclose(out[members].mean(0), torch.zeros(3, 2), atol=1e-6)
    # the masked stock of industry 1 entered no mean and keeps its values; so does "unknown"
    assert torch.equal(out[4], x[4]) and torch.equal(out[5], x[5])
    # an industry factor (the same shift for every member) drops out
    shifted = x + torch.where(group == 1, 0.3, 0.0)[:, None, None]
    assert torch.allclose(group_demeaned(shifted, group, mask)[mask & (group >= 0)],
                          out[mask & (group >= 0)], atol=1e-6)
    # no groups: one industry, the cross-sectional demeaning
    assert torch.allclose(group_demeaned(x, None), x - x.mean(0), atol=1e-6)


# ------------------------------------------------------------------------------ encoders
def test_industry_neutral_encoder_without_industries_says_so_once():
    """A warehouse without CITIC industries gives every stock industry -1: the industry-
    neutral input is then the plain one, which the encoder says once instead of silently."""
    import warnings

    from zoo.layers.gru import BiAGRUEncoder

    x, mask = torch.randn(6, 5, 3), torch.ones(6, dtype=torch.bool)
    encoder = BiAGRUEncoder(3, 4, input_norm="rank", industry_neutral=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        encoder(x, mask, torch.tensor([0, 0, 1, 1, 2, -1]))  # industries known: silent
        assert not caught
        for _ in range(3):
            encoder(x, mask, torch.full((6,), -1))
    assert len(caught) == 1
    assert "not industry-neutralised" in str(caught[0].message)
    assert "no industries" in str(caught[0].message)
    with warnings.catch_warnings(record=True) as caught:  # not asked to be neutral: silent
        warnings.simplefilter("always")
        BiAGRUEncoder(3, 4, input_norm="rank")(x, mask, torch.full((6,), -1))
    assert not caught


def test_biagru_encoder_shapes_and_norms():
    x = torch.randn(6, 40, 6)
    for norm in ("batch", "layer", "rank", "none"):
        encoder = BiAGRUEncoder(6, hidden_channels=5, input_norm=norm)
        assert encoder(x).shape == (6, 10) == (6, encoder.out_channels)
    with pytest.raises(ValueError, match="input_norm"):
        BiAGRUEncoder(6, input_norm="group")


def test_industry_neutral_encoder_reads_moves_relative_to_the_industry():
    torch.manual_seed(0)
    x = 1.0 + 0.02 * torch.randn(8, 40, 6)
    group = torch.tensor([0, 0, 0, 0, 1, 1, 1, 1])
    encoder = BiAGRUEncoder(6, hidden_channels=5, input_norm="none", industry_neutral=True)
    assert encoder.gru.input_size == 12
    out = encoder(x, None, group)
    assert out.shape == (8, 10) and torch.isfinite(out).all()
    # the industry ids are labels, not values: renumbering them changes nothing
    assert torch.allclose(encoder(x, None, 1 - group), out, atol=1e-6)
    # and they matter: one industry for all reads differently
    assert not torch.allclose(encoder(x, None, torch.zeros(8, dtype=torch.long)), out)


def test_fundamental_encoder_ignores_values_in_unknown_quarters():
    torch.manual_seed(0)
    encoder = FundamentalGRUEncoder(19, hidden_channels=8)
    x = torch.randn(4, 12, 19)
    mask = torch.ones(4, 12, dtype=torch.bool)
    mask[1, :5] = False
    mask[2] = False
    out = encoder(x, mask)
    changed = x.clone()
    changed[~mask] = float("nan")
    assert torch.equal(encoder(changed, mask), out)
    assert torch.isfinite(out).all() and out.shape == (4, 8)
    # "Unknown" is not read as "zero": the mask itself is an input.
    zeros = x.clone()
    zeros[~mask] = 0.0
    assert not torch.allclose(encoder(zeros), out)


# ------------------------------------------------------------------------------ orthogonal
def test_orthogonal_head_outputs_are_uncorrelated_across_stocks():
    torch.manual_seed(0)
    head = OrthogonalFactorHead(48, num_factors=32)
    # Inputs driven by 4 common factors: the linear outputs alone are strongly correlated.
    x = torch.randn(400, 4) @ torch.randn(4, 48) + 0.3 * torch.randn(400, 48)
    assert corr_offdiag(head.lin(x).detach()).abs().max() > 0.5
    out = head(x)
    assert out.shape == (400, 32)
    assert corr_offdiag(out.detach()).abs().max() < 1e-3
    torch.testing.assert_close(out.detach().std(0), torch.ones(32), atol=1e-2, rtol=0)
    out.square().mean().backward()
    assert all(torch.isfinite(p.grad).all() for p in head.parameters())


def test_orthogonal_head_takes_statistics_over_valid_stocks_only():
    torch.manual_seed(0)
    head = OrthogonalFactorHead(8, num_factors=4)
    x = torch.randn(200, 8)
    mask = torch.rand(200) > 0.2
    out = head(x, mask)
    assert corr_offdiag(out.detach()[mask]).abs().max() < 1e-3
    changed = x.clone()
    changed[~mask] = 50.0
    torch.testing.assert_close(head(changed, mask)[mask], out[mask])
    # Fewer stocks than factors: not uncorrelated (impossible), but finite.
    assert torch.isfinite(OrthogonalFactorHead(8, num_factors=8)(x[:5])).all()
    with pytest.raises(ValueError, match="at least as many input channels"):
        OrthogonalFactorHead(16, num_factors=32)


# ------------------------------------------------------------------------------ GAT
def test_gat_residual_without_edges_is_the_residual_path_only():
    torch.manual_seed(0)
    gat = GATResidual(16, heads=4).eval()
    x = torch.randn(10, 16)
    empty = torch.empty(2, 0, dtype=torch.long)
    torch.testing.assert_close(gat(x, empty), gat.norm(x))
    # With edges, only the nodes that receive messages move.
    edge_index = torch.tensor([[1, 2, 3], [0, 0, 4]])
    out = gat(x, edge_index)
    isolated = [1, 2, 3, 5, 6, 7, 8, 9]
    torch.testing.assert_close(out[isolated], gat.norm(x)[isolated])
    assert not torch.allclose(out[[0, 4]], gat.norm(x)[[0, 4]])


def test_gat_residual_is_multi_head_and_checks_divisibility():
    gat = GATResidual(16, heads=4)
    assert gat.conv.heads == 4 and gat.conv.out_channels == 4
    with pytest.raises(ValueError, match="divisible"):
        GATResidual(10, heads=4)


# ------------------------------------------------------------------------------ memory
class PeakRSS:
    """Peak resident memory of this process above its level at entry, sampled every 2 ms."""

    def __enter__(self) -> PeakRSS:
        self.process = psutil.Process()
        self.base = self.process.memory_info().rss
        self.peak = self.base
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()
        return self

    def _sample(self) -> None:
        while not self.done.wait(0.002):
            self.peak = max(self.peak, self.process.memory_info().rss)

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        self.thread.join()
        self.peak = max(self.peak, self.process.memory_info().rss)

    @property
    def increase_gb(self) -> float:
        return (self.peak - self.base) / 2**30


@pytest.mark.slow
def test_full_market_day_through_biagru_gat_fits_in_memory():
    """One full-market day: 5000 stocks, 10 random fundamental neighbours each (E = 50,000),
    forward and backward on CPU with the default model, peak RSS increase under 4 GB."""
    import zoo.models  # noqa: F401
    from zoo.registry import create_model
    from zoo.train.losses import neg_ic_loss

    n, k = 5000, 10
    g = torch.Generator().manual_seed(0)
    batch = {
        "price_volume": 1.0 + 0.02 * torch.randn(n, 40, 6, generator=g),
        "price_mask": torch.rand(n, generator=g) > 0.05,
        "edge_index": torch.stack([
            (torch.arange(n).repeat_interleave(k) + torch.randint(1, n, (n * k,), generator=g)) % n,
            torch.arange(n).repeat_interleave(k),
        ]),
    }
    label = torch.randn(n, generator=g)
    torch.manual_seed(0)
    model = create_model("biagru_gat").train()
    with PeakRSS() as rss:
        score = model(batch)
        neg_ic_loss(score, label, batch["price_mask"]).backward()
    assert batch["edge_index"].shape == (2, 50_000)
    assert torch.isfinite(score).all()
    print(f"biagru_gat full-market day: peak RSS increase {rss.increase_gb:.2f} GB")
    assert rss.increase_gb < 4.0
