"""The campaign (common.campaign): its numbered jobs, what counts as done, failures, interrupts, --job.

Most tests use a temporary repository whose eight exercise scripts are FAKE (TEST FIXTURE): each declares
DATASET and EPOCHS as a real one does and, when run, writes a made-up record at once, training nothing.
One test runs the real pytorch/ex1_mnist.py on tiny synthetic data (--limit 200, 1 epoch).
tests/test_slurm.py runs the campaign's jobs as a Slurm array.
"""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from common import campaign, layout, report
from common.scripts import FRAMEWORKS, SCRIPTS
from tests.helpers import PYTHON, REPO

FAKE_SCRIPT = '''"""FAKE exercise script for tests (TEST FIXTURE): writes a made-up record, trains nothing."""
import argparse, json, sys, time
from pathlib import Path

DATASET = "mnist"
EPOCHS = {epochs!r}

if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    for option in ("--models", "--data-dir", "--device", "--precision"):
        parser.add_argument(option, nargs="+" if option == "--models" else None)
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--limit", type=int)
    parser.add_argument("--out", default=str(Path(__file__).resolve().parents[1]))
    parser.add_argument("--flavour", default="plain")
    parser.add_argument("--resume-or-restart", action="store_true")
    parser.add_argument("--force", action="store_true")
    args = parser.parse_args()
    name = args.models[0]
    print(f"{{name}}: {{' '.join(sys.argv[1:])}}", flush=True)
    if name == "broken":
        print("error: broken fails on purpose", file=sys.stderr)
        sys.exit(2)
    if name == "slow":
        try:
            print("slow: started", flush=True)
            time.sleep(60)
        except KeyboardInterrupt:
            print("interrupted: the current one left no files", file=sys.stderr)
            sys.exit(130)
    exercise, framework = Path(__file__).name.split("_")[0], Path(__file__).parent.name
    record = {{
        "exercise": exercise, "framework": framework, "model": name, "architecture": "fake (test fixture)",
        "reduced": [], "device": "test-fixture", "precision": args.precision or "fp32", "seed": 0,
        "epochs": args.epochs, "batch_size": 128, "optimizer": {{"name": "Adam", "lr": 0.001}},
        "limit": args.limit, "n_train": 54000, "n_test": 10000, "train_time_s": 0.5 * args.epochs,
        "test_loss": 0.5, "test_accuracy": 0.75, "ten_worst": [], "settings": {{"flavour": args.flavour}},
    }}
    path = Path(args.out) / "results" / exercise / framework / f"{{name}}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record))
    print(f"{{name}}: done (fake)", flush=True)
    if name == "late":  # the record is written, then the process takes its time to end
        print("late: record written", flush=True)
        time.sleep(60)
'''

PYTORCH_EX1 = {"m1": 20, "slow": 20, "m2": 5, "broken": 20, "late": 20}
# The jobs of the fake repository, in the campaign's order: ex1 to ex4, Keras then PyTorch.
KEYS = ["keras/ex1/m1", *(f"pytorch/ex1/{m}" for m in PYTORCH_EX1),
        *(f"{fw}/{ex}/m1" for ex in ("ex2", "ex3", "ex4") for fw in FRAMEWORKS)]


@pytest.fixture
def fake_repo(tmp_path):
    """A repository of eight FAKE scripts (pytorch/ex1 has several models), and a README with the markers."""
    for exercise, name in SCRIPTS.items():
        for framework in FRAMEWORKS:
            epochs = PYTORCH_EX1 if (exercise, framework) == ("ex1", "pytorch") else {"m1": 20}
            path = tmp_path / framework / name
            path.parent.mkdir(exist_ok=True)
            path.write_text(FAKE_SCRIPT.format(epochs=epochs))
    (tmp_path / "README.md").write_text(f"# fake\n\n{report.BEGIN}\n{report.END}\n\nafter\n")
    return tmp_path


def run_campaign(root: Path, *args, timeout=120, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([PYTHON, "-m", "common.campaign", "--root", str(root), *map(str, args)], cwd=REPO,
                          capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})})


def job_line(stdout: str, key: str) -> str:
    lines = [line for line in stdout.splitlines() if f" {key} " in f"{line} " and line[:4].strip().isdigit()]
    assert len(lines) == 1, f"{key} not listed once:\n{stdout}"
    return lines[0]


def fake_record(root: Path, model: str, framework="pytorch", **changes) -> Path:
    record = {"exercise": "ex1", "framework": framework, "model": model, "architecture": "fake (test fixture)",
              "reduced": [], "device": "test-fixture", "precision": "fp32", "seed": 0, "epochs": 20,
              "batch_size": 128, "optimizer": {"name": "Adam", "lr": 0.001}, "limit": None, "n_train": 54000,
              "n_test": 10000, "train_time_s": 100.0, "test_loss": 0.5, "test_accuracy": 0.75,
              "settings": {"flavour": "plain"}}
    record.update(changes)
    path = layout.record(root, "ex1", framework, model)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record))
    return path


def test_list_jobs_numbers_every_model_in_a_stable_order_and_runs_nothing(fake_repo):
    result = run_campaign(fake_repo, "--list-jobs")
    assert result.returncode == 0, result.stderr
    for number, key in enumerate(KEYS):
        assert job_line(result.stdout, key).split()[:3] == [str(number), "to", "run"]
    assert "20 epochs" in job_line(result.stdout, "pytorch/ex1/m1")
    assert "5 epochs" in job_line(result.stdout, "pytorch/ex1/m2")  # the script's EPOCHS
    assert (f"$ python pytorch/ex1_mnist.py --models m2 --epochs 5 --precision fp32 --resume-or-restart "
            f"--out {fake_repo}\n") in result.stdout
    assert result.stdout.strip().splitlines()[-1] == \
        f"on a Slurm cluster: sbatch --array=0-{len(KEYS) - 1} slurm/campaign.sbatch --root {fake_repo}"
    assert not (fake_repo / "results").exists()

    # --only renumbers from 0 (an array runs 0-K of the same options); --dry-run is the same list.
    subset = run_campaign(fake_repo, "--dry-run", "--only", "pytorch/ex1/m*", "--epochs-cap", "3",
                          "--data-dir", "/some/data", "--device", "cpu")
    assert subset.returncode == 0, subset.stderr
    assert job_line(subset.stdout, "pytorch/ex1/m1").split()[0] == "0"
    assert job_line(subset.stdout, "pytorch/ex1/m2").split()[0] == "1"
    assert "3 epochs" in job_line(subset.stdout, "pytorch/ex1/m1")
    assert "--models m2 --epochs 3 " in subset.stdout and "--data-dir /some/data --device cpu" in subset.stdout
    assert "keras/" not in subset.stdout.replace("slurm/", "") and "broken" not in subset.stdout
    assert subset.stdout.strip().endswith(f"sbatch --array=0-1 slurm/campaign.sbatch --root {fake_repo} --only "
                                          f"'pytorch/ex1/m*' --epochs-cap 3 --data-dir /some/data --device cpu")
    bad = run_campaign(fake_repo, "--list-jobs", "--only", "ex7")
    assert bad.returncode == 2 and bad.stderr.strip() == \
        "error: --only ex7 matches no model (models are named like keras/ex1/model1; " \
        "patterns: ex1, keras/ex2, pytorch/ex3/PraisyNet)"


def test_a_script_that_cannot_be_read_stops_the_list(fake_repo):
    """Skipping it would renumber every later job, and an array's tasks would run the wrong models."""
    (fake_repo / "keras" / "ex2_cifar10.py").write_text("EPOCHS = {'m1': 20}\n")  # no DATASET
    result = run_campaign(fake_repo, "--list-jobs")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "ex2_cifar10.py: an exercise script declares DATASET" in result.stderr


def test_patterns():
    key = "pytorch/ex3/PraisyNet"
    for pattern in ("ex3", "pytorch", "pytorch/ex3", "pytorch/ex3/PraisyNet", "ex3/PraisyNet", "Praisy*", "*/ex3"):
        assert campaign.matches(pattern, key), pattern
    for pattern in ("ex1", "keras/ex3", "PraisyNetDA", "ex3/pytorch", "pytorch/PraisyNet"):
        assert not campaign.matches(pattern, key), pattern


def test_a_record_at_least_as_full_as_the_job_is_done(fake_repo):
    fake_record(fake_repo, "m1")                                   # the job's settings: done
    fake_record(fake_repo, "m2", epochs=3)                         # fewer epochs than the script's 5
    fake_record(fake_repo, "slow", precision="bf16")               # not the report's fp32
    fake_record(fake_repo, "broken", limit=500)                    # fewer images
    out = run_campaign(fake_repo, "--list-jobs", "--only", "pytorch/ex1").stdout
    assert job_line(out, "pytorch/ex1/m1").split()[1] == "done"
    assert "its record has 3 epochs (wanted 5)" in job_line(out, "pytorch/ex1/m2")
    assert "its record has precision bf16 (wanted fp32)" in job_line(out, "pytorch/ex1/slow")
    assert "its record has --limit 500 (wanted all images)" in job_line(out, "pytorch/ex1/broken")

    # A fuller record than the job asks for is kept: more epochs (up to the script's), more images.
    for args in (("--epochs-cap", "2"), ("--limit", "200"), ("--limit", "500")):
        fuller = run_campaign(fake_repo, "--list-jobs", "--only", "pytorch/ex1/m1", "pytorch/ex1/broken", *args)
        assert job_line(fuller.stdout, "pytorch/ex1/m1").split()[1] == "done", args
    assert "--limit 500 (wanted 1000)" in job_line(
        run_campaign(fake_repo, "--list-jobs", "--only", "ex1/broken", "--limit", "1000").stdout, "pytorch/ex1/broken")
    fake_record(fake_repo, "m2", epochs=30)
    assert "its record has 30 epochs (wanted 5)" in job_line(
        run_campaign(fake_repo, "--list-jobs", "--only", "ex1/m2").stdout, "pytorch/ex1/m2")

    # The options --seed, --batch-size, --val-split and --script-args give, wherever the record states them.
    seeded = run_campaign(fake_repo, "--list-jobs", "--only", "pytorch/ex1/m1", "--seed", "7", "--batch-size", "128")
    assert "its record has --seed 0 (wanted 7)" in job_line(seeded.stdout, "pytorch/ex1/m1")
    assert "--seed 7" not in job_line(seeded.stdout, "pytorch/ex1/m1").replace("(wanted 7)", "")
    assert "--batch-size 128 --seed 7\n" in seeded.stdout
    spicy = run_campaign(fake_repo, "--list-jobs", "--only", "pytorch/ex1/m1", "--script-args",
                         "ex1/m1: --flavour spicy --lr 0.001 --tensorboard /tmp/tb")
    assert 'its record has --flavour "plain" (wanted spicy)' in job_line(spicy.stdout, "pytorch/ex1/m1")
    assert "--resume-or-restart --out" in spicy.stdout and "--flavour spicy --lr 0.001 --tensorboard /tmp/tb" in \
        spicy.stdout
    same = run_campaign(fake_repo, "--list-jobs", "--only", "pytorch/ex1/m1", "--script-args",
                        "pytorch: --flavour plain --lr=1e-3")
    assert job_line(same.stdout, "pytorch/ex1/m1").split()[1] == "done"

    # --force runs every job, from scratch (no checkpoint continued).
    forced = run_campaign(fake_repo, "--list-jobs", "--only", "pytorch/ex1/m1", "--force")
    assert "to run" in job_line(forced.stdout, "pytorch/ex1/m1") and "--force" in forced.stdout
    assert "--resume-or-restart" not in forced.stdout


MALFORMED = {  # any JSON at all, and then some that is not JSON
    "a list": "[]", "a string": '"text"', "a number": "42", "null": "null", "not JSON": "{not json",
    "not UTF-8": b"\xff\xfe{}", "deeply nested": "[" * 100_000 + "]" * 100_000,
    "epochs a string": {"epochs": "20"}, "epochs a boolean": {"epochs": True}, "epochs a list": {"epochs": [20]},
    "epochs zero": {"epochs": 0}, "accuracy NaN": {"test_accuracy": float("nan")},
    "accuracy infinite": {"test_accuracy": float("inf")}, "accuracy 2": {"test_accuracy": 2},
    "no train time": {"train_time_s": None}, "limit a string": {"limit": "200"}, "limit true": {"limit": True},
    "precision a list": {"precision": ["fp32"]}, "epochs nested deep": '{"epochs": ' + "[" * 900 + "]" * 900 + "}",
}


@pytest.mark.parametrize("content", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_malformed_record_is_a_warning_and_its_job_runs(tmp_path, capsys, content):
    path = fake_record(tmp_path, "m1")
    if isinstance(content, dict):
        path.write_text(json.dumps({**json.loads(path.read_text()), **content}))
    else:
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    job = campaign.Job(3, "ex1", "pytorch", "m1", Path("pytorch/ex1_mnist.py"), 20, 20, None, [], {})
    done, text = campaign.status(job, tmp_path, force=False)
    assert not done and text.startswith("its record is unusable (")
    warning = capsys.readouterr().err.strip()
    assert warning.startswith(f"warning: {path}: ") and warning.endswith("; job 3 (pytorch/ex1/m1) runs again")
    assert "\n" not in warning
    assert campaign.estimate(job, tmp_path, tmp_path) is None


def test_odd_values_in_a_usable_record_are_no_traceback(fake_repo):
    """Fields the campaign only compares (settings, optimizer) may hold anything; also in the end-to-end list."""
    fake_record(fake_repo, "m1", settings=5, optimizer="Adam", variant_of=[1, {"a": None}])
    fake_record(fake_repo, "m2", settings={"flavour": [1]}, epochs=5)
    (fake_repo / "results" / "ex1" / "pytorch" / "slow.json").write_text("[" * 100_000 + "]" * 100_000)
    result = run_campaign(fake_repo, "--dry-run", "--only", "ex1", "--script-args", "ex1: --flavour plain --lr 0.01")
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    assert job_line(result.stdout, "pytorch/ex1/m1").split()[1] == "done"  # states neither option
    assert "its record has --flavour a list (wanted plain)" in job_line(result.stdout, "pytorch/ex1/m2")
    assert "its record is unusable (it cannot be read (RecursionError))" in job_line(result.stdout, "pytorch/ex1/slow")
    assert result.stderr.count("warning: ") == 1


def test_a_failing_job_is_reported_and_the_others_still_run(fake_repo):
    result = run_campaign(fake_repo, "--only", "pytorch/ex1/m1", "broken", "pytorch/ex1/m2", "--epochs-cap", "2")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "campaign: pytorch/ex1/broken FAILED (exit code 2: error: broken fails on purpose)" in result.stderr
    for model in ("m1", "m2"):
        assert json.loads(layout.record(fake_repo, "ex1", "pytorch", model).read_text())["epochs"] == 2
    # In the jobs' order, whatever the order of --only.
    assert result.stdout.startswith("campaign: 3 jobs, 0 done, 3 to run (--list-jobs lists them)\n")
    assert "campaign [2/3] job 1, pytorch/ex1/m2, 2 epochs; 1 finished, 0 failed so far" in result.stdout
    assert "campaign [3/3] job 2, pytorch/ex1/broken" in result.stdout
    assert "campaign: 2 of 3 jobs done (2 in this campaign), 1 failed\n  failed: job 2, pytorch/ex1/broken" \
        in result.stdout
    assert "README" in result.stdout + result.stderr  # the repository's README is rebuilt (--out is the repository)

    again = run_campaign(fake_repo, "--only", "pytorch/ex1/m1", "pytorch/ex1/m2", "--epochs-cap", "2")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "2 jobs (0-1): 2 done, 0 to run" not in again.stdout  # the list is printed by --list-jobs only
    assert "campaign [" not in again.stdout and "campaign: 2 of 2 jobs done (0 in this campaign), 0 failed" in \
        again.stdout


def test_a_script_that_exits_0_without_its_record_fails(fake_repo):
    (fake_repo / "pytorch" / "ex1_mnist.py").write_text(f"DATASET = 'mnist'\nEPOCHS = {PYTORCH_EX1!r}\n")
    result = run_campaign(fake_repo, "--only", "pytorch/ex1/m1")
    assert result.returncode == 1
    assert (f"campaign: pytorch/ex1/m1 FAILED (it wrote no record with the job's settings at "
            f"{layout.record(fake_repo, 'ex1', 'pytorch', 'm1')})") in result.stderr


def start(fake_repo, *args) -> tuple:
    """The campaign, running until its script prints its first line."""
    proc = subprocess.Popen([PYTHON, "-m", "common.campaign", "--root", str(fake_repo), *args], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if "started" in line or "record written" in line:
            break
    return proc, lines


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["ctrl-c", "sigterm"])
def test_ctrl_c_or_sigterm_stops_the_running_script_and_says_so(fake_repo, sig, code):
    proc, lines = start(fake_repo, "--only", "pytorch/ex1/slow", "pytorch/ex1/m2")
    began = time.monotonic()
    os.kill(proc.pid, sig)  # the campaign only: it must stop its script itself, not orphan it
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == code, "".join(lines) + stdout + stderr
    assert time.monotonic() - began < 45
    assert "campaign: pytorch/ex1/slow stopped before its first checkpoint: the next run of this job starts it " \
           "over" in stderr
    assert "campaign: interrupted; 0 jobs finished in this campaign, 1 not started. Run the same command again" \
        in stderr
    assert not (fake_repo / "results").exists()  # slow stopped without a record; m2 never started


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_a_stop_after_the_record_was_written_says_the_job_finished(fake_repo):
    """Issue 34: after a SIGTERM the campaign said 'stopped (no record)' of a model whose record was written."""
    proc, lines = start(fake_repo, "--only", "pytorch/ex1/late")
    os.kill(proc.pid, signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 143, "".join(lines) + stdout + stderr
    assert "campaign: pytorch/ex1/late had finished: its record was written before the stop" in stderr
    assert "stopped" not in stderr.replace("the stop", "")
    assert layout.record(fake_repo, "ex1", "pytorch", "late").is_file()


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_a_checkpointed_job_stopped_says_where_it_continues(fake_repo):
    meta = layout.checkpoint_dir(fake_repo, "ex1", "pytorch", "slow") / "meta.json"
    meta.parent.mkdir(parents=True)
    meta.write_text(json.dumps({"epoch": 3, "signature": {}}))
    proc, lines = start(fake_repo, "--job", "0", "--only", "pytorch/ex1/slow")
    os.kill(proc.pid, signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 143, "".join(lines) + stdout + stderr
    assert "campaign: pytorch/ex1/slow stopped after epoch 3 of 20: the next run of this job continues from its " \
           "checkpoint" in stderr
    assert "campaign: job 0 interrupted; it continues when it runs again (Slurm requeues a preempted task itself; " \
           "submit a cancelled or timed-out one again: sbatch --array=0 with the same options)" in stderr


def test_job_runs_one_job_by_number_or_from_the_array_task_id(fake_repo):
    one = run_campaign(fake_repo, "--job", "3", "--epochs-cap", "2")
    assert one.returncode == 0, one.stdout + one.stderr
    assert one.stdout.startswith(f"campaign: job 3, {KEYS[3]}, 2 epochs (no record yet)\n$ python ")
    assert sorted(p.name for p in (fake_repo / "results").rglob("*.json")) == ["m2.json"]
    assert "README" not in one.stdout  # an array task leaves the README to the collecting step

    from_slurm = run_campaign(fake_repo, "--job", "--epochs-cap", "2", env={"SLURM_ARRAY_TASK_ID": "3"})
    assert from_slurm.returncode == 0, from_slurm.stderr
    assert from_slurm.stdout.strip() == f"campaign: job 3, {KEYS[3]}, is done already (record: 2 epochs, 75.00%); " \
                                        f"nothing to run"
    broken = run_campaign(fake_repo, "--job", "4")
    assert broken.returncode == 1 and f"campaign: {KEYS[4]} FAILED (exit code 2" in broken.stderr

    for args, env, error in (
            (["--job", str(len(KEYS))], {}, f"error: there is no job {len(KEYS)}: these options give {len(KEYS)} "
                                            f"jobs, 0-{len(KEYS) - 1} (sbatch --array=0-{len(KEYS) - 1} with the "
                                            f"same options; --list-jobs lists them)"),
            (["--job"], {"SLURM_ARRAY_TASK_ID": "x"}, "error: $SLURM_ARRAY_TASK_ID: expected a whole number, got 'x'"),
            (["--job", "-1"], {}, "error: argument --job: must be at least 0, got -1 (see --help)")):
        result = run_campaign(fake_repo, *args, env=env)
        assert (result.returncode, result.stderr.strip()) == (2, error)
    no_id = run_campaign(fake_repo, "--job", env={"SLURM_ARRAY_TASK_ID": ""})
    assert no_id.returncode == 2 and "expected a whole number" in no_id.stderr
    environment = {k: v for k, v in os.environ.items() if k != "SLURM_ARRAY_TASK_ID"}
    unset = subprocess.run([PYTHON, "-m", "common.campaign", "--root", str(fake_repo), "--job"], cwd=REPO,
                           capture_output=True, text=True, timeout=60, env=environment)
    assert unset.stderr.strip() == "error: --job needs a number, or $SLURM_ARRAY_TASK_ID (which sbatch --array sets)"


def test_estimates_and_the_time_limit_come_from_the_records(tmp_path):
    repository, out = tmp_path / "repo", tmp_path / "out"
    job = campaign.Job(0, "ex1", "pytorch", "m1", Path("x.py"), 10, 20, None, [], {})
    assert campaign.estimate(job, out, repository) is None  # no record anywhere
    fake_record(repository, "m1", epochs=20, train_time_s=400.0)
    assert campaign.estimate(job, out, repository) == pytest.approx(200.0)  # the repository's: 20 s an epoch
    fake_record(out, "m1", epochs=2, train_time_s=10.0)
    assert campaign.estimate(job, out, repository) == pytest.approx(50.0)  # --out's own comes first
    fake_record(out, "m1", epochs=2, train_time_s=10.0, limit=500)
    assert campaign.estimate(job, out, repository) == pytest.approx(200.0)  # not from a --limit run
    job.limit = 200
    assert campaign.estimate(job, out, repository) is None  # a smoke run needs none
    assert [campaign.time_limit(s) for s in (1, 1800, 1801, 16662.58)] == ["1:00:00", "1:00:00", "2:00:00", "10:00:00"]


def test_one_real_tiny_run_then_done(tmp_path, tiny_data):
    """The real pytorch/ex1_mnist.py, model1, 200 images, 1 epoch, into a temporary --out."""
    out = tmp_path / "out"
    args = ["--only", "pytorch/ex1/model1", "--epochs-cap", "1", "--limit", "200", "--device", "cpu",
            "--data-dir", tiny_data, "--out", out]
    result = subprocess.run([PYTHON, "-m", "common.campaign", *map(str, args)], cwd=REPO, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    record = json.loads(layout.record(out, "ex1", "pytorch", "model1").read_text())
    assert (record["epochs"], record["limit"], record["precision"]) == (1, 200, "fp32")
    assert f"the records are in {out / 'results'}" in result.stdout  # the repository's README is left alone

    again = subprocess.run([PYTHON, "-m", "common.campaign", "--list-jobs", *map(str, args)], cwd=REPO,
                           capture_output=True, text=True, timeout=60)
    assert again.returncode == 0
    assert job_line(again.stdout, "pytorch/ex1/model1").split()[1] == "done"


def test_in_the_repository_a_fuller_record_counts_as_done():
    """A quick campaign in the repository never replaces the committed records (20 epochs, every image)."""
    listed = subprocess.run([PYTHON, "-m", "common.campaign", "--list-jobs", "--only", "pytorch/ex1/model1",
                             "--epochs-cap", "1", "--limit", "500"], cwd=REPO, capture_output=True, text=True,
                            timeout=60)
    assert listed.returncode == 0, listed.stderr
    assert job_line(listed.stdout, "pytorch/ex1/model1").split()[1] == "done"
