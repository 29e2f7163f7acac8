"""Run a .tflite N times under TFLite Micro's Python interpreter, nothing else (for callgrind).

Usage: ``python _tflm_invoke.py MODEL.tflite N`` (by file path, not ``-m``: importing the
``gtcrn_micro`` package would add torch to what valgrind has to execute). Inputs are zeros;
the int8 kernels' instruction counts do not depend on the values except in a few branches.
Used by :func:`gtcrn_micro.deploy.s3cost.callgrind_instructions_per_step`.
"""

import sys

import numpy as np
from tflite_micro.python.tflite_micro import runtime as tflm


def main(path: str, invokes: int) -> None:
    model = tflm.convert_bytearray_to_object(bytearray(open(path, "rb").read()))
    n_inputs = len(model.subgraphs[0].inputs)
    interpreter = tflm.Interpreter.from_file(path, arena_size=1 << 21)
    for k in range(n_inputs):
        d = interpreter.get_input_details(k)
        interpreter.set_input(np.zeros(d["shape"], d["dtype"]), k)
    for _ in range(invokes):
        interpreter.invoke()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
