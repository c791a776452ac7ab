"""Every registered model on a hand-made day; model-specific behaviour; losses; XGBoost stage."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import zoo.models  # noqa: F401  (registers the models)
from tests.models import MASKED_STOCKS, make_batch
from zoo.models.two_stage import XGBoostStage
from zoo.registry import DataContract, create_model, list_models, model_contract
from zoo.train.losses import get_loss, mse_loss, neg_ic_loss

SMALL = {"hidden_channels": 16, "dropout": 0.1}  # every torch model's factory takes these
# Models trained by gradient (every test below); the tree models (`tree_only`: xgb_window)
# have no gradient, no forward and their own tests at the end.
TORCH_MODELS = [name for name in list_models() if not model_contract(name).tree_only]
TREE_MODELS = [name for name in list_models() if model_contract(name).tree_only]


def corr_offdiag(x: torch.Tensor) -> torch.Tensor:
    corr = torch.corrcoef(x.T.double())
    return corr - torch.diag(torch.diag(corr))


def build(name: str, seed: int = 0, **overrides) -> torch.nn.Module:
    torch.manual_seed(seed)
    return create_model(name, **{**SMALL, **overrides})


def run(model: torch.nn.Module, batch: dict, seed: int = 0) -> torch.Tensor:
    torch.manual_seed(seed)  # the same dropout masks in training mode
    return model(batch)


def with_masked_inputs_changed(batch: dict, seed: int = 1) -> dict:
    """The same day with other values in every masked price window and unknown quarter."""
    g = torch.Generator().manual_seed(seed)
    changed = dict(batch)
    price = batch["price_volume"].clone()
    price[~batch["price_mask"]] = 5.0 * torch.randn(price[~batch["price_mask"]].shape, generator=g)
    fund = batch["fundamentals"].clone()
    fund[~batch["fund_mask"]] = 5.0 * torch.randn(fund[~batch["fund_mask"]].shape, generator=g)
    changed.update(price_volume=price, fundamentals=fund)
    return changed


# ----------------------------------------------------------------------------- every model
@pytest.mark.parametrize("name", TORCH_MODELS)
def test_forward_backward_finite(name):
    batch = make_batch()
    model = build(name).train()
    score = model(batch)
    assert score.shape == (16,)
    assert torch.isfinite(score).all()
    mask = batch["label_mask"] & batch["price_mask"]
    loss = mse_loss(score, batch["label"], mask) + neg_ic_loss(score, batch["label"], mask)
    loss.backward()
    grads = {n: p.grad for n, p in model.named_parameters()}
    assert all(g is not None for g in grads.values()), [n for n, g in grads.items() if g is None]
    assert all(torch.isfinite(g).all() for g in grads.values())
    assert sum(g.abs().sum() for g in grads.values()) > 0


@pytest.mark.parametrize("name", TORCH_MODELS)
def test_same_seed_same_output(name):
    batch = make_batch()
    first = run(build(name, seed=0).train(), batch)
    second = run(build(name, seed=0).train(), batch)
    other = run(build(name, seed=1).train(), batch)
    assert torch.equal(first, second)
    assert not torch.allclose(first, other)


@pytest.mark.parametrize("name", TORCH_MODELS)
def test_eval_mode_is_deterministic(name):
    batch = make_batch()
    model = build(name).eval()
    torch.manual_seed(1)
    first = model(batch)
    torch.manual_seed(2)
    assert torch.equal(first, model(batch))


@pytest.mark.parametrize("mode", ["train", "eval"])
@pytest.mark.parametrize("name", TORCH_MODELS)
def test_masked_inputs_change_no_score(name, mode):
    batch = make_batch()
    model = build(name).train(mode == "train")
    before = run(model, batch)
    after = run(model, with_masked_inputs_changed(batch))
    assert torch.equal(before, after)


@pytest.mark.parametrize("name", TORCH_MODELS)
def test_contract_is_declared_and_truthful(name):
    model = build(name).eval()
    assert isinstance(model.contract, DataContract)
    assert model.contract == model_contract(name)
    assert model.contract.feature_services
    batch = make_batch()
    # The declared inputs are enough to score the day.
    declared = {key: batch[key] for key in model.contract.inputs}
    assert torch.equal(model(declared), model(batch))


def test_only_graph_models_change_with_the_graph():
    batch = make_batch()
    rewired = {**batch, "edge_index": make_batch(seed=5)["edge_index"]}
    for name in TORCH_MODELS:
        model = build(name).eval()
        changed = not torch.equal(model(batch), model(rewired))
        assert changed == model.contract.needs_graph, name


# ------------------------------------------------------------------------------ biagru_gat
def test_biagru_gat_score_depends_on_neighbours_only():
    batch = make_batch()
    # Stock 0 listens to stocks 1 and 2; stock 5 sends to stock 6 only.
    batch["edge_index"] = torch.tensor([[1, 2, 5, 0], [0, 0, 6, 7]])
    # Per-stock input normalisation (running statistics in eval): the default cross-sectional
    # rank makes every stock's input depend on the whole day (and the industry-neutral inputs
    # on its industry), which would hide the graph's reach.
    model = build("biagru_gat", input_norm="batch", industry_neutral=False).eval()
    base = model(batch)

    def perturbed(stock: int) -> torch.Tensor:
        price = batch["price_volume"].clone()
        price[stock] += 0.3
        return model({**batch, "price_volume": price})

    neighbour, stranger = perturbed(1), perturbed(5)
    assert not torch.isclose(neighbour[0], base[0])
    assert torch.equal(stranger[0], base[0])
    assert not torch.isclose(stranger[6], base[6])  # ... but 5's own neighbour does move
    # Stocks that listen to nobody depend on their own inputs only.
    assert torch.equal(neighbour[[3, 4, 8, 9]], base[[3, 4, 8, 9]])


def test_biagru_gat_without_edges_scores_like_no_graph():
    batch = make_batch()
    model = build("biagru_gat").eval()
    empty = model({**batch, "edge_index": torch.empty(2, 0, dtype=torch.long)})
    assert torch.isfinite(empty).all()
    with torch.no_grad():
        h = model.encoder(batch["price_volume"], batch["price_mask"], batch["industry"])
        alone = model.head(model.gats[0].norm(h)).squeeze(-1)
    torch.testing.assert_close(empty, alone)


# ------------------------------------------------------------------------------ the peers
def perturbed(batch: dict, stock: int) -> dict:
    price = batch["price_volume"].clone()
    price[stock] += 0.3
    return {**batch, "price_volume": price}


def test_gats_attends_to_every_valid_stock_of_the_day_and_alstm_to_none():
    batch = make_batch()
    # Per-stock input normalisation (running statistics in eval), so a stock's inputs reach
    # another stock's score only through the model's own cross-stock attention.
    gats = build("gats", input_norm="batch").eval()
    alstm = build("alstm", input_norm="batch").eval()
    base_gats, base_alstm = gats(batch), alstm(batch)
    moved = perturbed(batch, 5)
    others = [i for i in range(16) if i != 5]
    # gats: no graph, yet stock 5 moves every other score (and its own)
    assert (gats(moved)[others] != base_gats[others]).all()
    assert not torch.isclose(gats(moved)[5], base_gats[5])
    # alstm scores each stock from its own window alone
    assert torch.equal(alstm(moved)[others], base_alstm[others])
    assert not torch.isclose(alstm(moved)[5], base_alstm[5])


def test_gats_is_qlibs_gru_last_state_attention_and_head():
    """The composition of Qlib's `GATModel.forward`: last GRU state, plus the attention-
    weighted sum of all the day's states, through fc, LeakyReLU and fc_out."""
    batch = make_batch()
    model = build("gats", input_norm="none", dropout=0.0).eval()
    mask = batch["price_mask"]
    with torch.no_grad():
        x = torch.where(mask[:, None, None], batch["price_volume"], 0.0)
        hidden = model.rnn(x)[0][:, -1]
        weights = model.attention.attention(hidden, mask)
        h = hidden + weights @ hidden
        expected = model.fc_out(torch.nn.functional.leaky_relu(model.fc(h), 0.01)).squeeze(-1)
    torch.testing.assert_close(model(batch), expected)
    assert (weights[:, ~mask] == 0).all()
    torch.testing.assert_close(weights.sum(-1), torch.ones(16))


def test_alstm_scores_the_last_state_beside_the_attention_pooled_states():
    batch = make_batch()
    model = build("alstm", input_norm="none", dropout=0.0).eval()
    with torch.no_grad():
        x = torch.where(batch["price_mask"][:, None, None], batch["price_volume"], 0.0)
        out = model.rnn(torch.tanh(model.fc_in(x)))[0]
        alpha = torch.softmax(model.pool.score(torch.tanh(model.pool.proj(out))), dim=1)
        expected = model.fc_out(torch.cat([out[:, -1], (alpha * out).sum(1)], -1)).squeeze(-1)
    torch.testing.assert_close(model(batch), expected)
    assert model.pool.hidden_channels == 8  # Qlib's scorer: H / 2


def test_xgb_window_features_are_the_ranked_window_and_style():
    (name,) = TREE_MODELS
    batch = make_batch()
    model = create_model(name)
    features = model.stage_features(batch)
    assert features.shape == (16, 40 * 6 + 11)
    masked = list(MASKED_STOCKS)
    assert torch.isnan(features[masked, :240]).all()
    valid = batch["price_mask"]
    assert torch.isfinite(features[valid]).all()
    torch.testing.assert_close(features[:, 240:], batch["style"])
    # each (day, feature) column: normal scores of the valid stocks' ranks (mean 0)
    assert features[valid, :240].mean(0).abs().max() < 1e-5
    # masked stocks' windows change no feature
    again = model.stage_features(with_masked_inputs_changed(batch))
    assert torch.equal(torch.nan_to_num(again, nan=7.0), torch.nan_to_num(features, nan=7.0))
    raw = create_model(name, ranked=False).stage_features(batch)
    torch.testing.assert_close(raw[valid, :240], batch["price_volume"][valid].flatten(1))
    with pytest.raises(TypeError, match="scored by its trees"):
        model(batch)
    assert list(model.parameters()) == []  # nothing trains by gradient
    stage = model.make_second_stage()
    assert isinstance(stage, XGBoostStage) and stage.config.n_estimators == 500


def test_tree_only_contract_reads_what_it_declares():
    for name in TREE_MODELS:
        contract = model_contract(name)
        assert not contract.two_stage and not contract.needs_graph
        model = create_model(name)
        batch = make_batch()
        declared = {key: batch[key] for key in contract.inputs}
        torch.testing.assert_close(model.stage_features(declared), model.stage_features(batch),
                                   equal_nan=True)
    with pytest.raises(ValueError, match="not both"):
        DataContract(inputs=("price_volume",), feature_services=("price_volume_v1",),
                     two_stage=True, tree_only=True)


# ------------------------------------------------------------------------------ biagru_xgb
def test_biagru_xgb_factors_are_uncorrelated_across_the_days_stocks():
    batch = make_batch(n=160)
    torch.manual_seed(0)
    # The default width (128 channels for 32 factors); training mode, so the input norm uses
    # the day's statistics (an untrained model's running statistics leave its representation
    # near-degenerate, and no whitening can make degenerate directions uncorrelated).
    model = create_model("biagru_xgb").train()
    factors = model.factors(batch).detach()[batch["price_mask"]]
    assert factors.shape == (158, 32)
    assert corr_offdiag(factors).abs().max() < 1e-2
    # The head whitens with the day's statistics in evaluation too.
    h = model.encoder(batch["price_volume"], batch["price_mask"]).detach()
    model.eval()
    assert torch.equal(model.orthogonal(h, batch["price_mask"]),
                       model.orthogonal.train()(h, batch["price_mask"]))


def test_biagru_xgb_stage_features_and_second_stage():
    batch = make_batch()
    model = build("biagru_xgb").eval()
    features = model.stage_features(batch)
    assert features.shape == (16, 32 + 19 + 11)
    masked = list(MASKED_STOCKS)
    assert torch.isnan(features[masked, :32]).all()
    assert torch.isfinite(features[batch["price_mask"], :32]).all()
    no_latest_quarter = ~batch["fund_mask"][:, -1]
    assert torch.isnan(features[no_latest_quarter, 32:51]).all()
    torch.testing.assert_close(features[:, 51:], batch["style"])
    stage = model.make_second_stage()
    assert isinstance(stage, XGBoostStage)
    assert stage.config.seed == 0 and stage.config.n_jobs == 1
    x = features.numpy()
    y = batch["label"].numpy()
    quick = XGBoostStage(stage.config, n_estimators=5, min_child_weight=1.0)
    assert np.isfinite(quick.fit(x, y).predict(x)).all()


# ------------------------------------------------------------------------------ XGBoost stage
def planted(m: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A relation to learn: y = sin(2 x0) + |x1| + noise, among 62 columns, some missing."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(m, 62)).astype(np.float32)
    y = np.sin(2 * x[:, 0]) + np.abs(x[:, 1]) + 0.1 * rng.normal(size=m)
    x[rng.random((m, 62)) < 0.02] = np.nan
    return x, y


def test_xgboost_stage_learns_a_planted_relation_deterministically():
    x, y = planted(1000, seed=0)
    xv, yv = planted(300, seed=1)
    y[:10] = np.nan  # unlabelled rows are dropped
    settings = dict(n_estimators=150, learning_rate=0.2, max_depth=3, min_child_weight=1.0,
                    n_jobs=1, seed=3)
    stage = XGBoostStage(**settings).fit(x, y, valid=(xv, yv))
    pred = stage.predict(xv)
    assert np.corrcoef(pred, yv)[0, 1] > 0.9
    assert stage.best_iteration is not None and stage.best_iteration < 150
    again = XGBoostStage(**settings).fit(x, y, valid=(xv, yv)).predict(xv)
    assert np.array_equal(pred, again)


def test_xgboost_stage_saves_loads_and_rejects_unknown_settings(tmp_path):
    x, y = planted(300, seed=0)
    stage = XGBoostStage(n_estimators=20, min_child_weight=1.0).fit(x, y)
    stage.save(tmp_path / "stage.json")
    loaded = XGBoostStage.load(tmp_path / "stage.json")
    assert np.array_equal(loaded.predict(x), stage.predict(x))
    with pytest.raises(TypeError):
        XGBoostStage(n_trees=10)
    with pytest.raises(RuntimeError, match="before fit"):
        XGBoostStage().predict(x)


# ------------------------------------------------------------------------------ losses
def test_neg_ic_of_a_perfectly_correlated_score_is_minus_one():
    label = torch.randn(50)
    mask = torch.ones(50, dtype=torch.bool)
    assert neg_ic_loss(3.0 * label + 1.0, label, mask).item() == pytest.approx(-1.0, abs=1e-5)
    assert neg_ic_loss(-label, label, mask).item() == pytest.approx(1.0, abs=1e-5)


def test_losses_ignore_masked_stocks_even_when_their_labels_are_nan():
    label = torch.randn(20)
    score = label.clone()
    mask = torch.ones(20, dtype=torch.bool)
    mask[:5] = False
    label[:3] = float("nan")
    score[:5] = 100.0  # wildly wrong, but masked
    assert mse_loss(score, label, mask).item() == pytest.approx(0.0, abs=1e-6)
    assert neg_ic_loss(score, label, mask).item() == pytest.approx(-1.0, abs=1e-5)


def test_losses_are_safe_for_constant_or_empty_inputs():
    label = torch.randn(10)
    mask = torch.ones(10, dtype=torch.bool)
    for score, m in [(torch.full((10,), 0.5), mask), (torch.randn(10), torch.zeros_like(mask))]:
        score.requires_grad_(True)
        for loss in (neg_ic_loss, mse_loss):
            value = loss(score, label, m)
            value.backward()
            assert torch.isfinite(value) and torch.isfinite(score.grad).all()
            score.grad = None
    assert neg_ic_loss(torch.full((10,), 0.5), label, mask).item() == 0.0
    assert neg_ic_loss(torch.randn(10), torch.full((10,), 2.0), mask).item() == 0.0


def test_get_loss():
    assert get_loss("mse") is mse_loss and get_loss("neg_ic") is neg_ic_loss
    with pytest.raises(ValueError, match="neg_ic"):
        get_loss("ic")
