"""Run in a child process by test_deploy.py (TFLM stays out of the pytest process): read the model
decoded from the generated C array and run the reference clip through TFLiteEnhancer under TFLM."""

import json
import sys

import numpy as np
import torch


def main(model_path: str, ref_path: str, out_path: str) -> None:
    from gtcrn_micro.deploy import read_reference_vectors
    from gtcrn_micro.deploy._inspect import model_io
    from gtcrn_micro.export import TFLiteEnhancer
    from gtcrn_micro.export.tflite import check_full_integer, model_summary, read_model
    from gtcrn_micro.model import build_model

    torch.set_num_threads(1)
    check_full_integer(model_path)  # raises on a float island
    ref = read_reference_vectors(ref_path)
    enh = TFLiteEnhancer(build_model("micro"), model_path, runtime="tflm").enhance(ref["wav"])
    out = {"summary": model_summary(model_path), "io": model_io(model_path, "micro"),
           "enhancer_max_diff": float(np.max(np.abs(enh - ref["out"]))),
           "tensors": len(read_model(model_path).subgraphs[0].tensors),
           "named_tensors": sum(1 for t in read_model(model_path).subgraphs[0].tensors if t.name)}
    with open(out_path, "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main(*sys.argv[1:4])
