"""The names the command line lists before it loads anything heavy (no numpy, torch or TensorFlow)."""

NO_MODEL = "none"  # load_enhancer("none"): pass the input through unchanged (scores the noisy input)
TFLITE_KINDS = ("float", "int8", "int16x8")  # the exported steps; backend names tflite-<kind>
BACKEND_NAMES = ("torch", "stream", *(f"tflite-{kind}" for kind in TFLITE_KINDS))
RUNTIMES = ("litert", "tflm")  # --runtime tflm runs a tflite-* backend in the TFLite Micro interpreter

# Backends that later stages of the pipeline register; named here so that asking for one early
# says where it comes from instead of "unknown".
PLANNED_BACKENDS: dict[str, str] = {}
