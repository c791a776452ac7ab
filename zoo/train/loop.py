"""The one training loop of the zoo, for every torch model.

`fit` trains a model on the mean loss of `days_per_step` days per step (one by default; each day
its own cross-section; days shuffled every epoch), scores the validation days after each epoch
by their mean daily Rank IC, stops after `patience` epochs without improvement and restores
the best epoch's weights. Under `torchrun` (`zoo train --devices N`) each step's days and the
validation days are shared among the processes (`zoo.train.distributed`), with the weights of
one process up to float noise. When an epoch draws only
some training days (`days_per_epoch`), it is scored on a like share of the validation days
(`validation_days`: the same days every epoch, drawn with the seed), so validation costs what
training does. Checkpoints hold the config that produced them, the best weights and
everything needed to resume (last weights, optimizer, gradient scaler, RNG state), so a
resumed run continues exactly where it stopped.

The uniform interface over torch, two-stage and tree models is `zoo.train.trainers`.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import datetime
import math
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import Tensor, nn

from zoo.atomic import replace_file
from zoo.datasets.protocol import DayBatches
from zoo.layers.norm import normal_scores
from zoo.metrics import rank_ic_tensor
from zoo.train import distributed
from zoo.train.config import TrainConfig
from zoo.train.losses import get_loss

if TYPE_CHECKING:
    import polars as pl

__all__ = [
    "EpochStats",
    "FitResult",
    "evaluate",
    "fit",
    "predict",
    "resolve_device",
    "set_threads",
    "validation_days",
]

CHECKPOINT_FORMAT = 1
# With `days_per_epoch` set, an epoch is scored on at least this many validation days (a
# Rank IC averaged over fewer days is too noisy to stop on).
MIN_VALID_DAYS = 20
_VALID_STREAM = 2**31 - 1  # the random stream of the validation days; epochs use 0, 1, ...


# =========================================================================== device and metrics
def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """"auto" is CUDA when present, else CPU; "cuda" without a GPU is an error. Among several
    training processes (`zoo.train.distributed`) "cuda" is the process's own GPU,
    `cuda:LOCAL_RANK`."""
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError("device 'cuda' was asked for but torch sees no GPU")
    current = distributed.world()
    if device == "cuda" and current.distributed:
        return torch.device("cuda", current.local_rank)
    return torch.device(device)


def set_threads(threads: int | None = None) -> int:
    """Set torch's intra-op CPU threads for this process to `threads`, else to $OMP_NUM_THREADS
    when it is set, else to 1; returns the number set.

    One by default, whatever the cores: a day's batch is small, so a second thread gains
    little even on idle cores, and when other work shares them (a second training, anything
    else) intra-op threads wait for each other at every operation: a biagru_gat day step on
    this 2-core machine took 0.38 s with one thread and 2.5 s with torch's default of two
    beside other work, 1.3 s and 10.5 s beside a busy loop on each core (`zoo bench
    training`, README).
    """
    if threads is None:
        setting = os.environ.get("OMP_NUM_THREADS", "").strip()
        threads = int(setting) if setting.isdigit() and int(setting) > 0 else 1
    if threads < 1:
        raise ValueError(f"threads must be at least 1, not {threads}")
    torch.set_num_threads(threads)
    return threads


def training_target(label: Tensor, mask: Tensor, target: str) -> Tensor:
    """What the loss fits: `label` itself ("zscore") or, for "rank", the normal scores of its
    ranks over the stocks in `mask` (ties share their mean rank; 0 outside the mask; a
    non-finite label inside the mask is left as it is, for the loss to reject).

    Shapes: label, mask: [N] -> [N]
    """
    if target == "zscore":
        return label
    if target != "rank":
        raise ValueError(f"unknown target {target!r}")
    out = torch.zeros_like(label)
    keep = mask & torch.isfinite(label)
    if int(keep.sum()) > 1:
        out[keep] = normal_scores(label[keep].double()).to(label.dtype)
    # a label that is not finite inside the mask stays so: the loss must see it and fail
    return torch.where(mask & ~torch.isfinite(label), label, out)


def _input_mask(model: nn.Module, batch: dict[str, Tensor]) -> Tensor:
    """Stocks the model can score: a full price window for price-volume models, at least one
    known quarter for fundamentals-only models, else every stock of the day."""
    inputs = getattr(getattr(model, "contract", None), "inputs", ())
    n = batch["stock_index"].shape[0]
    if "price_mask" in inputs and "price_mask" in batch:
        return batch["price_mask"]
    if "fund_mask" in inputs and "fund_mask" in batch:
        return batch["fund_mask"].any(dim=-1)
    return torch.ones(n, dtype=torch.bool, device=batch["stock_index"].device)


def _days(data: DayBatches, days: Sequence[datetime.date] | None) -> list[datetime.date]:
    return list(data.dates if days is None else days)


def _batches(data: DayBatches, days: Sequence[datetime.date],
             device: torch.device) -> Iterator[tuple[datetime.date, dict[str, Tensor]]]:
    """The days' batches in order; on CUDA the next day is built in a thread meanwhile, so
    host-side work overlaps the GPU's."""
    if device.type != "cuda" or len(days) < 2:
        for day in days:
            yield day, data.batch(day, device)
        return
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(data.batch, days[0], device)
        for i, day in enumerate(days):
            batch = pending.result()
            if i + 1 < len(days):
                pending = pool.submit(data.batch, days[i + 1], device)
            yield day, batch


def _autocast(device: torch.device, config: TrainConfig) -> contextlib.AbstractContextManager:
    if device.type == "cuda" and config.amp:
        return torch.autocast("cuda", dtype=getattr(torch, config.amp_dtype))
    return contextlib.nullcontext()


@torch.inference_mode()
def _daily_ics(model: nn.Module, data: DayBatches, days: Sequence[datetime.date],
               config: TrainConfig, device: torch.device) -> Tensor:
    """The model's daily Rank IC on each day with a finite one: [D'] float64."""
    model.eval()
    ics = []
    for _, batch in _batches(data, list(days), device):
        with _autocast(device, config):
            score = model(batch)
        mask = batch["label_mask"] & _input_mask(model, batch)
        ics.append(rank_ic_tensor(score.float(), batch["label"], mask))
    if not ics:
        return torch.zeros(0, dtype=torch.float64, device=device)
    values = torch.stack(ics).double()
    return values[torch.isfinite(values)]


def evaluate(model: nn.Module, data: DayBatches, days: Sequence[datetime.date],
             config: TrainConfig | None = None, device: torch.device | None = None) -> float:
    """Mean daily Rank IC of the model's scores over `days` (days without one are skipped)."""
    config = config or TrainConfig()
    device = device or next(model.parameters()).device
    values = _daily_ics(model, data, days, config, device)
    return float(values.mean()) if values.numel() else float("nan")


def _evaluate_shared(model: nn.Module, data: DayBatches, days: Sequence[datetime.date],
                     config: TrainConfig, device: torch.device) -> float:
    """`evaluate` with the days shared among the training processes: each scores its share,
    and the sum and count of the daily ICs are added up, so every process gets the same
    mean (and takes the same early-stopping decision)."""
    if not distributed.world().distributed:
        return evaluate(model, data, days, config, device)
    values = _daily_ics(model, data, distributed.share(days), config, device)
    totals = torch.stack([values.sum(), torch.tensor(float(values.numel()), device=device,
                                                     dtype=torch.float64)])
    total, count = distributed.sum_over_processes(totals).tolist()
    return total / count if count else float("nan")


# =========================================================================== fit
@dataclass(frozen=True)
class EpochStats:
    """One epoch: mean training loss, validation Rank IC, seconds (training and validation),
    the training part alone (labelled stock-days fitted and the seconds it took), and the
    CPU seconds of the whole epoch (every thread of the process: on a shared machine wall
    time is not a speed)."""

    epoch: int
    train_loss: float
    valid_ic: float
    seconds: float
    train_samples: int = 0
    train_seconds: float = 0.0
    cpu_seconds: float = 0.0


@dataclass
class FitResult:
    """What `fit` did. `best_epoch` is the epoch whose weights the model now holds."""

    best_epoch: int
    best_valid_ic: float
    epochs_run: int
    stopped_early: bool
    train_days: int
    valid_days: int
    seconds: float
    history: list[EpochStats] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    valid_days_scored: int | None = None  # per epoch (`validation_days`); None: before it

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _state_copy(model: nn.Module) -> dict[str, Tensor]:
    return {key: value.detach().clone() for key, value in model.state_dict().items()}


def _cpu(state: dict[str, Tensor]) -> dict[str, Tensor]:
    return {key: value.detach().cpu() for key, value in state.items()}


def _iso(days: Sequence[datetime.date]) -> list[str]:
    return [day.isoformat() for day in days]


def _comparable(config: dict[str, Any]) -> dict[str, Any]:
    # Where and on how many threads a run trains may change on resume (a GPU run finished on
    # CPU); nothing else may. A field added since the checkpoint was written reads as its
    # default (`from_dict`), which is what that checkpoint was trained with.
    values = TrainConfig.from_dict(config).to_dict()
    return {k: v for k, v in values.items() if k not in ("device", "threads")}


def _save(payload: dict[str, Any], path: Path) -> None:
    with replace_file(path) as partial:  # a crash mid-write never leaves a truncated checkpoint
        torch.save(payload, partial)


def validation_days(valid_days: Sequence[datetime.date], train_days: int, config: TrainConfig,
                    seed: int) -> list[datetime.date]:
    """The validation days every epoch is scored on.

    All of them, unless `config.valid_days_per_epoch` says how many, or (when it is None)
    `config.days_per_epoch` draws fewer than the `train_days` training days: then the same
    share of the validation days, at least `MIN_VALID_DAYS`. They are spread evenly over the
    validation period from an offset drawn with `seed` (no two adjacent days, whose 5-day
    labels overlap, unless every day is taken), in date order, and the same in every epoch
    (and on resume), so early stopping compares like with like.
    """
    days = list(valid_days)
    k = config.valid_days_per_epoch
    if k is None:
        if config.days_per_epoch is None or config.days_per_epoch >= train_days:
            return days
        k = max(MIN_VALID_DAYS, math.ceil(len(days) * config.days_per_epoch / train_days))
    if k >= len(days):
        return days
    offset = np.random.default_rng([seed, _VALID_STREAM]).random()
    positions = np.floor((offset + np.arange(k)) * len(days) / k).astype(np.int64)
    return [days[i] for i in positions]


def fit(model: nn.Module, train: DayBatches, valid: DayBatches | Sequence[datetime.date],
        config: TrainConfig, *, seed: int | None = None,
        train_days: Sequence[datetime.date] | None = None,
        checkpoint: str | Path | None = None, resume: bool = False,
        device: torch.device | str | None = None,
        on_epoch: Callable[[EpochStats], None] | None = None) -> FitResult:
    """Train `model` with early stopping on the mean daily Rank IC of the validation days.

    Each epoch visits the training days in a shuffled order (`config.days_per_epoch` of them
    when set), `config.days_per_step` days per optimisation step (the mean of their daily
    losses; a day's loss is `config.loss` over its stocks with a label and the model's
    inputs), then scores the validation days of `validation_days` (all, or a like share of
    them). The model is left holding the best epoch's weights. The same seed, data and config
    give bit-identical weights on CPU; under `torchrun` (`zoo.train.distributed`) each process
    trains its share of every step's days and the weights equal one process's up to float
    noise, and only rank 0 writes the checkpoint.

    Args:
        model: a torch model with `forward(batch) -> [N]` (built with `create_model`).
        train: the dataset; `train_days` (default: all its dates) are trained on.
        valid: a separate dataset (all its dates are validation days) or days of `train`.
        config: the training settings.
        seed: seeds dropout and the order of days (default `config.seeds[0]`).
        checkpoint: written after every epoch and at the end.
        resume: continue from `checkpoint` if it exists (its config and days must match);
            a finished checkpoint is loaded without training.
        device: overrides `config.device`.
        on_epoch: called with each epoch's `EpochStats`.

    Raises:
        FloatingPointError: a training loss is not finite (e.g. a NaN label inside the mask).
    """
    seed = config.seeds[0] if seed is None else seed
    device = resolve_device(device if device is not None else config.device)
    valid_data = valid if isinstance(valid, DayBatches) else train
    valid_days = list(valid.dates) if isinstance(valid, DayBatches) else list(valid)
    train_days = _days(train, train_days)
    if not train_days or not valid_days:
        raise ValueError(f"fit needs training and validation days "
                         f"({len(train_days)} and {len(valid_days)} given)")
    checkpoint = Path(checkpoint) if checkpoint is not None else None

    model.to(device)
    current = distributed.world()
    torch.manual_seed(seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr,
                                  weight_decay=config.weight_decay)
    use_scaler = device.type == "cuda" and config.amp and config.amp_dtype == "float16"
    scaler = torch.amp.GradScaler("cuda", enabled=use_scaler)
    loss_fn = get_loss(config.loss)

    history: list[EpochStats] = []
    best_state: dict[str, Tensor] | None = None
    best_ic, best_epoch, bad_epochs, start_epoch = -math.inf, -1, 0, 0
    days_meta = {"train_days": _iso(train_days), "valid_days": _iso(valid_days)}

    if resume and checkpoint is not None and checkpoint.exists():
        state = torch.load(checkpoint, map_location="cpu", weights_only=False)
        if _comparable(state["config"]) != _comparable(config.to_dict()):
            raise ValueError(f"{checkpoint} was written by another config; not resuming")
        if (state["train_days"], state["valid_days"], state["seed"]) != (
                days_meta["train_days"], days_meta["valid_days"], seed):
            raise ValueError(f"{checkpoint} was trained on other days or another seed")
        history = [EpochStats(**row) for row in state["history"]]
        best_ic, best_epoch = state["best_valid_ic"], state["best_epoch"]
        best_state = {k: v.to(device) for k, v in state["model"].items()}
        if state["finished"]:
            model.load_state_dict(best_state)
            return _result(state["result"], history)
        resume_state = state["resume"]
        model.load_state_dict(resume_state["model"])
        optimizer.load_state_dict(resume_state["optimizer"])
        scaler.load_state_dict(resume_state["scaler"])
        torch.set_rng_state(resume_state["rng"])
        if device.type == "cuda" and resume_state.get("cuda_rng") is not None:
            torch.cuda.set_rng_state(resume_state["cuda_rng"], device)
        bad_epochs, start_epoch = resume_state["bad_epochs"], state["epoch"]

    def payload(epoch: int, finished: bool, result: FitResult | None) -> dict[str, Any]:
        return {
            "format": CHECKPOINT_FORMAT,
            "config": config.to_dict(),
            "model_name": getattr(model, "model_name", config.model),
            "model_config": getattr(model, "model_config", dict(config.model_overrides)),
            "seed": seed,
            "epoch": epoch,
            "finished": finished,
            "model": _cpu(best_state if best_state is not None else model.state_dict()),
            "best_epoch": best_epoch,
            "best_valid_ic": best_ic,
            "history": [dataclasses.asdict(row) for row in history],
            "result": result.to_dict() if result is not None else None,
            **days_meta,
            "resume": None if finished else {
                "model": _cpu(model.state_dict()),
                "optimizer": optimizer.state_dict(),
                "scaler": scaler.state_dict(),
                "rng": torch.get_rng_state(),
                "cuda_rng": torch.cuda.get_rng_state(device) if device.type == "cuda" else None,
                "bad_epochs": bad_epochs,
            },
        }

    started = time.perf_counter()
    stopped_early = False
    per_epoch = min(config.days_per_epoch or len(train_days), len(train_days))
    scored_days = validation_days(valid_days, len(train_days), config, seed)
    slots = _step_slots(per_epoch, config.days_per_step, current)
    net = _parallel(model, device, current)
    for epoch in range(start_epoch, config.max_epochs):
        if bad_epochs >= config.patience:
            stopped_early = True
            break
        tic, cpu = time.perf_counter(), time.process_time()
        # The order depends on (seed, epoch) only, so a resumed run draws the same days.
        order = np.random.default_rng([seed, epoch]).permutation(len(train_days))[:per_epoch]
        model.train()
        total = torch.zeros((), dtype=torch.float64, device=device)
        samples = torch.zeros((), dtype=torch.int64, device=device)  # summed on device: no sync
        optimizer.zero_grad(set_to_none=True)
        days = [train_days[order[slot.position]] for slot in slots]
        # A day's dropout draws are seeded by (seed, epoch, its place) when a step has several
        # days (which processes may share out); one day per step keeps the single stream of
        # draws, so the runs and figures made before steps of several days are unchanged.
        per_day_seeds = config.days_per_step > 1 or current.distributed
        for slot, (_, batch) in zip(slots, _batches(train, days, device), strict=True):
            if per_day_seeds:
                _seed_day(seed, epoch, slot.position)
            with _accumulating(net, slot.last):
                with _autocast(device, config):
                    score = net(batch)
                mask = batch["label_mask"] & _input_mask(model, batch)
                target = training_target(batch["label"], mask, config.target)
                loss = loss_fn(score.float(), target, mask)
                scaler.scale(loss if slot.weight == 1 else loss * slot.weight).backward()
            if slot.weight:
                total += loss.detach()
                samples += mask.sum()
            if slot.last:
                if config.grad_clip > 0:
                    scaler.unscale_(optimizer)
                    nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
                scaler.step(optimizer)
                scaler.update()
                optimizer.zero_grad(set_to_none=True)
        if current.distributed:
            total, samples = distributed.sum_over_processes(torch.stack([total,
                                                                        samples.double()]))
            distributed.broadcast_buffers(model)
        train_loss = float(total) / per_epoch
        train_seconds = time.perf_counter() - tic
        if not math.isfinite(train_loss):
            raise FloatingPointError(f"training loss is {train_loss} in epoch {epoch}: "
                                     "a label or input inside the mask is not finite")
        valid_ic = _evaluate_shared(model, valid_data, scored_days, config, device)
        stats = EpochStats(epoch, train_loss, valid_ic, time.perf_counter() - tic,
                           int(samples), train_seconds, time.process_time() - cpu)
        history.append(stats)
        if best_state is None or (math.isfinite(valid_ic) and valid_ic > best_ic):
            best_ic = valid_ic if math.isfinite(valid_ic) else -math.inf
            best_epoch, best_state, bad_epochs = epoch, _state_copy(model), 0
        else:
            bad_epochs += 1
        if checkpoint is not None and current.is_main:
            _save(payload(epoch + 1, False, None), checkpoint)
        if on_epoch is not None:
            on_epoch(stats)

    assert best_state is not None
    model.load_state_dict(best_state)
    result = FitResult(
        best_epoch=best_epoch, best_valid_ic=best_ic, epochs_run=len(history),
        stopped_early=stopped_early, train_days=len(train_days), valid_days=len(valid_days),
        seconds=time.perf_counter() - started, history=history,
        valid_days_scored=len(scored_days),
    )
    if checkpoint is not None and current.is_main:
        _save(payload(len(history), True, result), checkpoint)
    return result


@dataclass(frozen=True)
class _Slot:
    """One training day of this process in an epoch."""

    position: int  # the day's place in the epoch's order: which day, and its dropout seed
    weight: float  # its loss's weight: processes / days in its step (0: a stand-in)
    last: bool  # this process's last day of its step: gradients are averaged, then a step


def _step_slots(days: int, per_step: int, current: distributed.World) -> list[_Slot]:
    """This process's days of an epoch of `days` days, `per_step` days per step.

    A step's days are dealt out in turn among the processes (`distributed.share`); each day's
    loss is weighted by processes / days in the step, so that the gradients averaged over the
    processes are those of the mean loss over the step's days, however unevenly they divide.
    A process without a day in a step (fewer days than processes) trains the step's first day
    with weight 0: it must still take part in the gradient average.
    """
    slots = []
    for start in range(0, days, per_step):
        step = list(range(start, min(start + per_step, days)))
        mine = distributed.share(step, current)
        if not mine:
            slots.append(_Slot(step[0], 0.0, True))
            continue
        weight = current.size / len(step)
        slots.extend(_Slot(position, weight, position == mine[-1]) for position in mine)
    return slots


def _seed_day(seed: int, epoch: int, position: int) -> None:
    # A day's dropout draws depend on (seed, epoch, its place in the epoch) alone, not on the
    # days trained before it in this process: then N processes draw what one process draws.
    words = np.random.SeedSequence([seed, epoch, position]).generate_state(2, np.uint32)
    torch.manual_seed(int(words[0]) << 31 | int(words[1]) >> 1)


def _parallel(model: nn.Module, device: torch.device,
              current: distributed.World) -> nn.Module:
    """`model` itself for one process; wrapped in DistributedDataParallel (which averages the
    gradients over the processes at the backward pass of a step's last day) for several."""
    if not current.distributed:
        return model
    from torch.nn.parallel import DistributedDataParallel

    return DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda"
                                   else None)


def _accumulating(net: nn.Module, last: bool) -> contextlib.AbstractContextManager:
    # Before a process's last day of a step its gradients only accumulate: averaging them
    # over the processes once per step is the same sum, for one communication.
    if last or not hasattr(net, "no_sync"):
        return contextlib.nullcontext()
    return net.no_sync()


def _result(values: dict[str, Any], history: list[EpochStats]) -> FitResult:
    values = {**values, "history": history}
    return FitResult(**values)


# =========================================================================== predict
@torch.inference_mode()
def _collect(model: nn.Module, data: DayBatches, days: Sequence[datetime.date],
             device: torch.device, config: TrainConfig,
             fn: Callable[[nn.Module, dict[str, Tensor]], Tensor],
             rows: str = "input",
             target: str | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """`fn(model, batch)` on each day, kept on the rows the model can score (`rows="input"`)
    or those with a label as well (`rows="labelled"`); the label as the dataset gives it, or
    as `training_target(..., target)` makes it over the day's labelled rows.

    Returns (values [M, ...], label [M], stock_index [M], day_ordinal [M]) as numpy.
    """
    model.eval()
    values, labels, stocks, ordinals = [], [], [], []
    for day, batch in _batches(data, list(days), device):
        with _autocast(device, config):
            out = fn(model, batch)
        keep = _input_mask(model, batch)
        label = batch["label"]
        if target is not None:
            label = training_target(label, keep & batch["label_mask"], target)
        if rows == "labelled":
            keep = keep & batch["label_mask"]
        values.append(out[keep].float())
        labels.append(label[keep].float())
        stocks.append(batch["stock_index"][keep])
        ordinals.append(torch.full((int(keep.sum()),), day.toordinal(), dtype=torch.int64))
    if not values:
        return np.empty(0), np.empty(0), np.empty(0, np.int64), np.empty(0, np.int64)
    return (torch.cat(values).cpu().numpy(), torch.cat(labels).cpu().numpy(),
            torch.cat(stocks).cpu().numpy(), torch.cat(ordinals).numpy())


def _frame(data: DayBatches, score: np.ndarray, stocks: np.ndarray,
           ordinals: np.ndarray) -> pl.DataFrame:
    import polars as pl

    # Dates as days since 1970-01-01 (date.toordinal() of 1970-01-01 is 719163).
    ids = np.asarray(data.stock_ids, dtype=object)
    return pl.DataFrame({
        "stock_id": pl.Series(ids[stocks].tolist(), dtype=pl.String),
        "trade_date": pl.Series((ordinals - 719163).astype(np.int32)).cast(pl.Date),
        "score": pl.Series(score.astype(np.float64)),
    })


def predict(model: nn.Module, data: DayBatches, days: Sequence[datetime.date] | None = None,
            *, config: TrainConfig | None = None,
            device: torch.device | str | None = None) -> pl.DataFrame:
    """The model's score for every stock it can score on `days` (default: all dates).

    Returns:
        polars DataFrame [stock_id (str), trade_date (date), score (float64)], by day.
    """
    config = config or TrainConfig()
    device = resolve_device(device) if device is not None else next(model.parameters()).device
    model.to(device)
    score, _, stocks, ordinals = _collect(model, data, _days(data, days), device, config,
                                          lambda m, batch: m(batch))
    return _frame(data, score, stocks, ordinals)
