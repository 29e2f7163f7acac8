"""Keep the micro model's activations inside a range int8 can hold (``train --act-penalty``, chapter 5).

int8 gives each activation tensor one scale for all its values, so a tensor whose values sit
mostly within +-3 but now and then reach +-100 gets a step fit for +-100, and its ordinary values
drown in rounding noise. Chapter 5 measures exactly that in the micro decoder: the sum that feeds
the last layer has a 99th percentile of 2.6 and a maximum near 300.

:class:`ActivationBound` watches the tensors the integer graph carries (every BatchNorm and PReLU
output, which is every conv output after folding, and the input of every GTConv block, dual-path
block and decoder layer, which are the skip sums) and adds to the loss

    penalty * sum over watched tensors of mean(relu(|x| - bound) ** 2)

which is zero while every value stays inside +-bound and grows with how far the tails reach.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["ActivationBound"]


class ActivationBound:
    """Forward hooks on a micro model that collect the tensors to bound; :meth:`penalty` sums them.

    Use as a context manager around the forward pass::

        with ActivationBound(model, bound=8.0) as ab:
            est = model(spec)
            loss = loss + 0.1 * ab.penalty()
    """

    def __init__(self, model: nn.Module, bound: float):
        from ..model.micro import DualPath, GTConvBlock, IntPReLU, MicroGTCRN

        if not isinstance(model, MicroGTCRN):
            raise ValueError(f"activation bounds are for the micro model (its int8 graph), not {type(model).__name__}.")
        if not bound > 0:
            raise ValueError(f"act_bound must be > 0, not {bound!r}.")
        self.bound = float(bound)
        self.tensors: list[torch.Tensor] = []
        self._outputs = [m for m in model.modules() if isinstance(m, (nn.BatchNorm2d, IntPReLU))]
        self._inputs = [m for m in model.modules() if isinstance(m, (GTConvBlock, DualPath))] + [model.dec2, model.dec1]
        self._handles: list = []

    def __enter__(self) -> "ActivationBound":
        self.tensors = []
        self._handles = [m.register_forward_hook(lambda _m, _i, out: self.tensors.append(out)) for m in self._outputs]
        self._handles += [m.register_forward_pre_hook(lambda _m, args: self.tensors.append(args[0])) for m in self._inputs]
        return self

    def __exit__(self, *exc) -> None:
        for h in self._handles:
            h.remove()
        self._handles = []

    def penalty(self) -> torch.Tensor:
        """sum over watched tensors of mean(relu(|x| - bound)^2); an error when nothing was watched."""
        if not self.tensors:
            raise RuntimeError("no activations were recorded: call penalty() after a forward pass inside `with`.")
        return sum(torch.relu(t.abs() - self.bound).square().mean() for t in self.tensors)

    def peak(self) -> float:
        """The largest |value| any watched tensor held in the forward passes so far."""
        return max(float(t.detach().abs().max()) for t in self.tensors)
