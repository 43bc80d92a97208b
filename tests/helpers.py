"""Helpers for tests: tiny synthetic data sets and running a script as a user would."""
import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from common import layout

REPO = Path(__file__).resolve().parents[1]
PYTHON = sys.executable


def synthetic_images(n: int, shape: tuple, seed: int) -> tuple:
    """uint8 images whose class (0-9) is where a bright square sits: learnable in one epoch."""
    rng = np.random.default_rng(seed)
    h, w, c = shape
    y = np.arange(n) % 10
    rng.shuffle(y)
    x = rng.integers(0, 60, size=(n, h, w, c), dtype=np.uint8)
    for i, label in enumerate(y):
        row, col = divmod(int(label), 5)
        top, left = 3 + row * (h // 2 - 2), 2 + col * (w // 5 - 1)
        x[i, top:top + 6, left:left + 4, :] = 255
    return x, y.astype(np.uint8)


def make_tiny_data(folder, n_train: int = 300, n_test: int = 100, seed: int = 1) -> Path:
    """mnist.npz and cifar10.npz of synthetic images; another ``seed``: the same sizes, other pixels."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name, shape in (("mnist", (28, 28)), ("cifar10", (32, 32, 3))):
        full = shape if len(shape) == 3 else (*shape, 1)
        x_train, y_train = synthetic_images(n_train, full, seed)
        x_test, y_test = synthetic_images(n_test, full, seed + 1)
        if len(shape) == 2:  # MNIST files keep Keras' (N, 28, 28) layout
            x_train, x_test = x_train[..., 0], x_test[..., 0]
        np.savez_compressed(folder / f"{name}.npz", x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    return folder


def run_script(script: str, *args, data_dir=None, timeout=600, env=None) -> subprocess.CompletedProcess:
    """Run e.g. 'pytorch/ex1_mnist.py' from the repository root, as the README says."""
    environment = {**os.environ, **(env or {})}
    environment.pop("LAB_DATA_DIR", None)
    if data_dir is not None:
        environment["LAB_DATA_DIR"] = str(data_dir)
    return subprocess.run([PYTHON, script, *map(str, args)], cwd=REPO, env=environment, capture_output=True,
                          text=True, timeout=timeout)


# Runs a script as `python script` would, after executing a patch: the fault injections of the tests
# (a backend function replaced, say) happen inside the real script's process.
PATCHED = """
import runpy, sys
from pathlib import Path
script, patch = sys.argv[1], sys.argv[2]
sys.argv = [script, *sys.argv[3:]]
sys.path.insert(0, str(Path(script).resolve().parent))  # as `python script` does
exec(patch)
runpy.run_path(script, run_name="__main__")
"""


def run_patched(script: str, patch: str, *args, data_dir=None, timeout=600) -> subprocess.CompletedProcess:
    """run_script, with ``patch`` (Python source) executed in the script's process first."""
    return run_script("-c", PATCHED, script, patch, *args, data_dir=data_dir, timeout=timeout)


# TensorFlow 2.21's C++ logs this as an error under op determinism (--deterministic): its Python side gives
# tf.data's map an attribute its own op definition lacks. Harmless, not the lab's, and the same before the
# redesign; TF_CPP_MIN_LOG_LEVEL=3 would hide it, and with it every real error TensorFlow logs.
KNOWN_TENSORFLOW_NOTICE = "NodeDef mentions attribute use_unbounded_threadpool which is not in the op definition"


def known_tensorflow_notice(line: str) -> bool:
    return KNOWN_TENSORFLOW_NOTICE in line and "node_def_util.cc" in line


def assert_one_line_error(result: subprocess.CompletedProcess, *fragments) -> None:
    """A clear failure: non-zero exit, no traceback, one line on stderr naming the problem."""
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip() and not known_tensorflow_notice(line)]
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment.lower() in lines[0].lower(), lines[0]


def read_record(out: Path, exercise: str, framework: str, model: str) -> dict:
    return json.loads(layout.record(out, exercise, framework, model).read_text())


def expected_files(out: Path, exercise: str, framework: str, model: str) -> list:
    paths = layout.model_outputs(out, exercise, framework, model)
    return [paths[kind] for kind in layout.FIGURE_KINDS] + [paths["record"], paths["ten_worst"] / "ten_worst.csv"]


def tiny_split(seed: int = 0):
    """64 random 28x28 training images (validation and test: the first 16), for the loops' in-process tests."""
    from common.experiment import Split

    x = np.random.default_rng(seed).integers(0, 256, (64, 28, 28, 1), dtype=np.uint8)
    y = np.arange(64) % 10
    return Split(x, y, x[:16], y[:16], x[:16], y[:16], list("0123456789"), "", "", "")


def assert_progress_lines_for_steps_2_and_3_of_4(out: str) -> None:
    """One epoch of 4 steps with common.progress.INTERVAL_S = 0: a line after steps 2 and 3 (step 1 gives no rate)."""
    assert [line.split(" (")[0] for line in out.splitlines() if line.startswith("  epoch")] == \
        [f"  epoch 1/1: step {k}/4" for k in (2, 3)]
    assert "loss so far" in out and "left in this epoch" in out


@contextlib.contextmanager
def read_only(folder):
    """``folder`` made read-only for everyone, root included (a read-only bind mount over it); the test is
    skipped where mounting is not allowed."""
    import pytest

    folder = str(folder)
    if subprocess.run(["mount", "--bind", folder, folder], capture_output=True).returncode != 0:
        pytest.skip("cannot bind-mount here (needs root)")
    try:
        subprocess.run(["mount", "-o", "remount,ro,bind", folder], check=True, capture_output=True)
        yield
    finally:
        subprocess.run(["umount", folder], check=True)


def fake_cifar_split(n=20):
    """n random 32x32 colour training images with CIFAR-10's class names: the augmentation figures' input."""
    from types import SimpleNamespace

    rng = np.random.default_rng(0)
    return SimpleNamespace(x_train=rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8),
                           y_train=np.arange(n) % 10,
                           class_names=["Plane", "Car", "Bird", "Cat", "Deer", "Dog", "Frog", "Horse", "Ship", "Truck"])


def recording_augment(calls):
    """A stand-in for a lab's augment_examples: records what it was asked to augment; 'augments' by mirroring."""
    def augment_examples(augmentation, images, seed):
        calls.append((augmentation, images.copy(), seed))
        return images[:, :, ::-1]
    return augment_examples
