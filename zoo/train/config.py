"""The training configuration: one typed dataclass for every model, set from "key=value" strings.

`zoo train biagru --set lr=3e-4 --set seeds=0,1,2 --set model.hidden_channels=32` builds
`TrainConfig(model="biagru", lr=3e-4, seeds=(0, 1, 2), model_overrides={"hidden_channels": 32})`.
An unknown key is an error naming the closest keys; `model.*` keys are checked against the
model's factory when the model is built (`zoo.registry.create_model`).
"""

from __future__ import annotations

import dataclasses
import datetime
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from zoo.overrides import cast, literal, split, unknown_key

if TYPE_CHECKING:
    from zoo.datasets.protocol import FakeDayBatches

__all__ = ["TrainConfig", "fake_for_config"]

LOSSES = ("mse", "neg_ic")
TARGETS = ("zscore", "rank")
DEVICES = ("auto", "cpu", "cuda")
AMP_DTYPES = ("float16", "bfloat16")


@dataclass(frozen=True, kw_only=True)
class TrainConfig:
    """Everything that decides a training run; stored in every checkpoint and run folder.

    Model and optimisation:
        model: registered model name (`zoo list`).
        model_overrides: keyword arguments of the model's factory (`model.KEY=VALUE`).
        loss: "mse" (on the standardised label) or "neg_ic" (minus the daily Pearson IC).
        target: what the loss fits each day: "zscore", the label standardised across the
            day's stocks as the dataset gives it, or "rank", the normal scores of its ranks
            (a limit move or an earnings jump then weighs no more than its rank).
        lr, weight_decay: AdamW settings.
        grad_clip: clip the gradient norm to this (0 = no clipping).
        max_epochs: most passes over the (shuffled) training days.
        patience: stop after this many epochs without a better validation Rank IC; the
            weights of the best epoch are kept.
        days_per_epoch: training days drawn (without replacement) per epoch; None = all.
        days_per_step: days per optimisation step: the mean of their daily losses is one
            step's loss (each day is still its own cross-section); 1 = a step per day. With
            `--devices N` each step's days are shared among the N processes, so a multiple of
            N keeps every process busy, and the weights are those of one process with the
            same setting (`zoo.train.distributed`).
        valid_days_per_epoch: validation days each epoch is scored on, the same days every
            epoch (drawn with the seed, spread over the validation years); None = the share
            of the training days that `days_per_epoch` draws (at least 20 days), all when it
            is None (`zoo.train.loop.validation_days`).
        seeds: one model per seed; their scores are averaged (the ensemble).

    Device:
        device: "auto" (CUDA when present, else CPU), "cpu" or "cuda".
        threads: torch's intra-op CPU threads in the training process; None = $OMP_NUM_THREADS
            when it is set, else 1 (`zoo.train.loop.set_threads`: a day's batch is small, and
            threads that wait for each other on cores shared with other work make a step
            many times slower).
        amp: mixed precision (autocast, plus a gradient scaler for float16) on CUDA only.
        amp_dtype: "float16" or "bfloat16".

    Rolling retraining (each test block is scored by models that never saw its labels):
        first_test_year: the first year scored out of sample.
        last_test_year: the last (None = as far as the data goes).
        retrain_every_years: years scored by one model before it is retrained.
        train_years: years of training days, ending where validation starts.
        valid_years: years of validation days (early stopping), ending where the test starts.
        horizon_days: label horizon h: a day T trains a model only if its label (which looks
            at prices up to T+1+h) ends strictly before the first day scored; the dataset's
            own `label_end` is used too, and the later of the two wins.
    """

    model: str = "biagru"
    model_overrides: dict[str, Any] = field(default_factory=dict)
    loss: str = "mse"
    target: str = "rank"
    lr: float = 1e-3
    weight_decay: float = 1e-4
    grad_clip: float = 1.0
    max_epochs: int = 30
    patience: int = 5
    days_per_epoch: int | None = None
    days_per_step: int = 1
    valid_days_per_epoch: int | None = None
    seeds: tuple[int, ...] = (0,)
    device: str = "auto"
    threads: int | None = None
    amp: bool = True
    amp_dtype: str = "float16"
    first_test_year: int = 2017
    last_test_year: int | None = None
    retrain_every_years: int = 1
    train_years: int = 5
    valid_years: int = 1
    horizon_days: int = 5

    def __post_init__(self) -> None:
        if self.loss not in LOSSES:
            raise ValueError(f"loss must be one of {', '.join(LOSSES)}, not {self.loss!r}")
        if self.target not in TARGETS:
            raise ValueError(f"target must be one of {', '.join(TARGETS)}, not {self.target!r}")
        if self.device not in DEVICES:
            raise ValueError(f"device must be one of {', '.join(DEVICES)}, not {self.device!r}")
        if self.amp_dtype not in AMP_DTYPES:
            raise ValueError(f"amp_dtype must be one of {', '.join(AMP_DTYPES)}")
        if not self.seeds:
            raise ValueError("seeds must name at least one seed")
        if len(set(self.seeds)) != len(self.seeds):
            raise ValueError(f"seeds repeat: {self.seeds}")
        positive = ("max_epochs", "patience", "days_per_step", "retrain_every_years",
                    "train_years", "valid_years")
        for name in positive:
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        for name in ("days_per_epoch", "valid_days_per_epoch", "threads"):
            if getattr(self, name) is not None and getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1 (or None, the default)")
        if self.lr <= 0 or self.weight_decay < 0 or self.grad_clip < 0 or self.horizon_days < 0:
            raise ValueError("lr must be positive; weight_decay, grad_clip, horizon_days >= 0")
        if self.last_test_year is not None and self.last_test_year < self.first_test_year:
            raise ValueError("last_test_year is before first_test_year")
        if not isinstance(self.model_overrides, Mapping):
            raise TypeError("model_overrides must be a mapping")

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_overrides(cls, overrides: Iterable[str] = (),
                       base: TrainConfig | None = None) -> TrainConfig:
        """`base` (default: the defaults) with "key=value" strings applied in order.

        Values are cast to the field's type: ints, floats, bools (true/false/1/0/yes/no),
        "none" for optional fields, comma-separated tuples (`seeds=0,1,2`). `model.KEY=VALUE`
        sets a model factory argument (int, float, bool, none, else string).

        Raises:
            ValueError: a string is not KEY=VALUE, a key is unknown (the message names close
                matches), or a value does not fit the field's type.
        """
        config = base or cls()
        hints = typing.get_type_hints(cls)
        changes: dict[str, Any] = {}
        model_overrides = dict(config.model_overrides)
        for item in overrides:
            key, raw = split(item)
            if key.startswith("model."):
                name = key.removeprefix("model.")
                if not name.isidentifier():
                    raise ValueError(f"override {item!r}: {name!r} is not a model option name")
                model_overrides[name] = literal(raw)
                continue
            if key not in hints:
                raise ValueError(_unknown_key(key, list(hints)))
            if key == "model_overrides":
                raise ValueError("set model options one by one: model.KEY=VALUE")
            changes[key] = cast(raw, hints[key], key)
        return dataclasses.replace(config, model_overrides=model_overrides, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able values (tuples become lists)."""
        out = dataclasses.asdict(self)
        out["seeds"] = list(self.seeds)
        return out

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> TrainConfig:
        """The inverse of `to_dict`; an unknown key is an error (a config from another version
        of the code should not be silently reinterpreted)."""
        names = [f.name for f in dataclasses.fields(cls)]
        unknown = [key for key in values if key not in names]
        if unknown:
            raise ValueError(_unknown_key(unknown[0], names))
        values = dict(values)
        if "seeds" in values:
            values["seeds"] = tuple(values["seeds"])
        if "model_overrides" in values:
            values["model_overrides"] = dict(values["model_overrides"])
        return cls(**values)

    def replace(self, **changes: Any) -> TrainConfig:
        return dataclasses.replace(self, **changes)


def _unknown_key(key: str, known: list[str]) -> str:
    return unknown_key(key, known, "TrainConfig key") + "; model options are model.KEY=VALUE"


def fake_for_config(config: TrainConfig, *, n_stocks: int = 100, seed: int = 0,
                    sequence_days: int = 40, quarters: int = 12) -> FakeDayBatches:
    """A `FakeDayBatches` spanning what a rolling run of `config` reads: the training and
    validation years before `first_test_year`, through `last_test_year` (default: the first
    test block)."""
    from zoo.datasets.protocol import FakeDayBatches

    first = config.first_test_year - config.valid_years - config.train_years
    last = (config.last_test_year if config.last_test_year is not None
            else config.first_test_year + config.retrain_every_years - 1)
    return FakeDayBatches(start=datetime.date(first, 1, 1), end=datetime.date(last, 12, 31),
                          n_stocks=n_stocks, sequence_days=sequence_days, quarters=quarters,
                          horizon=config.horizon_days, seed=seed)
