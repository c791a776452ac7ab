"""The uniform trainer: one seed of one model, `fit(data, train_days, valid_days)` then
`predict(data, days)`, whatever the model is made of.

- `Trainer`: a torch model, trained by the one loop (`zoo.train.loop.fit`);
- `TwoStageTrainer`: a torch model, then its XGBoost stage on the same days (`biagru_xgb`);
  scores come from XGBoost;
- `TreeTrainer`: gradient-boosted trees alone on the model's stage features (`xgb_window`).

`make_trainer(config, seed)` picks the one the model's contract asks for and
`load_checkpoint(path)` gives a trained one back. `score_block(trainers, data, days)` scores
a block of days with several trainers (the seeds of a split) in one pass over the days, each
day's batch built once, and collects the days' labels from the same batches.
"""

from __future__ import annotations

import dataclasses
import datetime
import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import Tensor

from zoo.datasets.protocol import DayBatches
from zoo.metrics import rank_ic_tensor
from zoo.train import distributed
from zoo.train.config import TrainConfig
from zoo.train.loop import (
    CHECKPOINT_FORMAT,
    EpochStats,
    FitResult,
    _autocast,
    _batches,
    _collect,
    _comparable,
    _frame,
    _input_mask,
    _iso,
    _result,
    _save,
    fit,
    resolve_device,
)

if TYPE_CHECKING:
    import polars as pl

__all__ = [
    "Trainer",
    "TreeTrainer",
    "TwoStageTrainer",
    "load_checkpoint",
    "make_trainer",
    "score_block",
]


class Trainer:
    """One seed of one model: `fit(data, train_days, valid_days)`, then `predict(data, days)`.

    Builds the model from `config.model` and `config.model_overrides` (or, when given,
    `model_kwargs`: every keyword argument of the factory, as a checkpoint records them) under
    `torch.manual_seed(seed)`, so the seed decides the initial weights as well as dropout and
    the day order.
    """

    def __init__(self, config: TrainConfig, seed: int, device: str | None = None,
                 model_kwargs: dict[str, Any] | None = None) -> None:
        import zoo.models  # noqa: F401  (registers the models)
        from zoo.registry import create_model

        self.config = config
        self.seed = seed
        self.device = resolve_device(device or config.device)
        torch.manual_seed(seed)
        kwargs = config.model_overrides if model_kwargs is None else model_kwargs
        self.model = create_model(config.model, **kwargs).to(self.device)
        self.result: FitResult | None = None

    def fit(self, data: DayBatches, train_days: Sequence[datetime.date],
            valid_days: Sequence[datetime.date], *, checkpoint: str | Path | None = None,
            resume: bool = False,
            on_epoch: Callable[[EpochStats], None] | None = None) -> FitResult:
        self.result = fit(self.model, data, list(valid_days), self.config, seed=self.seed,
                          train_days=train_days, checkpoint=checkpoint, resume=resume,
                          device=self.device, on_epoch=on_epoch)
        return self.result

    def predict(self, data: DayBatches, days: Sequence[datetime.date]) -> pl.DataFrame:
        """[stock_id, trade_date, score] of the stocks the model can score on `days`."""
        return score_block([self], data, days)[0][0]

    # What scoring a day is made of: the model's output on the day's batch (`_outputs`), kept
    # on the rows it can score, then turned into scores (`_scores`, all days at once).
    def _outputs(self, batch: dict[str, Tensor]) -> Tensor:
        return self.model(batch)

    def _scores(self, outputs: np.ndarray) -> np.ndarray:
        return outputs

    @classmethod
    def load(cls, checkpoint: str | Path, device: str | None = None) -> Trainer:
        """A trainer holding a checkpoint's best weights (and trees, if any).

        The model is rebuilt from every keyword argument it was built with (`model_config`),
        so a later change of a factory default does not change a trained model.

        Raises:
            ValueError: the weights do not fit the model this version builds from the
                checkpoint (it predates an option that changes the weights' shapes).
        """
        state = torch.load(checkpoint, map_location="cpu", weights_only=False)
        config = TrainConfig.from_dict(state["config"])
        trainer = make_trainer(config, state["seed"], device, state.get("model_config") or None)
        try:
            trainer.model.load_state_dict(state["model"])
        except RuntimeError as err:
            reason = str(err).strip().splitlines()[-1].strip()
            raise ValueError(
                f"checkpoint {checkpoint}: its weights do not fit {config.model} as built from "
                f"its options {state.get('model_config')} ({reason}); it predates an option "
                "of this version that changes the model's shape: retrain it") from None
        if state.get("result"):
            trainer.result = _result(state["result"],
                                     [EpochStats(**row) for row in state["history"]])
        trainer._load_extra(Path(checkpoint))
        return trainer

    def _load_extra(self, checkpoint: Path) -> None:
        pass


def _stage_path(checkpoint: Path) -> Path:
    return checkpoint.with_name(checkpoint.stem + ".xgb.json")


class TwoStageTrainer(Trainer):
    """A torch model followed by its XGBoost stage (`biagru_xgb`).

    The torch stage is trained by `fit` (the one loop); then, on the same training and
    validation days, the XGBoost stage learns the label from `model.stage_features(batch)`
    (the K factors, latest-quarter fundamentals and style factors), with early stopping on the
    validation days. Scores are the XGBoost stage's output. XGBoost runs on the GPU when the
    trainer does.
    """

    def __init__(self, config: TrainConfig, seed: int, device: str | None = None,
                 model_kwargs: dict[str, Any] | None = None) -> None:
        super().__init__(config, seed, device, model_kwargs)
        for method in ("stage_features", "make_second_stage"):
            if not callable(getattr(self.model, method, None)):
                raise TypeError(f"model {config.model!r} scored by trees has no {method}()")
        self.stage: Any = None

    def _new_stage(self) -> Any:
        stage = self.model.make_second_stage()
        # Each seed of the ensemble gets its own XGBoost seed too.
        stage.config = dataclasses.replace(
            stage.config, seed=stage.config.seed + self.seed,
            device="cuda" if self.device.type == "cuda" else "cpu")
        return stage

    def _features(self, data: DayBatches, days: Sequence[datetime.date], rows: str,
                  target: str | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                      np.ndarray]:
        return _collect(self.model, data, days, self.device, self.config,
                        lambda m, batch: m.stage_features(batch), rows=rows, target=target)

    def fit(self, data: DayBatches, train_days: Sequence[datetime.date],
            valid_days: Sequence[datetime.date], *, checkpoint: str | Path | None = None,
            resume: bool = False,
            on_epoch: Callable[[EpochStats], None] | None = None) -> FitResult:
        result = super().fit(data, train_days, valid_days, checkpoint=checkpoint,
                             resume=resume, on_epoch=on_epoch)
        if not distributed.world().is_main:
            return result  # among several processes, rank 0 alone fits the trees and scores
        path = _stage_path(Path(checkpoint)) if checkpoint is not None else None
        x_valid, y_valid, _, ordinals = self._features(data, valid_days, "labelled")
        if resume and path is not None and path.exists():
            self._load_extra(Path(checkpoint))
        else:
            x_train, y_train, _, _ = self._features(data, train_days, "labelled")
            self.stage = self._new_stage().fit(x_train, y_train, valid=(x_valid, y_valid))
            if path is not None:
                self.stage.save(path)
        result.extra["torch_valid_ic"] = result.best_valid_ic
        result.extra["stage_valid_ic"] = _grouped_ic(self.stage.predict(x_valid), y_valid,
                                                     ordinals)
        result.extra["stage_best_iteration"] = self.stage.best_iteration
        return result

    def _outputs(self, batch: dict[str, Tensor]) -> Tensor:
        if self.stage is None:
            raise RuntimeError(f"{type(self).__name__}.predict before fit (or load)")
        return self.model.stage_features(batch)

    def _scores(self, outputs: np.ndarray) -> np.ndarray:
        return self.stage.predict(outputs) if len(outputs) else np.empty(0)

    def _load_extra(self, checkpoint: Path) -> None:
        path = _stage_path(checkpoint)
        if path.exists():
            stage = self._new_stage()
            self.stage = type(stage).load(path, stage.config)


class TreeTrainer(TwoStageTrainer):
    """Gradient-boosted trees alone (`xgb_window`): no torch stage; XGBoost learns the
    training target (`config.target`, as the torch models' loss fits it) from
    `model.stage_features(batch)` on every training day, with early stopping on every
    validation day, in one fit.

    That fit is the run's one "epoch" in the records (`EpochStats`: the training MSE at the
    best round, the validation Rank IC, wall and CPU seconds), so the speeds of `zoo bench zoo`
    compare a whole tree fit with one epoch of a torch model. `days_per_epoch`, `max_epochs`
    and `patience` do not apply; the checkpoint holds the config, the result and the days, and
    the trees lie beside it (`.xgb.json`).
    """

    def fit(self, data: DayBatches, train_days: Sequence[datetime.date],
            valid_days: Sequence[datetime.date], *, checkpoint: str | Path | None = None,
            resume: bool = False,
            on_epoch: Callable[[EpochStats], None] | None = None) -> FitResult:
        train_days, valid_days = list(train_days), list(valid_days)
        if not train_days or not valid_days:
            raise ValueError(f"fit needs training and validation days "
                             f"({len(train_days)} and {len(valid_days)} given)")
        checkpoint = Path(checkpoint) if checkpoint is not None else None
        days_meta = {"train_days": _iso(train_days), "valid_days": _iso(valid_days)}
        if resume and checkpoint is not None and checkpoint.exists():
            state = torch.load(checkpoint, map_location="cpu", weights_only=False)
            if _comparable(state["config"]) != _comparable(self.config.to_dict()):
                raise ValueError(f"{checkpoint} was written by another config; not resuming")
            if (state["train_days"], state["valid_days"], state["seed"]) != (
                    days_meta["train_days"], days_meta["valid_days"], self.seed):
                raise ValueError(f"{checkpoint} was trained on other days or another seed")
            if state["finished"] and _stage_path(checkpoint).exists():
                self._load_extra(checkpoint)
                self.result = _result(state["result"],
                                      [EpochStats(**row) for row in state["history"]])
                return self.result

        started, cpu = time.perf_counter(), time.process_time()
        target = self.config.target
        x_valid, y_valid, _, ordinals = self._features(data, valid_days, "labelled", target)
        tic = time.perf_counter()
        x_train, y_train, _, _ = self._features(data, train_days, "labelled", target)
        self.stage = self._new_stage().fit(x_train, y_train, valid=(x_valid, y_valid))
        train_seconds = time.perf_counter() - tic
        valid_ic = _grouped_ic(self.stage.predict(x_valid), y_valid, ordinals)
        if not math.isfinite(self.stage.train_mse):
            raise FloatingPointError(f"training loss is {self.stage.train_mse}: a label inside "
                                     "the mask is not finite")
        stats = EpochStats(0, self.stage.train_mse, valid_ic, time.perf_counter() - started,
                           int(np.isfinite(y_train).sum()), train_seconds,
                           time.process_time() - cpu)
        self.result = FitResult(
            best_epoch=0, best_valid_ic=valid_ic if math.isfinite(valid_ic) else -math.inf,
            epochs_run=1, stopped_early=False, train_days=len(train_days),
            valid_days=len(valid_days), seconds=time.perf_counter() - started,
            history=[stats], valid_days_scored=len(valid_days),
            extra={"stage_best_iteration": self.stage.best_iteration})
        if checkpoint is not None:
            self.stage.save(_stage_path(checkpoint))
            _save({
                "format": CHECKPOINT_FORMAT, "config": self.config.to_dict(),
                "model_name": getattr(self.model, "model_name", self.config.model),
                "model_config": getattr(self.model, "model_config",
                                        dict(self.config.model_overrides)),
                "seed": self.seed, "epoch": 1, "finished": True,
                "model": {k: v.detach().cpu() for k, v in self.model.state_dict().items()},
                "best_epoch": 0, "best_valid_ic": self.result.best_valid_ic,
                "history": [dataclasses.asdict(stats)], "result": self.result.to_dict(),
                **days_meta, "resume": None,
            }, checkpoint)
        if on_epoch is not None:
            on_epoch(stats)
        return self.result


def make_trainer(config: TrainConfig, seed: int, device: str | None = None,
                 model_kwargs: dict[str, Any] | None = None) -> Trainer:
    """The trainer for `config.model`: `TwoStageTrainer` when its contract is two-stage,
    `TreeTrainer` when it is trees only, else `Trainer`. `model_kwargs`: see `Trainer`."""
    import zoo.models  # noqa: F401  (registers the models)
    from zoo.registry import model_contract

    contract = model_contract(config.model)
    cls = (TreeTrainer if contract.tree_only else
           TwoStageTrainer if contract.two_stage else Trainer)
    return cls(config, seed, device, model_kwargs)


def load_checkpoint(path: str | Path, device: str | None = None) -> Trainer:
    """The trainer (model with its best weights, trees if any) saved at `path`."""
    return Trainer.load(path, device)


@torch.inference_mode()
def score_block(trainers: Sequence[Trainer], data: DayBatches,
                days: Sequence[datetime.date]) -> tuple[list[pl.DataFrame], pl.DataFrame]:
    """Every trainer's scores on `days` and the days' labels, from one pass over the days: a
    day's batch is built once, whatever the number of trainers (the seeds of a split).

    Returns:
        one [stock_id, trade_date, score] frame per trainer (as `Trainer.predict`: the stocks
        it can score, by day), and [stock_id, trade_date, label] of the days' labelled stocks.
    """
    import polars as pl

    if not trainers:
        raise ValueError("score_block needs at least one trainer")
    device = trainers[0].device
    for trainer in trainers:
        trainer.model.eval()
    parts: list[list[tuple[Tensor, Tensor, Tensor]]] = [[] for _ in trainers]
    labelled: list[tuple[Tensor, Tensor, Tensor]] = []
    for day, batch in _batches(data, list(days), device):
        ordinal = day.toordinal()
        for part, trainer in zip(parts, trainers, strict=True):
            with _autocast(device, trainer.config):
                out = trainer._outputs(batch)
            keep = _input_mask(trainer.model, batch)
            part.append((out[keep].float(), batch["stock_index"][keep],
                         torch.full((int(keep.sum()),), ordinal, dtype=torch.int64)))
        mask = batch["label_mask"]
        labelled.append((batch["label"][mask].double(), batch["stock_index"][mask],
                         torch.full((int(mask.sum()),), ordinal, dtype=torch.int64)))

    def arrays(rows: list[tuple[Tensor, Tensor, Tensor]]) -> tuple[np.ndarray, ...]:
        if not rows:
            return np.empty(0), np.empty(0, np.int64), np.empty(0, np.int64)
        return tuple(torch.cat(column).cpu().numpy() for column in zip(*rows, strict=True))

    frames = []
    for part, trainer in zip(parts, trainers, strict=True):
        outputs, stocks, ordinals = arrays(part)
        frames.append(_frame(data, trainer._scores(outputs), stocks, ordinals))
    label, stocks, ordinals = arrays(labelled)
    labels = _frame(data, label, stocks, ordinals).rename({"score": "label"})
    return frames, labels.with_columns(pl.col("label").cast(pl.Float64))


def _grouped_ic(score: np.ndarray, label: np.ndarray, groups: np.ndarray) -> float:
    """Mean over groups (days) of the Rank IC of score and label within the group."""
    ics = []
    for group in np.unique(groups):
        rows = groups == group
        ic = rank_ic_tensor(torch.from_numpy(np.asarray(score[rows], dtype=np.float64)),
                           torch.from_numpy(np.asarray(label[rows], dtype=np.float64)),
                           torch.ones(int(rows.sum()), dtype=torch.bool))
        if torch.isfinite(ic):
            ics.append(float(ic))
    return float(np.mean(ics)) if ics else float("nan")
