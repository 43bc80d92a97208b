"""--tensorboard: event files written without TensorFlow (a PyTorch process must never import it), read back as
TensorBoard reads them; the folder checked with the other outputs, before training.

Everything TensorBoard-related runs in subprocesses: this test session must not import TensorFlow either.
"""
import importlib.util
import json
import subprocess
import sys

import pytest

if importlib.util.find_spec("tensorboard") is None:  # requirements.txt has it; a minimal environment may not
    pytest.skip("the tensorboard package is not installed", allow_module_level=True)

from tests.helpers import PYTHON, REPO, assert_one_line_error, run_patched, run_script

WRITE = """
import sys
{block}
from common.tensorboard_events import EpochBoard
board = EpochBoard(sys.argv[1])
for epoch, values in enumerate([(1.5, 0.25, 1.75, 0.125), (0.5, 0.75, 0.625, 0.5)], start=1):
    board.add(epoch, *values)
board.close()
print(sorted(m for m, module in sys.modules.items() if module is not None and m.split(".")[0] == "tensorflow"))
"""

# TensorBoard's own reader, with TensorFlow made impossible to import (its stub reads as well).
READ = """
import json, sys
sys.modules["tensorflow"] = None
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.util import tensor_util
out = {}
for run in ("train", "validation"):
    events = EventAccumulator(sys.argv[1] + "/" + run, size_guidance={"tensors": 0})
    events.Reload()
    out[run] = {tag: [(e.step, float(tensor_util.make_ndarray(e.tensor_proto))) for e in events.Tensors(tag)]
                for tag in events.Tags()["tensors"]}
print(json.dumps(out))
"""


def python(code, *args):
    return subprocess.run([PYTHON, "-c", code, *map(str, args)], cwd=REPO, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("block", ["", "sys.modules['tensorflow'] = None  # an import of it fails"])
def test_epoch_scalars_are_written_without_tensorflow_and_read_back_by_tensorboard(tmp_path, block):
    written = python(WRITE.format(block=block), tmp_path)
    assert written.returncode == 0, written.stderr
    assert written.stdout.strip() == "[]", "TensorFlow was imported (it is installed here: it must not be)"
    for run in ("train", "validation"):
        files = list((tmp_path / run).glob("events.out.tfevents.*.v2"))
        assert len(files) == 1, run

    read = python(READ, tmp_path)
    assert read.returncode == 0, read.stderr
    assert json.loads(read.stdout) == {  # as keras.callbacks.TensorBoard: step = epoch - 1
        "train": {"epoch_loss": [[0, 1.5], [1, 0.5]], "epoch_accuracy": [[0, 0.25], [1, 0.75]]},
        "validation": {"epoch_loss": [[0, 1.75], [1, 0.625]], "epoch_accuracy": [[0, 0.125], [1, 0.5]]}}


def test_a_full_disk_during_training_is_one_warning_not_a_failure(tmp_path):
    code = """
import sys
from common import tensorboard_events
board = tensorboard_events.EpochBoard(sys.argv[1])
def full(*a):
    raise OSError(28, "No space left on device")
for file in board.files.values():
    file.writer.write = full
board.add(1, 1.0, 0.5, 1.0, 0.5)
board.add(2, 1.0, 0.5, 1.0, 0.5)
board.close()
print("went on")
"""
    result = python(code, tmp_path)
    assert result.returncode == 0 and result.stdout.strip() == "went on", result.stderr
    assert result.stderr.count("warning: --tensorboard") == 1 and "No space left on device" in result.stderr


@pytest.mark.parametrize("framework", ["pytorch", "keras"])
def test_a_tensorboard_folder_that_cannot_be_written_is_refused_before_training(framework, tiny_data, tmp_path):
    in_the_way = tmp_path / "runs"
    in_the_way.write_text("a file where the --tensorboard folder goes")
    result = run_script(f"{framework}/ex1_mnist.py", "--models", "lab3", "--limit", 200, "--epochs", 1,
                        "--precision", "fp32", "--out", tmp_path / "out", "--tensorboard", in_the_way,
                        data_dir=tiny_data)
    assert_one_line_error(result, "--tensorboard", f"{in_the_way} is a file, not a folder")
    assert "epoch" not in result.stdout  # before training
    assert not (tmp_path / "out" / "results").exists()


TENSORFLOW_AT_EXIT = ("import atexit, sys; atexit.register(lambda: print('tensorflow imported: ' + "
                      "str(sys.modules.get('tensorflow') is not None), flush=True))")


def test_a_pytorch_run_with_tensorboard_never_imports_tensorflow(tiny_data, tmp_path):
    result = run_patched("pytorch/ex1_mnist.py", TENSORFLOW_AT_EXIT, "--models", "lab3", "--limit", 200,
                         "--epochs", 1, "--precision", "fp32", "--out", tmp_path, "--tensorboard", tmp_path / "runs",
                         data_dir=tiny_data)
    assert result.returncode == 0, result.stderr
    assert list((tmp_path / "runs" / "ex1" / "pytorch" / "lab3" / "train").glob("events.out.tfevents.*"))
    assert "tensorflow imported: False" in result.stdout


def test_this_module_is_framework_free():
    source = (REPO / "common" / "tensorboard_events.py").read_text()
    assert "import torch" not in source and "import tensorflow" not in source and "compat import tf" not in source
    assert sys.modules.get("tensorflow") is None
