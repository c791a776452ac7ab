"""The registry: names, close matches, overrides, contracts."""

from __future__ import annotations

import subprocess
import sys

import pytest

import zoo.models  # noqa: F401  (registers the models)
from zoo import registry
from zoo.registry import DataContract, create_model, list_models, model_contract, register_model

ZOO_MODELS = {"biagru", "biagru_composite", "biagru_gat", "biagru_xgb", "fund_gru_mlp"}
PEERS = {"gats", "alstm", "xgb_window"}


def test_the_five_models_and_the_peers_are_registered():
    assert ZOO_MODELS | PEERS <= set(list_models())
    assert list_models() == sorted(list_models())


def test_list_models_filters_with_fnmatch():
    assert list_models("biagru*") == ["biagru", "biagru_composite", "biagru_gat", "biagru_xgb"]
    assert list_models("*gat") == ["biagru_gat"]
    assert list_models("nothing*") == []


def test_unknown_name_names_close_matches():
    with pytest.raises(ValueError, match="biagru_gat") as err:
        create_model("biagru_gta")
    assert "did you mean" in str(err.value)
    with pytest.raises(ValueError, match="unknown model"):
        model_contract("resnet50")


def test_unknown_override_is_an_error_naming_the_option():
    with pytest.raises(ValueError, match="hiden_channels.*hidden_channels"):
        create_model("biagru", hiden_channels=8)


def test_none_overrides_are_dropped_and_the_config_is_recorded():
    model = create_model("biagru_gat", hidden_channels=8, heads=None, dropout=0.0)
    assert model.model_name == "biagru_gat"
    assert model.model_config["hidden_channels"] == 8
    assert model.model_config["heads"] == 4  # the default stands
    assert model.encoder.hidden_channels == 8
    # The recorded config rebuilds the same architecture.
    again = create_model("biagru_gat", **model.model_config)
    assert [p.shape for p in again.parameters()] == [p.shape for p in model.parameters()]


def test_model_options_are_the_factorys_keyword_arguments():
    assert "hidden_channels" in registry.model_options("gats")
    assert "hidden_channels" not in registry.model_options("xgb_window")
    assert "xgb_n_estimators" in registry.model_options("xgb_window")


def test_contract_is_declared_with_the_factory():
    assert model_contract("biagru_gat").needs_graph
    assert model_contract("biagru_xgb").two_stage
    assert "style_v1" in model_contract("biagru_xgb").feature_services
    assert model_contract("fund_gru_mlp").inputs == ("fundamentals", "fund_mask")
    assert model_contract("xgb_window").tree_only
    assert model_contract("gats").inputs == ("price_volume", "price_mask")  # no graph
    assert create_model("biagru").contract == model_contract("biagru")


def test_contract_rejects_unknown_inputs_services_and_a_graph_mismatch():
    with pytest.raises(ValueError, match="unknown batch inputs"):
        DataContract(inputs=("prices",), feature_services=("price_volume_v1",))
    with pytest.raises(ValueError, match="unknown feature services"):
        DataContract(inputs=("price_volume",), feature_services=("prices_v9",))
    with pytest.raises(ValueError, match="needs_graph"):
        DataContract(inputs=("price_volume", "edge_index"), feature_services=("price_volume_v1",))


def test_registering_a_name_twice_is_an_error(monkeypatch):
    monkeypatch.setattr(registry, "_MODELS", dict(registry._MODELS))
    contract = model_contract("biagru")

    def biagru():  # same name as the zoo's
        raise AssertionError("never built")

    with pytest.raises(ValueError, match="registered twice"):
        register_model(contract=contract)(biagru)


def test_registry_imports_neither_models_nor_torch():
    code = "import sys, zoo.registry; print('torch' in sys.modules, 'zoo.models' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
