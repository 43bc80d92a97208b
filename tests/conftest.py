"""Shared fixtures. Framework isolation is enforced here.

tests/torch imports torch and tests/keras imports TensorFlow in-process;
importing TensorFlow and then torch's triton in one process segfaults, so a
pytest session that collects both is refused (the README's test command runs
them as two processes). Everything else here is framework-free, and runs the
scripts in subprocesses.
"""
import os
import sys
from pathlib import Path

import pytest

sys.path.append(str(Path(__file__).resolve().parents[1]))

# The Keras scripts refuse any KERAS_BACKEND but tensorflow (keras/keras_lab.py). A user's exported one
# must not fail the suite: the tests that are about it set it themselves, and every script run by a
# test inherits this process's environment.
os.environ.pop("KERAS_BACKEND", None)

from tests.helpers import make_tiny_data  # noqa: E402


FRAMEWORK_DIRS = ("torch", "keras")
HERE = Path(__file__).resolve().parent
REFUSAL = ("tests/torch and tests/keras must run in separate processes (importing TensorFlow, then torch, "
           "segfaults): run  python -m pytest tests --ignore=tests/keras  and  python -m pytest tests/keras")


def pytest_configure(config):
    """Refuse, before collecting anything, a session that would import both frameworks."""
    base = Path(config.invocation_params.dir)
    ignored = {(base / p).resolve() for p in config.getoption("ignore") or []}
    targets = [(base / arg.split("::")[0]).resolve() for arg in config.args]
    sides = set()
    for name in FRAMEWORK_DIRS:
        folder = HERE / name
        if folder in ignored:
            continue
        if any(t == folder or t in folder.parents or folder in t.parents for t in targets):
            sides.add(name)
    if len(sides) == 2:
        raise pytest.UsageError(REFUSAL)


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory) -> Path:
    """A folder with small synthetic mnist.npz and cifar10.npz (learnable: class = bright square's place)."""
    folder = tmp_path_factory.mktemp("data")
    make_tiny_data(folder)
    return folder
