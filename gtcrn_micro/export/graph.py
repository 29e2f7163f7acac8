"""The streaming step as a graph with fixed shapes, its calibration traces, and ONNX export (chapter 6).

One step = one hop (16 ms): ``(feat (1,3,1,129), *states) -> (mask (1,2,1,129), *new_states)``.
Inputs are named ``feat`` and the model's state names (``model.state_shapes()``, in that order);
outputs ``mask`` and ``<state>_out``. The STFT, ERB and the complex mask multiply stay outside.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

__all__ = ["StepGraph", "record_trace", "to_step_layout", "export_onnx", "run_onnx_stream"]


class StepGraph(nn.Module):
    """Wrap a streaming-capable model (``core(feat, state)``) as ``forward(feat, *states)``."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model.eval()
        self.state_names = list(model.state_shapes())
        self.input_names = ["feat", *self.state_names]
        self.output_names = ["mask", *[f"{n}_out" for n in self.state_names]]
        # "nchw": onnx2tf keeps every input's ONNX layout (-kat), at the price of TRANSPOSE ops inside;
        # "nhwc": inputs take TFLite's own layout, (1,T,F,C), and the graph needs no transposes
        self.layout = getattr(model, "step_layout", "nchw")

    def input_shapes(self) -> dict[str, tuple[int, ...]]:
        """Name -> shape of every input of one step (batch 1)."""
        n_bands = self.model.cfg.erb.n_bands
        return {"feat": (1, 3, 1, n_bands), **{k: (1, *s) for k, s in self.model.state_shapes().items()}}

    def forward(self, feat: torch.Tensor, *states: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """feat (1,3,1,129), states -> mask (1,2,1,129), new states (same shapes, same order)."""
        mask, new = self.model.core(feat, dict(zip(self.state_names, states)))
        return (mask, *[new[k] for k in self.state_names])


@torch.no_grad()
def record_trace(model: nn.Module, feats: list[torch.Tensor]) -> dict[str, np.ndarray]:
    """Run the float model frame by frame over each (1,3,T,129) feature sequence, from a zero state.

    Returns name -> array (N, ...) of what every step saw (``feat`` and each state) and produced
    (``mask``), N = total frames: the representative data for calibration and the reference for
    parity checks. ``start`` (N,) marks the first frame of each sequence.
    """
    graph = StepGraph(model)
    rows: dict[str, list[np.ndarray]] = {k: [] for k in [*graph.input_names, "mask", "start"]}
    for feat in feats:
        state = model.initial_state(1)
        for t in range(feat.shape[2]):
            rows["start"].append(np.array([t == 0]))
            x = feat[:, :, t : t + 1]  # (1,3,1,129)
            rows["feat"].append(x.numpy())
            for k in graph.state_names:
                rows[k].append(state[k].numpy())
            mask, state = model.core(x, state)
            rows["mask"].append(mask.numpy())
    out = {k: np.concatenate(v, 0).astype(np.float32) for k, v in rows.items() if k != "start"}
    out["start"] = np.concatenate(rows["start"])
    return out


def to_step_layout(trace: dict[str, np.ndarray], names: list[str], layout: str) -> dict[str, np.ndarray]:
    """The recorded step inputs ``names`` of a trace (NCHW, as torch saw them) in the layout the
    exported step takes them: unchanged for ``"nchw"``, (N,T,F,C) for ``"nhwc"``."""
    if layout == "nchw":
        return trace
    return {**trace, **{k: trace[k].transpose(0, 2, 3, 1) for k in names if trace[k].ndim == 4}}


def export_onnx(model: nn.Module, path: str | Path, opset: int = 17) -> Path:
    """Export one streaming step to ONNX (fixed shapes, BatchNorm folded by the exporter)."""
    graph = StepGraph(model)
    example = tuple(torch.zeros(s) for s in graph.input_shapes().values())
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.onnx.export(graph, example, str(path), opset_version=opset, dynamo=False,
                      input_names=graph.input_names, output_names=graph.output_names,
                      do_constant_folding=True)
    return path


def run_onnx_stream(path: str | Path, trace: dict[str, np.ndarray], state_names: list[str]) -> np.ndarray:
    """Stream ``trace['feat']`` through an ONNX step with ONNX Runtime, feeding states back.

    Starts from the recorded (zero) state wherever the trace starts a new sequence.
    Returns the masks (N,2,1,129).
    """
    import onnxruntime as ort

    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    masks = []
    state = {}
    for t in range(len(trace["feat"])):
        if trace["start"][t]:
            state = {k: trace[k][t : t + 1] for k in state_names}
        out = sess.run(None, {"feat": trace["feat"][t : t + 1], **state})
        masks.append(out[0])
        state = dict(zip(state_names, out[1:]))
    return np.concatenate(masks, 0)
