"""Where does int8 lose quality? Per-layer SNR of a quantized model against its float twin (chapter 6).

Both TFLite models (float and integer, converted from the same saved model) are opened with every
op's output made visible. Each recorded step of a calibration trace is fed to both with the *same*
inputs (teacher forcing: the integer model gets the float model's states, quantized), and each op's
integer output, dequantized, is compared with the float output of the op of the same name. The SNR
of each op therefore measures the error that has built up inside one step up to that op, without
the drift that feeding back quantized states adds over time.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .tflite import _op_names, _qparams, _type_name, read_model, signature_io, write_model

__all__ = ["layer_snr", "plot_layer_snr"]


def _all_outputs(path: str | Path):
    """The model with every op output appended to the subgraph outputs; (bytes, op list, extra indices)."""
    model = read_model(path)
    sg = model.subgraphs[0]
    extra = [op.outputs[0] for op in sg.operators]
    n_out = len(sg.outputs)
    sg.outputs = list(sg.outputs) + extra
    return model, write_model(model), _op_names(model), n_out


def _interpreter(data: bytes, integer: bool):
    import tensorflow as tf

    resolver = tf.lite.experimental.OpResolverType.BUILTIN_REF if integer else tf.lite.experimental.OpResolverType.AUTO
    it = tf.lite.Interpreter(model_content=data, experimental_op_resolver_type=resolver)
    it.allocate_tensors()
    return it


def layer_snr(float_path: str | Path, int_path: str | Path, trace: dict[str, np.ndarray],
              input_names: list[str], output_names: list[str], frames: int = 200) -> list[dict]:
    """Per-op SNR (dB) of the integer model against the float model, in execution order.

    Returns one dict per op of the integer model that has a float twin:
    ``{"index", "op", "name", "snr_db", "scale"}``.
    """
    f_model, f_data, _, f_nout = _all_outputs(float_path)
    q_model, q_data, q_ops, q_nout = _all_outputs(int_path)
    f_sg, q_sg = f_model.subgraphs[0], q_model.subgraphs[0]
    f_index = {f_sg.tensors[i].name.decode(): k for k, i in enumerate(f_sg.outputs)}
    f_it, q_it = _interpreter(f_data, False), _interpreter(q_data, True)

    def feed(it, sg, model, quantized):
        ins, _ = signature_io(model, output_names)
        pos = {k: list(sg.inputs).index(ins[k]) for k in input_names}
        details = it.get_input_details()
        return {k: (details[pos[k]]["index"], _qparams(sg.tensors[ins[k]]) if quantized else None) for k in input_names}

    f_feed, q_feed = feed(f_it, f_sg, f_model, False), feed(q_it, q_sg, q_model, True)
    q_dtype = {k: _type_name(q_sg.tensors[signature_io(q_model, output_names)[0][k]].type) for k in input_names}
    f_out, q_out = f_it.get_output_details(), q_it.get_output_details()
    pairs = []
    for j, t_idx in enumerate(q_sg.outputs[q_nout:]):
        tensor = q_sg.tensors[t_idx]
        name = tensor.name.decode()
        if name in f_index and _type_name(tensor.type) in ("INT8", "INT16"):
            pairs.append((j, q_nout + j, f_index[name], name, _qparams(tensor)))
    sig = np.zeros(len(pairs))
    err = np.zeros(len(pairs))
    step = max(1, len(trace["feat"]) // frames)
    for t in range(0, len(trace["feat"]), step):
        for k in input_names:
            x = trace[k][t : t + 1]
            f_it.set_tensor(f_feed[k][0], x)
            (scale, zp), dt = q_feed[k][1], np.int8 if q_dtype[k] == "INT8" else np.int16
            info = np.iinfo(dt)
            q_it.set_tensor(q_feed[k][0], np.clip(np.round(x / scale) + zp, info.min, info.max).astype(dt))
        f_it.invoke()
        q_it.invoke()
        for n, (_, q_pos, f_pos, _, (scale, zp)) in enumerate(pairs):
            ref = f_it.get_tensor(f_out[f_pos]["index"]).astype(np.float64)
            est = (q_it.get_tensor(q_out[q_pos]["index"]).astype(np.float64) - zp) * scale
            if est.shape != ref.shape:
                continue
            sig[n] += np.sum(ref**2)
            err[n] += np.sum((ref - est) ** 2)
    rows = []
    for n, (j, _, _, name, (scale, _)) in enumerate(pairs):
        snr = float("inf") if err[n] == 0 else float(10 * np.log10(max(sig[n], 1e-30) / err[n]))
        rows.append({"index": j, "op": q_ops[j], "name": name, "snr_db": snr, "scale": scale})
    return rows


def plot_layer_snr(rows: list[dict], title: str = "int8 vs float, per op (teacher-forced)"):
    """Bar per op in execution order, SNR in dB, coloured by op type; returns the figure."""
    from ..audio.plots import new_figure

    fig, ax = new_figure(figsize=(10, 3.4))
    ops = sorted({r["op"] for r in rows})
    colors = {op: f"C{i % 10}" for i, op in enumerate(ops)}
    snr = [min(r["snr_db"], 80.0) for r in rows]
    ax.bar(range(len(rows)), snr, color=[colors[r["op"]] for r in rows], width=1.0)
    from matplotlib.patches import Patch

    handles = [Patch(color=colors[op], label=op) for op in ops]
    ax.set_xlabel("op (execution order)")
    ax.set_ylabel("SNR vs float (dB)")
    ax.set_title(title)
    ax.legend(handles=handles, ncol=5, fontsize=7, loc="lower right")
    return fig
