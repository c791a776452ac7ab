"""TrainConfig: typed overrides, unknown keys named with close matches, JSON round trip."""

import json

import pytest

from zoo.train.config import TrainConfig


def test_overrides_are_cast_to_the_field_types():
    config = TrainConfig.from_overrides([
        "model=fund_gru_mlp", "lr=3e-4", "max_epochs=7", "seeds=0,1,2", "amp=false",
        "days_per_epoch=none", "last_test_year=2020", "model.hidden_channels=8",
        "model.dropout=0.25", "model.input_norm=layer", "model.flag=true", "model.x=none",
        "loss=neg_ic",
    ])
    assert config.model == "fund_gru_mlp"
    assert config.lr == pytest.approx(3e-4) and isinstance(config.lr, float)
    assert config.max_epochs == 7 and config.seeds == (0, 1, 2)
    assert config.amp is False and config.days_per_epoch is None
    assert config.last_test_year == 2020 and config.loss == "neg_ic"
    assert config.model_overrides == {"hidden_channels": 8, "dropout": 0.25,
                                      "input_norm": "layer", "flag": True, "x": None}


def test_later_overrides_win_and_base_is_kept():
    base = TrainConfig(max_epochs=3, model_overrides={"hidden_channels": 4})
    config = TrainConfig.from_overrides(["patience=2", "patience=4", "model.head_channels=2"],
                                        base)
    assert config.patience == 4 and config.max_epochs == 3
    assert config.model_overrides == {"hidden_channels": 4, "head_channels": 2}
    assert base.model_overrides == {"hidden_channels": 4}  # the base is not changed


@pytest.mark.parametrize(("item", "close"), [("lrr=1", "'lr'"), ("patiense=3", "'patience'"),
                                              ("max-epoch=3", "'max_epochs'")])
def test_unknown_key_is_an_error_naming_close_matches(item, close):
    with pytest.raises(ValueError, match="unknown TrainConfig key") as err:
        TrainConfig.from_overrides([item])
    assert close in str(err.value)


@pytest.mark.parametrize("item", ["lr", "max_epochs=abc", "amp=maybe", "loss=mae",
                                  "device=tpu", "target=quantile", "seeds=", "patience=0",
                                  "model.=3", "model_overrides=x"])
def test_bad_values_are_errors(item):
    with pytest.raises(ValueError):
        TrainConfig.from_overrides([item])


def test_json_round_trip():
    config = TrainConfig.from_overrides(["seeds=3,5", "model.hidden_channels=16",
                                         "days_per_epoch=20"])
    again = TrainConfig.from_dict(json.loads(json.dumps(config.to_dict())))
    assert again == config
    assert isinstance(again.seeds, tuple)


def test_from_dict_rejects_unknown_keys():
    values = {**TrainConfig().to_dict(), "learning_rate": 0.1}
    with pytest.raises(ValueError, match="learning_rate"):
        TrainConfig.from_dict(values)
