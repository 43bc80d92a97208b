"""The campaign (common.campaign): plan, skip logic, failures, Ctrl-C.

Most tests use a temporary repository whose pytorch/ex1_mnist.py is a FAKE
script (TEST FIXTURE): it declares models like a real one and, when run,
writes a made-up record at once, without training. One test runs the real
pytorch/ex1_mnist.py once on the tiny synthetic data (--limit 200, 1 epoch).
"""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from common import campaign, report
from tests.helpers import PYTHON, REPO

FAKE_SCRIPT = '''"""FAKE exercise script for tests (TEST FIXTURE): writes a made-up record, trains nothing."""
import json, sys, time
from pathlib import Path
sys.path.append({repo!r})
from common.cli import build_parser
from common.exercise import Exercise


def never_built():  # the fake trains nothing
    raise NotImplementedError


MODELS = {{"m1": never_built, "slow": never_built, "m2": never_built, "broken": never_built}}

def add_arguments(parser):
    parser.add_argument("--flavour", default="plain")


EXERCISE = Exercise(id="ex1", framework="pytorch", script="ex1_mnist.py", dataset="mnist",
                    description="fake", models=MODELS, longer={{"m2": 5}}, extra_arguments=(add_arguments,))

if __name__ == "__main__":
    args = build_parser(EXERCISE).parse_args()
    name = args.models[0]
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
    n_val = round((args.limit or 60000) * args.val_split)
    record = {{
        "exercise": "ex1", "framework": "pytorch", "model": name, "architecture": "fake (test fixture)",
        "reduced": [], "device": "test-fixture", "seed": args.seed, "epochs": args.epochs,
        "batch_size": args.batch_size, "optimizer": {{"name": "Adam", "lr": args.lr}}, "limit": args.limit,
        "n_train": (args.limit or 60000) - n_val, "n_val": n_val, "n_test": 10000,
        "validation": f"last {{n_val:,}} training images ({{args.val_split:g}} of the training set)",
        "train_time_s": 0.5 * args.epochs, "test_loss": 0.5, "test_accuracy": 0.75, "ten_worst": [],
        "settings": {{"flavour": args.flavour}},
    }}
    path = Path(args.out) / "results" / "ex1" / "pytorch" / f"{{name}}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record))
    print(f"{{name}}: done (fake)")
'''


@pytest.fixture
def fake_repo(tmp_path):
    """A repository with one FAKE script (pytorch/ex1) and a README with the result markers."""
    (tmp_path / "pytorch").mkdir()
    (tmp_path / "pytorch" / "ex1_mnist.py").write_text(FAKE_SCRIPT.format(repo=str(REPO)))
    (tmp_path / "README.md").write_text(f"# fake\n\n{report.BEGIN}\n{report.END}\n\nafter\n")
    return tmp_path


def run_campaign(root: Path, *args, timeout=120) -> subprocess.CompletedProcess:
    return subprocess.run([PYTHON, "-m", "common.campaign", "--root", str(root), *map(str, args)],
                          cwd=REPO, capture_output=True, text=True, timeout=timeout)


def plan_line(stdout: str, key: str) -> str:
    lines = [line for line in stdout.splitlines() if f" {key} " in f"{line} " and line.startswith("  ")]
    assert lines, f"{key} not in the plan:\n{stdout}"
    return lines[0]


def fake_record(root: Path, model: str, **changes) -> Path:
    record = {"exercise": "ex1", "framework": "pytorch", "model": model, "architecture": "fake (test fixture)",
              "reduced": [], "device": "test-fixture", "seed": 0, "epochs": 20, "batch_size": 128,
              "optimizer": {"name": "Adam", "lr": 0.001}, "limit": None, "n_train": 54000, "n_test": 10000,
              "validation": "last 6,000 training images (0.1 of the training set)", "train_time_s": 100.0,
              "test_loss": 0.5, "test_accuracy": 0.75}
    record.update(changes)
    path = root / "results" / "ex1" / "pytorch" / f"{model}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record))
    return path


def test_dry_run_plans_every_model_and_runs_nothing(fake_repo):
    result = run_campaign(fake_repo, "--dry-run")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "to run" in plan_line(out, "pytorch/ex1/m1") and "20 epochs" in plan_line(out, "pytorch/ex1/m1")
    assert "5 epochs" in plan_line(out, "pytorch/ex1/m2")  # the model's own (report's) epochs
    assert "$ python pytorch/ex1_mnist.py --models m1 --epochs 20 " in out and " --out " in out
    # The report's models with no script yet, or missing from the script's registry, are listed, not lost.
    assert "keras/ex1_mnist.py is not written yet" in plan_line(out, "keras/ex1/model1")
    assert "not among the models of pytorch/ex1_mnist.py" in plan_line(out, "pytorch/ex1/old_model1")
    assert "unavailable" in plan_line(out, "pytorch/ex4/MyResNetDA")
    assert "plan: " in out and " left" in out
    assert not (fake_repo / "results").exists()


def test_epochs_cap_only_and_pass_through(fake_repo):
    result = run_campaign(fake_repo, "--dry-run", "--only", "pytorch/ex1/m*", "--epochs-cap", "3",
                          "--data-dir", "/some/data", "--device", "cpu")
    assert result.returncode == 0, result.stderr
    assert "3 epochs" in plan_line(result.stdout, "pytorch/ex1/m1")
    assert "3 epochs" in plan_line(result.stdout, "pytorch/ex1/m2")  # min(5, 3)
    assert "--models m2 --epochs 3 " in result.stdout and "--data-dir /some/data --device cpu" in result.stdout
    assert "keras/" not in result.stdout and "broken" not in result.stdout
    bad = run_campaign(fake_repo, "--dry-run", "--only", "ex7")
    assert bad.returncode == 2 and "--only ex7 matches no model" in bad.stderr


def test_patterns():
    key = "pytorch/ex3/PraisyNet"
    for pattern in ("ex3", "pytorch", "pytorch/ex3", "pytorch/ex3/PraisyNet", "ex3/PraisyNet", "Praisy*", "*/ex3"):
        assert campaign.matches(pattern, key), pattern
    for pattern in ("ex1", "keras/ex3", "PraisyNetDA", "ex3/pytorch", "pytorch/PraisyNet"):
        assert not campaign.matches(pattern, key), pattern


def test_a_record_with_the_same_settings_is_skipped(fake_repo):
    fake_record(fake_repo, "m1")                                   # the same settings: done
    fake_record(fake_repo, "m2", epochs=5, seed=7)                 # another seed: run again
    fake_record(fake_repo, "slow", epochs=20, batch_size=64)       # another batch size: run again
    (fake_repo / "results" / "ex1" / "pytorch" / "broken.json").write_text("{not json")  # unreadable: run
    out = run_campaign(fake_repo, "--dry-run", "--only", "pytorch/ex1").stdout
    assert plan_line(out, "pytorch/ex1/m1").split()[0] == "done"
    assert "record differs: seed 7 (wanted 0)" in plan_line(out, "pytorch/ex1/m2")
    assert "record differs: batch-size 64 (wanted 128)" in plan_line(out, "pytorch/ex1/slow")
    assert "record unreadable" in plan_line(out, "pytorch/ex1/broken")
    # A longer run than the cap asks for is kept; a shorter one, or other --limit / --val-split, is not.
    capped = run_campaign(fake_repo, "--dry-run", "--only", "pytorch/ex1/m1", "--epochs-cap", "2").stdout
    assert plan_line(capped, "pytorch/ex1/m1").split()[0] == "done"
    fake_record(fake_repo, "m1", epochs=2)
    full = run_campaign(fake_repo, "--dry-run", "--only", "pytorch/ex1/m1").stdout
    assert "record differs: epochs 2 (wanted 20)" in plan_line(full, "pytorch/ex1/m1")
    for option, value, why in (("--limit", "500", "limit None (wanted 500)"),
                               ("--val-split", "0", "val-split 0.1 (wanted 0.0)")):
        other = run_campaign(fake_repo, "--dry-run", "--only", "pytorch/ex1/m1", "--epochs-cap", "2", option, value)
        assert why in plan_line(other.stdout, "pytorch/ex1/m1")
    # The exercise's own options, as the record's "settings" lists them, and --script-args to set them.
    fake_record(fake_repo, "m1", settings={"flavour": "plain"})
    same = run_campaign(fake_repo, "--dry-run", "--only", "pytorch/ex1/m1")
    assert plan_line(same.stdout, "pytorch/ex1/m1").split()[0] == "done"
    spicy = run_campaign(fake_repo, "--dry-run", "--only", "pytorch/ex1/m1", "--script-args", "ex1/m1: --flavour spicy")
    assert "record differs: --flavour plain (wanted spicy)" in plan_line(spicy.stdout, "pytorch/ex1/m1")
    assert "--models m1 --epochs 20 --flavour spicy " in spicy.stdout
    # --force runs it anyway.
    forced = run_campaign(fake_repo, "--dry-run", "--only", "pytorch/ex1/m1", "--epochs-cap", "2", "--force")
    assert "--force" in plan_line(forced.stdout, "pytorch/ex1/m1")


SIGNATURE = {"exercise": "ex1", "framework": "pytorch", "model": "m1", "architecture": "fake (test fixture)",
             "batch_size": 128, "lr": 0.001, "seed": 0, "limit": None, "val_split": 0.1, "n_train": 54000,
             "deterministic": False, "settings": {"flavour": "plain"}, "data": "sha256:0"}


def test_a_shorter_run_continues_from_its_kept_checkpoint_unless_forced(fake_repo):
    fake_record(fake_repo, "m1", epochs=2, train_time_s=100.0)  # 50 s per epoch
    meta = fake_repo / "checkpoints" / "ex1" / "pytorch" / "m1" / "meta.json"
    meta.parent.mkdir(parents=True)
    meta.write_text(json.dumps({"epoch": 2, "signature": SIGNATURE}))
    out = run_campaign(fake_repo, "--dry-run", "--only", "pytorch/ex1/m1").stdout
    line = plan_line(out, "pytorch/ex1/m1")
    assert "record differs: epochs 2 (wanted 20); continues its checkpoint after epoch 2" in line
    assert f"~{campaign.duration(campaign.STARTUP_S + 18 * 50.0)}" in line  # the 18 epochs left, not 20
    assert "--models m1 --epochs 20 --resume-or-restart" in out
    forced = run_campaign(fake_repo, "--dry-run", "--only", "pytorch/ex1/m1", "--force").stdout
    assert "continues its checkpoint" not in forced and "--resume" not in forced

    # A checkpoint the script cannot continue is started over, and the plan says so (it used to be a failure).
    for saved, why in (({**SIGNATURE, "limit": 500}, "was made with other settings (limit 500 (wanted None))"),
                       ({**SIGNATURE, "epoch": 30}, "is after epoch 30, past the 20 epochs wanted")):
        meta.write_text(json.dumps({"epoch": saved.pop("epoch", 2), "signature": saved}))
        line = plan_line(run_campaign(fake_repo, "--dry-run", "--only", "pytorch/ex1/m1").stdout, "pytorch/ex1/m1")
        assert f"starts over: its checkpoint {why}" in line and "continues" not in line
        assert f"~{campaign.duration(campaign.STARTUP_S + 20 * 50.0)}" in line  # all 20 epochs

    # The checkpoint's own epoch times, when it holds them, beat the record's rate (another run, maybe shorter).
    meta.write_text(json.dumps({"epoch": 2, "signature": SIGNATURE, "history": {"seconds": [30.0, 34.0]}}))
    line = plan_line(run_campaign(fake_repo, "--dry-run", "--only", "pytorch/ex1/m1").stdout, "pytorch/ex1/m1")
    assert f"~{campaign.duration(campaign.STARTUP_S + 18 * 32.0)} (measured: 32 s per epoch in its checkpoint" in line


def test_a_failing_model_is_reported_and_the_others_still_run(fake_repo):
    result = run_campaign(fake_repo, "--only", "pytorch/ex1/m1", "broken", "pytorch/ex1/m2", "--epochs-cap", "2")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "pytorch/ex1/broken FAILED (exit code 2: error: broken fails on purpose)" in result.stderr
    assert "error: broken fails on purpose" in result.stderr  # the script's own output is shown too
    for model in ("m1", "m2"):
        record = json.loads((fake_repo / "results" / "ex1" / "pytorch" / f"{model}.json").read_text())
        assert record["epochs"] == 2
    assert "2 of 3 models done (2 in this campaign), 1 failed" in result.stdout
    # In the registry's order, whatever the order of --only; progress says what is done and what remains.
    assert "campaign [2/3] pytorch/ex1/m2, 2 epochs" in result.stdout
    assert "done 1, failed 0, remaining 2" in result.stdout
    assert "campaign [3/3] pytorch/ex1/broken" in result.stdout and " left" in result.stdout
    readme = (fake_repo / "README.md").read_text()
    assert readme.startswith("# fake\n\n") and readme.endswith(f"{report.END}\n\nafter\n")
    assert "| m1 †" not in readme and "| m1 | fake (test fixture) | 2 / not in the report |" in readme

    again = run_campaign(fake_repo, "--only", "pytorch/ex1/m1", "pytorch/ex1/m2", "--epochs-cap", "2")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "plan: 2 models; 2 done, 0 to run" in again.stdout and "campaign [" not in again.stdout


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["ctrl-c", "sigterm"])
def test_ctrl_c_or_sigterm_stops_cleanly(fake_repo, sig, code):
    proc = subprocess.Popen([PYTHON, "-m", "common.campaign", "--root", str(fake_repo), "--only",
                             "pytorch/ex1/slow", "pytorch/ex1/m2"], cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    lines = []
    for line in proc.stdout:  # wait until the slow model runs
        lines.append(line)
        if "slow: started" in line:
            break
    start = time.monotonic()
    os.kill(proc.pid, sig)  # the campaign only: it must stop its child itself, not orphan it
    stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == code, "".join(lines) + stdout + stderr
    assert time.monotonic() - start < 25
    assert "campaign: interrupted" in stderr and "pytorch/ex1/slow stopped (no record" in stderr
    assert "1 not run" in stderr and "Run the same command again" in stderr
    assert not (fake_repo / "results").exists()  # slow stopped without a record; m2 never started


def test_one_real_tiny_run_then_skipped(tmp_path, tiny_data):
    """The real pytorch/ex1_mnist.py, model1, 200 images, 1 epoch, into a temporary --out."""
    out = tmp_path / "out"
    (tmp_path / "README.md").write_text(f"{report.BEGIN}\n{report.END}\n")
    args = ["--only", "pytorch/ex1/model1", "--epochs-cap", "1", "--limit", "200", "--device", "cpu",
            "--data-dir", tiny_data, "--out", out, "--readme", tmp_path / "README.md"]
    result = subprocess.run([PYTHON, "-m", "common.campaign", *map(str, args)], cwd=REPO, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    record = json.loads((out / "results" / "ex1" / "pytorch" / "model1.json").read_text())
    assert (record["epochs"], record["limit"]) == (1, 200)
    readme = (tmp_path / "README.md").read_text()
    assert "| model1 †1 | Conv 32/3 - Flatten - Dense 10 softmax | 1 / 20 |" in readme
    assert "--limit 200" in readme  # the reduced setting, in the footnote

    again = subprocess.run([PYTHON, "-m", "common.campaign", "--dry-run", *map(str, args)], cwd=REPO,
                           capture_output=True, text=True, timeout=60)
    assert again.returncode == 0
    assert plan_line(again.stdout, "pytorch/ex1/model1").split()[0] == "done"
    assert "measured" not in again.stdout  # nothing left to estimate


def test_a_checkpoint_made_with_other_settings_starts_over_instead_of_failing(tmp_path, tiny_data):
    """A quick run left its checkpoint (--limit 200); the campaign (--limit 100) used to fail on it."""
    out = tmp_path / "out"
    quick = subprocess.run([PYTHON, "pytorch/ex1_mnist.py", "--models", "model1", "--limit", "200", "--epochs", "1",
                            "--data-dir", str(tiny_data), "--out", str(out)], cwd=REPO, capture_output=True, text=True,
                           timeout=300)
    assert quick.returncode == 0, quick.stderr
    args = ["--only", "pytorch/ex1/model1", "--epochs-cap", "1", "--limit", "100", "--device", "cpu",
            "--data-dir", tiny_data, "--out", out]
    plan = subprocess.run([PYTHON, "-m", "common.campaign", "--dry-run", *map(str, args)], cwd=REPO,
                          capture_output=True, text=True, timeout=60)
    assert "starts over: its checkpoint was made with other settings (limit 200 (wanted 100))" in \
        plan_line(plan.stdout, "pytorch/ex1/model1")
    result = subprocess.run([PYTHON, "-m", "common.campaign", *map(str, args)], cwd=REPO, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "other settings" in result.stdout and "starting over" in result.stdout  # the script says it too
    record = json.loads((out / "results" / "ex1" / "pytorch" / "model1.json").read_text())
    assert (record["limit"], record["resumed_after_epoch"]) == (100, None)
    assert "no README rebuilt: --out" in result.stdout  # the repository's README shows the repository's records


def test_in_the_repository_a_record_with_fuller_settings_is_not_run_unless_forced():
    """The committed records: a reduced campaign would only have the scripts refuse to replace them."""
    args = ["--dry-run", "--only", "pytorch/ex1/model1", "--epochs-cap", "1", "--limit", "500"]
    plan = subprocess.run([PYTHON, "-m", "common.campaign", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=60)
    line = plan_line(plan.stdout, "pytorch/ex1/model1")
    assert line.split()[0] == "unavailable" and "its record is kept" in line
    assert "1 epoch where the record has 20; --limit 500 where the record has all images" in line
    forced = subprocess.run([PYTHON, "-m", "common.campaign", *args, "--force"], cwd=REPO, capture_output=True,
                            text=True, timeout=60)
    assert "to run" in plan_line(forced.stdout, "pytorch/ex1/model1") and " --force" in forced.stdout


def test_estimates_borrow_the_rate_of_similar_runs(tmp_path):
    """A model without a record or checkpoint borrows the median seconds per image of its exercise's records."""
    from types import SimpleNamespace

    fake_record(tmp_path, "big", epochs=2, n_train=54000, train_time_s=108.0)  # 1 ms per image per epoch
    fake_record(tmp_path, "tiny", epochs=2, n_train=54000, train_time_s=54.0)  # 0.5 ms

    def job(model, state="run"):
        return campaign.Job("ex1", "pytorch", model, epochs=3, dataset="mnist", wanted={"val_split": 0.1},
                            state=state)

    jobs = [job("big", "done"), job("tiny", "done"), job("big"), job("small")]
    campaign.estimate(jobs, tmp_path, SimpleNamespace(limit=None))
    own, small = jobs[2], jobs[3]
    assert own.estimate_kind == "measured"
    assert own.estimate_s == pytest.approx(campaign.STARTUP_S + 1e-3 * 54000 * 3)
    assert small.estimate_kind == "from similar runs"  # the exercise's median: (1 + 0.5) / 2 ms
    assert small.estimate_s == pytest.approx(campaign.STARTUP_S + 0.75e-3 * 54000 * 3)
