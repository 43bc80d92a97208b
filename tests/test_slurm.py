"""slurm/campaign.sbatch: its #SBATCH lines agree with the campaign, and it runs on a real Slurm cluster.

The cluster tests submit the batch script with sbatch to the Slurm that answers here: in CI the one-node
cluster of slurm/start-local-cluster.sh (munged, slurmctld and slurmd on this machine). Where no Slurm
answers they are skipped, saying why, unless LAB_REQUIRE_SLURM=1 (which .ci/run sets): then it is a failure.
They train tiny runs (synthetic data, --limit, one CPU per task) into a temporary --out.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from common import layout
from tests.helpers import PYTHON, REPO, make_tiny_data

SBATCH = REPO / "slurm" / "campaign.sbatch"
ARRAY_MODELS = ["keras/ex1/lab3", "pytorch/ex1/model1", "pytorch/ex1/lab3"]  # the campaign's job order


def sbatch_lines() -> dict:
    """The #SBATCH options of the batch script: {'--array': '0-28', '--requeue': None, ...}."""
    options = {}
    for line in SBATCH.read_text().splitlines():
        if line.startswith("#SBATCH "):
            name, _, value = line.split()[1].partition("=")
            options[name] = value or None
    return options


def test_the_batch_script_asks_for_the_campaign_s_jobs_and_time():
    """--array covers every job, --time is what --list-jobs derives from the records: a new model or a
    slower record makes this fail until the two lines are updated."""
    listed = subprocess.run([PYTHON, "-m", "common.campaign", "--list-jobs"], cwd=REPO, capture_output=True,
                            text=True, timeout=120)
    assert listed.returncode == 0, listed.stderr
    suggested = listed.stdout.strip().splitlines()[-1]
    match = re.fullmatch(r"on a Slurm cluster: sbatch --array=(\S+) --time=(\S+) slurm/campaign.sbatch", suggested)
    assert match, suggested
    options = sbatch_lines()
    assert (options["--array"], options["--time"]) == match.groups()
    assert "%A_%a" in options["--output"] and "--requeue" in options and int(options["--cpus-per-task"]) >= 1
    logs = REPO / Path(options["--output"]).parent
    assert logs.is_dir(), "Slurm does not create the log folder: it must be in the repository"


def test_the_cluster_guide_s_array_ranges_are_the_campaign_s():
    """docs/cluster.md gives sbatch --array=0-K for the whole report and for a subset: K must be the number of
    jobs the campaign lists for the options that follow."""
    commands = re.findall(r"^sbatch (.*)--array=0-(\d+)\S* slurm/campaign.sbatch(.*?)(?:#.*)?$",
                          (REPO / "docs" / "cluster.md").read_text(), re.M)
    assert len(commands) >= 2
    for _, last, options in commands:
        listed = subprocess.run([PYTHON, "-m", "common.campaign", "--list-jobs", *options.split()], cwd=REPO,
                                capture_output=True, text=True, timeout=120)
        assert listed.returncode == 0, listed.stderr
        assert f"--array=0-{last} " in listed.stdout.strip().splitlines()[-1], options


# --- on a real cluster ----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def slurm():
    """Slurm's client tools, and a node that takes jobs; else a skip (or, with LAB_REQUIRE_SLURM=1, a failure)."""
    why = None
    if not shutil.which("sbatch"):
        why = "no sbatch here (Slurm's client is not installed)"
    else:
        try:
            state = subprocess.run(["sinfo", "--noheader", "--format=%T"], capture_output=True, text=True,
                                   timeout=10)
            answer = (state.stderr.strip().splitlines() or [state.stdout.strip() or "no node"])[-1]
            if state.returncode == 0 and re.search(r"^(idle|mixed|allocated)", state.stdout, re.M):
                answer = None
        except subprocess.TimeoutExpired:  # no configuration: sinfo looks for a controller in the DNS
            answer = "sinfo did not answer within 10 s"
        if answer:
            why = f"no Slurm node takes jobs here (as root, slurm/start-local-cluster.sh starts one): {answer}"
    if why:
        if os.environ.get("LAB_REQUIRE_SLURM") == "1":
            pytest.fail(f"{why}; LAB_REQUIRE_SLURM=1 requires a running Slurm")
        pytest.skip(why)


def submit(logs: Path, array: str, *campaign_args, wait=True) -> subprocess.CompletedProcess:
    """sbatch slurm/campaign.sbatch from the repository's root, one CPU per task, logs under ``logs``."""
    env = {**os.environ, "LAB_PYTHON": sys.executable}  # the job runs this Python (sbatch passes the environment)
    env.pop("LAB_DATA_DIR", None)
    command = ["sbatch", "--parsable", f"--array={array}", "--cpus-per-task=1", "--time=10",
               f"--output={logs}/%A_%a.out", *(["--wait"] if wait else []), str(SBATCH.relative_to(REPO)),
               *map(str, campaign_args)]
    return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)


def outputs(out: Path) -> dict:
    """Every file of results/, plots/, ten_worst/ and models/: {path: (inode, mtime_ns)}. Files are
    replaced by renaming, so a rewrite shows as another inode or time."""
    found = {}
    for folder in ("results", "plots", "ten_worst", "models"):
        for path in (out / folder).rglob("*"):
            if path.is_file():
                found[path.relative_to(out).as_posix()] = (path.stat().st_ino, path.stat().st_mtime_ns)
    return found


def expected(model_key: str) -> set:
    framework, exercise, model = model_key.split("/")
    paths = layout.model_outputs(".", exercise, framework, model)
    files = [paths[kind] for kind in layout.FIGURE_KINDS] + [paths["record"], paths["ten_worst"] / "ten_worst.csv"]
    files += [paths["ten_worst"] / f"{rank}.png" for rank in range(1, 11)]
    files.append(layout.trained_model(".", exercise, framework, model))
    return {Path(path).as_posix() for path in files}


def logs_of(logs: Path, job_id: str) -> list:
    return [path.read_text() for path in sorted(logs.glob(f"{job_id}_*.out"))]


def test_an_array_writes_every_output_once(slurm, tmp_path, tiny_data):
    out, logs = tmp_path / "out", tmp_path / "logs"
    logs.mkdir()
    args = ["--out", out, "--only", *ARRAY_MODELS, "--limit", 200, "--epochs-cap", 1, "--data-dir", tiny_data,
            "--device", "cpu"]
    first = submit(logs, f"0-{len(ARRAY_MODELS) - 1}", *args)
    job_id = first.stdout.strip()
    texts = logs_of(logs, job_id)
    assert first.returncode == 0, first.stderr + "\n".join(texts)
    assert len(texts) == len(ARRAY_MODELS)
    # Each task ran its own job, and each model's record was written by one task only.
    for task, (key, text) in enumerate(zip(ARRAY_MODELS, texts)):
        assert f"campaign: job {task}, {key}, 1 epoch" in text and f"campaign: {key} finished" in text, text
        framework, exercise, model = key.split("/")
        written = [t for t in texts if f"-> {layout.record(out, exercise, framework, model)}" in t]
        assert len(written) == 1, key
    files = outputs(out)
    assert set(files) == set().union(*map(expected, ARRAY_MODELS))  # nothing missing, nothing else (no temp files)
    for key in ARRAY_MODELS:
        framework, exercise, model = key.split("/")
        record = json.loads(layout.record(out, exercise, framework, model).read_text())
        assert (record["epochs"], record["limit"], record["precision"]) == (1, 200, "fp32")

    # The same array again: every job is done, and not one file is written again.
    again = submit(logs, f"0-{len(ARRAY_MODELS) - 1}", *args)
    texts = logs_of(logs, again.stdout.strip())
    assert again.returncode == 0, again.stderr + "\n".join(texts)
    assert all("is done already" in text for text in texts) and len(texts) == len(ARRAY_MODELS)
    assert outputs(out) == files


def test_a_cancelled_job_continues_from_its_checkpoint_when_submitted_again(slurm, tmp_path):
    """pytorch ex1 model1, 4 epochs on 3,000 synthetic images: cancelled (scancel) once its first checkpoint
    is written, then submitted again. Its processes are stopped (SIGSTOP) until the cancel, so it cannot
    finish meanwhile; scancel sends SIGCONT, then SIGTERM. (scontrol suspend would not do: Slurm cancels a
    suspended job with SIGKILL.)"""
    out, logs = tmp_path / "out", tmp_path / "logs"
    logs.mkdir()
    data = make_tiny_data(tmp_path / "data", n_train=3000, n_test=100)
    args = ["--out", out, "--only", "pytorch/ex1/model1", "--epochs-cap", 4, "--limit", 3000, "--data-dir", data,
            "--device", "cpu"]
    submitted = submit(logs, "0", *args, wait=False)
    assert submitted.returncode == 0, submitted.stderr
    job_id = submitted.stdout.strip()
    meta = layout.checkpoint_dir(out, "ex1", "pytorch", "model1") / "meta.json"
    try:
        deadline = time.monotonic() + 300
        while not (meta.exists() and json.loads(meta.read_text())["epoch"] >= 1):
            assert time.monotonic() < deadline, "no checkpoint after 300 s:\n" + "\n".join(logs_of(logs, job_id))
            time.sleep(0.1)
        listed = subprocess.run(["scontrol", "listpids", job_id], capture_output=True, text=True, timeout=30)
        pids = [int(line.split()[0]) for line in listed.stdout.splitlines()[1:]]
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)
        assert pids and not layout.record(out, "ex1", "pytorch", "model1").exists(), listed.stdout + listed.stderr
    finally:
        subprocess.run(["scancel", job_id], check=True, timeout=30)
    deadline = time.monotonic() + 120
    while subprocess.run(["squeue", "--noheader", "--jobs", job_id], capture_output=True, text=True).stdout.strip():
        assert time.monotonic() < deadline, "the cancelled job is still in the queue after 120 s"
        time.sleep(0.5)
    (cancelled,) = logs_of(logs, job_id)
    assert "campaign: pytorch/ex1/model1 stopped after epoch" in cancelled, cancelled
    assert not layout.record(out, "ex1", "pytorch", "model1").exists()

    again = submit(logs, "0", *args)
    (resumed,) = logs_of(logs, again.stdout.strip())
    assert again.returncode == 0, again.stderr + resumed
    record = json.loads(layout.record(out, "ex1", "pytorch", "model1").read_text())
    assert record["epochs"] == 4 and record["resumed_after_epoch"] >= 1, resumed
    assert len(record["history"]["loss"]) == 4
