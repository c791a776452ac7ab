"""Training on several devices: one process per device, launched by `torchrun`, each step's
days shared among the processes and their gradients averaged (DistributedDataParallel).

`zoo train NAME --devices N` re-runs itself under `torchrun --standalone --nproc-per-node N`
(`launch_command`); `torchrun --nproc-per-node N -m zoo.cli train NAME ...` does the same by
hand. Each process finds its place from torchrun's environment (`RANK`, `WORLD_SIZE`,
`LOCAL_RANK`) and joins the group (`init_from_env`): NCCL with process k on `cuda:k` when it
trains on CUDA, gloo on CPU.

What the processes share and what stays on the first one (rank 0):

- every process builds the dataset (rank 0 first, so the others read its cache) and each
  model, from the same seed;
- each optimisation step's `days_per_step` days are dealt out in turn (`share`): day j of the
  step goes to process j mod N; each process's loss is weighted so that the averaged gradient
  is the one process's mean over the step's days (`zoo.train.loop.fit`);
- the validation days are dealt out the same way and their Rank ICs summed over the
  processes (`sum_over_processes`), so every process takes the same early-stopping decision;
- only rank 0 writes: run folder, checkpoints, metrics, scores, progress.

With the same seed and config, N processes give the weights of one process up to the order of
float sums (tested with two gloo processes in `tests/train/test_ddp.py`).
"""

from __future__ import annotations

import datetime
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import torch
import torch.distributed as dist

from zoo.train.config import TrainConfig

__all__ = [
    "World",
    "barrier",
    "broadcast_buffers",
    "broadcast_object",
    "check_config",
    "check_gpus",
    "close",
    "init_from_env",
    "launch_command",
    "share",
    "sum_over_processes",
    "under_launcher",
    "world",
]

T = TypeVar("T")
# Rank 0 alone scores a test block (and fits a two-stage model's trees) while the others wait
# for the next split's first collective: the group's default timeout (10 or 30 minutes) is
# shorter than a large block may take.
TIMEOUT = datetime.timedelta(hours=6)


@dataclass(frozen=True)
class World:
    """This process's place among the training processes (one process: rank 0 of 1)."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        """The process that writes (runs, checkpoints, scores) and prints."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.size > 1


def world() -> World:
    """This process's place: from the initialised process group, else rank 0 of 1."""
    if not (dist.is_available() and dist.is_initialized()):
        return World()
    return World(dist.get_rank(), dist.get_world_size(),
                 int(os.environ.get("LOCAL_RANK", dist.get_rank())))


def under_launcher() -> int:
    """The number of processes torchrun started (its `WORLD_SIZE`), 0 outside torchrun."""
    value = os.environ.get("WORLD_SIZE", "").strip()
    return int(value) if value.isdigit() and "RANK" in os.environ else 0


def init_from_env(device: str) -> World:
    """Join the process group torchrun's environment describes; one process: nothing to join.

    Args:
        device: the config's device ("auto", "cpu", "cuda"). On CUDA (also "auto" with a GPU)
            each process takes `cuda:LOCAL_RANK` and the backend is NCCL; on CPU it is gloo.

    Raises:
        RuntimeError: CUDA is asked for (or "auto" finds it) but this node has fewer GPUs than
            processes, or "cuda" is asked for and there is none.
    """
    size = under_launcher()
    if size <= 1:
        return world()
    if dist.is_initialized():
        return world()
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    local_size = int(os.environ.get("LOCAL_WORLD_SIZE", str(size)))
    cuda = device == "cuda" or (device == "auto" and torch.cuda.is_available())
    if cuda:
        check_gpus(local_size, device)
        torch.cuda.set_device(local_rank)
        dist.init_process_group("nccl", timeout=TIMEOUT,
                                device_id=torch.device("cuda", local_rank))
    else:
        dist.init_process_group("gloo", timeout=TIMEOUT)
    return world()


def check_gpus(processes: int, device: str) -> None:
    """Raise unless `processes` processes can each have a GPU of their own when `device` asks
    for CUDA ("cuda", or "auto" on a machine with a GPU)."""
    gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if device == "cuda" and gpus == 0:
        raise RuntimeError(f"--device cuda with {processes} processes: torch sees no GPU "
                           "(--device cpu trains the processes on CPU, with gloo)")
    if (device == "cuda" or (device == "auto" and gpus)) and gpus < processes:
        raise RuntimeError(f"{processes} processes on CUDA need a GPU each; torch sees {gpus} "
                           "(lower --devices, or --device cpu to train on CPU processes)")


def check_config(config: TrainConfig, processes: int) -> None:
    """Raise unless `config` can train in `processes` processes.

    Raises:
        ValueError: a trees-only model (no torch stage to share), or fewer days per step
            than processes (a process would only wait: the step's days are what is shared).
    """
    if processes <= 1:
        return
    import zoo.models  # noqa: F401  (registers the models)
    from zoo.registry import model_contract

    if model_contract(config.model).tree_only:
        raise ValueError(f"{config.model} trains no torch model: there is nothing to share "
                         "among devices; train it in one process")
    if config.days_per_step < processes:
        raise ValueError(
            f"{processes} processes share each step's days, and a step has "
            f"days_per_step={config.days_per_step}: set --set days_per_step={processes} (or a "
            f"multiple of it); one process with the same days_per_step trains the same "
            "weights")


def close() -> None:
    """Leave the process group, if this process joined one."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def launch_command(devices: int, arguments: Sequence[str]) -> list[str]:
    """The command that runs `zoo <arguments>` in `devices` processes on this machine:
    `python -m torch.distributed.run --standalone --nproc-per-node N -m zoo.cli ...`
    (what the `torchrun` script runs), with this interpreter."""
    return [sys.executable, "-m", "torch.distributed.run", "--standalone",
            "--nproc-per-node", str(devices), "-m", "zoo.cli", *arguments]


def share(items: Sequence[T], current: World | None = None) -> list[T]:
    """This process's items: the k-th goes to process k mod N (rank r takes r, r+N, ...)."""
    current = current or world()
    return list(items[current.rank::current.size])


def sum_over_processes(tensor: torch.Tensor) -> torch.Tensor:
    """`tensor` summed over the processes (in place, and returned); itself for one process."""
    if world().distributed:
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor


def broadcast_object(value: Any) -> Any:
    """Rank 0's `value` (any picklable object) in every process."""
    if not world().distributed:
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def broadcast_buffers(module: torch.nn.Module) -> None:
    """Rank 0's buffers (a batch norm's running statistics) in every process: each process
    updated them on its own days, and validation must score one model."""
    if world().distributed:
        for buffer in module.buffers():
            dist.broadcast(buffer, src=0)


def barrier() -> None:
    """Wait until every process gets here (nothing for one process)."""
    if world().distributed:
        dist.barrier()
