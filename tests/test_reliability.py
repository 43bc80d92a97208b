"""Fault injection: killed and interrupted runs, foreign checkpoints, determinism.

Each test drives a real script in a subprocess, as a user (or a crash) would.
"""
import json
import os
import signal
import subprocess
import time

import numpy as np
import pytest

from tests.helpers import PYTHON, REPO, assert_one_line_error, read_record, run_script

SCRIPTS = {"pytorch": "pytorch/ex1_mnist.py", "keras": "keras/ex1_mnist.py"}
RUN = ["--models", "model1", "--limit", "300", "--deterministic"]
EPOCHS = 25


def start(script, *args, data_dir):
    env = {**os.environ, "LAB_DATA_DIR": str(data_dir)}
    return subprocess.Popen([PYTHON, script, *map(str, args)], cwd=REPO, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def wait_for_checkpoint(process, meta, timeout=240):
    """Block until the run has checkpointed at least one epoch (and is still running)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if meta.exists():
            try:
                if json.loads(meta.read_text())["epoch"] >= 1:
                    return
            except (ValueError, KeyError):
                pass  # being replaced right now
        if process.poll() is not None:
            pytest.fail(f"the run ended before it could be interrupted: {process.stderr.read()}")
        time.sleep(0.05)
    process.kill()
    pytest.fail("no checkpoint appeared")


def meta_path(out, framework):
    return out / "checkpoints" / "ex1" / framework / "model1" / "meta.json"


@pytest.mark.parametrize("framework", ["pytorch", "keras"])
def test_killed_run_resumes_to_the_same_history_as_an_uninterrupted_run(framework, tiny_data, tmp_path):
    script = SCRIPTS[framework]
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    assert run_script(script, *RUN, "--epochs", EPOCHS, "--out", whole, data_dir=tiny_data).returncode == 0

    process = start(script, *RUN, "--epochs", EPOCHS, "--out", killed, data_dir=tiny_data)
    wait_for_checkpoint(process, meta_path(killed, framework))
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not (killed / "results").exists(), "killed mid-run, yet a record was written"
    stopped_at = json.loads(meta_path(killed, framework).read_text())["epoch"]
    assert 1 <= stopped_at < EPOCHS

    result = run_script(script, *RUN, "--epochs", EPOCHS, "--out", killed, "--resume", data_dir=tiny_data)
    assert result.returncode == 0, result.stderr
    assert "resuming from the checkpoint after epoch" in result.stdout
    a, b = read_record(whole, "ex1", framework, "model1"), read_record(killed, "ex1", framework, "model1")
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        assert np.allclose(a["history"][key], b["history"][key], rtol=1e-4, atol=1e-6), key
    assert np.isclose(a["test_loss"], b["test_loss"], rtol=1e-4) and a["confusion_matrix"] == b["confusion_matrix"]
    assert json.loads(meta_path(killed, framework).read_text())["epoch"] == EPOCHS  # kept: the run can go on


@pytest.mark.parametrize("framework", ["pytorch", "keras"])
def test_a_finished_run_goes_on_with_resume_to_the_history_of_a_longer_run(framework, tiny_data, tmp_path):
    script = SCRIPTS[framework]
    longer, extended = tmp_path / "longer", tmp_path / "extended"
    assert run_script(script, *RUN, "--epochs", 4, "--out", longer, data_dir=tiny_data).returncode == 0
    assert run_script(script, *RUN, "--epochs", 2, "--out", extended, data_dir=tiny_data).returncode == 0

    result = run_script(script, *RUN, "--epochs", 4, "--out", extended, "--resume", data_dir=tiny_data)
    assert result.returncode == 0, result.stderr
    assert "resuming from the checkpoint after epoch 2" in result.stdout
    a, b = read_record(longer, "ex1", framework, "model1"), read_record(extended, "ex1", framework, "model1")
    assert (a["resumed_after_epoch"], b["resumed_after_epoch"]) == (None, 2)
    assert b["epochs"] == 4 and len(b["history"]["seconds"]) == 4
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        assert np.allclose(a["history"][key], b["history"][key], rtol=1e-4, atol=1e-6), key
    assert np.isclose(a["test_loss"], b["test_loss"], rtol=1e-4) and a["confusion_matrix"] == b["confusion_matrix"]

    # A checkpoint past the epochs asked for has nothing to continue: refused, and left as it is.
    shorter = run_script(script, *RUN, "--epochs", 3, "--out", extended, "--resume", data_dir=tiny_data)
    assert_one_line_error(shorter, "after epoch 4", "--epochs 3")
    assert json.loads(meta_path(extended, framework).read_text())["epoch"] == 4


def signal_after_first_checkpoint(framework, sig, out, data_dir):
    """(exit code, stderr) of a long run sent ``sig`` once it has checkpointed an epoch."""
    process = start(SCRIPTS[framework], *RUN, "--epochs", 200, "--out", out, data_dir=data_dir)
    wait_for_checkpoint(process, meta_path(out, framework))
    process.send_signal(sig)
    _, stderr = process.communicate(timeout=120)
    return process.returncode, stderr


@pytest.mark.parametrize("framework", ["pytorch", "keras"])
def test_ctrl_c_checkpoints_exits_130_and_leaves_no_partial_outputs(framework, tiny_data, tmp_path):
    code, stderr = signal_after_first_checkpoint(framework, signal.SIGINT, tmp_path, tiny_data)
    assert code == 130, stderr
    assert "--resume" in stderr and "Traceback" not in stderr
    assert meta_path(tmp_path, framework).exists()
    assert not (tmp_path / "results").exists() and not (tmp_path / "plots").exists()

    # ... and the checkpoint is refused for other settings, or when it does not parse.
    other = run_script(SCRIPTS[framework], *RUN, "--epochs", 200, "--batch-size", 64, "--out", tmp_path,
                       "--resume", data_dir=tiny_data)
    assert_one_line_error(other, "other settings", "batch_size")
    meta_path(tmp_path, framework).write_text("{not json")
    broken = run_script(SCRIPTS[framework], *RUN, "--epochs", 200, "--out", tmp_path, "--resume", data_dir=tiny_data)
    assert_one_line_error(broken, "does not parse")


@pytest.mark.parametrize("framework", ["pytorch", "keras"])
def test_sigterm_stops_like_ctrl_c_with_exit_143(framework, tiny_data, tmp_path):
    """kill, or a batch scheduler's time limit: the same clean stop and resume hint, not a silent death."""
    code, stderr = signal_after_first_checkpoint(framework, signal.SIGTERM, tmp_path, tiny_data)
    assert code == 143, stderr
    assert "terminated (SIGTERM)" in stderr and "--resume" in stderr and "Traceback" not in stderr
    assert not (tmp_path / "results").exists() and not (tmp_path / "plots").exists()
    leftovers = [p.name for p in meta_path(tmp_path, framework).parent.iterdir() if p.name.startswith(".")]
    assert not leftovers, f"temporary files left behind: {leftovers}"


@pytest.mark.parametrize("framework", ["pytorch", "keras"])
def test_deterministic_runs_give_identical_records_apart_from_times(framework, tiny_data, tmp_path):
    records = []
    for run in ("a", "b"):
        result = run_script(SCRIPTS[framework], "--models", "model4", "--limit", "100", "--epochs", 2,
                            "--deterministic", "--out", tmp_path / run, data_dir=tiny_data)
        assert result.returncode == 0, result.stderr
        record = read_record(tmp_path / run, "ex1", framework, "model4")
        for key in ("created", "train_time_s", "command", "host"):  # --out path and machine load differ
            record.pop(key)
        record["history"].pop("seconds")
        records.append(record)
    assert records[0] == records[1]
