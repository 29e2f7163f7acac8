"""The Colab path: the hidden install cell that opens every chapter, run the way Colab runs it.

The cell's text is read from the first chapter (every chapter must carry the same cell). The slow test
makes a clean venv with Colab's Python (3.12 where this machine has one, else 3.11) and, like Colab,
puts a numpy 2.x in it and imports it; then it runs the cell with ``google.colab`` present, its ``!``
lines as shell commands, and the ``git clone`` pointed at a snapshot of this working tree instead of
the network URL. The first run installs and must restart (numpy changed under a loaded numpy: one
line, then SIGKILL, Colab's restart idiom); the second run, the "restarted runtime", must be a quick
no-op; a fresh process then imports the package with the pinned numpy.
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import jupytext
import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
TOC = yaml.safe_load((REPO / "_toc.yml").read_text())
CHAPTERS = [REPO / (c["file"] + ".md") for c in TOC["chapters"]]
URL = yaml.safe_load((REPO / "_config.yml").read_text())["repository"]["url"]
COLAB_PYTHON, COLAB_NUMPY = "3.12", "2.0.2"  # what a Colab runtime has
CLONE = "/content/gtcrn-micro"  # where the cell clones to, on Colab


def install_cell(path: Path) -> str:
    """The hidden install cell: a chapter's second cell (after the title)."""
    src = jupytext.read(path).cells[1]["source"]
    return src if isinstance(src, str) else "".join(src)


def test_every_chapter_carries_the_same_install_cell():
    cell = install_cell(CHAPTERS[0])
    for path in CHAPTERS[1:]:
        assert install_cell(path) == cell, f"{path.name}: install cell differs from {CHAPTERS[0].name}'s"
    assert URL in cell and CLONE in cell and "pip install -q -r requirements.txt" in cell


def _pinned(name: str) -> str:
    line = re.search(rf"^{name}==(\S+)", (REPO / "requirements.txt").read_text(), flags=re.M)
    return line.group(1)


def _find_python() -> tuple[str, str]:
    for version in (COLAB_PYTHON, "3.11"):
        proc = subprocess.run([REPO / ".ci" / "find-python", version], capture_output=True, text=True)
        if proc.returncode == 0:
            return version, proc.stdout.strip()
    pytest.skip(f"no Python {COLAB_PYTHON} or 3.11 on this machine to build a Colab-like venv")


def _snapshot(dest: Path) -> str:
    """This working tree (tracked and untracked, not ignored) as a one-commit repository; its URL."""
    files = subprocess.run(["git", "ls-files", "-z", "-co", "--exclude-standard"], cwd=REPO,
                           capture_output=True, text=True, check=True).stdout.split("\0")
    for rel in filter(None, files):
        if (REPO / rel).is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / rel, dest / rel)
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t", GIT_COMMITTER_NAME="t",
               GIT_COMMITTER_EMAIL="t@t")
    for cmd in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "snapshot"]):
        subprocess.run(["git", *cmd], cwd=dest, env=env, check=True)
    return dest.as_uri()


# Runs the cell as Colab's kernel would: google.colab imported, numpy loaded, `!cmd` through a shell
# (IPython's `!` neither raises on failure nor stops the cell). Every command is logged.
DRIVER = """
import subprocess, sys, types
sys.modules["google.colab"] = types.ModuleType("google.colab")
import numpy
class Shell:
    def system(self, cmd):
        open(sys.argv[2], "a").write(cmd + "\\n")
        subprocess.run(cmd, shell=True)
def get_ipython():
    return Shell()
exec(compile(open(sys.argv[1]).read(), "install_cell", "exec"))
import gtcrn_micro
print("imported", gtcrn_micro.__file__)
"""


@pytest.mark.slow
def test_install_cell_in_a_colab_like_venv():
    from IPython.core.inputtransformer2 import TransformerManager

    version, python = _find_python()
    cell = install_cell(CHAPTERS[0])
    with tempfile.TemporaryDirectory(prefix="colab-") as tmp:
        tmp = Path(tmp)
        venv, content, src = tmp / "venv", tmp / "content", tmp / "src"
        content.mkdir(), src.mkdir()
        code = TransformerManager().transform_cell(cell)  # `!cmd` -> get_ipython().system('cmd')
        assert code.count(URL) == 1
        code = code.replace(URL, _snapshot(src)).replace("/content", str(content))
        (tmp / "cell.py").write_text(code)
        (tmp / "driver.py").write_text(DRIVER)
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
        env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env['PATH']}"  # `pip` in the cell is the venv's
        py = str(venv / "bin" / "python")

        t0 = time.monotonic()
        subprocess.run([python, "-m", "venv", venv], check=True)
        pre = subprocess.run([py, "-m", "pip", "install", "-q", f"numpy=={COLAB_NUMPY}"], env=env,
                             capture_output=True, text=True)
        if pre.returncode != 0:
            pytest.skip(f"no network or wheels for numpy=={COLAB_NUMPY} (Colab's numpy): {pre.stderr[-300:]}")
        probe = subprocess.run([py, "-m", "pip", "download", "-q", "--no-deps", "-d", tmp / "probe",
                                f"onnx2tf=={_pinned('onnx2tf')}"], env=env, capture_output=True, text=True)
        if probe.returncode != 0:  # a pure-Python pin that only PyPI serves: is the index reachable?
            pytest.skip(f"no network: the package index does not answer ({probe.stderr.strip()[-300:]})")

        t1 = time.monotonic()
        run = [py, tmp / "driver.py", tmp / "cell.py", tmp / "commands.log"]
        first = subprocess.run(run, cwd=tmp, env=env, capture_output=True, text=True, timeout=3600)
        t2 = time.monotonic()
        out = first.stdout.strip().splitlines()
        assert first.returncode == -signal.SIGKILL, (first.returncode, first.stdout[-2000:], first.stderr[-3000:])
        assert len(out) == 1 and "restart" in out[0] and COLAB_NUMPY in out[0], first.stdout
        assert len((tmp / "commands.log").read_text().splitlines()) == 2  # the clone and the install

        second = subprocess.run(run, cwd=tmp, env=env, capture_output=True, text=True, timeout=600)
        t3 = time.monotonic()
        assert second.returncode == 0, second.stderr[-3000:]
        assert len((tmp / "commands.log").read_text().splitlines()) == 2, "the second run must not install"
        assert second.stdout.strip() == f"imported {content / 'gtcrn-micro' / 'gtcrn_micro' / '__init__.py'}"

        check = ("import numpy, torch, gtcrn_micro as gm; cfg = gm.get_config('micro'); "
                 "print(sys.version_info[:2], numpy.__version__, torch.__version__, cfg.audio.sample_rate)")
        fresh = subprocess.run([py, "-c", "import sys; " + check], cwd=tmp, env=env, capture_output=True,
                               text=True, timeout=600)
        t4 = time.monotonic()
        assert fresh.returncode == 0, fresh.stderr[-3000:]
        assert f"({version.replace('.', ', ')}) {_pinned('numpy')} {_pinned('torch')}" in fresh.stdout
        print(f"\nColab path on Python {version}: venv + numpy {COLAB_NUMPY} {t1 - t0:.0f} s, install cell "
              f"{t2 - t1:.0f} s, second run {t3 - t2:.1f} s, import in a fresh process {t4 - t3:.0f} s")
