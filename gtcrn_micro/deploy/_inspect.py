"""Read an exported int8 step and record reference vectors for the firmware's host test (chapter 6).

Runs in a child process (``python -m gtcrn_micro.deploy._inspect IN.json OUT.npz``): TFLM's
Python extension must not share a process with TensorFlow's calibrator (see
``gtcrn_micro.export.tflm_run``), and the tests and notebooks that call the generator may export too.

It writes, for :func:`gtcrn_micro.deploy.generate_esp32s3_project`:

- ``info``: a JSON string: ops in order of first use with counts, every input/output tensor's
  position in the subgraph, shape, type, scale and zero point, and the TFLM arena in bytes;
- the reference vectors of one noisy clip run through the same path as
  :class:`~gtcrn_micro.export.TFLiteEnhancer` with the TFLM interpreter: ``wav`` (L,), ``feat``
  (T,3,129) float, ``feat_q`` (T,3*129) int8, ``mask_q`` (T, 2*129) int8 in the mask tensor's own
  memory order, ``out`` (L,) float.
"""

from __future__ import annotations

import json
import sys

import numpy as np

__all__: list[str] = []


def _tensor(sg, index: int, position: int) -> dict:
    from ..export.tflite import _qparams, _type_name

    t = sg.tensors[index]
    scale, zp = _qparams(t)
    return {"tensor": int(index), "position": int(position), "shape": [int(d) for d in t.shape],
            "type": _type_name(t.type), "scale": scale, "zero_point": zp}


def op_costs(model) -> list[dict]:
    """Per op of the subgraph: name, multiply-accumulates, output and input elements, kernel (h, w)."""
    from ..export.tflite import _op_names

    sg = model.subgraphs[0]
    out = []
    for name, op in zip(_op_names(model), sg.operators):
        shape = lambda i: [int(d) for d in sg.tensors[i].shape] if i >= 0 else []  # noqa: E731
        ins, outs = [shape(i) for i in op.inputs], [shape(i) for i in op.outputs]
        n_out = int(np.prod(outs[0])) if outs else 0
        n_in = int(np.prod(ins[0])) if ins and ins[0] else 0
        macs, kernel = 0, None
        if name == "CONV_2D":  # filter (Cout, Kh, Kw, Cin/groups)
            f = ins[1]
            macs, kernel = n_out * f[1] * f[2] * f[3], [f[1], f[2]]
        elif name == "DEPTHWISE_CONV_2D":  # filter (1, Kh, Kw, Cout)
            f = ins[1]
            macs, kernel = n_out * f[1] * f[2], [f[1], f[2]]
        elif name == "FULLY_CONNECTED":  # weights (out, in)
            w = ins[1]
            macs = (n_in // w[1]) * w[0] * w[1]
        out.append({"op": name, "macs": int(macs), "out_elements": n_out, "in_elements": n_in, "kernel": kernel})
    return out


def model_io(path: str, model_name: str) -> dict:
    """Ops, I/O tensors (by the step graph's names) and the TFLM arena of an exported step."""
    from ..export.graph import StepGraph
    from ..export.tflite import _op_names, read_model, signature_io, tflm_arena_bytes
    from ..model import build_model

    model = read_model(path)
    sg = model.subgraphs[0]
    net = build_model(model_name)
    shapes = StepGraph(net).input_shapes()
    names = list(shapes)
    out_names = ["mask", *[f"{n}_out" for n in names[1:]]]
    ins, outs = signature_io(model, out_names)
    ops = _op_names(model)
    order = list(dict.fromkeys(ops))
    return {
        "n_subgraphs": len(model.subgraphs),
        "ops": [[name, ops.count(name)] for name in order],
        "inputs": {k: _tensor(sg, ins[k], list(sg.inputs).index(ins[k])) for k in names},
        "outputs": {k: _tensor(sg, outs[k], list(sg.outputs).index(outs[k])) for k in out_names},
        "graph_shapes": {k: list(v) for k, v in shapes.items()},
        "arena_bytes": tflm_arena_bytes(path),
        "op_costs": op_costs(model),
        "mask_clamp": bool(getattr(net, "mask_clamp", False)),  # the host clamps the mask to [-1, 1]
    }


def reference_vectors(path: str, model_name: str, seconds: float, mask_nhwc: bool) -> dict[str, np.ndarray]:
    """One noisy clip through features -> TFLM step (int8) -> mask -> iSTFT, every stage kept."""
    import torch

    from ..audio import load_sample, mix_at_snr
    from ..audio.stft import istft, stft
    from ..export.pipeline import load_step
    from ..model import build_model

    torch.set_num_threads(1)
    model = build_model(model_name).eval()  # host parts only: ERB and compression have no trained weights
    n = int(seconds * model.cfg.audio.sample_rate)
    clean, noise = load_sample("speech_en_1")[:n], load_sample("noise_wind")
    wav, _ = mix_at_snr(clean, noise, 5.0, rng=0)
    wav = wav.astype(np.float32)
    step = load_step(path, model, "tflm")
    with torch.no_grad():
        spec = stft(torch.from_numpy(wav))  # (1,257,T,2)
        feat = model.features(spec)[0].permute(1, 0, 2).contiguous()  # (T,3,129)
        state = step.initial_state()
        feat_q, mask_q, masks = [], [], []
        for t in range(feat.shape[0]):
            q = step.quantize("feat", feat[t].numpy()[None, :, None, :])  # (1,3,1,129)
            raw, state = step.step_raw(q, state)  # raw (1,2,1,129) int8, NCHW
            feat_q.append(step._as_input("feat", q).reshape(-1))  # in the feat tensor's own memory order
            mask_q.append((raw.transpose(0, 2, 3, 1) if mask_nhwc else raw).reshape(-1))  # tensor memory order
            masks.append(step.dequantize("mask", raw))
        mask = torch.from_numpy(np.concatenate(masks, 0)[:, :, 0]).permute(1, 0, 2).unsqueeze(0)  # (1,2,T,129)
        out = istft(model.apply_mask(mask, spec), len(wav))[0].numpy()  # (L,)
    return {"wav": wav, "feat": feat.numpy().astype(np.float32), "feat_q": np.stack(feat_q).astype(np.int8),
            "mask_q": np.stack(mask_q).astype(np.int8), "out": out.astype(np.float32)}


def _main(src: str, dst: str) -> None:
    args = json.loads(open(src).read())
    info = model_io(args["path"], args["model"])
    mask_shape = info["outputs"]["mask"]["shape"]
    want = info["graph_shapes"]["feat"]
    nhwc = mask_shape == [1, 1, want[-1], 2]
    info["mask_nhwc"] = nhwc
    info["feat_nhwc"] = info["inputs"]["feat"]["shape"] == [1, 1, want[-1], want[1]]  # (1,1,129,3): bands interleaved
    ref = reference_vectors(args["path"], args["model"], args["seconds"], nhwc) if args["seconds"] > 0 else {}
    np.savez(dst, info=json.dumps(info), **ref)


if __name__ == "__main__":
    _main(*sys.argv[1:3])
