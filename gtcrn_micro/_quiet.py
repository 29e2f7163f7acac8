"""Keep TensorFlow's start-up noise off a CPU user's terminal (the command line; ``--verbose`` turns this off).

TensorFlow and LiteRT print a screenful on a machine without a GPU: CUDA plugin registrations,
"could not find cuda drivers", CPU-feature advice, an XNNPACK notice and a deprecation warning.
None of it is about the user's input. Three measures, each as narrow as it can be:

- :func:`quiet_environment` sets ``TF_CPP_MIN_LOG_LEVEL=3`` (unless the user set it), which
  TensorFlow reads once, when it is first imported.
- :func:`filtered_stderr` drops the known lines that C++ code writes to file descriptor 2 before
  any setting is read (absl's "before InitializeLog" lines, the cuDNN/cuFFT/cuBLAS factory and
  XLA computation-placer registrations, LiteRT's XNNPACK line), and passes every other line on.
- :data:`KNOWN_WARNINGS` are ignored by :func:`ignore_known_warnings` (by message and module).
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import warnings
from contextlib import contextmanager

__all__ = ["KNOWN_LINES", "KNOWN_WARNINGS", "filtered_stderr", "ignore_known_warnings", "quiet_environment"]

#: Lines on stderr known to carry no news on a CPU machine (matched anywhere in the line).
KNOWN_LINES = re.compile("|".join([
    r"All log messages before absl::InitializeLog\(\) is called are written to STDERR",
    r"Unable to register cu(FFT|DNN|BLAS) factory: Attempting to register factory for plugin",
    r"computation placer already registered",
    r"Could not find cuda drivers on your machine, GPU will not be used",
    r"failed call to cuInit",
    r"oneDNN custom operations are on",
    r"This TensorFlow binary is optimized to use available CPU instructions",
    r"To enable the following instructions: .* rebuild TensorFlow with the appropriate compiler flags",
    r"^INFO: Created TensorFlow Lite XNNPACK delegate for CPU\.$",
]))

#: (message regex, category, module regex) of warnings known to carry no news for a user.
KNOWN_WARNINGS = [
    (r"\s*Warning: tf\.lite\.Interpreter is deprecated", UserWarning, r"tensorflow\.lite\.python\.interpreter"),
]


def quiet_environment() -> None:
    """Ask TensorFlow for errors only (unless ``TF_CPP_MIN_LOG_LEVEL`` is set); must run before it is imported."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def ignore_known_warnings() -> None:
    """Ignore :data:`KNOWN_WARNINGS` (use inside ``warnings.catch_warnings()`` to keep it local)."""
    for message, category, module in KNOWN_WARNINGS:
        warnings.filterwarnings("ignore", message=message, category=category, module=module)


@contextmanager
def filtered_stderr(known: re.Pattern = KNOWN_LINES, *, quiet_failure: bool = False):
    """Hold what is written to file descriptor 2 (C++ and Python alike) and pass on the lines ``known`` does not match.

    ``quiet_failure``: when the block raises, pass on nothing (the caller turns the error into
    one sentence; what the library printed on the way is for ``--verbose``). Meant for short
    stretches where a library loads (importing TensorFlow, creating an interpreter), not for work
    that reports progress: the lines come out when the block ends.
    """
    try:
        saved = os.dup(2)
    except OSError:  # no descriptor 2 (a detached process): nothing to filter
        yield
        return
    sys.stderr.flush()
    failed = False
    with tempfile.TemporaryFile(mode="w+b") as held:
        os.dup2(held.fileno(), 2)
        try:
            yield
        except BaseException:
            failed = True
            raise
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            held.seek(0)
            lines = held.read().decode(errors="replace").splitlines(keepends=True)
            keep = "".join(line for line in lines if not known.search(line.rstrip("\n")))
            if keep and not (failed and quiet_failure):
                os.write(2, keep.encode())
