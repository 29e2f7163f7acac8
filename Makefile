# Two commands set up and run everything: `make book` and `make test`.
# Both create .venv from requirements.txt (exact pins, Python 3.11 or 3.12, CPU) when it is missing.
# Another interpreter in its own venv: make test PYTHON=$(.ci/find-python 3.12) VENV=.venv312
PYTHON ?= python3
VENV   ?= .venv
# torch first, alone, from PyTorch's CPU index: PyPI's Linux torch is the multi-GB CUDA build.
# With an NVIDIA GPU: TORCH_INDEX=https://pypi.org/simple (CUDA 13) or a cuXXX index (see README).
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu
PYTEST_ARGS ?=
BIN    := $(abspath $(VENV))/bin
STAMP  := $(VENV)/.installed

.PHONY: venv test book clean-book notebooks

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --no-deps --index-url $(TORCH_INDEX) "$$(grep -m1 '^torch==' requirements.txt)"
	$(BIN)/python -m pip install -q -r requirements.txt
	touch $(STAMP)

venv: $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

# onnx2tf calls the `onnxsim` executable: the venv's bin must be on PATH inside notebook kernels.
book: $(STAMP)
	PATH="$(BIN):$$PATH" TF_CPP_MIN_LOG_LEVEL=2 $(BIN)/jupyter-book build . -W -n --keep-going

clean-book:
	rm -rf _build

# Chapters are written as book/NN_name.md (MyST Markdown notebooks); the .ipynb next to each one,
# what Colab opens, is generated from it without outputs (--update keeps the cell ids stable).
notebooks: $(STAMP)
	$(BIN)/jupytext --update --to ipynb book/[0-9][0-9]_*.md
