"""Run an exported step in LiteRT or the TensorFlow Lite Micro interpreter, the way firmware does (chapter 6).

The host loop quantizes the feature frame, keeps every state in the model's own integer type
and feeds it back unchanged (which is why each state's input and output must share one scale and
zero point), and dequantizes the mask. Float models run the same loop in float.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .tflite import ExportError, _qparams, _type_name, read_model, signature_io

__all__ = ["TFLiteStep"]

_NUMPY = {"FLOAT32": np.float32, "INT8": np.int8, "INT16": np.int16}


def _nhwc(shape: tuple[int, ...]) -> tuple[int, ...]:
    """The NHWC form of an NCHW shape (other ranks unchanged)."""
    return (shape[0], *shape[2:], shape[1]) if len(shape) == 4 else shape


class TFLiteStep:
    """One exported streaming step. ``runtime`` is ``"litert"`` or ``"tflm"``.

    ``shapes``: name -> NCHW shape of each input (``StepGraph.input_shapes()``); outputs that
    onnx2tf left in NHWC are transposed back, by shape.
    """

    def __init__(self, path: str | Path, shapes: dict[str, tuple[int, ...]], mask_shape: tuple[int, ...],
                 runtime: str = "litert", arena_size: int = 1 << 20):
        self.path, self.runtime = Path(path), runtime
        model = read_model(self.path)
        sg = model.subgraphs[0]
        self.input_names = list(shapes)
        self.state_names = self.input_names[1:]
        self.output_names = ["mask", *[f"{n}_out" for n in self.state_names]]
        ins, outs = signature_io(model, self.output_names)
        self.in_pos = {k: list(sg.inputs).index(ins[k]) for k in self.input_names}
        self.out_pos = {k: list(sg.outputs).index(outs[k]) for k in self.output_names}
        self.qin = {k: (*_qparams(sg.tensors[ins[k]]), _NUMPY[_type_name(sg.tensors[ins[k]].type)]) for k in self.input_names}
        self.qout = {k: (*_qparams(sg.tensors[outs[k]]), _NUMPY[_type_name(sg.tensors[outs[k]].type)]) for k in self.output_names}
        self.shape_in = {k: tuple(int(d) for d in sg.tensors[ins[k]].shape) for k in self.input_names}
        self.shape_out = {k: tuple(int(d) for d in sg.tensors[outs[k]].shape) for k in self.output_names}
        self.want = {"mask": tuple(mask_shape), **{f"{k}_out": tuple(shapes[k]) for k in self.state_names}}
        for k in self.input_names:
            if self.shape_in[k] not in (tuple(shapes[k]), _nhwc(tuple(shapes[k]))):
                raise ExportError(f"Input {k} has shape {self.shape_in[k]}, neither {tuple(shapes[k])} (NCHW) nor its "
                                  "NHWC form: the converter changed its layout in a way the host cannot follow.")
        self.integer = self.qin["feat"][2] != np.float32
        if runtime == "litert" and self.integer:
            # Integer models run the LiteRT runtime built into TensorFlow with its reference kernels:
            # those match TFLM bit for bit. (The ai-edge-litert 2.1.0 wheel's reference kernels round
            # some requantizations differently, by one step; its default XNNPACK delegate more so.)
            import tensorflow as tf

            self._it = tf.lite.Interpreter(model_path=str(self.path),
                                           experimental_op_resolver_type=tf.lite.experimental.OpResolverType.BUILTIN_REF)
        elif runtime == "litert":
            from ai_edge_litert.interpreter import Interpreter

            self._it = Interpreter(model_path=str(self.path))
        if runtime == "litert":
            self._it.allocate_tensors()
            self._in_idx = [d["index"] for d in self._it.get_input_details()]
            self._out_idx = [d["index"] for d in self._it.get_output_details()]
        elif runtime == "tflm":
            from tflite_micro.python.tflite_micro import runtime as tflm

            self._it = tflm.Interpreter.from_file(str(self.path), arena_size=arena_size)
        else:
            raise ValueError(f"runtime must be 'litert' or 'tflm', not {runtime!r}.")

    def state_mismatches(self) -> list[str]:
        """States whose input and output quantization differ (must be empty for integer models)."""
        return [k for k in self.state_names if self.qin[k] != self.qout[f"{k}_out"]]

    def quantize(self, name: str, x: np.ndarray) -> np.ndarray:
        scale, zp, dtype = self.qin[name]
        if dtype == np.float32:
            return x.astype(np.float32)
        info = np.iinfo(dtype)
        return np.clip(np.round(x / scale) + zp, info.min, info.max).astype(dtype)

    def dequantize(self, name: str, x: np.ndarray) -> np.ndarray:
        scale, zp, dtype = self.qout[name]
        return x.astype(np.float32) if dtype == np.float32 else (x.astype(np.float32) - zp) * scale

    def _layout(self, name: str, x: np.ndarray) -> np.ndarray:
        want = self.want[name]
        if x.shape == want:
            return x
        if x.ndim == 4 and x.shape == (want[0], want[2], want[3], want[1]):
            return x.transpose(0, 3, 1, 2)
        raise ExportError(f"Output {name} has shape {x.shape}; expected {want} (NCHW) or its NHWC form.")

    def _as_input(self, name: str, x: np.ndarray) -> np.ndarray:
        """An NCHW array (or a raw output of the same tensor) in the layout input ``name`` takes."""
        want = self.shape_in[name]
        if x.shape == want:
            return x
        if x.ndim == 4 and _nhwc(x.shape) == want:
            return x.transpose(0, 2, 3, 1)
        if x.ndim == 4 and x.transpose(0, 3, 1, 2).shape == want:
            return x.transpose(0, 3, 1, 2)
        raise ExportError(f"Cannot feed an array of shape {x.shape} to input {name} of shape {want}.")

    def initial_state(self) -> dict[str, np.ndarray]:
        """The zero state, in the model's own types (zero points for integer models)."""
        return {k: self.quantize(k, np.zeros(self.shape_in[k], np.float32)) for k in self.state_names}

    def step_raw(self, feat_q: np.ndarray, state: dict[str, np.ndarray]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """(quantized feat, raw state) -> (raw mask, raw new state), all in the model's own types."""
        feeds = {"feat": self._as_input("feat", feat_q), **state}
        if self.runtime == "litert":
            for k in self.input_names:
                self._it.set_tensor(self._in_idx[self.in_pos[k]], feeds[k])
            self._it.invoke()
            raw = {k: self._it.get_tensor(self._out_idx[p]) for k, p in self.out_pos.items()}
        else:
            for k in self.input_names:
                self._it.set_input(feeds[k], self.in_pos[k])
            self._it.invoke()
            raw = {k: self._it.get_output(p) for k, p in self.out_pos.items()}
        new = {k: self._as_input(k, raw[f"{k}_out"]) for k in self.state_names}  # fed back in the input's layout
        return self._layout("mask", raw["mask"]), new

    def stream(self, feats: np.ndarray, starts: np.ndarray | None = None) -> np.ndarray:
        """Run frames (N,3,1,129) in order, states fed back raw; restart from zeros where ``starts``.

        Returns the dequantized masks (N,2,1,129).
        """
        masks, _ = self.stream_from(feats, self.initial_state(), starts)
        return masks

    def stream_from(self, feats: np.ndarray, state: dict[str, np.ndarray],
                    starts: np.ndarray | None = None) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """:meth:`stream` from a given raw ``state``; returns the masks (N,2,1,129) and the raw state
        after the last frame, to carry into the next block of frames."""
        if self.integer and self.state_mismatches():
            raise ExportError(f"States {', '.join(self.state_mismatches())} have different input and output "
                              "quantization; run tie_state_quantization on the model.")
        masks = np.empty((len(feats), *self.want["mask"][1:]), np.float32)  # (N,2,1,129)
        for t in range(len(feats)):
            if starts is not None and starts[t]:
                state = self.initial_state()
            mask, state = self.step_raw(self.quantize("feat", feats[t : t + 1]), state)
            masks[t] = self.dequantize("mask", mask)[0]
        return masks, state
