"""Fault injection: killed and interrupted runs, foreign checkpoints and data, quick runs beside committed
results, NaN, full disks and files in the way, two runs at once, Ctrl-C at any moment, determinism.

Each test drives a real script in a subprocess, as a user (or a crash) would; a fault the machine cannot
produce on demand is injected by patching the script's process (tests.helpers.run_patched) or by a
200 kB tmpfs as --out (a full disk).
"""
import json
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from common import layout
from tests.helpers import (PATCHED, PYTHON, REPO, assert_one_line_error, make_tiny_data, read_record, run_patched,
                           run_script)

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


# --- the data a checkpoint was made on ---------------------------------------------------------------

def test_a_checkpoint_made_on_other_data_is_refused_and_the_record_states_its_data(tiny_data, tmp_path):
    from common import data
    from common.experiment import make_split

    script = SCRIPTS["pytorch"]
    assert run_script(script, *RUN, "--epochs", 2, "--out", tmp_path, data_dir=tiny_data).returncode == 0
    digest = make_split(data.load_mnist(tiny_data), 300, 0.1).digest
    assert read_record(tmp_path, "ex1", "pytorch", "model1")["data_sha256"] == digest
    assert json.loads(meta_path(tmp_path, "pytorch").read_text())["signature"]["data"] == digest

    other = make_tiny_data(tmp_path / "other", seed=5)  # the same file names and sizes, other pixels
    changed = run_script(script, *RUN, "--epochs", 3, "--out", tmp_path, "--resume", data_dir=other)
    assert_one_line_error(changed, "other settings", "data 'sha256:")
    assert "epoch   3" not in changed.stdout

    # A checkpoint made before checkpoints recorded their data cannot be checked: refused, saying why.
    meta = json.loads(meta_path(tmp_path, "pytorch").read_text())
    del meta["signature"]["data"]
    meta_path(tmp_path, "pytorch").write_text(json.dumps(meta))
    older = run_script(script, *RUN, "--epochs", 3, "--out", tmp_path, "--resume", data_dir=tiny_data)
    assert_one_line_error(older, "does not record its data", "cannot be checked")

    # The campaign's --resume-or-restart starts such a checkpoint over instead.
    restarted = run_script(script, *RUN, "--epochs", 3, "--out", tmp_path, "--resume-or-restart", data_dir=other)
    assert restarted.returncode == 0, restarted.stderr
    assert "cannot be checked against this run's: starting over" in restarted.stdout
    record = read_record(tmp_path, "ex1", "pytorch", "model1")
    assert record["resumed_after_epoch"] is None and len(record["history"]["loss"]) == 3
    assert record["data_sha256"] == make_split(data.load_mnist(other), 300, 0.1).digest != digest


def test_a_checkpoint_state_that_does_not_fit_the_model_is_one_line(tiny_data, tmp_path):
    """issue 34: --resume with a state.pt of another model: load_state_dict's RuntimeError was a traceback."""
    script = SCRIPTS["pytorch"]
    for model in ("model1", "lab3"):
        result = run_script(script, "--models", model, "--limit", 300, "--epochs", 1, "--precision", "fp32",
                            "--out", tmp_path, data_dir=tiny_data)
        assert result.returncode == 0, result.stderr
    checkpoints = meta_path(tmp_path, "pytorch").parent.parent
    shutil.copy(checkpoints / "lab3" / "epoch-1" / "state.pt", checkpoints / "model1" / "epoch-1" / "state.pt")
    resumed = run_script(script, "--models", "model1", "--limit", 300, "--epochs", 2, "--precision", "fp32",
                         "--out", tmp_path, "--resume", data_dir=tiny_data)
    assert_one_line_error(resumed, "does not load into this model", "run without --resume")


# --- quick runs and the committed results -----------------------------------------------------------

@pytest.fixture
def repository(tmp_path):
    """A copy of the repository's code holding the committed record of PyTorch ex1 model1: what a run
    without --out writes into."""
    copy = tmp_path / "repository"
    for folder in ("common", "keras", "pytorch"):
        shutil.copytree(REPO / folder, copy / folder, ignore=shutil.ignore_patterns("__pycache__"))
    record = layout.record(copy, "ex1", "pytorch", "model1")
    record.parent.mkdir(parents=True)
    shutil.copy(layout.record(REPO, "ex1", "pytorch", "model1"), record)
    return copy


def run_in(repository, *args, data_dir):
    env = {**os.environ, "LAB_DATA_DIR": str(data_dir)}
    return subprocess.run([PYTHON, "pytorch/ex1_mnist.py", *map(str, args)], cwd=repository, env=env,
                          capture_output=True, text=True, timeout=600)


def test_a_quick_run_keeps_a_fuller_record_unless_asked(repository, tiny_data, tmp_path):
    committed = layout.record(repository, "ex1", "pytorch", "model1")
    original = committed.read_bytes()
    quick = run_in(repository, "--models", "model1", "--limit", 300, "--epochs", 1, data_dir=tiny_data)
    assert_one_line_error(quick, "model1.json is kept", "1 epoch where the record has 20",
                          "--limit 300 where the record has all images", "--out DIR", "--force")
    assert "epoch" not in quick.stdout and committed.read_bytes() == original  # refused before training
    assert not (repository / "plots").exists()

    scratch = run_in(repository, "--models", "model1", "--limit", 300, "--epochs", 1, "--out", tmp_path / "scratch",
                     data_dir=tiny_data)
    assert scratch.returncode == 0, scratch.stderr
    assert committed.read_bytes() == original and read_record(tmp_path / "scratch", "ex1", "pytorch", "model1")

    forced = run_in(repository, "--models", "model1", "--limit", 300, "--epochs", 1, "--force", data_dir=tiny_data)
    assert forced.returncode == 0, forced.stderr
    assert read_record(repository, "ex1", "pytorch", "model1")["limit"] == 300


def test_out_naming_the_repository_keeps_its_records_too(repository, tiny_data, tmp_path):
    """issue 34: --out . replaced the committed 20-epoch record with a 1-epoch run; an absolute path or a link to
    the repository is the same place."""
    committed = layout.record(repository, "ex1", "pytorch", "model1")
    original = committed.read_bytes()
    link = tmp_path / "link"
    link.symlink_to(repository)
    for out in (".", repository, link):
        quick = run_in(repository, "--models", "model1", "--limit", 300, "--epochs", 1, "--precision", "fp32",
                       "--out", out, data_dir=tiny_data)
        assert_one_line_error(quick, "model1.json is kept", "1 epoch where the record has 20", "--force")
        assert "epoch" not in quick.stdout and committed.read_bytes() == original, out


def test_other_data_of_the_same_shape_does_not_replace_a_record(repository, tiny_data, tmp_path):
    """issue 34: inverted digits in a same-shape mnist.npz replaced a record, which then read as a faithful run:
    records were compared on counts only. Here the record is of the same counts, epochs and settings."""
    from common import data
    from common.experiment import make_split

    record_path = layout.record(repository, "ex1", "pytorch", "model1")
    record = json.loads(record_path.read_text())
    split = make_split(data.load_mnist(tiny_data), 300, 0.1)
    record.update(epochs=1, limit=300, n_train=len(split.x_train), n_test=len(split.x_test), precision="fp32",
                  data_sha256=split.digest)
    record_path.write_text(json.dumps(record))
    original = record_path.read_bytes()

    other = make_tiny_data(tmp_path / "other", seed=5)  # the same file names and sizes, other pixels
    changed = run_in(repository, "--models", "model1", "--limit", 300, "--epochs", 1, "--precision", "fp32",
                     data_dir=other)
    assert_one_line_error(changed, "model1.json is kept", "other data (digest sha256:")
    assert record_path.read_bytes() == original

    same = run_in(repository, "--models", "model1", "--limit", 300, "--epochs", 1, "--precision", "fp32",
                  data_dir=tiny_data)  # the same experiment: it replaces the record
    assert same.returncode == 0, same.stderr
    assert json.loads(record_path.read_text())["created"] != record["created"]


@pytest.mark.parametrize("precision", [None, "auto"])
def test_a_default_or_auto_run_on_a_bf16_cpu_never_replaces_an_fp32_record(repository, tiny_data, precision):
    """issue 32 item 1 and issue 34 item 2: a plain run trains in fp32 (and may replace the fp32 record of the
    same experiment); --precision auto on a CPU with bf16 instructions (mocked here: this CPU may have none)
    chooses bf16, and the fp32 record is kept. The record is made the same experiment in every other way."""
    from common import data
    from common.experiment import make_split

    record_path = layout.record(repository, "ex1", "pytorch", "model1")
    record = json.loads(record_path.read_text())
    split = make_split(data.load_mnist(tiny_data), 300, 0.1)
    record.update(epochs=1, limit=300, n_train=len(split.x_train), n_test=len(split.x_test), precision="fp32",
                  data_sha256=split.digest)
    record_path.write_text(json.dumps(record))
    original = record_path.read_bytes()
    bf16_cpu = 'import torch; torch.cpu.get_capabilities = lambda: {"avx512_bf16": True, "amx_bf16": False}'
    options = ["--models", "model1", "--limit", 300, "--epochs", 1] + (["--precision", precision] if precision else [])
    env = {**os.environ, "LAB_DATA_DIR": str(tiny_data)}
    result = subprocess.run([PYTHON, "-c", PATCHED, "pytorch/ex1_mnist.py", bf16_cpu, *map(str, options)],
                            cwd=repository, env=env, capture_output=True, text=True, timeout=600)
    if precision == "auto":
        assert_one_line_error(result, "model1.json is kept", "bf16 where the record has fp32")
        assert "epoch" not in result.stdout and record_path.read_bytes() == original  # refused before training
    else:
        assert result.returncode == 0, result.stderr
        assert record_path.read_bytes() != original  # replaced: the same experiment, in fp32
        assert json.loads(record_path.read_text())["precision"] == "fp32"


def test_readme_quick_examples_write_to_a_scratch_out():
    commands = [line for line in (REPO / "README.md").read_text().splitlines()
                if re.search(r"(keras|pytorch)/ex\d_\w+\.py", line) and re.search(r"--limit|--epochs \d", line)]
    assert commands
    for command in commands:
        assert "--out" in command, command


# --- numbers that are not numbers ----------------------------------------------------------------------

NAN_VALIDATION = {"pytorch": "import torch_lab; real = torch_lab.evaluate; "
                             "torch_lab.evaluate = lambda *a: (float('nan'), real(*a)[1])",
                  "keras": "import keras_lab, numpy; real = keras_lab.batches; "
                           "keras_lab.batches = lambda x, y, b: real(x * numpy.float32('nan'), y, b)"}


@pytest.mark.parametrize("framework", ["pytorch", "keras"])
def test_a_nan_validation_loss_writes_nothing_and_fails(framework, tiny_data, tmp_path):
    """The training loss stays finite; only the validation loss is NaN (the injected fault)."""
    result = run_patched(SCRIPTS[framework], NAN_VALIDATION[framework], *RUN, "--epochs", 3, "--out", tmp_path,
                         data_dir=tiny_data)
    assert_one_line_error(result, "model1", "val_loss is nan at epoch 1", "nothing was written")
    assert result.returncode == 2
    assert "  loss nan" not in result.stdout  # the training loss was a number
    assert not (tmp_path / "results").exists() and not (tmp_path / "plots").exists()
    assert not meta_path(tmp_path, framework).exists()  # nor checkpointed


def test_nan_test_predictions_write_nothing_and_fail(tiny_data, tmp_path):
    patch = ("import torch_lab; real = torch_lab.predict; "
             "torch_lab.predict = lambda *a: real(*a) * float('nan')")
    result = run_patched(SCRIPTS["pytorch"], patch, *RUN, "--epochs", 1, "--out", tmp_path, data_dir=tiny_data)
    assert_one_line_error(result, "model1", "test predictions hold NaN", "nothing was written")
    assert result.returncode == 2
    assert not (tmp_path / "results").exists() and not (tmp_path / "plots").exists()


# --- write faults ------------------------------------------------------------------------------------------

@pytest.fixture
def full_disk(tmp_path):
    """A 200 kB tmpfs: room for the small files, not for a checkpoint. Skipped where mounting is not allowed."""
    folder = tmp_path / "small-disk"
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=200k", "tmpfs", str(folder)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    yield folder
    subprocess.run(["umount", str(folder)], check=True)


def assert_stopped_cleanly(result) -> None:
    """One line, exit code 2: no traceback, no segmentation fault (-11), nothing of h5py's."""
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert_one_line_error(result, "checkpoint", "epoch-1" if "cannot be written" in result.stderr else "needs about")


@pytest.mark.parametrize("framework", ["pytorch", "keras"])
def test_a_full_disk_at_a_checkpoint_is_one_line(framework, tiny_data, full_disk):
    result = run_script(SCRIPTS[framework], *RUN, "--epochs", 2, "--out", full_disk, data_dir=tiny_data)
    assert_stopped_cleanly(result)
    assert "its disk has 0." in result.stderr


@pytest.mark.parametrize("framework", ["pytorch", "keras"])
def test_a_full_disk_the_space_check_missed_is_one_line_too(framework, tiny_data, full_disk):
    """The disk fills between the check and the write (injected: no check): torch.save's RuntimeError, and
    h5py's error, after which h5py used to crash the process at exit (a segmentation fault)."""
    patch = "from common.checkpoint import Checkpoint; Checkpoint.check_space = lambda self, size: None"
    result = run_patched(SCRIPTS[framework], patch, *RUN, "--epochs", 2, "--out", full_disk, data_dir=tiny_data)
    assert_stopped_cleanly(result)
    assert "cannot be written" in result.stderr
    folder = meta_path(full_disk, framework).parent
    assert sorted(p.name for p in folder.iterdir()) == ["lock"]  # no half-written state left


@pytest.mark.parametrize("blocker", ["results", "checkpoints"])
def test_a_file_in_the_way_under_out_is_refused_before_training(blocker, tiny_data, tmp_path):
    (tmp_path / blocker).write_text("a file where a folder goes")
    result = run_script(SCRIPTS["pytorch"], *RUN, "--epochs", 1, "--out", tmp_path, data_dir=tiny_data)
    assert_one_line_error(result, f"{tmp_path / blocker} is a file, not a folder")
    assert result.returncode == 2
    assert "epoch" not in result.stdout and not (tmp_path / "plots").exists()


def test_temporary_files_a_killed_run_left_are_removed_by_the_next(tiny_data, tmp_path):
    gone = subprocess.run([PYTHON, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True).stdout.strip()  # the pid of a process that has ended
    record = layout.record(tmp_path, "ex1", "pytorch", "model1")
    checkpoint = meta_path(tmp_path, "pytorch").parent
    left = [record.parent / f".model1.json.{gone}.0badf00d.tmp",
            layout.figure(tmp_path, "ex1", "pytorch", "model1", "loss").parent / f".model1_loss.png.{gone}.1.tmp",
            checkpoint / f".epoch-7.{gone}.2.tmp", checkpoint / f".meta.json.{gone}.3.tmp",
            tmp_path / f".write-test.{gone}.4.tmp"]  # the probe of a check that --out is writable
    for path in left:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("cut short by SIGKILL")
    assert run_script(SCRIPTS["pytorch"], *RUN, "--epochs", 1, "--out", tmp_path, data_dir=tiny_data).returncode == 0
    assert not [path for path in left if path.exists()]
    assert not list(tmp_path.rglob("*.tmp"))


# --- two runs at once ----------------------------------------------------------------------------------

def test_a_second_run_of_a_model_into_the_same_out_is_refused(tiny_data, tmp_path):
    first = start(SCRIPTS["pytorch"], *RUN, "--epochs", 200, "--out", tmp_path, data_dir=tiny_data)
    try:
        wait_for_checkpoint(first, meta_path(tmp_path, "pytorch"))
        second = run_script(SCRIPTS["pytorch"], *RUN, "--epochs", 2, "--out", tmp_path, data_dir=tiny_data)
        assert_one_line_error(second, "ex1 pytorch model1", f"is being run by process {first.pid}",
                              "pytorch/ex1_mnist.py")
        other = run_script(SCRIPTS["pytorch"], "--models", "lab3", "--limit", 300, "--epochs", 1, "--out", tmp_path,
                           data_dir=tiny_data)  # another model, side by side
        assert other.returncode == 0, other.stderr
    finally:
        first.send_signal(signal.SIGINT)
        first.communicate(timeout=120)
    assert first.returncode == 130
    assert not layout.record(tmp_path, "ex1", "pytorch", "model1").exists()


# --- Ctrl-C at any moment ------------------------------------------------------------------------------

def loaded(pid: int, library: str) -> bool:
    try:
        return library in Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return False


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="reads /proc/<pid>/maps (Linux)")
def test_ctrl_c_while_tensorflow_loads_is_one_line(tiny_data, tmp_path):
    process = start(SCRIPTS["keras"], *RUN, "--epochs", 1, "--out", tmp_path, data_dir=tiny_data)
    while process.poll() is None and not loaded(process.pid, "tensorflow"):
        time.sleep(0.01)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr and len([line for line in stderr.splitlines() if line.strip()]) == 1, stderr


def test_ctrl_c_while_the_modules_load_is_one_line():
    """A KeyboardInterrupt in the middle of a command's own imports, before any of its code catches it."""
    result = subprocess.run([PYTHON, "-c", "import os, signal, common; os.kill(os.getpid(), signal.SIGINT); "
                                           "import common.cli"], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 130, result.stderr
    assert result.stderr.strip() == "interrupted before the command started its work: nothing was written"


@pytest.mark.parametrize("framework", ["pytorch", "keras"])
def test_ctrl_c_after_the_last_line_is_one_line(framework, tiny_data, tmp_path):
    """The run has written its record and is exiting (the injected exit handler takes its time, as TensorFlow's
    teardown does): Ctrl-C used to end it with a traceback from the handler, or, later, no word at all."""
    patch = "import atexit, time; atexit.register(lambda: (print('exiting', flush=True), time.sleep(60)))"
    process = subprocess.Popen([PYTHON, "-c", PATCHED, SCRIPTS[framework], patch, *map(str, RUN), "--epochs", "1",
                                "--out", str(tmp_path)], cwd=REPO, env={**os.environ, "LAB_DATA_DIR": str(tiny_data)},
                               text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    for line in process.stdout:
        if line.strip() == "exiting":
            break
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 130, stderr
    # (TensorFlow may have logged a line of its own during the run, before.)
    assert stderr.strip().splitlines()[-1] == "interrupted while exiting: the command had finished its work"
    assert "Traceback" not in stderr and read_record(tmp_path, "ex1", framework, "model1")
