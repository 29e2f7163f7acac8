"""The hardware a run uses: the device (``train --device``) and data-parallel training under ``torchrun``.

One process (the default)::

    gtcrn-micro train ... --device cpu        # or cuda; "auto" (the default) takes cuda when torch sees one

Several processes, one per GPU, on one or several machines (PyTorch DDP, started by ``torchrun``)::

    torchrun --standalone --nproc-per-node 4 -m gtcrn_micro train ... --device cuda

``torchrun`` sets ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK`` in each process; :func:`setup` reads
them and joins the process group (NCCL on CUDA, gloo on CPU). The run is the same run as one
process with the same ``--batch-size``: ``batch_size`` stays the *global* batch, and rank ``r`` of
``N`` takes items ``r*B/N .. (r+1)*B/N - 1`` of each global batch (:func:`shard`). The mixtures
are a pure function of (seed, epoch, index), so the N shards together are exactly the batch one
process would draw. DDP averages the gradients of the per-rank mean losses, which is the
gradient of the mean loss over the global batch because every rank holds the same number of
examples. BatchNorm is the one layer that mixes examples: :func:`sync_batchnorm` makes it take
its batch statistics over the global batch (two all-reduces per layer), so one process with
batch B and N processes with B/N each compute the same losses, to float rounding.

Rank 0 reads the checkpoint to resume from and sends it to every rank (the other machines need
no copy of the run folder), and only rank 0 validates and writes checkpoints, logs and plots.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta
from typing import Callable, TypeVar

import torch
import torch.distributed as dist
from torch import nn

__all__ = ["Workers", "pick_device", "setup", "shard", "from_rank0", "mean_over_ranks", "sync_batchnorm"]

T = TypeVar("T")


@dataclass(frozen=True)
class Workers:
    """This process's place in the run: rank of world_size (0 of 1 without torchrun)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    owns_group: bool = False  # this run started the process group, so it ends it

    @property
    def main(self) -> bool:
        """Rank 0: validates and writes the run folder."""
        return self.rank == 0

    @property
    def parallel(self) -> bool:
        return self.world_size > 1


def pick_device(name: str = "auto", local_rank: int = 0) -> torch.device:
    """``"auto"``, ``"cpu"`` or ``"cuda"`` -> the torch device (``cuda:LOCAL_RANK`` under torchrun)."""
    if name not in ("auto", "cpu", "cuda"):
        raise ValueError(f"device must be auto, cpu or cuda, not {name!r}.")
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cpu":
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise ValueError(f"--device cuda needs an NVIDIA GPU and a CUDA build of torch, but this torch "
                         f"({torch.__version__}) sees no GPU: install a CUDA wheel of torch (README, "
                         "'Training on a GPU') or train with --device cpu.")
    if local_rank >= torch.cuda.device_count():
        raise ValueError(f"This process is local rank {local_rank} but the machine has {torch.cuda.device_count()} "
                         f"GPU(s): start torchrun with --nproc-per-node {torch.cuda.device_count()} or fewer.")
    torch.cuda.set_device(local_rank)
    return torch.device("cuda", local_rank)


def setup(device_name: str = "auto") -> tuple[Workers, torch.device]:
    """Read torchrun's environment, pick the device and join the process group when WORLD_SIZE > 1."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    device = pick_device(device_name, local_rank)
    if world <= 1:
        return Workers(), device
    owns = not dist.is_initialized()
    if owns:  # validation runs on rank 0 alone while the others wait: a generous timeout
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo", timeout=timedelta(hours=1))
    return Workers(dist.get_rank(), dist.get_world_size(), local_rank, owns), device


def teardown(w: Workers) -> None:
    if w.owns_group and dist.is_initialized():
        dist.destroy_process_group()


def shard(batch_size: int, w: Workers) -> tuple[int, int]:
    """(first index within the global batch, items) this rank takes: B/N consecutive items."""
    if batch_size % w.world_size:
        raise ValueError(f"batch_size {batch_size} does not split evenly over {w.world_size} processes: "
                         f"use a multiple of {w.world_size} (it is the global batch, shared by all processes).")
    local = batch_size // w.world_size
    return w.rank * local, local


def from_rank0(w: Workers, fn: Callable[[], T]) -> T:
    """``fn()`` on rank 0 and its result, or the error it raised, on every rank (pickled)."""
    if not w.parallel:
        return fn()
    box: list = [None]
    if w.main:
        try:
            box[0] = (fn(), None)
        except Exception as err:  # every rank raises it, none waits forever
            box[0] = (None, err)
    dist.broadcast_object_list(box, src=0)
    value, err = box[0]
    if err is not None:
        raise err
    return value


def mean_over_ranks(w: Workers, value: torch.Tensor) -> float:
    """The mean of a scalar tensor over all ranks (the global batch's loss), as a float."""
    if not w.parallel:
        return value.item()
    t = value.detach().clone().reshape(1)
    dist.all_reduce(t)
    return t.item() / w.world_size


class _SumOverRanks(torch.autograd.Function):
    """All-reduce (sum) that autograd can go through: the gradient of a sum over ranks reaches every
    rank's input as the sum over ranks of the gradients (each rank's loss depends on every input)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, group) -> torch.Tensor:
        ctx.group = group
        x = x.clone()
        dist.all_reduce(x, group=group)
        return x

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        grad = grad.clone()
        dist.all_reduce(grad, group=ctx.group)
        return grad, None


class _GlobalBatchNorm2d(nn.BatchNorm2d):
    """BatchNorm2d whose training statistics are taken over the examples of every rank.

    Still a ``BatchNorm2d`` (same parameters, buffers and state-dict keys; folding at export and
    the activation-bound hooks see no difference). torch's ``SyncBatchNorm`` would do this on GPUs
    but refuses CPU tensors, and the gloo test of this module runs on CPU. In eval mode, or in a
    single process, it is plain BatchNorm.
    """

    group = None  # set by sync_batchnorm

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x (B,C,T,F)
        if not (self.training and dist.is_initialized() and dist.get_world_size(self.group) > 1):
            return super().forward(x)
        def all_reduce(t: torch.Tensor) -> torch.Tensor:
            return _SumOverRanks.apply(t, self.group)

        dims = (0, 2, 3)
        n = x.numel() // x.shape[1] * dist.get_world_size(self.group)  # every rank holds the same shape
        mean = all_reduce(x.sum(dims)) / n  # (C,)
        centred = x - mean[None, :, None, None]  # (B,C,T,F)
        var = all_reduce(centred.square().sum(dims)) / n  # (C,) biased, as BatchNorm normalises
        if self.track_running_stats:
            with torch.no_grad():
                self.num_batches_tracked.add_(1)
                f = self.momentum if self.momentum is not None else 1.0 / float(self.num_batches_tracked)
                self.running_mean.lerp_(mean.detach(), f)
                self.running_var.lerp_(var.detach() * n / max(n - 1, 1), f)  # unbiased, as BatchNorm keeps it
        y = centred * torch.rsqrt(var + self.eps)[None, :, None, None]  # (B,C,T,F)
        if self.affine:
            y = y * self.weight[None, :, None, None] + self.bias[None, :, None, None]
        return y


def sync_batchnorm(model: nn.Module, w: Workers) -> int:
    """Make every BatchNorm2d of ``model`` normalise over the global batch; returns how many.

    Does nothing in a single process. Every rank must call it (it creates a process group).
    """
    if not w.parallel:
        return 0
    _GlobalBatchNorm2d.group = dist.new_group()  # its own group: never interleaves with DDP's all-reduces
    count = 0
    for m in model.modules():
        if type(m) is nn.BatchNorm2d:
            m.__class__ = _GlobalBatchNorm2d
            count += 1
    return count
