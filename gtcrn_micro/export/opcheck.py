"""Does an int8 step graph take the ESP32-S3's fast kernels? The ops that force a slow path, named (chapter 6).

esp-tflite-micro runs ESP-NN's optimized kernels only for ADD, CONV_2D, DEPTHWISE_CONV_2D,
FULLY_CONNECTED, MUL, pooling and SOFTMAX, and within those only on their plain forms. This check
names every op of a graph that leaves that road for a reason the model's design can avoid:

- ``TRANSPOSE`` (a portable-C copy; it comes from layout changes the converter inserts);
- a grouped ``CONV_2D`` (filter input channels below the tensor's: ESP-NN has no grouped conv);
- a dilated ``CONV_2D`` or ``DEPTHWISE_CONV_2D`` (dilation != 1: TFLM's reference kernel);
- a ``DEPTHWISE_CONV_2D`` whose channel multiplier is not 1 (ESP-NN's SIMD path wants 1);
- an ``ADD``, ``MUL`` or ``SUB`` whose two inputs differ in shape (the slow 4-D broadcast path).

``graph_findings(data)`` lists them; ``check_s3_graph(data)`` raises :class:`ExportError` naming them.
The cost of every op, fast or not, is the cost model's job (``gtcrn-micro profile --target esp32s3``).
"""

from __future__ import annotations

from .tflite import ExportError, _op_names, read_model

__all__ = ["graph_findings", "check_s3_graph", "count_findings"]

_ELEMENTWISE = ("ADD", "MUL", "SUB")


def _shape(sg, index: int) -> tuple[int, ...]:
    return tuple(int(d) for d in sg.tensors[index].shape) if index >= 0 else ()


def graph_findings(data) -> list[dict]:
    """Every op of the model that the S3 would run on a slow path for an avoidable reason.

    Returns ``[{"index", "op", "kind", "detail"}]`` in execution order; ``kind`` is one of
    ``transpose``, ``grouped``, ``dilated``, ``multiplier``, ``broadcast``.
    """
    model = read_model(data)
    sg = model.subgraphs[0]
    found = []
    for i, (name, op) in enumerate(zip(_op_names(model), sg.operators)):
        opts = op.builtinOptions
        ins = [_shape(sg, t) for t in op.inputs]

        def add(kind: str, detail: str) -> None:
            found.append({"index": i, "op": name, "kind": kind, "detail": detail})

        if name == "TRANSPOSE":
            add("transpose", f"{ins[0]} -> {_shape(sg, op.outputs[0])}")
        elif name in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            dil = (getattr(opts, "dilationHFactor", 1), getattr(opts, "dilationWFactor", 1))
            if dil != (1, 1):
                add("dilated", f"dilation {dil}")
            if name == "CONV_2D" and ins[1][3] != ins[0][3]:
                add("grouped", f"{ins[0][3] // ins[1][3]} groups ({ins[0][3]} input channels, filter {ins[1]})")
            if name == "DEPTHWISE_CONV_2D" and ins[1][3] != ins[0][3]:  # filter (1,kh,kw,Cin*multiplier)
                add("multiplier", f"channel multiplier {ins[1][3] // max(ins[0][3], 1)}")
        elif name in _ELEMENTWISE and len(ins) == 2 and ins[0] != ins[1]:
            add("broadcast", f"{ins[0]} with {ins[1]}")
    return found


def count_findings(findings: list[dict]) -> dict[str, int]:
    """kind -> number of ops (every kind present, zero where none)."""
    kinds = ("transpose", "grouped", "dilated", "multiplier", "broadcast")
    return {k: sum(f["kind"] == k for f in findings) for k in kinds}


def check_s3_graph(data, name: str = "the model") -> None:
    """Raise :class:`ExportError` naming each op that would leave ESP-NN's fast kernels (see module doc)."""
    found = graph_findings(data)
    if found:
        shown = "; ".join(f"op {f['index']} {f['op']}: {f['kind']} ({f['detail']})" for f in found[:6])
        more = f" and {len(found) - 6} more" if len(found) > 6 else ""
        raise ExportError(f"{name} has {len(found)} ops that the ESP32-S3 runs on slow kernels: {shown}{more}.")
