"""Several processes on this CPU: PyTorch under torchrun (2 processes, gloo). Each run is a subprocess, as a
user starts it."""
import json
import os
import subprocess

import numpy as np

from tests.helpers import PYTHON, REPO, assert_one_line_error, expected_files, read_record, run_script
from tests.test_ex1 import check_run

RUN = ["--models", "model1", "--limit", "200", "--epochs", "1"]


def torchrun(script, *args, data_dir, processes=2) -> subprocess.CompletedProcess:
    env = {**os.environ, "LAB_DATA_DIR": str(data_dir)}
    command = [PYTHON, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(processes),
               script, *map(str, args)]
    return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)


def files(out) -> list:
    return sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())


def test_torchrun_two_processes_write_one_record_like_a_single_process_run(tiny_data, tmp_path):
    single, ddp = tmp_path / "single", tmp_path / "ddp"
    alone = run_script("pytorch/ex1_mnist.py", *RUN, "--out", single, data_dir=tiny_data)
    assert alone.returncode == 0, alone.stderr
    result = torchrun("pytorch/ex1_mnist.py", *RUN, "--out", ddp, data_dir=tiny_data)
    assert result.returncode == 0, result.stderr

    assert result.stdout.count("epoch   1/1") == 1, result.stdout  # rank 0 alone prints
    assert files(ddp) == files(single)  # one set of outputs, written once
    assert all(path.exists() for path in expected_files(ddp, "ex1", "pytorch", "model1"))
    record = check_run(ddp, "ex1", "pytorch", "model1", 1, 180, 20, 100)
    reference = read_record(single, "ex1", "pytorch", "model1")
    assert set(record) == set(reference) and set(record["history"]) == set(reference["history"])
    assert reference["distributed"] is None
    assert record["distributed"]["backend"] == "gloo" and record["distributed"]["world_size"] == 2
    assert record["distributed"]["global_batch_size"] == record["batch_size"] == 128
    assert record["distributed"]["per_process_batch_size"] == 64
    assert "2 processes" in record["device"]
    # --batch-size is the global batch and every process takes its half of each: for a model without
    # dropout or augmentation, the same run as in one process, up to the order of float additions.
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        assert np.allclose(record["history"][key], reference["history"][key], rtol=1e-3, atol=1e-4), key
    assert abs(record["test_accuracy"] - reference["test_accuracy"]) <= 0.02
    meta = ddp / "checkpoints" / "ex1" / "pytorch" / "model1" / "meta.json"  # rank 0 saved each epoch
    assert json.loads(meta.read_text())["epoch"] == record["epochs"]


def test_keras_names_torchrun_for_several_devices(tmp_path):
    """Keras runs one process on one device: --strategy went with tf.distribute's private-API bridge."""
    result = run_script("keras/ex1_mnist.py", "--strategy", "mirrored", "--out", tmp_path)
    assert_one_line_error(result, "--strategy")
